//! The schema of every NDJSON line: domain records, cycle summaries and agent events.
//!
//! Schema version 1, frozen: `docs/record.md` describes every field and
//! `docs/record.schema.json`, generated from these types (`record::schema`, test builds), is
//! the machine-checked form. Every output (spool line, socket answer, legacy view) is
//! one of these types or a projection of one, and every line reads back into its type
//! (`Deserialize`), so the agent and its clients share one definition. A value libvirt
//! does not provide is `null`, never -1; names carry their unit; a closed list of words
//! is an enum (`record::vocabulary`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub mod baseline;
mod de;
pub mod event;
pub mod json;
mod lines;
pub mod opt_in;
#[cfg(test)]
mod schema;
mod verdict;
mod vocabulary;

pub use self::lines::{AgentRecord, CycleRecord, AGENT_EVENTS};
use self::opt_in::{BandwidthMonitorRecord, CacheMonitorRecord, Chosen, OptInStats};
pub use self::verdict::{DomainStates, JobRecord, NodeRecord};
pub use self::vocabulary::{
    ControlReason, ControlState, DirtyRateStatus, DiskError, DomainState, GuestStats, JobOperation,
    StateReason, VcpuState,
};

pub const SCHEMA_VERSION: u32 = 1;

/// One domain at one cycle.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct DomainRecord {
    /// Always `domain`.
    #[serde(deserialize_with = "de::domain_kind")]
    #[cfg_attr(test, schemars(extend("const" = "domain")))]
    pub kind: de::Word,
    #[cfg_attr(test, schemars(extend("const" = 1)))]
    pub schema: u32,
    /// When the line was made: RFC 3339, UTC, milliseconds.
    #[cfg_attr(test, schemars(regex(pattern = self::schema::TS_PATTERN)))]
    pub ts: Arc<str>,
    /// The host name the agent runs on.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub host: Arc<str>,
    /// The cycle: one more each cycle, the same on a cycle's domain lines and its
    /// cycle line.
    #[cfg_attr(test, schemars(range(min = 1)))]
    pub seq: u64,
    /// In a domain line, `transitions` and `crashes` are always there.
    #[cfg_attr(test, schemars(extend("required" = ["transitions", "crashes"])))]
    pub domain: DomainIdentity,
    pub nova: Option<Arc<NovaInfo>>,
    pub cpu: Option<CpuStats>,
    pub memory: MemoryStats,
    pub disks: Vec<DiskRecord>,
    pub nics: Vec<NicRecord>,
    /// The job running on the domain (a migration, save, dump, backup...); null when
    /// there is none or it was not asked (docs/record.md says when it is).
    pub job: Option<JobRecord>,
    /// The opt-in groups (`kvm`, `perf`, `iothreads`, `dirtyrate`): absent unless chosen.
    #[serde(flatten)]
    pub opt_in: OptInStats,
    pub collect: CollectInfo,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct DomainIdentity {
    pub name: Arc<str>,
    #[cfg_attr(test, schemars(regex(pattern = self::schema::UUID_PATTERN)))]
    pub uuid: Arc<str>,
    /// The hypervisor's id while running; null when inactive.
    pub id: Option<u32>,
    pub state: DomainState,
    pub reason: StateReason,
    /// Lifecycle events of the domain since the previous cycle (above 1: flapping);
    /// null when the agent does not receive events (`once`). Absent in event lines.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::chosen"
    )]
    pub transitions: Chosen<u32>,
    /// `crashed` lifecycle events (a guest panic) seen since the agent started; null
    /// without events. Absent in event lines.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::chosen"
    )]
    pub crashes: Chosen<u64>,
}

