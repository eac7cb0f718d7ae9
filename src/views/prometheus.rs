//! The Prometheus text exposition (format 0.0.4) of a snapshot: the `metrics` socket
//! command, `virtdiag once --format prometheus` and the node_exporter textfile.
//!
//! Every family is defined once, in the tables below: name, type, help and how its
//! value is read from a record. The names are inovex's libvirt exporter's with the
//! prefix `virtdiag_`, so a dashboard ports by changing the prefix. Values are in base
//! units (seconds, bytes), counters end in `_total`, every domain series carries the
//! labels `domain` and `uuid`, and metadata (Nova's, a device's) goes on `_info`
//! series of value 1. A null in the record omits the series; rates and percentages are
//! left to PromQL. Pure: records in, bytes out. docs/prometheus.md lists every family.

use std::borrow::Borrow;

use crate::record::{CycleRecord, DiskRecord, DomainRecord, NicRecord, VcpuRecord};

/// The content type of this exposition, for an HTTP front.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

impl Kind {
    fn as_str(self) -> &'static str {
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
pub const DOMAIN: [Family<DomainRecord>; 20] = [
    gauge(
        "virtdiag_domain_info_state",
        "Domain state, libvirt's numbering: 0 nostate, 1 running, 2 blocked, 3 paused, 4 shutdown, 5 shutoff, 6 crashed, 7 pmsuspended.",
        |r| code(&DOMAIN_STATES, r.domain.state),
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
];

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
        |v| v.state.and_then(|s| code(&VCPU_STATES, s)),
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

/// One series per disk with a target device, labelled `target_device`.
pub const DISK: [Family<DiskRecord>; 12] = [
    counter(
        "virtdiag_domain_block_stats_read_bytes_total",
        "Bytes read from the disk.",
        |d| int(d.read_bytes),
    ),
    counter(
        "virtdiag_domain_block_stats_read_requests_total",
        "Read requests to the disk.",
        |d| int(d.read_requests),
    ),
    counter(
        "virtdiag_domain_block_stats_write_bytes_total",
        "Bytes written to the disk.",
        |d| int(d.write_bytes),
    ),
    counter(
        "virtdiag_domain_block_stats_write_requests_total",
        "Write requests to the disk.",
        |d| int(d.write_requests),
    ),
    counter(
        "virtdiag_domain_block_stats_errors_total",
        "Errors on the disk (QEMU does not count them: no series).",
        |d| int(d.errors),
    ),
    counter(
        "virtdiag_domain_block_stats_read_time_seconds_total",
        "Time spent on completed reads.",
        |d| nanos(d.read_time_ns),
    ),
    counter(
        "virtdiag_domain_block_stats_write_time_seconds_total",
        "Time spent on completed writes.",
        |d| nanos(d.write_time_ns),
    ),
    counter(
        "virtdiag_domain_block_stats_flush_requests_total",
        "Flush requests to the disk.",
        |d| int(d.flush_requests),
    ),
    counter(
        "virtdiag_domain_block_stats_flush_time_seconds_total",
        "Time spent on completed flushes.",
        |d| nanos(d.flush_time_ns),
    ),
    gauge(
        "virtdiag_domain_block_stats_allocation_bytes",
        "Bytes the image uses on the host.",
        |d| int(d.allocation_bytes),
    ),
    gauge(
        "virtdiag_domain_block_stats_capacity_bytes",
        "Virtual size of the disk, as the guest sees it.",
        |d| int(d.capacity_bytes),
    ),
    gauge(
        "virtdiag_domain_block_stats_physicalsize_bytes",
        "Size of the image or device on the host.",
        |d| int(d.physical_bytes),
    ),
];

/// One series per NIC, labelled `target_device` (the host device, else the MAC).
pub const NIC: [Family<NicRecord>; 8] = [
    counter(
        "virtdiag_domain_interface_stats_receive_bytes_total",
        "Bytes received by the guest on the interface.",
        |n| int(n.rx_bytes),
    ),
    counter(
        "virtdiag_domain_interface_stats_receive_packets_total",
        "Packets received by the guest on the interface.",
        |n| int(n.rx_packets),
    ),
    counter(
        "virtdiag_domain_interface_stats_receive_errors_total",
        "Receive errors on the interface.",
        |n| int(n.rx_errors),
    ),
    counter(
        "virtdiag_domain_interface_stats_receive_drops_total",
        "Received packets dropped on the interface.",
        |n| int(n.rx_drop),
    ),
    counter(
        "virtdiag_domain_interface_stats_transmit_bytes_total",
        "Bytes sent by the guest on the interface.",
        |n| int(n.tx_bytes),
    ),
    counter(
        "virtdiag_domain_interface_stats_transmit_packets_total",
        "Packets sent by the guest on the interface.",
        |n| int(n.tx_packets),
    ),
    counter(
        "virtdiag_domain_interface_stats_transmit_errors_total",
        "Transmit errors on the interface.",
        |n| int(n.tx_errors),
    ),
    counter(
        "virtdiag_domain_interface_stats_transmit_drops_total",
        "Sent packets dropped on the interface.",
        |n| int(n.tx_drop),
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

pub const DISK_INFO: Info<DiskRecord> = Info {
    name: "virtdiag_domain_block_stats_info",
    help: "A disk of the domain: bus, device kind, source type and path.",
    labels: |d| {
        vec![
            ("target_bus", d.bus.as_deref()),
            ("device", d.device.as_deref()),
            ("disk_type", d.source_type.as_deref()),
            ("source_file", d.path.as_deref()),
        ]
    },
};

pub const NIC_INFO: Info<NicRecord> = Info {
    name: "virtdiag_domain_interface_stats_info",
    help: "A network interface of the domain: type, source, MAC and model.",
    labels: |n| {
        vec![
            ("interface_type", n.kind.as_deref()),
            ("source_bridge", n.source.as_deref()),
            ("mac_address", n.mac.as_deref()),
            ("model_type", n.model.as_deref()),
        ]
    },
};

/// The agent's own health, as the loop knows it; `None` omits a series (`once` has no
/// spool and no age).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    pub up: bool,
    pub cycles: Option<u64>,
    pub cycle_duration_seconds: Option<f64>,
    pub last_cycle_timestamp_seconds: Option<f64>,
    pub domains: Option<u64>,
    pub abandoned_calls: Option<u64>,
    pub skipped_ticks: Option<u64>,
    pub spool_lost_lines: Option<u64>,
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
            domains: Some(cycle.domains as u64),
            abandoned_calls: Some(cycle.abandoned_calls as u64),
            skipped_ticks: Some(cycle.skipped_ticks),
            spool_lost_lines: None,
            snapshot_age_seconds: None,
        }
    }
}

fn float(v: Option<f64>) -> Option<Value> {
    v.filter(|x| x.is_finite()).map(Value::Float)
}

/// The agent's series, without labels.
pub const HEALTH: [Family<Health>; 9] = [
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
    gauge(
        "virtdiag_snapshot_age_seconds",
        "Age of the latest snapshot when this exposition was made.",
        |h| float(h.snapshot_age_seconds),
    ),
];

/// Every domain family of `records`, each family's series together.
pub fn write_domains(records: &[impl Borrow<DomainRecord>], out: &mut Vec<u8>) {
    // `domain="...",uuid="..."`, escaped once per record.
    let identities: Vec<Vec<u8>> = records
        .iter()
        .map(|r| {
            let r = r.borrow();
            let mut id = Vec::with_capacity(r.domain.name.len() + r.domain.uuid.len() + 16);
            label(&mut id, "domain", &r.domain.name);
            id.push(b',');
            label(&mut id, "uuid", &r.domain.uuid);
            id
        })
        .collect();
    let domains = || records.iter().map(Borrow::borrow).zip(&identities);

    for family in &DOMAIN {
        header(out, family.name, family.kind, family.help);
        for (record, id) in domains() {
            if let Some(value) = (family.value)(record) {
                sample(out, family.name, id, &[], value);
            }
        }
    }
    header(out, OPENSTACK_INFO.name, Kind::Gauge, OPENSTACK_INFO.help);
    for (record, id) in domains() {
        if record.nova.is_some() {
            sample(
                out,
                OPENSTACK_INFO.name,
                id,
                &(OPENSTACK_INFO.labels)(record),
                Value::Int(1),
            );
        }
    }
    for family in &VCPU {
        header(out, family.name, family.kind, family.help);
        for (record, id) in domains() {
            let Some(cpu) = &record.cpu else { continue };
            for vcpu in &cpu.vcpus {
                if let Some(value) = (family.value)(vcpu) {
                    let mut n = itoa::Buffer::new();
                    sample(
                        out,
                        family.name,
                        id,
                        &[("vcpu", Some(n.format(vcpu.id)))],
                        value,
                    );
                }
            }
        }
    }
    devices(
        out,
        &DISK_INFO,
        &DISK,
        domains(),
        |r| &r.disks,
        |d| d.dev.as_deref(),
    );
    devices(
        out,
        &NIC_INFO,
        &NIC,
        domains(),
        |r| &r.nics,
        |n| n.dev.as_deref().or(n.mac.as_deref()),
    );
}

/// A device kind's info family, then its counters, labelled `target_device`.
fn devices<'a, T: 'a>(
    out: &mut Vec<u8>,
    info: &Info<T>,
    families: &[Family<T>],
    domains: impl Iterator<Item = (&'a DomainRecord, &'a Vec<u8>)> + Clone,
    list: fn(&DomainRecord) -> &[T],
    target: fn(&T) -> Option<&str>,
) {
    header(out, info.name, Kind::Gauge, info.help);
    for (record, id) in domains.clone() {
        for device in list(record) {
            let Some(dev) = target(device) else { continue };
            let mut labels = vec![("target_device", Some(dev))];
            labels.extend((info.labels)(device));
            sample(out, info.name, id, &labels, Value::Int(1));
        }
    }
    for family in families {
        header(out, family.name, family.kind, family.help);
        for (record, id) in domains.clone() {
            for device in list(record) {
                let (Some(dev), Some(value)) = (target(device), (family.value)(device)) else {
                    continue;
                };
                sample(out, family.name, id, &[("target_device", Some(dev))], value);
            }
        }
    }
}

/// The agent's own families.
pub fn write_health(health: &Health, out: &mut Vec<u8>) {
    for family in &HEALTH {
        header(out, family.name, family.kind, family.help);
        if let Some(value) = (family.value)(health) {
            sample(out, family.name, &[], &[], value);
        }
    }
}

/// A whole exposition: the domains, then the agent's health.
pub fn exposition(records: &[impl Borrow<DomainRecord>], health: &Health) -> Vec<u8> {
    let mut out = Vec::with_capacity(records.len() * 8192 + 2048);
    write_domains(records, &mut out);
    write_health(health, &mut out);
    out
}

fn header(out: &mut Vec<u8>, name: &str, kind: Kind, help: &str) {
    out.extend_from_slice(b"# HELP ");
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    for c in help.bytes() {
        match c {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            c => out.push(c),
        }
    }
    out.extend_from_slice(b"\n# TYPE ");
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    out.extend_from_slice(kind.as_str().as_bytes());
    out.push(b'\n');
}

/// `name{identity,labels} value`; a label without a value is written empty.
fn sample(
    out: &mut Vec<u8>,
    name: &str,
    identity: &[u8],
    labels: &[(&str, Option<&str>)],
    value: Value,
) {
    out.extend_from_slice(name.as_bytes());
    if !identity.is_empty() || !labels.is_empty() {
        out.push(b'{');
        out.extend_from_slice(identity);
        for (i, (key, v)) in labels.iter().enumerate() {
            if i > 0 || !identity.is_empty() {
                out.push(b',');
            }
            label(out, key, v.unwrap_or(""));
        }
        out.push(b'}');
    }
    out.push(b' ');
    match value {
        Value::Int(v) => out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
        Value::Kib(v) => {
            out.extend_from_slice(itoa::Buffer::new().format(u128::from(v) * 1024).as_bytes())
        }
        Value::Nanos(v) => {
            out.extend_from_slice(itoa::Buffer::new().format(v / 1_000_000_000).as_bytes());
            let frac = v % 1_000_000_000;
            if frac != 0 {
                let digits = itoa::Buffer::new().format(frac + 1_000_000_000).to_owned();
                out.push(b'.');
                out.extend_from_slice(digits[1..].trim_end_matches('0').as_bytes());
            }
        }
        Value::Float(v) => out.extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes()),
    }
    out.push(b'\n');
}

/// `key="value"`, the value escaped as the format wants: `\\`, `\"`, `\n`.
fn label(out: &mut Vec<u8>, key: &str, value: &str) {
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"=\"");
    if !value.bytes().any(|c| matches!(c, b'\\' | b'"' | b'\n')) {
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
        return;
    }
    for c in value.bytes() {
        match c {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests;
