//! The agent's own families (its health as the loop knows it) and the host's (the cycle
//! line's `node`).

use super::{counter, gauge, int, kib, Family, Value};
use crate::record::{CycleRecord, NodeRecord};

/// The agent's own health, as the loop knows it; `None` omits a series (`once` has no
/// spool and no age).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    pub up: bool,
    pub cycles: Option<u64>,
    pub cycle_duration_seconds: Option<f64>,
    pub last_cycle_timestamp_seconds: Option<f64>,
    /// When the latest cycle that reached libvirt started.
    pub last_success_timestamp_seconds: Option<f64>,
    pub domains: Option<u64>,
    pub abandoned_calls: Option<u64>,
    pub skipped_ticks: Option<u64>,
    pub spool_lost_lines: Option<u64>,
    pub textfile_errors: Option<u64>,
    pub snapshot_age_seconds: Option<f64>,
}

impl Health {
    /// What a cycle line tells: everything but the spool's losses and the age.
    pub fn from_cycle(cycle: &CycleRecord) -> Self {
        Health {
            up: cycle.connected,
            cycles: None,
            cycle_duration_seconds: Some(cycle.duration_ms / 1000.0),
            last_cycle_timestamp_seconds: crate::clock::parse_rfc3339(&cycle.ts),
            last_success_timestamp_seconds: crate::clock::parse_rfc3339(&cycle.ts)
                .filter(|_| cycle.connected),
            domains: Some(cycle.domains as u64),
            abandoned_calls: Some(cycle.abandoned_calls as u64),
            skipped_ticks: Some(cycle.skipped_ticks),
            spool_lost_lines: None,
            textfile_errors: None,
            snapshot_age_seconds: None,
        }
    }
}

fn float(v: Option<f64>) -> Option<Value> {
    v.filter(|x| x.is_finite()).map(Value::Float)
}

/// The agent's series, without labels.
pub const HEALTH: [Family<Health>; 11] = [
    gauge(
        "virtdiag_up",
        "Whether libvirt was reachable at the latest cycle.",
        |h| Some(Value::Int(u64::from(h.up))),
    ),
    counter(
        "virtdiag_cycles_total",
        "Cycles run since the agent started.",
        |h| int(h.cycles),
    ),
    gauge(
        "virtdiag_cycle_duration_seconds",
        "Duration of the latest cycle.",
        |h| float(h.cycle_duration_seconds),
    ),
    gauge(
        "virtdiag_last_cycle_timestamp_seconds",
        "When the latest cycle started (Unix time).",
        |h| float(h.last_cycle_timestamp_seconds),
    ),
    gauge(
        "virtdiag_last_success_timestamp_seconds",
        "When the latest cycle that reached libvirt started (Unix time): the age of the \
         domain series, which are not published while libvirt is unreachable.",
        |h| float(h.last_success_timestamp_seconds),
    ),
    gauge(
        "virtdiag_domains",
        "Domains in the latest cycle.",
        |h| int(h.domains),
    ),
    gauge(
        "virtdiag_abandoned_calls",
        "libvirt calls that overran their time bound and are still running.",
        |h| int(h.abandoned_calls),
    ),
    counter(
        "virtdiag_skipped_ticks_total",
        "Ticks skipped because a cycle overran its interval.",
        |h| int(h.skipped_ticks),
    ),
    counter(
        "virtdiag_spool_lost_lines_total",
        "Spool lines lost since the agent started: write errors, refused paths, cycles dropped by a writer behind.",
        |h| int(h.spool_lost_lines),
    ),
    counter(
        "virtdiag_textfile_errors_total",
        "Writes of prometheus.textfile that failed since the agent started.",
        |h| int(h.textfile_errors),
    ),
    gauge(
        "virtdiag_snapshot_age_seconds",
        "Age of the latest snapshot when this exposition was made.",
        |h| float(h.snapshot_age_seconds),
    ),
];

/// The host's series (the cycle line's `node`), without labels.
pub const NODE: [Family<NodeRecord>; 8] = [
    gauge("virtdiag_node_cpus", "Host CPUs.", |n| {
        int(n.cpus.map(u64::from))
    }),
    gauge("virtdiag_node_memory_bytes", "Host memory.", |n| {
        kib(n.memory_kib)
    }),
    gauge(
        "virtdiag_node_memory_free_bytes",
        "Host memory free (MemFree: not counting buffers and page cache).",
        |n| kib(n.memory_free_kib),
    ),
    gauge(
        "virtdiag_node_cpu_utilisation_ratio",
        "Host CPU time not idle over the latest interval, 0 to 1 of all host CPUs.",
        |n| {
            let cpus = f64::from(n.cpus.filter(|&c| c > 0)?);
            float(n.cpu_utilisation_pct.map(|pct| pct / 100.0 / cpus))
        },
    ),
    gauge(
        "virtdiag_node_vcpus_running",
        "vCPUs of running guests.",
        |n| Some(Value::Int(n.vcpus_running)),
    ),
    gauge(
        "virtdiag_node_vcpu_overcommit_ratio",
        "vCPUs of running guests per host CPU.",
        |n| float(n.vcpu_overcommit),
    ),
    gauge(
        "virtdiag_node_memory_max_running_bytes",
        "Maximum memory of running guests.",
        |n| kib(Some(n.memory_max_kib_running)),
    ),
    gauge(
        "virtdiag_node_memory_overcommit_ratio",
        "Maximum memory of running guests over the host's memory.",
        |n| float(n.memory_overcommit),
    ),
];

/// Guests by state, labelled `state`.
pub const NODE_DOMAINS: (&str, &str) = (
    "virtdiag_node_domains",
    "Domains of the latest cycle by state: running, paused, shutoff, crashed, other.",
);
