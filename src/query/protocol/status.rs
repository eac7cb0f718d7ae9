//! `status`: the agent's health, one line. The agent keeps one [`Status`] up to date
//! and writes it (`daemon::status` builds it and says it for systemd); `query`, its
//! `--check` and `top` read it back into the same type, so a field renamed or gone
//! fails the reading instead of reading as a default.
//!
//! The counters of its parts live with the code that counts them and are named here,
//! so that one type describes each part of the answer.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use crate::daemon::events::EventCounters;
pub use crate::daemon::textfile::TextfileStats;
pub use crate::log::LogCounters;
pub use crate::query::server::ClientCounters;
pub use crate::spool::SpoolStats;

/// The `status` answer. Every field is required on reading, the nullable ones too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename = "status")]
pub struct Status {
    pub version: String,
    pub pid: u32,
    pub started: String,
    pub uptime_s: u64,
    pub uri: String,
    pub connected: bool,
    /// Why libvirt is not connected (null when connected).
    #[serde(deserialize_with = "super::required")]
    pub disconnect_reason: Option<String>,
    pub interval_seconds: f64,
    pub cycles: u64,
    /// Null before the first cycle.
    #[serde(deserialize_with = "super::required")]
    pub last_cycle: Option<CycleSummary>,
    pub skipped_ticks: u64,
    pub spool: SpoolStatus,
    pub clients: ClientStatus,
    /// Domain events: received, written, dropped, suppressed.
    pub events: EventCounters,
    /// Log lines and systemd notifications: written, and dropped while journald
    /// (or whatever reads stderr) did not keep up.
    pub log: LogCounters,
    /// Keys changed by a reload that only a restart applies (`socket.path`).
    pub restart_needed: Vec<String>,
    /// The Prometheus textfile's writes and failures.
    pub textfile: TextfileStats,
}

/// The last cycle, as `status` tells it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleSummary {
    pub seq: u64,
    pub ts: String,
    pub duration_ms: f64,
    pub domains: usize,
    pub active: usize,
    pub missing_fields: usize,
    pub abandoned_calls: usize,
    #[serde(deserialize_with = "super::required")]
    pub error: Option<String>,
    /// Seconds since the cycle ended, as of the answer.
    pub age_s: f64,
}

/// The spool: its path and counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpoolStatus {
    pub path: PathBuf,
    #[serde(flatten)]
    pub stats: SpoolStats,
}

/// The clients: how many, the answers in flight, and what happened to them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ClientStatus {
    pub connected: usize,
    pub watching: usize,
    pub max: usize,
    /// Bytes of answers queued for clients beyond the latest cycle's views: owned
    /// bytes, and older cycles' buffers that a client still holds.
    pub bytes_in_flight: u64,
    /// The bound on `bytes_in_flight` (docs/service.md, "Limits").
    pub budget_bytes: u64,
    #[serde(flatten)]
    pub counters: ClientCounters,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::query::protocol::Line;

    /// A status as an agent writes it, every part filled.
    pub(crate) fn example() -> Status {
        Status {
            version: "0.1.0".into(),
            pid: 7,
            started: "2026-01-01T00:00:00Z".into(),
            uptime_s: 3725,
            uri: "qemu:///system".into(),
            connected: false,
            disconnect_reason: Some("no libvirtd".into()),
            interval_seconds: 10.0,
            cycles: 372,
            last_cycle: Some(CycleSummary {
                seq: 372,
                ts: "2026-01-01T01:02:03Z".into(),
                duration_ms: 12.34,
                domains: 4,
                active: 3,
                missing_fields: 0,
                abandoned_calls: 0,
                error: Some("disconnected".into()),
                age_s: 2.5,
            }),
            skipped_ticks: 0,
            spool: SpoolStatus {
                path: "/var/log/virtdiag/diagnostics.ndjson".into(),
                stats: SpoolStats {
                    bytes: 5_000_000,
                    lines_written: 1860,
                    rotations: 1,
                    ..SpoolStats::default()
                },
            },
            clients: ClientStatus {
                connected: 1,
                max: 64,
                bytes_in_flight: 1_048_576,
                budget_bytes: 33_554_432,
                ..ClientStatus::default()
            },
            events: EventCounters {
                received: 3,
                written: 3,
                ..EventCounters::default()
            },
            log: LogCounters {
                written: 40,
                dropped: 0,
            },
            restart_needed: vec!["socket.path".into()],
            textfile: TextfileStats {
                path: "/var/lib/prometheus/node-exporter/virtdiag.prom".into(),
                written: 5,
                errors: 2,
                consecutive_errors: 2,
                last_error: Some("Operation not permitted".into()),
            },
        }
    }

    /// Every key of an answer, nested ones as `part.key` (an array's objects' keys
    /// under the array's).
    pub(crate) fn keys(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    let path = format!("{prefix}{key}");
                    keys(inner, &format!("{path}."), out);
                    out.push(path);
                }
            }
            serde_json::Value::Array(items) => {
                for item in items.iter().take(1) {
                    keys(item, prefix, out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn a_status_is_read_back_as_written_kind_first() {
        let status = example();
        let text = serde_json::to_string(&status).unwrap();
        assert!(
            text.starts_with("{\"kind\":\"status\",\"version\":\"0.1.0\","),
            "{text}"
        );
        assert_eq!(
            Line::parse(text.as_bytes()).unwrap(),
            Line::Status(Box::new(status))
        );
    }

    #[test]
    fn every_field_is_required_the_nullable_ones_too() {
        let whole = serde_json::to_value(example()).unwrap();
        let mut all = Vec::new();
        keys(&whole, "", &mut all);
        assert!(all.len() > 50, "{all:?}");
        for key in all.iter().filter(|k| *k != "kind") {
            let mut value = whole.clone();
            let (parent, last) = match key.rsplit_once('.') {
                Some((parent, last)) => (parent.split('.').collect::<Vec<_>>(), last),
                None => (Vec::new(), key.as_str()),
            };
            let mut inner = &mut value;
            for part in parent {
                inner = inner.get_mut(part).unwrap();
            }
            inner.as_object_mut().unwrap().remove(last);
            let error = Line::from_value(&value).unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains(&format!("missing field `{last}`")),
                "{key}: {error}"
            );
        }
    }
}
