//! The CLI's subcommands, each a function from parsed arguments to an exit status.

pub mod once;

use crate::cli::{Cli, Command};
use crate::error::Result;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    crate::log::init(cli.log_level);
    match cli.command {
        Command::Once(args) => once::run(args),
    }
}
