//! SIGHUP through the core: the spool reopens at once, the configuration is read off
//! the loop, and the new one applies by a plan made from the old and the new
//! configuration. How each key applies is stated with the key ([`Key::reload`]): live,
//! on the socket file (mode and group), or only at restart; a key that needs a restart
//! is named in the log and in `status`, never silently ignored.

use crate::config::{Config, Key, Reload, KEYS};
use crate::daemon::setup;
use crate::log::Level;

use super::{Core, Effect};

/// A configuration read after a SIGHUP, with what resolving it needed from the system.
pub struct Loaded {
    pub config: Config,
    /// `socket.group` as a group id (None: the process's group).
    pub gid: Option<u32>,
}

/// The keys whose values differ, by how each applies.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub live: Vec<&'static str>,
    pub socket: Vec<&'static str>,
    pub restart: Vec<&'static str>,
}

/// What changes from `old` to `new`, key by key.
pub fn plan(old: &Config, new: &Config) -> Plan {
    let old_values = values(old);
    let new_values = values(new);
    let mut plan = Plan::default();
    for key in &KEYS {
        if value_of(&old_values, key) == value_of(&new_values, key) {
            continue;
        }
        match key.reload {
            Reload::Live => plan.live.push(key.name),
            Reload::Socket => plan.socket.push(key.name),
            Reload::Restart => plan.restart.push(key.name),
        }
    }
    plan
}

fn values(config: &Config) -> serde_json::Value {
    serde_json::to_value(config).unwrap_or_default()
}

/// A key's value in the serialized configuration (`spool.max_bytes` is
/// `{"spool":{"max_bytes":..}}`).
fn value_of<'a>(values: &'a serde_json::Value, key: &Key) -> Option<&'a serde_json::Value> {
    key.name
        .split('.')
        .try_fold(values, |value, part| value.get(part))
}

impl Core {
    /// SIGHUP: reopen the spool now, read the configuration off the loop.
    pub(super) fn reload(&mut self) {
        self.effects.push(Effect::Notify("RELOADING=1".into()));
        self.effects.push(Effect::ReopenSpool);
        if self.loading {
            self.load_again = true;
        } else {
            self.loading = true;
            self.effects.push(Effect::LoadConfig);
        }
    }

    /// The configuration read after a SIGHUP: applied by its plan, or reported and the
    /// old one kept.
    pub(super) fn loaded(&mut self, loaded: Result<Loaded, crate::daemon::Error>) {
        self.loading = false;
        match loaded {
            Ok(loaded) => {
                let message = self.apply(loaded);
                let line = self.agent_line("reloaded", message.clone());
                self.effects.push(line);
                self.log(Level::Info, message);
            }
            Err(e) => {
                self.log(
                    Level::Error,
                    format!("configuration reload failed, keeping the old one: {e}"),
                );
                let line = self.agent_line("reload_failed", e.to_string());
                self.effects.push(line);
            }
        }
        if std::mem::take(&mut self.load_again) {
            self.loading = true;
            self.effects.push(Effect::LoadConfig);
        } else {
            self.effects.push(Effect::Notify("READY=1".into()));
        }
    }

    /// Applies a new configuration; returns what the `reloaded` line says.
    fn apply(&mut self, loaded: Loaded) -> String {
        let Loaded { config: new, gid } = loaded;
        let changed = plan(&self.config, &new);
        // Restart keys are measured against what runs, not the last reload.
        let restart = plan(&self.started, &new).restart;
        self.effects.push(Effect::SocketLimits(setup::limits(&new)));
        self.on_demand.set_min_interval(new.min_collect_interval());
        if new.host != self.config.host {
            self.host = setup::record_host(&new);
        }
        // Queued after the lines already handed over, which still go to the old path.
        self.effects.push(Effect::ConfigureSpool(new.spool.clone()));
        self.effects.push(Effect::Reconfigure(
            setup::collector_config(&new, &self.host),
            new.interval(),
        ));
        if !changed.socket.is_empty() {
            self.effects.push(Effect::SocketAccess {
                mode: new.socket.mode,
                gid,
            });
        }
        if !restart.is_empty() {
            self.log(
                Level::Warning,
                format!(
                    "{} changed: takes effect at restart; the running values stay until then",
                    restart.join(", ")
                ),
            );
        }
        self.status.uri = new.uri.clone();
        self.status.interval_seconds = new.interval_seconds;
        self.status.spool.path = new.spool.path.clone();
        self.status.restart_needed = restart.iter().map(|key| key.to_string()).collect();
        self.config = new;
        self.want_textfile();
        let mut message = format!("configuration reloaded from {}", self.source_path.display());
        let applied: Vec<&str> = changed
            .live
            .iter()
            .chain(&changed.socket)
            .copied()
            .collect();
        if !applied.is_empty() {
            message.push_str(&format!("; applied: {}", applied.join(", ")));
        }
        if !restart.is_empty() {
            message.push_str(&format!("; needs a restart: {}", restart.join(", ")));
        }
        message
    }
}
