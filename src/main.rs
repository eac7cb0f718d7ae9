//! The `virtdiag` binary: parse the command line, run, map the error to an exit code.

use std::process::ExitCode;

use clap::Parser;
use virtdiag::cli::Cli;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(64),
            };
        }
    };
    match virtdiag::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line per error: a configuration may have several.
            for line in e.to_string().lines() {
                eprintln!("virtdiag: {line}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}
