//! The command line: subcommands and flags.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::client;
use crate::config::{keys, Overrides};
use crate::log::Level;

const EXAMPLES: &str = "\
Examples:
  virtdiag run                                   # the agent, with /etc/virtdiag/virtdiag.toml
  virtdiag run --uri test:///default --interval 2 --spool /tmp/d.ndjson --socket /tmp/v.sock
  virtdiag check-config --config /etc/virtdiag/virtdiag.toml
  virtdiag query status
  virtdiag query get instance-0000002a format=legacy
  echo all | socat - UNIX-CONNECT:/run/virtdiag/virtdiag.sock
  virtdiag once --uri test:///default
  virtdiag once --uri qemu:///system --format table --domain instance-0000002a
  virtdiag once --uri test:///$PWD/contrib/demo/node.xml --format legacy";

#[derive(Debug, Parser)]
#[command(
    name = "virtdiag",
    version,
    about = "Diagnostics of libvirt guests: per-vCPU CPU time, memory and balloon, disks, NICs",
    after_help = EXAMPLES
)]
pub struct Cli {
    /// Most verbose log level on stderr: error, warning, info or debug.
    #[arg(long, global = true, default_value = "info", value_parser = parse_level)]
    pub log_level: Level,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the agent: collect every interval, append to the spool, answer on the socket.
    Run(RunArgs),
    /// Validate the configuration and print the effective one (exit 78 if it is bad).
    CheckConfig(CheckConfigArgs),
    /// Ask a running agent over its socket and print the answer.
    Query(QueryArgs),
    /// Collect twice, a short interval apart (so rates are filled), print every domain.
    Once(OnceArgs),
    /// A live view of every domain, fed by the agent's socket; `q` quits.
    #[cfg(feature = "top")]
    Top(TopArgs),
    /// Not in this build: virtdiag was built without the cargo feature `top`.
    #[cfg(not(feature = "top"))]
    #[command(hide = true, disable_help_flag = true)]
    Top(AbsentArgs),
    /// Print the shell completion script for bash, zsh or fish (the packages install
    /// them).
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Config file [default: /etc/virtdiag/virtdiag.toml; missing means defaults].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// One flag per configuration key, from the key table (src/config/keys.rs).
    #[command(flatten)]
    pub overrides: Overrides,
}

#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// Config file [default: /etc/virtdiag/virtdiag.toml; missing means defaults].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The flags of `run`, checked as `run` would.
    #[command(flatten)]
    pub overrides: Overrides,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub agent: AgentArgs,

    /// Print the raw JSON lines even on a terminal.
    #[arg(long, visible_alias = "json")]
    pub raw: bool,

    /// For get, all, collect and watch: the records as json, legacy, nova, or table
    /// (the legacy dictionary as the original Property | Value table, even piped).
    #[arg(long, value_enum)]
    pub format: Option<QueryFormat>,

    /// With `status`: one line for a monitoring plugin (Nagios, Icinga, monit) and its
    /// exit code: 0 OK, 1 WARNING (last cycle stale, spool losses), 2 CRITICAL
    /// (libvirt disconnected, agent unreachable), 3 UNKNOWN.
    #[arg(long)]
    pub check: bool,

    /// The request, e.g. `status`, `get DOMAIN format=legacy`, `all` (see `help`).
    #[arg(required = true, num_args = 1.., value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    Json,
    Legacy,
    Nova,
    Table,
}

/// The agent's socket when neither `--socket` nor the environment names one.
pub const DEFAULT_SOCKET: &str = "/run/virtdiag/virtdiag.sock";
/// The environment variable that names the agent's socket for `query` and `top`.
pub const SOCKET_ENV: &str = "VIRTDIAG_SOCKET";

/// Whatever follows a subcommand this build leaves out.
#[cfg(not(feature = "top"))]
#[derive(Debug, Args)]
pub struct AbsentArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub ignored: Vec<String>,
}

