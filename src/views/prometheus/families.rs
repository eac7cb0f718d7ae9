//! The exposition's families, each defined once: name, type, help and how its value
//! is read from a record (a domain, a vCPU, a disk, a NIC, the agent's health), plus the
//! `_info` series that carry metadata. docs/prometheus.md lists them, and a test keeps
//! the two in step.

use crate::record::{DomainRecord, VcpuRecord};

mod devices;
mod host;

pub use self::devices::*;
pub use self::host::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

impl Kind {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

/// A sample's value, written without loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Int(u64),
    /// Nanoseconds, written as seconds with nine decimals.
    Nanos(u64),
    /// KiB, written as bytes.
    Kib(u64),
    Float(f64),
}

/// One metric family: what `# HELP` and `# TYPE` say, and where its value comes from.
pub struct Family<T> {
    pub name: &'static str,
    pub kind: Kind,
    pub help: &'static str,
    pub value: fn(&T) -> Option<Value>,
}

const fn counter<T>(
    name: &'static str,
    help: &'static str,
    value: fn(&T) -> Option<Value>,
) -> Family<T> {
    Family {
        name,
        kind: Kind::Counter,
        help,
        value,
    }
}

const fn gauge<T>(
    name: &'static str,
    help: &'static str,
    value: fn(&T) -> Option<Value>,
) -> Family<T> {
    Family {
        name,
        kind: Kind::Gauge,
        help,
        value,
    }
}

fn nanos(v: Option<u64>) -> Option<Value> {
    v.map(Value::Nanos)
}
fn kib(v: Option<u64>) -> Option<Value> {
    v.map(Value::Kib)
}
fn int(v: Option<u64>) -> Option<Value> {
    v.map(Value::Int)
}

/// libvirt's `virDomainState` numbering.
const DOMAIN_STATES: [&str; 8] = [
    "nostate",
    "running",
    "blocked",
    "paused",
    "shutdown",
    "shutoff",
    "crashed",
    "pmsuspended",
];

/// libvirt's `virVcpuState` numbering.
const VCPU_STATES: [&str; 3] = ["offline", "running", "blocked"];

fn code(states: &[&str], state: &str) -> Option<Value> {
    states
        .iter()
        .position(|s| *s == state)
        .map(|i| Value::Int(i as u64))
}

