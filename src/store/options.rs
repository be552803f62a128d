//! Connection settings of the database, parsed by the configuration.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// PostgreSQL connections per process.
    pub pool_size: u32,
    /// Longest a statement may run (PostgreSQL), and longest to wait for a connection.
    pub statement_timeout: Duration,
    /// SQLite: create the file when it does not exist. Commands that only read the queue or
    /// the subscribers turn it off, so a wrong path is an error instead of a new, empty
    /// database that has "nothing to send". PostgreSQL never creates its database.
    pub create_if_missing: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            pool_size: 10,
            statement_timeout: Duration::from_secs(30),
            create_if_missing: true,
        }
    }
}
