use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    fewer_malloc_arenas();
    morningpost::logging::init();
    let cli = morningpost::cli::Cli::parse();
    match morningpost::cli::run(cli) {
        Ok(code) => code,
        // The reader of our output went away (`| head`): stop quietly, as `cat` does, with
        // the status a shell reports for a process that SIGPIPE ended (128 + 13).
        Err(error) if morningpost::cli::is_closed_stdout(&error) => ExitCode::from(141),
        Err(error) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            // A full disk, a database that cannot be reached: what the operator can do.
            if let Some(advice) = morningpost::store::StoreError::advice_in(error.as_ref()) {
                eprintln!("  what to do: {advice}");
            }
            ExitCode::FAILURE
        }
    }
}

/// glibc gives threads that allocate at once heaps of their own ("arenas", up to eight per
/// core), and memory freed in one stays with it. With the tokio workers and a thread per
/// SQLite connection, that was 4.5 MB of a 100,000 send's peak RSS (33.3 → 28.9 MB with two
/// arenas, at the same rate: `scripts/bench send --subscribers 100000`). Called first, before
/// any thread exists.
fn fewer_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; no other thread is running yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
