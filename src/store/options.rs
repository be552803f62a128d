//! Connection settings of the database, parsed by the configuration.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// PostgreSQL connections per process.
    pub pool_size: u32,
    /// Longest a statement may run (PostgreSQL), and longest to wait for a connection.
    pub statement_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            pool_size: 10,
            statement_timeout: Duration::from_secs(30),
        }
    }
}
