//! The CLI's subcommands, each a function from parsed arguments to an exit status.

pub mod check_config;
pub mod once;
pub mod query;

use crate::cli::{Cli, Command};
use crate::error::Result;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    crate::log::init(cli.log_level);
    match cli.command {
        Command::Once(args) => once::run(args),
        Command::Run(args) => crate::daemon::run(
            crate::config::Source::from_flag(args.config),
            crate::config::Overrides {
                uri: args.uri,
                read_write: args.read_write,
                interval_seconds: args.interval,
                host: args.host,
                spool_path: args.spool,
                socket_path: args.socket,
            },
        ),
        Command::CheckConfig(args) => check_config::run(args),
        Command::Query(args) => query::run(args),
    }
}
