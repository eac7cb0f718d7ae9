//! What one entry of the key table ([`super::keys::KEYS`]) holds: a key's name,
//! default, flag, environment variable, reload class and how its value is stored.

use super::error::Invalid;
use super::value::{Limit, Value};
use super::Config;

/// One key of the configuration.
pub struct Key {
    /// The key in the file, with its table: `spool.max_bytes`.
    pub name: &'static str,
    /// What it sets, for `--help` (the man page says more): a sentence without its
    /// full stop.
    pub help: &'static str,
    /// Its default, as TOML.
    pub default: &'static str,
    /// The flag that overrides it.
    pub flag: Flag,
    /// The environment variable that overrides it, below the flag and above the file.
    pub env: Option<&'static str>,
    /// The range of a numeric key.
    pub limit: Option<Limit>,
    /// Checks a value and stores it.
    pub set: fn(&mut Config, &Value) -> Result<(), Invalid>,
    /// How a new value applies on SIGHUP.
    pub reload: Reload,
}

/// How a changed key takes effect when the agent reloads its configuration (SIGHUP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reload {
    /// At once: the collector, the spool writer, the socket's limits or the textfile
    /// take the new value with the next cycle or request.
    Live,
    /// On the socket file: its mode and group are changed in place.
    Socket,
    /// Only at the next start (the agent keeps the running value and says so).
    Restart,
}

/// How a key is given on the command line.
pub struct Flag {
    /// `--long`.
    pub long: &'static str,
    /// `-c`.
    pub short: Option<char>,
    /// Another long name, shown in `--help`.
    pub alias: Option<&'static str>,
    /// What the value is (`SECONDS`); empty for a switch.
    pub value_name: &'static str,
    pub shape: FlagShape,
}

pub enum FlagShape {
    /// One value; the last one given counts.
    One,
    /// Repeated for a list.
    Repeated,
    /// A comma-separated list.
    Commas,
    /// No value: giving the flag sets the key to this TOML value.
    Switch(&'static str),
}

pub(super) const fn flag(long: &'static str, value_name: &'static str) -> Flag {
    Flag {
        long,
        short: None,
        alias: None,
        value_name,
        shape: FlagShape::One,
    }
}

/// A key shows as its name (its `set` function has nothing to show).
impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Key {
    /// The flag with its dashes: `--max-bytes`.
    pub fn flag_name(&self) -> String {
        format!("--{}", self.flag.long)
    }
}