/// One series per domain.
pub const DOMAIN: [Family<DomainRecord>; 34] = [
    gauge(
        "virtdiag_domain_info_state",
        "Domain state, libvirt's numbering: 0 nostate, 1 running, 2 blocked, 3 paused, 4 shutdown, 5 shutoff, 6 crashed, 7 pmsuspended.",
        |r| code(&DOMAIN_STATES, r.domain.state.as_str()),
    ),
    gauge(
        "virtdiag_domain_info_maximum_memory_bytes",
        "Maximum memory of the domain.",
        |r| kib(r.memory.max_kib),
    ),
    gauge(
        "virtdiag_domain_info_memory_usage_bytes",
        "Current memory of the domain (balloon size).",
        |r| kib(r.memory.current_kib),
    ),
    gauge(
        "virtdiag_domain_info_virtual_cpus",
        "vCPUs of a running domain.",
        |r| {
            r.cpu
                .as_ref()
                .filter(|c| !c.vcpus.is_empty())
                .map(|c| Value::Int(c.vcpus.len() as u64))
        },
    ),
    counter(
        "virtdiag_domain_info_cpu_time_seconds_total",
        "CPU time used by the domain.",
        |r| nanos(r.cpu.as_ref().and_then(|c| c.time_ns)),
    ),
    gauge(
        "virtdiag_domain_memory_stats_current_balloon_bytes",
        "Current balloon size.",
        |r| kib(balloon(r, |b| b.actual_kib)),
    ),
    gauge(
        "virtdiag_domain_memory_stats_used_bytes",
        "Guest-used memory: available minus usable, as the guest's balloon driver reports them.",
        |r| kib(r.memory.used_kib),
    ),
    gauge(
        "virtdiag_domain_memory_stats_unused_bytes",
        "Memory the guest leaves unused.",
        |r| kib(balloon(r, |b| b.unused_kib)),
    ),
    gauge(
        "virtdiag_domain_memory_stats_available_bytes",
        "Memory the guest sees.",
        |r| kib(balloon(r, |b| b.available_kib)),
    ),
    gauge(
        "virtdiag_domain_memory_stats_usable_bytes",
        "Memory the guest could use without swapping.",
        |r| kib(balloon(r, |b| b.usable_kib)),
    ),
    gauge(
        "virtdiag_domain_memory_stats_rss_bytes",
        "Resident set of the hypervisor process.",
        |r| kib(balloon(r, |b| b.rss_kib)),
    ),
    gauge(
        "virtdiag_domain_memory_stats_disk_caches_bytes",
        "Guest page cache that can be reclaimed.",
        |r| kib(balloon(r, |b| b.disk_caches_kib)),
    ),
    gauge(
        "virtdiag_domain_memory_stats_swap_in_bytes",
        "Memory the guest swapped in since it booted.",
        |r| kib(balloon(r, |b| b.swap_in_kib)),
    ),
    gauge(
        "virtdiag_domain_memory_stats_swap_out_bytes",
        "Memory the guest swapped out since it booted.",
        |r| kib(balloon(r, |b| b.swap_out_kib)),
    ),
    counter(
        "virtdiag_domain_memory_stats_major_fault_total",
        "Guest page faults that needed disk I/O.",
        |r| int(balloon(r, |b| b.major_faults)),
    ),
    counter(
        "virtdiag_domain_memory_stats_minor_fault_total",
        "Guest page faults served from memory.",
        |r| int(balloon(r, |b| b.minor_faults)),
    ),
    counter(
        "virtdiag_domain_memory_stats_hugetlb_pgalloc_total",
        "Guest huge page allocations.",
        |r| int(balloon(r, |b| b.hugetlb_pgalloc)),
    ),
    counter(
        "virtdiag_domain_memory_stats_hugetlb_pgfail_total",
        "Guest huge page allocation failures.",
        |r| int(balloon(r, |b| b.hugetlb_pgfail)),
    ),
    gauge(
        "virtdiag_domain_memory_stats_last_update_timestamp_seconds",
        "When the guest last updated its balloon statistics (Unix time).",
        |r| int(balloon(r, |b| b.last_update_unix_s)),
    ),
    gauge(
        "virtdiag_domain_collect_missing_fields",
        "Fields of the domain that could not be read in the latest cycle.",
        |r| Some(Value::Int(r.collect.missing.len() as u64)),
    ),
    gauge(
        "virtdiag_domain_lifecycle_transitions",
        "Lifecycle events of the domain since the previous cycle (above 1: flapping).",
        |r| int(r.domain.transitions.flatten().map(u64::from)),
    ),
    counter(
        "virtdiag_domain_crashes_total",
        "Crashed lifecycle events (guest panics) seen since the agent started.",
        |r| int(r.domain.crashes.flatten()),
    ),
    gauge(
        "virtdiag_domain_control_state",
        "State of the domain's monitor when statistics were dropped, libvirt's numbering: 0 ok, 1 job, 2 occupied, 3 error.",
        |r| r.collect.control.as_ref().and_then(|c| code(&CONTROL_STATES, c.state.as_str())),
    ),
    gauge(
        "virtdiag_domain_control_duration_seconds",
        "How long the domain's monitor has been in that state.",
        |r| r.collect.control.as_ref().map(|c| Value::Float(c.since_ms as f64 / 1000.0)),
    ),
    gauge(
        "virtdiag_domain_memory_stats_guest_stats",
        "Whether the guest's balloon statistics come: 0 ok, 1 off (no stats period set), 2 stale.",
        |r| {
            let status = r.memory.balloon.as_ref()?.guest_stats?;
            code(&GUEST_STATS, status.as_str())
        },
    ),
    gauge(
        "virtdiag_domain_job_info_operation",
        "The running job's operation, libvirt's numbering: 0 unknown, 1 start, 2 save, 3 restore, 4 migration in, 5 migration out, 6 snapshot, 7 snapshot revert, 8 dump, 9 backup, 10 snapshot delete.",
        |r| code(&JOB_OPERATIONS, r.job.as_ref()?.operation.as_str()),
    ),
    gauge(
        "virtdiag_domain_job_info_time_elapsed_seconds",
        "Time since the running job started.",
        |r| millis(job(r, |j| j.elapsed_ms)),
    ),
    gauge(
        "virtdiag_domain_job_info_time_remaining_seconds",
        "libvirt's estimate of the running job's time left.",
        |r| millis(job(r, |j| j.remaining_ms)),
    ),
    gauge(
        "virtdiag_domain_job_info_data_total_bytes",
        "All data the running job moves.",
        |r| int(job(r, |j| j.data_total_bytes)),
    ),
    gauge(
        "virtdiag_domain_job_info_data_processed_bytes",
        "Data the running job has moved.",
        |r| int(job(r, |j| j.data_processed_bytes)),
    ),
    gauge(
        "virtdiag_domain_job_info_data_remaining_bytes",
        "Data the running job has still to move.",
        |r| int(job(r, |j| j.data_remaining_bytes)),
    ),
    gauge(
        "virtdiag_domain_job_info_memory_transfer_rate_bytes",
        "A migration's memory transfer rate, bytes per second, as libvirt reports it.",
        |r| int(job(r, |j| j.memory_bytes_per_s)),
    ),
    gauge(
        "virtdiag_domain_job_info_memory_dirty_rate_pages",
        "The guest's page dirtying rate during a migration, pages per second.",
        |r| int(job(r, |j| j.memory_dirty_rate_pages_per_s)),
    ),
    gauge(
        "virtdiag_domain_job_info_memory_iteration",
        "A migration's pass over the guest's memory.",
        |r| int(job(r, |j| j.memory_iteration)),
    ),
];

