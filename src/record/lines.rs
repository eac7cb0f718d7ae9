//! The lines beside the domain records: one `cycle` line per cycle, and the `agent`
//! lines the agent writes about itself.

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{de, GroupSources, NodeRecord, SCHEMA_VERSION};

/// One line per cycle: what the cycle did and what it cost.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct CycleRecord {
    /// Always `cycle`.
    #[serde(deserialize_with = "de::cycle_kind")]
    #[cfg_attr(test, schemars(extend("const" = "cycle")))]
    pub kind: de::Word,
    #[cfg_attr(test, schemars(extend("const" = 1)))]
    pub schema: u32,
    /// When the line was made: RFC 3339, UTC, milliseconds.
    #[cfg_attr(test, schemars(regex(pattern = crate::record::schema::TS_PATTERN)))]
    pub ts: Arc<str>,
    /// The host name the agent runs on.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub host: Arc<str>,
    /// The cycle: one more each cycle, the same on a cycle's domain lines and its
    /// cycle line.
    #[cfg_attr(test, schemars(range(min = 1)))]
    pub seq: u64,
    pub uri: Arc<str>,
    pub connected: bool,
    pub error: Option<String>,
    pub domains: usize,
    pub active: usize,
    pub duration_ms: f64,
    pub libvirt_ms: f64,
    pub own_ms: f64,
    pub bulk_ms: f64,
    pub per_domain_ms: f64,
    pub inventory_ms: f64,
    /// How each group is collected on this connection.
    pub paths: GroupSources,
    pub inventory_fetches: usize,
    pub missing_fields: usize,
    pub churned_domains: usize,
    /// libvirt calls left behind after overrunning the time bound, still running (a
    /// hung guest or daemon).
    pub abandoned_calls: usize,
    /// Ticks skipped because a cycle overran (daemon only).
    pub skipped_ticks: u64,
    /// Domains whose monitor-bound groups were dropped this cycle (a busy or stuck
    /// QEMU), each named by its record's `collect.control`.
    pub stuck_domains: usize,
    /// Spool lines lost since the previous cycle line: write errors, refused paths and
    /// cycles dropped by a writer that fell behind (daemon only).
    pub spool_lost_lines: u64,
    /// Whole cycles dropped since the previous cycle line because the spool writer fell
    /// behind (daemon only).
    pub spool_dropped_cycles: u64,
    /// The host around the guests (`virNodeGetInfo`, `virNodeGetCPUStats`,
    /// `virNodeGetMemoryStats`); null when disconnected. Named `node` as libvirt names
    /// these calls, since `host` is the host name of every line.
    pub node: Option<NodeRecord>,
}

/// A lifecycle line of the agent itself: start, stop, libvirt connect/disconnect.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct AgentRecord {
    /// Always `agent`.
    #[serde(deserialize_with = "de::agent_kind")]
    #[cfg_attr(test, schemars(extend("const" = "agent")))]
    pub kind: de::Word,
    #[cfg_attr(test, schemars(extend("const" = 1)))]
    pub schema: u32,
    /// When the line was made: RFC 3339, UTC, milliseconds.
    #[cfg_attr(test, schemars(regex(pattern = crate::record::schema::TS_PATTERN)))]
    pub ts: Arc<str>,
    /// The host name the agent runs on.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub host: Arc<str>,
    /// One of [`AGENT_EVENTS`].
    #[serde(deserialize_with = "de::agent_event")]
    #[cfg_attr(test, schemars(schema_with = "super::schema::agent_event"))]
    pub event: de::Word,
    pub uri: Option<Arc<str>>,
    pub message: String,
    /// The agent's version.
    pub version: Cow<'static, str>,
}

/// The events of `agent` lines.
pub const AGENT_EVENTS: &[&str] = &[
    "started",
    "stopping",
    "reloaded",
    "libvirt_connected",
    "libvirt_disconnected",
    "spool_reopened",
    "spool_error",
    "reload_failed",
    "events_missed",
    "new_sequence",
];

impl AgentRecord {
    pub fn new(
        ts: Arc<str>,
        host: Arc<str>,
        event: &'static str,
        uri: Option<Arc<str>>,
        message: String,
    ) -> Self {
        Self {
            kind: "agent",
            schema: SCHEMA_VERSION,
            ts,
            host,
            event,
            uri,
            message,
            version: Cow::Borrowed(env!("CARGO_PKG_VERSION")),
        }
    }
}
