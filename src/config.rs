//! Configuration: the TOML file plus command-line overrides, validated into [`Config`].
//!
//! Strict: an unknown key, a wrong type or a bad value is an error that names the key,
//! the file and the line. A missing default file means defaults; a missing file named
//! explicitly is an error. `virtdiag check-config` runs exactly this code.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::collect::DomainFilter;

pub const DEFAULT_CONFIG_PATH: &str = "/etc/virtdiag/virtdiag.toml";

/// The effective configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    pub uri: String,
    pub read_only: bool,
    pub interval_seconds: f64,
    /// The `host` of records; empty means this machine's host name.
    pub host: String,
    pub domains: DomainsConfig,
    pub spool: SpoolConfig,
    pub socket: SocketConfig,
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

impl Default for Config {
    fn default() -> Self {
        Self {
            uri: "qemu:///system".into(),
            read_only: true,
            interval_seconds: 10.0,
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
    pub interval_seconds: Option<f64>,
    pub host: Option<String>,
    pub spool_path: Option<PathBuf>,
    pub socket_path: Option<PathBuf>,
    /// Replaces `domains.include` when not empty.
    pub include: Vec<String>,
    /// Replaces `domains.exclude` when not empty.
    pub exclude: Vec<String>,
    pub spool_max_bytes: Option<i64>,
    pub spool_keep: Option<i64>,
    pub fsync: Option<Fsync>,
    pub socket_mode: Option<String>,
    pub socket_group: Option<String>,
    pub max_clients: Option<i64>,
    pub idle_timeout_seconds: Option<f64>,
}

/// The file as written: every key optional, unknown keys rejected.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    uri: Option<Spanned<String>>,
    read_only: Option<bool>,
    interval_seconds: Option<Spanned<Number>>,
    host: Option<String>,
    domains: Option<FileDomains>,
    spool: Option<FileSpool>,
    socket: Option<FileSocket>,
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
    max_bytes: Option<Spanned<i64>>,
    keep: Option<Spanned<i64>>,
    fsync: Option<Fsync>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSocket {
    path: Option<Spanned<PathBuf>>,
    mode: Option<Spanned<String>>,
    group: Option<String>,
    max_clients: Option<Spanned<i64>>,
    idle_timeout_seconds: Option<Spanned<Number>>,
}

/// TOML integers and floats both count as numbers of seconds.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
enum Number {
    Integer(i64),
    Float(f64),
}

impl Number {
    fn value(self) -> f64 {
        match self {
            Number::Integer(i) => i as f64,
            Number::Float(f) => f,
        }
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
        config.interval_seconds = check_interval(interval.get_ref().value())
            .map_err(|why| bad("interval_seconds", interval.span(), &why))?;
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
            config.spool.max_bytes = check_max_bytes(*max.get_ref())
                .map_err(|why| bad("spool.max_bytes", max.span(), &why))?;
        }
        if let Some(keep) = spool.keep {
            config.spool.keep =
                check_keep(*keep.get_ref()).map_err(|why| bad("spool.keep", keep.span(), &why))?;
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
            config.socket.max_clients = check_max_clients(*max.get_ref())
                .map_err(|why| bad("socket.max_clients", max.span(), &why))?;
        }
        if let Some(idle) = socket.idle_timeout_seconds {
            config.socket.idle_timeout_seconds = check_idle_timeout(idle.get_ref().value())
                .map_err(|why| bad("socket.idle_timeout_seconds", idle.span(), &why))?;
        }
    }
    Ok(config)
}

fn apply(config: &mut Config, overrides: &Overrides) -> Result<(), String> {
    if let Some(uri) = &overrides.uri {
        config.uri = uri.clone();
    }
    if overrides.read_write {
        config.read_only = false;
    }
    if let Some(interval) = overrides.interval_seconds {
        config.interval_seconds =
            check_interval(interval).map_err(|why| format!("--interval: {why}"))?;
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
        config.spool.max_bytes =
            check_max_bytes(max).map_err(|why| format!("--max-bytes: {why}"))?;
    }
    if let Some(keep) = overrides.spool_keep {
        config.spool.keep = check_keep(keep).map_err(|why| format!("--keep: {why}"))?;
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
        config.socket.max_clients =
            check_max_clients(max).map_err(|why| format!("--max-clients: {why}"))?;
    }
    if let Some(idle) = overrides.idle_timeout_seconds {
        config.socket.idle_timeout_seconds =
            check_idle_timeout(idle).map_err(|why| format!("--idle-timeout: {why}"))?;
    }
    Ok(())
}

fn check_max_bytes(bytes: i64) -> Result<u64, String> {
    u64::try_from(bytes)
        .ok()
        .filter(|&b| b >= 4096)
        .ok_or_else(|| format!("{bytes} is less than 4096 bytes"))
}

fn check_keep(files: i64) -> Result<u32, String> {
    u32::try_from(files)
        .ok()
        .filter(|&f| f <= 1000)
        .ok_or_else(|| format!("{files} is not between 0 and 1000"))
}

fn check_max_clients(clients: i64) -> Result<usize, String> {
    usize::try_from(clients)
        .ok()
        .filter(|c| (1..=10_000).contains(c))
        .ok_or_else(|| format!("{clients} is not between 1 and 10000"))
}

fn check_idle_timeout(seconds: f64) -> Result<f64, String> {
    if seconds.is_finite() && seconds > 0.0 {
        Ok(seconds)
    } else {
        Err(format!("{seconds} is not a positive number of seconds"))
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn check_interval(seconds: f64) -> Result<f64, String> {
    if seconds.is_finite() && (0.1..=86_400.0).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(format!("{seconds} is not between 0.1 and 86400 seconds"))
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
