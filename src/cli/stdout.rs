//! Standard output for every command. `println!` panics when its reader has gone
//! (`morningpost subscribers list | head -1` exited 101); these writes return the failure
//! instead, marked as standard output's, so that `main` can tell a reader who stopped
//! reading from a real failure and exit quietly, as `cat` does.

use std::fmt;
use std::io::{self, Write};

/// A failed write to standard output.
#[derive(Debug, thiserror::Error)]
#[error("cannot write to standard output")]
pub struct StdoutError {
    #[source]
    source: io::Error,
}

impl StdoutError {
    /// The reader closed its end of the pipe: nobody wants the rest.
    fn is_closed_pipe(&self) -> bool {
        self.source.kind() == io::ErrorKind::BrokenPipe
    }
}

/// True when `error` comes from writing to standard output after its reader went away.
/// Only standard output's own failures count: a broken pipe to an SMTP server or a
/// database is still an error worth printing.
pub fn is_closed_stdout(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<StdoutError>())
        .any(StdoutError::is_closed_pipe)
}

/// Writes `bytes` to standard output.
pub fn write_bytes(bytes: &[u8]) -> Result<(), StdoutError> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|source| StdoutError { source })
}

/// Writes one line to standard output: what [`outln!`] expands to.
pub fn write_line(args: fmt::Arguments<'_>) -> Result<(), StdoutError> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .map_err(|source| StdoutError { source })
}

/// `println!` that returns `Result<(), StdoutError>` instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::stdout::write_line(format_args!($($arg)*))
    };
}
pub(crate) use outln;
