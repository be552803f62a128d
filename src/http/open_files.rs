//! The open-file limit caps how many connections `serve` may hold: past it `accept` fails
//! (EMFILE), and nobody, not even `/healthz`, gets an answer. So the connection cap is kept
//! below it, leaving room for everything else the process opens.

use super::server::BUSY_ANSWERS;

/// Descriptors kept for the rest: stdio, the listener, the runtime, logs, the key file.
const OTHER_FILES: u64 = 64;
/// Each database connection: a socket, or a SQLite file with its journal and shared memory.
const FILES_PER_DATABASE_CONNECTION: u64 = 3;
/// The fewest connections served, however low the limit (the accept loop copes with the rest).
const MIN_CONNECTIONS: usize = 8;

#[derive(Debug, PartialEq, Eq)]
pub struct Budget {
    /// Connections to hold at most.
    pub connections: usize,
    /// The soft open-file limit, when the platform tells it.
    pub limit: Option<u64>,
}

pub fn connections_allowed(wanted: usize, database_pool_size: u32) -> Budget {
    budget(wanted, database_pool_size, soft_limit())
}

fn budget(wanted: usize, database_pool_size: u32, limit: Option<u64>) -> Budget {
    let Some(limit) = limit else {
        return Budget {
            connections: wanted,
            limit,
        };
    };
    let reserved = OTHER_FILES
        + FILES_PER_DATABASE_CONNECTION * u64::from(database_pool_size)
        + u64::try_from(BUSY_ANSWERS).unwrap_or(u64::MAX);
    let room = usize::try_from(limit.saturating_sub(reserved)).unwrap_or(usize::MAX);
    Budget {
        connections: wanted.min(room.max(MIN_CONNECTIONS)),
        limit: Some(limit),
    }
}

#[cfg(unix)]
fn soft_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(not(unix))]
fn soft_limit() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_the_database_and_the_rest() {
        // systemd's default soft limit, the default pool: 1024 - 64 - 30 - 32.
        assert_eq!(budget(1024, 10, Some(1024)).connections, 898);
        assert_eq!(budget(500, 10, Some(65_536)).connections, 500);
        assert_eq!(budget(1024, 10, None).connections, 1024);
        assert_eq!(budget(1024, 10, Some(50)).connections, MIN_CONNECTIONS);
        assert!(soft_limit().is_some_and(|l| l > 0), "Linux tells its limit");
    }
}
