//! Configuration: the TOML file, the environment and the command line, validated into
//! [`Config`].
//!
//! Every key is stated once, in [`keys::KEYS`]: its default, flag, environment
//! variable, range and check. Precedence, highest first: the flag, the environment
//! (`LIBVIRT_DEFAULT_URI` for `uri`), the file, the default. Strict: an unknown key, a
//! wrong type or a bad value is an error that names the key, the file and the line;
//! every error is reported, not just the first. A missing default file means defaults;
//! a missing file named explicitly is an error. Checks across keys follow
//! (`cross`: the files the agent writes each have their own path). `virtdiag
//! check-config` runs exactly this code, then [`environment::check`].

mod cross;
mod entry;
pub mod environment;
mod error;
mod flags;
pub mod keys;
mod value;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::de::{DeTable, DeValue};

use crate::collect::filter::Selector;
use crate::collect::DomainFilter;

pub use self::error::{Error, Invalid, Problem};
pub use self::flags::Overrides;
pub use self::keys::{Key, Reload, KEYS};
pub use self::value::{parse_size, Limit, Number, Value};

pub const DEFAULT_CONFIG_PATH: &str = "/etc/virtdiag/virtdiag.toml";

/// The effective configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    pub uri: String,
    pub read_only: bool,
    pub interval_seconds: f64,
    /// At most one on-demand cycle (the socket's `collect`, SIGUSR1) per this many
    /// seconds; 0: not throttled.
    pub min_collect_interval_seconds: f64,
    /// The `host` of records; empty means this machine's host name.
    pub host: String,
    pub domains: DomainsConfig,
    pub spool: SpoolConfig,
    pub socket: SocketConfig,
    pub prometheus: PrometheusConfig,
    pub collect: CollectConfig,
}

/// What each cycle collects.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct CollectConfig {
    /// Statistics groups, by the names `virsh domstats` uses.
    pub groups: Vec<String>,
}

impl CollectConfig {
    /// The chosen groups as `VIR_DOMAIN_STATS_*` bits.
    pub fn group_bits(&self) -> u32 {
        self.groups
            .iter()
            .filter_map(|name| crate::collect::stats::Group::from_name(name))
            .map(crate::collect::stats::Group::bit)
            .sum()
    }
}

/// The domain lists, compiled when read (each string at most
/// [`crate::collect::filter::MAX_PATTERN_BYTES`]); they print as the strings given.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct DomainsConfig {
    pub include: Vec<Selector>,
    pub exclude: Vec<Selector>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SpoolConfig {
    pub path: PathBuf,
    /// Rotate before the file grows past this; 0: no built-in rotation.
    pub max_bytes: u64,
    pub keep: u32,
    pub fsync: Fsync,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Fsync {
    /// fdatasync after each cycle's lines.
    #[default]
    Cycle,
    /// Leave it to the kernel.
    Never,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SocketConfig {
    pub path: PathBuf,
    /// Octal permission bits, written as a string ("0660").
    #[serde(serialize_with = "serialize_mode")]
    pub mode: u32,
    /// Group owning the socket; empty keeps the process's group.
    pub group: String,
    pub max_clients: usize,
    pub idle_timeout_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct PrometheusConfig {
    /// Where the exposition is written after each cycle, for node_exporter's textfile
    /// collector (a `.prom` file); empty: not written.
    pub textfile: PathBuf,
}

/// Every key at its default, from [`KEYS`].
impl Default for Config {
    fn default() -> Self {
        let mut config = Config {
            uri: String::new(),
            read_only: false,
            interval_seconds: 0.0,
            min_collect_interval_seconds: 0.0,
            host: String::new(),
            domains: DomainsConfig::default(),
            spool: SpoolConfig::default(),
            socket: SocketConfig::default(),
            prometheus: PrometheusConfig::default(),
            collect: CollectConfig::default(),
        };
        for key in &KEYS {
            let value = DeValue::parse(key.default).unwrap_or_else(|e| {
                panic!("{}: default {} is not TOML: {e}", key.name, key.default)
            });
            (key.set)(&mut config, &Value::Toml(value))
                .unwrap_or_else(|e| panic!("{}: default {}: {e}", key.name, key.default));
        }
        config
    }
}

impl Config {
    pub fn filter(&self) -> DomainFilter {
        DomainFilter {
            include: self.domains.include.clone(),
            exclude: self.domains.exclude.clone(),
        }
    }

    /// Time between two cycles (`interval_seconds`).
    pub fn interval(&self) -> Duration {
        keys::INTERVAL.duration(self.interval_seconds)
    }

    /// Shortest time between two on-demand cycles (`min_collect_interval_seconds`);
    /// zero when they are not throttled.
    pub fn min_collect_interval(&self) -> Duration {
        keys::MIN_COLLECT_INTERVAL.duration(self.min_collect_interval_seconds)
    }

    /// Silence after which a client is disconnected (`socket.idle_timeout_seconds`).
    pub fn idle_timeout(&self) -> Duration {
        keys::IDLE_TIMEOUT.duration(self.socket.idle_timeout_seconds)
    }

    /// The effective configuration as TOML, as `check-config` prints it.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot print the config: {e}\n"))
    }
}

fn serialize_mode<S: serde::Serializer>(mode: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{mode:04o}"))
}

/// Where the configuration comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The default path: a missing file means defaults.
    Default(PathBuf),
    /// A path given with `--config`: it must exist.
    Explicit(PathBuf),
}

impl Source {
    pub fn from_flag(path: Option<PathBuf>) -> Self {
        match path {
            Some(path) => Source::Explicit(path),
            None => Source::Default(PathBuf::from(DEFAULT_CONFIG_PATH)),
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            Source::Default(p) | Source::Explicit(p) => p,
        }
    }

    /// Whether a file is there to read ("no file at PATH, using the defaults" if not).
    pub fn exists(&self) -> bool {
        self.path().exists()
    }
}

/// Reads, parses and validates the configuration, then applies the environment and
/// the flags. Every error found is reported, one per line.
pub fn load(source: &Source, overrides: &Overrides) -> Result<Config, Error> {
    let path = source.path();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound && matches!(source, Source::Default(_)) =>
        {
            None
        }
        Err(source) => {
            return Err(Problem::Unreadable {
                path: path.to_path_buf(),
                source,
            }
            .into())
        }
    };
    let (mut config, errors) = match &text {
        Some(text) => read_file(text),
        None => (Config::default(), Vec::new()),
    };
    let mut errors = Error::in_file(errors, path);
    errors.extend(apply(&mut config, overrides));
    errors.extend(cross::check(&config));
    Error::or_ok(config, errors)
}

