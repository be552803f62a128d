use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
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
