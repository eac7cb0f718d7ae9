//! Configuration: the TOML file plus command-line overrides, validated into [`Config`].
//!
//! Strict: an unknown key, a wrong type or a bad value is an error that names the key,
//! the file and the line. A missing default file means defaults; a missing file named
//! explicitly is an error. `virtdiag check-config` runs exactly this code.
//!
//! Every numeric key has a range, stated once in [`LIMITS`]; the file and the flags
//! are checked against it by the same code ([`Limit::check`]), and its messages quote
//! it. The durations ([`Config::interval`] and the like) are built from those ranges,
//! so they stay small enough to add to an [`Instant`](std::time::Instant).

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::collect::stats::Group;
use crate::collect::DomainFilter;

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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CollectConfig {
    /// Statistics groups, by the names `virsh domstats` uses.
    pub groups: Vec<String>,
}

impl Default for CollectConfig {
    fn default() -> Self {
        Self {
            groups: Group::ALL.iter().map(|g| g.name().to_string()).collect(),
        }
    }
}

impl CollectConfig {
    /// The chosen groups as `VIR_DOMAIN_STATS_*` bits.
    pub fn group_bits(&self) -> u32 {
        self.groups
            .iter()
            .filter_map(|name| Group::from_name(name))
            .map(Group::bit)
            .sum()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct DomainsConfig {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpoolConfig {
    pub path: PathBuf,
    pub max_bytes: u64,
    pub keep: u32,
    pub fsync: Fsync,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fsync {
    /// fdatasync after each cycle's lines.
    Cycle,
    /// Leave it to the kernel.
    Never,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
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

impl Default for Config {
    fn default() -> Self {
        Self {
            uri: "qemu:///system".into(),
            read_only: true,
            interval_seconds: 10.0,
            min_collect_interval_seconds: 1.0,
            host: String::new(),
            domains: DomainsConfig::default(),
            spool: SpoolConfig {
                path: "/var/log/virtdiag/diagnostics.ndjson".into(),
                max_bytes: 64 * 1024 * 1024,
                keep: 5,
                fsync: Fsync::Cycle,
            },
            socket: SocketConfig {
                path: "/run/virtdiag/virtdiag.sock".into(),
                mode: 0o660,
                group: String::new(),
                max_clients: 64,
                idle_timeout_seconds: 300.0,
            },
            prometheus: PrometheusConfig::default(),
            collect: CollectConfig::default(),
        }
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
        INTERVAL.duration(self.interval_seconds)
    }

    /// Shortest time between two on-demand cycles (`min_collect_interval_seconds`);
    /// zero when they are not throttled.
    pub fn min_collect_interval(&self) -> Duration {
        MIN_COLLECT_INTERVAL.duration(self.min_collect_interval_seconds)
    }

    /// Silence after which a client is disconnected (`socket.idle_timeout_seconds`).
    pub fn idle_timeout(&self) -> Duration {
        IDLE_TIMEOUT.duration(self.socket.idle_timeout_seconds)
    }

    /// The effective configuration as TOML, as `check-config` prints it.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot print the config: {e}\n"))
    }
}

fn serialize_mode<S: serde::Serializer>(mode: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{mode:04o}"))
}

/// Values given on the command line; each overrides its key.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub uri: Option<String>,
    pub read_write: bool,
    pub interval_seconds: Option<Number>,
    pub min_collect_interval_seconds: Option<Number>,
    pub host: Option<String>,
    pub spool_path: Option<PathBuf>,
    pub socket_path: Option<PathBuf>,
    /// Replaces `domains.include` when not empty.
    pub include: Vec<String>,
    /// Replaces `domains.exclude` when not empty.
    pub exclude: Vec<String>,
    pub spool_max_bytes: Option<Number>,
    pub spool_keep: Option<Number>,
    pub fsync: Option<Fsync>,
    pub socket_mode: Option<String>,
    pub socket_group: Option<String>,
    pub max_clients: Option<Number>,
    pub idle_timeout_seconds: Option<Number>,
    pub prometheus_textfile: Option<PathBuf>,
    /// Replaces `collect.groups` when given.
    pub groups: Option<Vec<String>>,
}

/// The file as written: every key optional, unknown keys rejected.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    uri: Option<Spanned<String>>,
    read_only: Option<bool>,
    interval_seconds: Option<Spanned<Number>>,
    min_collect_interval_seconds: Option<Spanned<Number>>,
    host: Option<String>,
    domains: Option<FileDomains>,
    spool: Option<FileSpool>,
    socket: Option<FileSocket>,
    prometheus: Option<FilePrometheus>,
    collect: Option<FileCollect>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCollect {
    groups: Option<Spanned<Vec<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDomains {
    include: Option<Vec<String>>,
    exclude: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpool {
    path: Option<Spanned<PathBuf>>,
    max_bytes: Option<Spanned<Number>>,
    keep: Option<Spanned<Number>>,
    fsync: Option<Fsync>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSocket {
    path: Option<Spanned<PathBuf>>,
    mode: Option<Spanned<String>>,
    group: Option<String>,
    max_clients: Option<Spanned<Number>>,
    idle_timeout_seconds: Option<Spanned<Number>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePrometheus {
    textfile: Option<Spanned<PathBuf>>,
}

/// A number as written in the file or on the command line, before its range is
/// checked: an integer of any size TOML allows, or a float (NaN and infinities
/// included, so that the check can name them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Integer(i128),
    Float(f64),
}

/// A flag's value: an integer if it reads as one, else a float (`1.5`, `1e3`, `nan`).
impl FromStr for Number {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if let Ok(integer) = text.parse::<i128>() {
            return Ok(Number::Integer(integer));
        }
        text.parse::<f64>()
            .map(Number::Float)
            .map_err(|_| format!("'{text}' is not a number"))
    }
}

/// As written, with an exponent for very large or very small floats (`1e300`, not
/// three hundred digits).
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Number::Integer(i) => write!(f, "{i}"),
            Number::Float(x) if x != 0.0 && x.is_finite() && !(1e-4..1e15).contains(&x.abs()) => {
                write!(f, "{x:e}")
            }
            Number::Float(x) => write!(f, "{x}"),
        }
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Number, E> {
                Ok(Number::Integer(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Number, E> {
                Ok(Number::Integer(v.into()))
            }
            fn visit_i128<E>(self, v: i128) -> Result<Number, E> {
                Ok(Number::Integer(v))
            }
            fn visit_u128<E>(self, v: u128) -> Result<Number, E> {
                Ok(Number::Integer(i128::try_from(v).unwrap_or(i128::MAX)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Number, E> {
                Ok(Number::Float(v))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// The allowed values of a numeric key. Each range is stated here only: the checks of
/// the file and of the flags, their messages and the tests that hold the
/// documentation to them all read these constants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// The key, with its table: `socket.idle_timeout_seconds`.
    pub key: &'static str,
    /// The flag of `virtdiag run` that overrides the key.
    pub flag: &'static str,
    /// Smallest value allowed.
    pub min: f64,
    /// Largest value allowed.
    pub max: f64,
    /// Only integers (counts of things); otherwise any number in the range.
    pub whole: bool,
    /// What the number counts: "seconds", "bytes".
    pub unit: &'static str,
}

/// `interval_seconds`: a tenth of a second to a day.
pub const INTERVAL: Limit = Limit {
    key: "interval_seconds",
    flag: "--interval",
    min: 0.1,
    max: 86_400.0,
    whole: false,
    unit: "seconds",
};

/// `min_collect_interval_seconds`: 0 (not throttled) to an hour.
pub const MIN_COLLECT_INTERVAL: Limit = Limit {
    key: "min_collect_interval_seconds",
    flag: "--min-collect-interval",
    min: 0.0,
    max: 3_600.0,
    whole: false,
    unit: "seconds",
};

/// `spool.max_bytes`: a page to 1 PiB (2^50). The top is far beyond any disk, so that
/// a huge value (logrotate's suggestion of 1 TiB) turns built-in rotation off, yet
/// small enough that sizes added to it cannot overflow.
pub const SPOOL_MAX_BYTES: Limit = Limit {
    key: "spool.max_bytes",
    flag: "--max-bytes",
    min: 4096.0,
    max: (1u64 << 50) as f64,
    whole: true,
    unit: "bytes",
};

/// `spool.keep`: none to a thousand rotated files.
pub const SPOOL_KEEP: Limit = Limit {
    key: "spool.keep",
    flag: "--keep",
    min: 0.0,
    max: 1_000.0,
    whole: true,
    unit: "files",
};

/// `socket.max_clients`: one to ten thousand clients at once.
pub const MAX_CLIENTS: Limit = Limit {
    key: "socket.max_clients",
    flag: "--max-clients",
    min: 1.0,
    max: 10_000.0,
    whole: true,
    unit: "clients",
};

/// `socket.idle_timeout_seconds`: a second to a day.
pub const IDLE_TIMEOUT: Limit = Limit {
    key: "socket.idle_timeout_seconds",
    flag: "--idle-timeout",
    min: 1.0,
    max: 86_400.0,
    whole: false,
    unit: "seconds",
};

/// Every numeric key.
pub const LIMITS: [Limit; 6] = [
    INTERVAL,
    MIN_COLLECT_INTERVAL,
    SPOOL_MAX_BYTES,
    SPOOL_KEEP,
    MAX_CLIENTS,
    IDLE_TIMEOUT,
];

/// The longest duration a key can give. `Instant::now() + d` overflows only for a `d`
/// of billions of years (the monotonic clock counts seconds in an `i64`), so a day
/// is safe on every platform.
const MAX_DURATION_SECONDS: f64 = 86_400.0;
const _: () = assert!(
    INTERVAL.max <= MAX_DURATION_SECONDS
        && MIN_COLLECT_INTERVAL.max <= MAX_DURATION_SECONDS
        && IDLE_TIMEOUT.max <= MAX_DURATION_SECONDS
);

impl Limit {
    /// The value if it is in the range (and an integer for a count), else why not
    /// and what to give instead.
    pub fn check(&self, value: Number) -> Result<f64, String> {
        let x = match value {
            // Exact up to 2^53, far beyond every bound; rounding keeps larger
            // integers beyond them too.
            Number::Integer(i) => i as f64,
            Number::Float(x) => x,
        };
        let in_range = (self.min..=self.max).contains(&x);
        let problem = if !in_range {
            "is out of range"
        } else if self.whole && matches!(value, Number::Float(_)) {
            "is not a whole number"
        } else {
            return Ok(x);
        };
        Err(format!(
            "{value} {problem}: give {} from {} to {}",
            self.what(),
            self.min,
            self.max
        ))
    }

    /// [`check`](Self::check) for the keys that count things.
    fn check_count(&self, value: Number) -> Result<u64, String> {
        debug_assert!(self.whole, "{} is not a count", self.key);
        // A whole number from min to max (at most 2^50): the cast is exact.
        self.check(value).map(|v| v as u64)
    }

    /// The message for a bad flag: the flag, the problem, the key it overrides.
    fn flag_error(&self, why: &str) -> String {
        format!("{}: {why} (it sets {})", self.flag, self.key)
    }

    /// "a number of seconds", "a whole number of bytes".
    fn what(&self) -> String {
        let number = if self.whole {
            "a whole number"
        } else {
            "a number"
        };
        format!("{number} of {}", self.unit)
    }

    /// `seconds` as a [`Duration`]. A validated value is already in the range; one
    /// set directly out of it is clamped into it (NaN to the minimum), so the result
    /// is always at most [`MAX_DURATION_SECONDS`] and never panics.
    fn duration(&self, seconds: f64) -> Duration {
        let seconds = if seconds.is_nan() {
            self.min
        } else {
            seconds.clamp(self.min, self.max)
        };
        Duration::from_secs_f64(seconds)
    }
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
}

/// Reads, parses and validates the configuration, then applies the overrides.
pub fn load(source: &Source, overrides: &Overrides) -> Result<Config, String> {
    let path = source.path();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound && matches!(source, Source::Default(_)) =>
        {
            None
        }
        Err(e) => {
            return Err(format!(
                "{}: cannot read the config file: {e}",
                path.display()
            ))
        }
    };
    let mut config = match &text {
        Some(text) => parse(text).map_err(|e| format!("{}: {e}", path.display()))?,
        None => Config::default(),
    };
    apply(&mut config, overrides)?;
    Ok(config)
}

/// Parses and validates a config file's text.
pub fn parse(text: &str) -> Result<Config, String> {
    let file: FileConfig =
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?;
    let mut config = Config::default();
    let at = |span: Range<usize>| line_of(text, span.start);
    let bad = |key: &str, span: Range<usize>, why: &str| format!("line {}: {key}: {why}", at(span));
    let number = |limit: &Limit, value: Spanned<Number>| {
        limit
            .check(*value.get_ref())
            .map_err(|why| bad(limit.key, value.span(), &why))
    };
    let count = |limit: &Limit, value: Spanned<Number>| {
        limit
            .check_count(*value.get_ref())
            .map_err(|why| bad(limit.key, value.span(), &why))
    };

    if let Some(uri) = file.uri {
        if uri.get_ref().trim().is_empty() {
            return Err(bad("uri", uri.span(), "must not be empty"));
        }
        config.uri = uri.into_inner();
    }
    if let Some(read_only) = file.read_only {
        config.read_only = read_only;
    }
    if let Some(interval) = file.interval_seconds {
        config.interval_seconds = number(&INTERVAL, interval)?;
    }
    if let Some(min) = file.min_collect_interval_seconds {
        config.min_collect_interval_seconds = number(&MIN_COLLECT_INTERVAL, min)?;
    }
    if let Some(host) = file.host {
        config.host = host;
    }
    if let Some(domains) = file.domains {
        config.domains.include = domains.include.unwrap_or_default();
        config.domains.exclude = domains.exclude.unwrap_or_default();
    }
    if let Some(spool) = file.spool {
        if let Some(path) = spool.path {
            if !path.get_ref().is_absolute() {
                return Err(bad("spool.path", path.span(), "must be an absolute path"));
            }
            config.spool.path = path.into_inner();
        }
        if let Some(max) = spool.max_bytes {
            config.spool.max_bytes = count(&SPOOL_MAX_BYTES, max)?;
        }
        if let Some(keep) = spool.keep {
            config.spool.keep = count(&SPOOL_KEEP, keep)? as u32;
        }
        if let Some(fsync) = spool.fsync {
            config.spool.fsync = fsync;
        }
    }
    if let Some(socket) = file.socket {
        if let Some(path) = socket.path {
            if !path.get_ref().is_absolute() {
                return Err(bad("socket.path", path.span(), "must be an absolute path"));
            }
            config.socket.path = path.into_inner();
        }
        if let Some(mode) = socket.mode {
            config.socket.mode =
                parse_mode(mode.get_ref()).map_err(|why| bad("socket.mode", mode.span(), &why))?;
        }
        if let Some(group) = socket.group {
            config.socket.group = group;
        }
        if let Some(max) = socket.max_clients {
            config.socket.max_clients = count(&MAX_CLIENTS, max)? as usize;
        }
        if let Some(idle) = socket.idle_timeout_seconds {
            config.socket.idle_timeout_seconds = number(&IDLE_TIMEOUT, idle)?;
        }
    }
    if let Some(groups) = file.collect.and_then(|c| c.groups) {
        config.collect.groups = Group::parse_list(groups.get_ref())
            .map_err(|why| bad("collect.groups", groups.span(), &why))?;
    }
    if let Some(textfile) = file.prometheus.and_then(|p| p.textfile) {
        check_textfile(textfile.get_ref())
            .map_err(|why| bad("prometheus.textfile", textfile.span(), &why))?;
        config.prometheus.textfile = textfile.into_inner();
    }
    Ok(config)
}

fn apply(config: &mut Config, overrides: &Overrides) -> Result<(), String> {
    let number =
        |limit: &Limit, value: Number| limit.check(value).map_err(|why| limit.flag_error(&why));
    let count = |limit: &Limit, value: Number| {
        limit
            .check_count(value)
            .map_err(|why| limit.flag_error(&why))
    };
    if let Some(uri) = &overrides.uri {
        config.uri = uri.clone();
    }
    if overrides.read_write {
        config.read_only = false;
    }
    if let Some(interval) = overrides.interval_seconds {
        config.interval_seconds = number(&INTERVAL, interval)?;
    }
    if let Some(min) = overrides.min_collect_interval_seconds {
        config.min_collect_interval_seconds = number(&MIN_COLLECT_INTERVAL, min)?;
    }
    if let Some(host) = &overrides.host {
        config.host = host.clone();
    }
    if let Some(path) = &overrides.spool_path {
        config.spool.path = absolute(path);
    }
    if let Some(path) = &overrides.socket_path {
        config.socket.path = absolute(path);
    }
    if !overrides.include.is_empty() {
        config.domains.include = overrides.include.clone();
    }
    if !overrides.exclude.is_empty() {
        config.domains.exclude = overrides.exclude.clone();
    }
    if let Some(max) = overrides.spool_max_bytes {
        config.spool.max_bytes = count(&SPOOL_MAX_BYTES, max)?;
    }
    if let Some(keep) = overrides.spool_keep {
        config.spool.keep = count(&SPOOL_KEEP, keep)? as u32;
    }
    if let Some(fsync) = overrides.fsync {
        config.spool.fsync = fsync;
    }
    if let Some(mode) = &overrides.socket_mode {
        config.socket.mode = parse_mode(mode).map_err(|why| format!("--socket-mode: {why}"))?;
    }
    if let Some(group) = &overrides.socket_group {
        config.socket.group = group.clone();
    }
    if let Some(max) = overrides.max_clients {
        config.socket.max_clients = count(&MAX_CLIENTS, max)? as usize;
    }
    if let Some(idle) = overrides.idle_timeout_seconds {
        config.socket.idle_timeout_seconds = number(&IDLE_TIMEOUT, idle)?;
    }
    if let Some(groups) = &overrides.groups {
        config.collect.groups = Group::parse_list(groups)
            .map_err(|why| format!("--groups: {why} (it sets collect.groups)"))?;
    }
    if let Some(path) = &overrides.prometheus_textfile {
        let path = if path.as_os_str().is_empty() {
            PathBuf::new()
        } else {
            absolute(path)
        };
        check_textfile(&path).map_err(|why| format!("--prometheus-textfile: {why}"))?;
        config.prometheus.textfile = path;
    }
    Ok(())
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `prometheus.textfile`: empty (off), or an absolute path to a `.prom` file, the only
/// files node_exporter's textfile collector reads.
fn check_textfile(path: &Path) -> Result<(), String> {
    if path.as_os_str().is_empty() {
        return Ok(());
    }
    if !path.is_absolute() {
        return Err("must be an absolute path".into());
    }
    match path.file_name().and_then(|n| n.to_str()) {
        Some(name) if name.len() > ".prom".len() && name.ends_with(".prom") => Ok(()),
        _ => Err(format!(
            "{} is not a .prom file (node_exporter's textfile collector reads only *.prom)",
            path.display()
        )),
    }
}

/// "0660" or "660" (octal permission bits, no set-id or sticky bits).
fn parse_mode(text: &str) -> Result<u32, String> {
    let mode = u32::from_str_radix(text, 8)
        .map_err(|_| format!("'{text}' is not an octal mode like \"0660\""))?;
    if mode > 0o777 {
        return Err(format!("'{text}' has bits beyond 0777"));
    }
    Ok(mode)
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