/// Parses and validates a config file's text.
pub fn parse(text: &str) -> Result<Config, Error> {
    let (config, mut errors) = read_file(text);
    errors.extend(cross::check(&config));
    Error::or_ok(config, errors)
}

/// The file's keys over the defaults, and every error ("line 3: spool.keep: ...").
fn read_file(text: &str) -> (Config, Vec<Problem>) {
    let mut config = Config::default();
    let table = match DeTable::parse(text) {
        Ok(table) => table,
        Err(e) => {
            let message = e.to_string().trim_end().to_string();
            return (
                config,
                vec![Problem::Syntax {
                    file: None,
                    message,
                }],
            );
        }
    };
    let mut errors = Vec::new();
    read_table(text, "", table.get_ref(), &mut config, &mut errors);
    (config, errors)
}

/// The tables that hold keys: `[spool]` for `spool.path`.
fn is_table_of_keys(prefix: &str) -> bool {
    KEYS.iter().any(|key| {
        key.name
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.'))
    })
}

fn read_table(
    text: &str,
    prefix: &str,
    table: &DeTable<'_>,
    config: &mut Config,
    errors: &mut Vec<Problem>,
) {
    // In the file's order, so that the errors are too.
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(name, _)| name.span().start);
    for (name, value) in entries {
        let full = if prefix.is_empty() {
            name.get_ref().to_string()
        } else {
            format!("{prefix}.{}", name.get_ref())
        };
        let line = line_of(text, name.span().start);
        if let Some(key) = keys::key(&full) {
            if let Err(invalid) = (key.set)(config, &Value::Toml(value.clone())) {
                errors.push(Problem::Value {
                    file: None,
                    line,
                    key: full,
                    invalid,
                });
            }
        } else if is_table_of_keys(&full) {
            match value.get_ref() {
                DeValue::Table(inner) => read_table(text, &full, inner, config, errors),
                _ => errors.push(Problem::NotTable {
                    file: None,
                    line,
                    key: full,
                }),
            }
        } else {
            errors.push(Problem::UnknownKey {
                file: None,
                line,
                key: full,
                table: prefix.to_string(),
                known: keys_under(prefix),
            });
        }
    }
}

/// The keys and tables directly under `prefix` (empty: the top level).
fn keys_under(prefix: &str) -> String {
    let mut names: Vec<&str> = KEYS
        .iter()
        .filter_map(|key| {
            let rest = if prefix.is_empty() {
                key.name
            } else {
                key.name.strip_prefix(prefix)?.strip_prefix('.')?
            };
            Some(rest.split('.').next().unwrap_or(rest))
        })
        .collect();
    names.dedup();
    names.join(", ")
}

/// The environment, then the flags, over `config`; the errors, each naming the flag or
/// variable and the key it sets.
fn apply(config: &mut Config, overrides: &Overrides) -> Vec<Problem> {
    let mut errors = Vec::new();
    for (key, text) in &overrides.env {
        let value = Value::Text(vec![text.clone()]);
        if let Err(invalid) = (key.set)(config, &value) {
            errors.push(Problem::Environment {
                var: key.env.unwrap_or_default(),
                key: key.name,
                invalid,
            });
        }
    }
    for (key, texts) in &overrides.flags {
        if let Err(invalid) = (key.set)(config, &Value::Text(texts.clone())) {
            errors.push(Problem::Flag {
                flag: key.flag_name(),
                key: key.name,
                invalid,
            });
        }
    }
    errors
}

/// 1-based line number of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests;