/// libvirt's `virDomainControlState` numbering.
const CONTROL_STATES: [&str; 4] = ["ok", "job", "occupied", "error"];

/// `memory.balloon.guest_stats`, numbered.
const GUEST_STATS: [&str; 3] = ["ok", "off", "stale"];

use crate::collect::verdicts::JOB_OPERATIONS;

fn job(r: &DomainRecord, field: fn(&crate::record::JobRecord) -> Option<u64>) -> Option<u64> {
    r.job.as_ref().and_then(field)
}

/// Milliseconds, as seconds.
fn millis(v: Option<u64>) -> Option<Value> {
    v.map(|ms| Value::Float(ms as f64 / 1000.0))
}

fn balloon(
    r: &DomainRecord,
    field: fn(&crate::record::BalloonRecord) -> Option<u64>,
) -> Option<u64> {
    r.memory.balloon.as_ref().and_then(field)
}

/// One series per vCPU, labelled `vcpu`.
pub const VCPU: [Family<VcpuRecord>; 4] = [
    gauge(
        "virtdiag_domain_vcpu_state",
        "vCPU state, libvirt's numbering: 0 offline, 1 running, 2 blocked.",
        |v| v.state.and_then(|s| code(&VCPU_STATES, s.as_str())),
    ),
    counter(
        "virtdiag_domain_vcpu_time_seconds_total",
        "CPU time used by the vCPU.",
        |v| nanos(v.time_ns),
    ),
    counter(
        "virtdiag_domain_vcpu_delay_seconds_total",
        "Time the vCPU was runnable but waited for a host CPU (steal, as the guest sees it).",
        |v| nanos(v.delay_ns),
    ),
    counter(
        "virtdiag_domain_vcpu_wait_seconds_total",
        "The host scheduler's wait time of the vCPU (schedstats).",
        |v| nanos(v.wait_ns),
    ),
];

/// Labels and their values; a missing value is written as an empty string.
pub type Labels<'a> = Vec<(&'static str, Option<&'a str>)>;

/// An `_info` family: value 1, its labels from the record.
pub struct Info<T> {
    pub name: &'static str,
    pub help: &'static str,
    pub labels: fn(&T) -> Labels<'_>,
}

pub const OPENSTACK_INFO: Info<DomainRecord> = Info {
    name: "virtdiag_domain_openstack_info",
    help: "OpenStack Nova metadata of the domain, from its XML; only for Nova instances.",
    labels: |r| match &r.nova {
        Some(n) => vec![
            ("instance_name", n.instance.as_deref()),
            ("flavor", n.flavor.as_deref()),
            ("project_name", n.project_name.as_deref()),
            ("project_id", n.project_id.as_deref()),
            ("user_name", n.user_name.as_deref()),
            ("user_id", n.user_id.as_deref()),
        ],
        None => Vec::new(),
    },
};

pub const STATE_INFO: Info<DomainRecord> = Info {
    name: "virtdiag_domain_state_info",
    help: "The domain's state and libvirt's reason for it (paused by ioerror, crashed by panicked, ...); every domain.",
    labels: |r| vec![
        ("state", Some(r.domain.state.as_str())),
        ("reason", Some(r.domain.reason.as_str())),
    ],
};