/// OpenStack Nova's metadata from the domain XML.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct NovaInfo {
    pub instance: Option<String>,
    pub flavor: Option<String>,
    pub project_id: Option<String>,
    pub project_name: Option<String>,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct CpuStats {
    pub time_ns: Option<u64>,
    pub user_ns: Option<u64>,
    pub system_ns: Option<u64>,
    /// Time the host spent halt-polling for this guest, successful and not.
    pub haltpoll_success_ns: Option<u64>,
    pub haltpoll_fail_ns: Option<u64>,
    /// 100 = one host CPU fully busy; up to 100 x vCPUs.
    pub utilisation_pct: Option<f64>,
    /// CPU time spent outside the vCPUs (emulator and I/O threads): Δ(`time_ns`) −
    /// ΣΔ(vCPU `time_ns`) over the interval, in the unit of `utilisation_pct`.
    pub overhead_pct: Option<f64>,
    pub vcpus: Vec<VcpuRecord>,
    /// When `time_ns` was read, in ms after the record's `ts`: the moment the bulk call
    /// or the per-domain call that gave it returned. Rates are computed over these.
    pub read_ms: Option<f64>,
    /// When the vCPU times were read, likewise.
    pub vcpus_read_ms: Option<f64>,
    /// resctrl cache monitors (they come with `cpu-total`); absent when the domain has
    /// none, as on most hosts.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, schemars(with = "Vec<CacheMonitorRecord>"))]
    pub cache_monitors: Option<Vec<CacheMonitorRecord>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct VcpuRecord {
    pub id: u32,
    pub state: Option<VcpuState>,
    pub time_ns: Option<u64>,
    /// Time runnable but not running: waiting for a host CPU (steal).
    pub delay_ns: Option<u64>,
    /// The host scheduler's wait time (schedstats).
    pub wait_ns: Option<u64>,
    pub utilisation_pct: Option<f64>,
    /// 100 × Δdelay_ns / Δt_ns: the share of the interval this vCPU wanted a host CPU
    /// and did not get one.
    pub steal_pct: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct MemoryStats {
    pub max_kib: Option<u64>,
    pub current_kib: Option<u64>,
    /// available - usable, when the balloon reports both.
    pub used_kib: Option<u64>,
    pub balloon: Option<BalloonRecord>,
    /// resctrl memory bandwidth monitors (the opt-in `memory` group).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::chosen"
    )]
    pub bandwidth_monitors: Chosen<Vec<BandwidthMonitorRecord>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct BalloonRecord {
    pub actual_kib: Option<u64>,
    pub unused_kib: Option<u64>,
    pub available_kib: Option<u64>,
    pub usable_kib: Option<u64>,
    pub rss_kib: Option<u64>,
    pub disk_caches_kib: Option<u64>,
    pub swap_in_kib: Option<u64>,
    pub swap_out_kib: Option<u64>,
    pub major_faults: Option<u64>,
    pub minor_faults: Option<u64>,
    pub hugetlb_pgalloc: Option<u64>,
    pub hugetlb_pgfail: Option<u64>,
    /// When the guest last updated its balloon statistics (Unix seconds).
    pub last_update_unix_s: Option<u64>,
    /// Seconds between that update and this record's `ts`.
    pub last_update_age_s: Option<i64>,
    /// Whether the guest's statistics come: `ok`, `off` (no stats period set, so only
    /// the host-side fields) or `stale` (last update older than three periods, or than
    /// the interval when the period is unknown).
    pub guest_stats: Option<GuestStats>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct DiskRecord {
    pub dev: Option<Arc<str>>,
    pub bus: Option<Arc<str>>,
    pub device: Option<Arc<str>>,
    pub source_type: Option<Arc<str>>,
    pub path: Option<Arc<str>>,
    pub read_requests: Option<u64>,
    pub read_bytes: Option<u64>,
    pub write_requests: Option<u64>,
    pub write_bytes: Option<u64>,
    pub errors: Option<u64>,
    /// Cumulative time spent on completed reads, writes and flushes.
    pub read_time_ns: Option<u64>,
    pub write_time_ns: Option<u64>,
    pub flush_requests: Option<u64>,
    pub flush_time_ns: Option<u64>,
    /// Bytes the image uses, its virtual size, its size on the host, and the block
    /// threshold set on it (docs/record.md says what each means per disk type).
    pub allocation_bytes: Option<u64>,
    pub capacity_bytes: Option<u64>,
    pub physical_bytes: Option<u64>,
    pub threshold_bytes: Option<u64>,
    pub read_bytes_per_s: Option<f64>,
    pub write_bytes_per_s: Option<f64>,
    pub read_ops_per_s: Option<f64>,
    pub write_ops_per_s: Option<f64>,
    pub flush_ops_per_s: Option<f64>,
    /// Average time per request completed in the interval.
    pub read_latency_ms: Option<f64>,
    pub write_latency_ms: Option<f64>,
    pub flush_latency_ms: Option<f64>,
    /// 100 × allocation / capacity.
    pub fill_pct: Option<f64>,
    /// How the allocation moved per second (negative when trimmed).
    #[cfg_attr(test, schemars(extend("x-signed" = true)))]
    pub growth_bytes_per_s: Option<f64>,
    /// Seconds until full at that growth; null when not growing.
    pub full_in_s: Option<f64>,
    /// When these counters were read, in ms after the record's `ts`.
    pub read_ms: Option<f64>,
    /// `unspecified` or `no_space` from `virDomainGetDiskErrors`, asked only for a
    /// domain paused by an I/O error or with an I/O-error event since the previous
    /// cycle; null otherwise.
    pub error: Option<DiskError>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct NicRecord {
    pub dev: Option<Arc<str>>,
    pub mac: Option<Arc<str>>,
    pub model: Option<Arc<str>>,
    #[serde(rename = "type")]
    pub kind: Option<Arc<str>>,
    pub source: Option<Arc<str>>,
    pub rx_bytes: Option<u64>,
    pub rx_packets: Option<u64>,
    pub rx_errors: Option<u64>,
    pub rx_drop: Option<u64>,
    pub tx_bytes: Option<u64>,
    pub tx_packets: Option<u64>,
    pub tx_errors: Option<u64>,
    pub tx_drop: Option<u64>,
    pub rx_bytes_per_s: Option<f64>,
    pub tx_bytes_per_s: Option<f64>,
    pub rx_packets_per_s: Option<f64>,
    pub tx_packets_per_s: Option<f64>,
    /// When these counters were read, in ms after the record's `ts`.
    pub read_ms: Option<f64>,
}

/// Where each group of a record came from, and what could not be read.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct CollectInfo {
    pub sources: GroupSources,
    /// Measured seconds since this domain's previous sample (the rates' interval);
    /// null on the first sample.
    pub interval_s: Option<f64>,
    /// Time spent on this domain's own libvirt calls (per-domain path), in ms.
    pub duration_ms: f64,
    pub missing: Vec<Missing>,
    /// The monitor's state when groups were dropped (a busy or stuck QEMU); null when
    /// nothing was missing.
    pub control: Option<ControlRecord>,
}

/// Why a domain's statistics did not come: its control interface's state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct ControlRecord {
    /// `ok`, `job` (busy with a job), `occupied` (a call is waiting for the monitor) or
    /// `error`.
    pub state: ControlState,
    /// How long it has been in that state, in milliseconds.
    pub since_ms: u64,
    /// For `error`: `none`, `unknown`, `monitor` or `internal`; otherwise null.
    pub reason: Option<ControlReason>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct GroupSources {
    pub state: Source,
    pub cpu: Source,
    pub vcpus: Source,
    pub balloon: Source,
    pub disks: Source,
    pub nics: Source,
    /// The opt-in groups: absent unless chosen in `collect.groups`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, schemars(with = "Source"))]
    pub kvm: Option<Source>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, schemars(with = "Source"))]
    pub perf: Option<Source>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, schemars(with = "Source"))]
    pub iothreads: Option<Source>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, schemars(with = "Source"))]
    pub bandwidth_monitors: Option<Source>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, schemars(with = "Source"))]
    pub dirtyrate: Option<Source>,
}

/// How a group was filled.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// From the one bulk call of the cycle.
    Bulk,
    /// From per-domain calls (the driver does not support the group in bulk).
    PerDomain,
    /// Not collected (inactive domain, or the call failed: see `missing`).
    #[default]
    None,
    /// Chosen, but the driver refuses the group in bulk and no per-domain call gives it.
    Unsupported,
}

/// One field that could not be read this cycle.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Missing {
    pub field: String,
    pub reason: String,
}

#[cfg(test)]
mod tests;
