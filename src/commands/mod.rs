//! The CLI's subcommands, each a function from parsed arguments to an exit status.

pub mod advice;
pub mod check;
pub mod check_config;
pub mod client;
pub mod completions;
pub mod failure;
pub mod human;
pub mod once;
pub mod query;
pub mod top;

use crate::cli::{Cli, Command};
use crate::error::Result;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    crate::log::init(cli.log_level);
    match cli.command {
        Command::Once(args) => once::run(args),
        Command::Run(args) => Ok(crate::daemon::run(
            crate::config::Source::from_flag(args.config),
            args.overrides,
        )?),
        Command::CheckConfig(args) => check_config::run(args),
        Command::Query(args) => query::run(args),
        #[cfg(feature = "top")]
        Command::Top(args) => top::run(&args.agent),
        #[cfg(not(feature = "top"))]
        Command::Top(_) => top::run(),
        Command::Completions(args) => completions::run(args.shell),
    }
}
