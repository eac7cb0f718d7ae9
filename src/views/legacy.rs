//! The flat diagnostics dictionary of Nova's original get_diagnostics (2012).
//!
//! Keys and units exactly as the original had them: `cpu<N>_time` (ns), `<disk>_read_req`,
//! `<disk>_read`, `<disk>_write_req`, `<disk>_write`, `<disk>_errors`, `<nic>_rx`,
//! `<nic>_rx_packets`, `<nic>_rx_errors`, `<nic>_rx_drop`, `<nic>_tx`, `<nic>_tx_packets`,
//! `<nic>_tx_errors`, `<nic>_tx_drop`, `memory` (max memory, KiB) and `memory-<tag>` for
//! each memory statistic libvirt reported. As in the original, a device whose statistics
//! could not be read is left out, and a counter libvirt does not provide is -1.

use serde_json::{Map, Value};

use crate::record::{BalloonRecord, DomainRecord};

/// The flat dictionary, keys sorted.
pub fn diagnostics(record: &DomainRecord) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(cpu) = &record.cpu {
        for vcpu in &cpu.vcpus {
            if let Some(time) = vcpu.time_ns {
                out.insert(format!("cpu{}_time", vcpu.id), time.into());
            }
        }
    }
    for disk in &record.disks {
        let Some(dev) = &disk.dev else { continue };
        let counters = [
            disk.read_requests,
            disk.read_bytes,
            disk.write_requests,
            disk.write_bytes,
        ];
        if counters.iter().all(Option::is_none) {
            continue;
        }
        let suffixes = ["read_req", "read", "write_req", "write", "errors"];
        for (suffix, value) in suffixes.iter().zip(counters.iter().chain([&disk.errors])) {
            out.insert(format!("{dev}_{suffix}"), or_minus_one(*value));
        }
    }
    for nic in &record.nics {
        let Some(dev) = nic.dev.as_ref().or(nic.mac.as_ref()) else {
            continue;
        };
        let counters = [
            ("rx", nic.rx_bytes),
            ("rx_packets", nic.rx_packets),
            ("rx_errors", nic.rx_errors),
            ("rx_drop", nic.rx_drop),
            ("tx", nic.tx_bytes),
            ("tx_packets", nic.tx_packets),
            ("tx_errors", nic.tx_errors),
            ("tx_drop", nic.tx_drop),
        ];
        if counters.iter().all(|(_, v)| v.is_none()) {
            continue;
        }
        for (suffix, value) in counters {
            out.insert(format!("{dev}_{suffix}"), or_minus_one(value));
        }
    }
    if let Some(max) = record.memory.max_kib {
        out.insert("memory".into(), max.into());
    }
    if let Some(balloon) = &record.memory.balloon {
        for (tag, value) in memory_tags(balloon) {
            if let Some(value) = value {
                out.insert(format!("memory-{tag}"), value.into());
            }
        }
    }
    out
}

/// libvirt's memoryStats tag names, as the original's Python binding returned them.
fn memory_tags(b: &BalloonRecord) -> [(&'static str, Option<u64>); 13] {
    [
        ("swap_in", b.swap_in_kib),
        ("swap_out", b.swap_out_kib),
        ("major_fault", b.major_faults),
        ("minor_fault", b.minor_faults),
        ("unused", b.unused_kib),
        ("available", b.available_kib),
        ("actual", b.actual_kib),
        ("rss", b.rss_kib),
        ("usable", b.usable_kib),
        ("last_update", b.last_update_unix_s),
        ("disk_caches", b.disk_caches_kib),
        ("hugetlb_pgalloc", b.hugetlb_pgalloc),
        ("hugetlb_pgfail", b.hugetlb_pgfail),
    ]
}

fn or_minus_one(value: Option<u64>) -> Value {
    value.map_or(Value::from(-1), Value::from)
}

/// The `{"domain":NAME,"uuid":UUID,"diagnostics":{...}}` line the legacy and Nova
/// views share, serialized in that key order.
#[derive(serde::Serialize)]
pub struct Envelope<'a, D> {
    pub domain: &'a str,
    pub uuid: &'a str,
    pub diagnostics: D,
}

impl<'a, D: serde::Serialize> Envelope<'a, D> {
    pub fn new(record: &'a DomainRecord, diagnostics: D) -> Self {
        Envelope {
            domain: &record.domain.name,
            uuid: &record.domain.uuid,
            diagnostics,
        }
    }

    /// As a JSON value (for tests and tools; the wire writes the envelope itself).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self)
            .expect("diagnostics are plain numbers and strings, which always serialize")
    }
}

/// The `legacy` line of one domain as a JSON value: its [`Envelope`].
pub fn line(record: &DomainRecord) -> Value {
    Envelope::new(record, diagnostics(record)).to_value()
}

#[cfg(test)]
mod tests;