#[cfg(feature = "top")]
#[derive(Debug, Args)]
#[command(after_help = "\
Keys: q quit; 1-9 and 0 sort by the column of that number (again: reverse); < > or the
arrows move the sort column; r reverses; / filters by a glob on the name or the Nova
display name (Enter applies, an empty one clears, Esc cancels); Ctrl-C quits too.
Rates are per second, sizes in powers of 1024 (K, M, G); - is not known (yet).")]
pub struct TopArgs {
    #[command(flatten)]
    pub agent: AgentArgs,
}

/// How `query` and `top` reach the agent, and how long and how much they wait for.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The agent's socket.
    #[arg(long, value_name = "PATH", env = SOCKET_ENV, default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,

    /// Seconds to wait for the connection and for each answer (fractions allowed);
    /// `watch` and `top` wait up to three of the agent's intervals more between cycles.
    #[arg(long, value_name = "SECONDS", default_value = client::DEFAULT_TIMEOUT, value_parser = client::parse_timeout)]
    pub timeout: Duration,

    /// The largest answer accepted to a request that is not streamed: bytes, or with
    /// a unit (256M, 1GiB, 500MB).
    #[arg(long, value_name = "BYTES", default_value = client::DEFAULT_MAX_ANSWER, value_parser = client::parse_bytes)]
    pub max_answer_bytes: u64,
}

impl AgentArgs {
    pub fn limits(&self) -> client::Limits {
        client::Limits {
            timeout: self.timeout,
            max_answer_bytes: self.max_answer_bytes,
        }
    }
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct OnceArgs {
    /// libvirt connection URI, as virsh's.
    #[arg(
        short = 'c',
        long = "connect",
        visible_alias = "uri",
        value_name = "URI",
        env = keys::LIBVIRT_URI_ENV,
        default_value = keys::DEFAULT_URI
    )]
    pub uri: String,

    /// Open a read-write connection instead of a read-only one.
    #[arg(long)]
    pub read_write: bool,

    /// Output format [default: a table on a terminal, else json].
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Only the domains this names: a UUID, an id, a name, a glob (*, ?, [...]) or a
    /// Nova display name (DOMAIN SELECTION in virtdiag(8)); repeat for several.
    #[arg(long = "domain", value_name = "DOMAIN")]
    pub domains: Vec<String>,

    /// Seconds between the two samples.
    #[arg(long, default_value_t = 1.0, value_parser = parse_interval)]
    pub sample_interval: f64,

    /// Host name in records (default: this machine's).
    #[arg(long)]
    pub host: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One record per line (the schema of docs/record.md).
    Json,
    /// One line per domain: {"domain","uuid","diagnostics"} with the flat keys of Nova's
    /// original get_diagnostics (2012).
    Legacy,
    /// The Property | Value table per domain of Nova's original get_diagnostics (2012).
    Table,
    /// The Prometheus text exposition (0.0.4) of every domain and of the cycle.
    Prometheus,
    /// One line per domain: {"domain","uuid","diagnostics"} with Nova's 2.48 body.
    Nova,
}

/// Why a flag's value was refused; clap prints it after the flag.
#[derive(Debug, thiserror::Error)]
pub enum FlagValue {
    #[error("'{0}' is not one of error, warning, info, debug")]
    NotLevel(String),
    #[error("'{0}' is not a number of seconds")]
    NotSeconds(String),
    #[error("{value} is outside {range} seconds")]
    OutOfRange { value: String, range: &'static str },
    /// A `--max-answer-bytes` below 64 KiB.
    #[error("'{0}' is less than 64K")]
    TooSmall(String),
    /// A size as the configuration reads it.
    #[error(transparent)]
    Size(#[from] crate::config::Invalid),
}

fn parse_level(text: &str) -> Result<Level, FlagValue> {
    Level::parse(text).ok_or_else(|| FlagValue::NotLevel(text.to_string()))
}

fn parse_interval(text: &str) -> Result<f64, FlagValue> {
    let value: f64 = text
        .parse()
        .map_err(|_| FlagValue::NotSeconds(text.to_string()))?;
    if !(0.0..=3600.0).contains(&value) || !value.is_finite() {
        return Err(FlagValue::OutOfRange {
            value: value.to_string(),
            range: "0..=3600",
        });
    }
    Ok(value)
}
