//! The CLI's subcommands, each a function from parsed arguments to an exit status.

pub mod check;
pub mod check_config;
pub mod completions;
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
        Command::Run(args) => crate::daemon::run(
            crate::config::Source::from_flag(args.config),
            crate::config::Overrides {
                uri: args.uri,
                read_write: args.read_write,
                interval_seconds: args.interval,
                min_collect_interval_seconds: args.min_collect_interval,
                host: args.host,
                spool_path: args.spool,
                socket_path: args.socket,
                include: args.include,
                exclude: args.exclude,
                spool_max_bytes: args.max_bytes,
                spool_keep: args.keep,
                fsync: args.fsync,
                socket_mode: args.socket_mode,
                socket_group: args.socket_group,
                max_clients: args.max_clients,
                idle_timeout_seconds: args.idle_timeout,
                prometheus_textfile: args.prometheus_textfile,
                groups: args.groups,
            },
        ),
        Command::CheckConfig(args) => check_config::run(args),
        Command::Query(args) => query::run(args),
        Command::Top(args) => top::run(args.socket),
        Command::Completions(args) => completions::run(args.shell),
    }
}
