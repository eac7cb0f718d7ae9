//! The `event` line: one libvirt domain event, written as it happens, between cycles.
//!
//! `{"kind":"event","schema":1,"ts":…,"host":…,"domain":{name,uuid,id,state,reason},
//! "nova":…,"event":NAME,…}`: the event's own fields follow `event`, in libvirt's words
//! (`docs/record.md`, "Event lines"). For a lifecycle event the domain's state and
//! reason are what the event says; for the others, what the latest cycle saw.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{DomainIdentity, NovaInfo, SCHEMA_VERSION};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventRecord {
    pub kind: &'static str,
    pub schema: u32,
    pub ts: Arc<str>,
    pub host: Arc<str>,
    pub domain: DomainIdentity,
    pub nova: Option<Arc<NovaInfo>>,
    pub event: &'static str,
    /// The event's own fields; `suppressed` when earlier events of this domain were
    /// dropped by the rate limit.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl EventRecord {
    pub fn new(
        ts: Arc<str>,
        host: Arc<str>,
        domain: DomainIdentity,
        nova: Option<Arc<NovaInfo>>,
        event: &'static str,
        fields: Map<String, Value>,
    ) -> Self {
        Self {
            kind: "event",
            schema: SCHEMA_VERSION,
            ts,
            host,
            domain,
            nova,
            event,
            fields,
        }
    }
}

/// `virDomainEventType` and, per type, its details, in libvirt's words.
const LIFECYCLE: &[(&str, &str, &[&str])] = &[
    // (type, the state it leaves the domain in, details)
    (
        "defined",
        "",
        &["added", "updated", "renamed", "from_snapshot"],
    ),
    ("undefined", "", &["removed", "renamed"]),
    (
        "started",
        "running",
        &[
            "booted",
            "migrated",
            "restored",
            "from_snapshot",
            "wakeup",
            "recreated",
        ],
    ),
    (
        "suspended",
        "paused",
        &[
            "paused",
            "migrated",
            "ioerror",
            "watchdog",
            "restored",
            "from_snapshot",
            "api_error",
            "postcopy",
            "postcopy_failed",
        ],
    ),
    (
        "resumed",
        "running",
        &[
            "unpaused",
            "migrated",
            "from_snapshot",
            "postcopy",
            "postcopy_failed",
        ],
    ),
    (
        "stopped",
        "shutoff",
        &[
            "shutdown",
            "destroyed",
            "crashed",
            "migrated",
            "saved",
            "failed",
            "from_snapshot",
        ],
    ),
    ("shutdown", "shutdown", &["finished", "guest", "host"]),
    ("pmsuspended", "pmsuspended", &["memory", "disk"]),
    ("crashed", "crashed", &["panicked", "crashloaded"]),
];

/// A lifecycle event's type and detail as names (numbers when newer than this table).
pub fn lifecycle_names(kind: i32, detail: i32) -> (Value, Value) {
    let Some((name, _, details)) = usize::try_from(kind).ok().and_then(|k| LIFECYCLE.get(k)) else {
        return (Value::from(kind), Value::from(detail));
    };
    let detail = usize::try_from(detail)
        .ok()
        .and_then(|d| details.get(d))
        .map_or_else(|| Value::from(detail), |d| Value::from(*d));
    (Value::from(*name), detail)
}

/// The state a lifecycle event of this type leaves the domain in (None: unchanged, as
/// for `defined` and `undefined`), and the detail as its reason.
pub fn lifecycle_state(fields: &Map<String, Value>) -> Option<(&'static str, &'static str)> {
    let kind = fields.get("type")?.as_str()?;
    let (_, state, details) = LIFECYCLE.iter().find(|(name, _, _)| *name == kind)?;
    if state.is_empty() {
        return None;
    }
    let detail = fields.get("detail").and_then(Value::as_str);
    let reason = details
        .iter()
        .find(|d| Some(**d) == detail)
        .copied()
        .unwrap_or("unknown");
    Some((state, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_numbers_become_libvirts_words_and_a_state() {
        let (kind, detail) = lifecycle_names(3, 2);
        assert_eq!(
            (kind.as_str(), detail.as_str()),
            (Some("suspended"), Some("ioerror"))
        );
        let mut fields = Map::new();
        fields.insert("type".into(), kind);
        fields.insert("detail".into(), detail);
        assert_eq!(lifecycle_state(&fields), Some(("paused", "ioerror")));

        let (kind, detail) = lifecycle_names(0, 1);
        fields.insert("type".into(), kind);
        fields.insert("detail".into(), detail);
        assert_eq!(
            lifecycle_state(&fields),
            None,
            "defining leaves the state as it was"
        );

        // Newer libvirt: numbers, not a panic.
        assert_eq!(lifecycle_names(42, 7), (Value::from(42), Value::from(7)));
        assert_eq!(lifecycle_names(5, 99).1, Value::from(99));
    }
}
