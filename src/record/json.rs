//! A fast writer of domain records as JSON lines: the collector's hot path.
//!
//! serde's derived serializer (the reference, used for everything else) spends most of
//! its time on per-fragment writes; this writer emits each `,"key":` as one static
//! slice and formats numbers with itoa and zmij (the formatters serde_json itself uses).
//! It stays while it pays for itself (docs/performance.md, "The record writer"): a
//! property test holds it byte-equal to serde's output for thousands of generated
//! records, so the two never drift apart.

use std::sync::Arc;

use super::opt_in::write_chosen;
use super::{BalloonRecord, CollectInfo, CpuStats, DomainRecord, MemoryStats, NovaInfo, Source};

/// Appends `record` as one JSON line (with its newline) to `out`.
pub fn write_domain_line(record: &DomainRecord, out: &mut Vec<u8>) {
    out.reserve(4096);
    let w = &mut Writer { out };
    w.raw(b"{\"kind\":\"domain\",\"schema\":");
    w.u64(u64::from(record.schema));
    w.raw(b",\"ts\":");
    w.str(&record.ts);
    w.raw(b",\"host\":");
    w.str(&record.host);
    w.raw(b",\"seq\":");
    w.u64(record.seq);
    let d = &record.domain;
    w.raw(b",\"domain\":{\"name\":");
    w.str(&d.name);
    w.raw(b",\"uuid\":");
    w.str(&d.uuid);
    w.raw(b",\"id\":");
    w.opt_u64(d.id.map(u64::from));
    w.raw(b",\"state\":");
    w.str(d.state.as_str());
    w.raw(b",\"reason\":");
    w.str(d.reason.as_str());
    w.chosen_u64(
        b",\"transitions\":",
        d.transitions.map(|t| t.map(u64::from)),
    );
    w.chosen_u64(b",\"crashes\":", d.crashes);
    w.raw(b"},\"nova\":");
    match &record.nova {
        Some(nova) => w.nova(nova),
        None => w.raw(b"null"),
    }
    w.raw(b",\"cpu\":");
    match &record.cpu {
        Some(cpu) => w.cpu(cpu),
        None => w.raw(b"null"),
    }
    w.raw(b",\"memory\":");
    w.memory(&record.memory);
    w.raw(b",\"disks\":[");
    for (i, disk) in record.disks.iter().enumerate() {
        if i > 0 {
            w.raw(b",");
        }
        w.disk(disk);
    }
    w.raw(b"],\"nics\":[");
    for (i, nic) in record.nics.iter().enumerate() {
        if i > 0 {
            w.raw(b",");
        }
        w.nic(nic);
    }
    w.raw(b"],\"job\":");
    match &record.job {
        Some(job) => w.job(job),
        None => w.raw(b"null"),
    }
    record.opt_in.write_json(w.out);
    w.raw(b",\"collect\":");
    w.collect(&record.collect);
    w.raw(b"}\n");
}

/// Bytes that JSON strings must escape: control characters, `"` and `\\`.
const NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl Writer<'_> {
    fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    fn u64(&mut self, value: u64) {
        self.raw(itoa::Buffer::new().format(value).as_bytes());
    }

    fn opt_u64(&mut self, value: Option<u64>) {
        match value {
            Some(v) => self.u64(v),
            None => self.raw(b"null"),
        }
    }

    /// A key and its value, or nothing when the key is absent (`Chosen`).
    fn chosen_u64(&mut self, key: &[u8], value: Option<Option<u64>>) {
        if let Some(value) = value {
            self.raw(key);
            self.opt_u64(value);
        }
    }

    fn f64(&mut self, value: f64) {
        if value.is_finite() {
            self.raw(zmij::Buffer::new().format_finite(value).as_bytes());
        } else {
            self.raw(b"null");
        }
    }

    fn opt_f64(&mut self, value: Option<f64>) {
        match value {
            Some(v) => self.f64(v),
            None => self.raw(b"null"),
        }
    }

    /// A JSON string escaped as serde_json escapes it: quotes, backslashes and control
    /// characters (`\b \f \n \r \t` by name, the others as `\u00XX`). Runs of plain
    /// bytes are copied at once.
    fn str(&mut self, text: &str) {
        self.out.push(b'"');
        let mut rest = text.as_bytes();
        while let Some(i) = rest.iter().position(|&b| NEEDS_ESCAPE[b as usize]) {
            self.out.extend_from_slice(&rest[..i]);
            let b = rest[i];
            match b {
                b'"' => self.out.extend_from_slice(b"\\\""),
                b'\\' => self.out.extend_from_slice(b"\\\\"),
                b'\n' => self.out.extend_from_slice(b"\\n"),
                b'\r' => self.out.extend_from_slice(b"\\r"),
                b'\t' => self.out.extend_from_slice(b"\\t"),
                0x08 => self.out.extend_from_slice(b"\\b"),
                0x0c => self.out.extend_from_slice(b"\\f"),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    self.out.extend_from_slice(&[
                        b'\\',
                        b'u',
                        b'0',
                        b'0',
                        HEX[(b >> 4) as usize],
                        HEX[(b & 0xf) as usize],
                    ]);
                }
            }
            rest = &rest[i + 1..];
        }
        self.out.extend_from_slice(rest);
        self.out.push(b'"');
    }

    fn opt_str(&mut self, text: Option<&str>) {
        match text {
            Some(t) => self.str(t),
            None => self.raw(b"null"),
        }
    }

    fn opt_arc(&mut self, text: &Option<Arc<str>>) {
        self.opt_str(text.as_deref());
    }

    fn nova(&mut self, n: &NovaInfo) {
        self.raw(b"{\"instance\":");
        self.opt_str(n.instance.as_deref());
        self.raw(b",\"flavor\":");
        self.opt_str(n.flavor.as_deref());
        self.raw(b",\"project_id\":");
        self.opt_str(n.project_id.as_deref());
        self.raw(b",\"project_name\":");
        self.opt_str(n.project_name.as_deref());
        self.raw(b",\"user_id\":");
        self.opt_str(n.user_id.as_deref());
        self.raw(b",\"user_name\":");
        self.opt_str(n.user_name.as_deref());
        self.raw(b"}");
    }

    fn cpu(&mut self, c: &CpuStats) {
        self.raw(b"{\"time_ns\":");
        self.opt_u64(c.time_ns);
        self.raw(b",\"user_ns\":");
        self.opt_u64(c.user_ns);
        self.raw(b",\"system_ns\":");
        self.opt_u64(c.system_ns);
        self.raw(b",\"haltpoll_success_ns\":");
        self.opt_u64(c.haltpoll_success_ns);
        self.raw(b",\"haltpoll_fail_ns\":");
        self.opt_u64(c.haltpoll_fail_ns);
        self.raw(b",\"utilisation_pct\":");
        self.opt_f64(c.utilisation_pct);
        self.raw(b",\"overhead_pct\":");
        self.opt_f64(c.overhead_pct);
        self.raw(b",\"vcpus\":[");
        for (i, v) in c.vcpus.iter().enumerate() {
            self.raw(if i > 0 { b",{\"id\":" } else { b"{\"id\":" });
            self.u64(u64::from(v.id));
            self.raw(b",\"state\":");
            self.opt_str(v.state.map(|s| s.as_str()));
            self.raw(b",\"time_ns\":");
            self.opt_u64(v.time_ns);
            self.raw(b",\"delay_ns\":");
            self.opt_u64(v.delay_ns);
            self.raw(b",\"wait_ns\":");
            self.opt_u64(v.wait_ns);
            self.raw(b",\"utilisation_pct\":");
            self.opt_f64(v.utilisation_pct);
            self.raw(b",\"steal_pct\":");
            self.opt_f64(v.steal_pct);
            self.raw(b"}");
        }
        self.raw(b"],\"read_ms\":");
        self.opt_f64(c.read_ms);
        self.raw(b",\"vcpus_read_ms\":");
        self.opt_f64(c.vcpus_read_ms);
        write_chosen(self.out, b",\"cache_monitors\":", &c.cache_monitors);
        self.raw(b"}");
    }

    fn memory(&mut self, m: &MemoryStats) {
        self.raw(b"{\"max_kib\":");
        self.opt_u64(m.max_kib);
        self.raw(b",\"current_kib\":");
        self.opt_u64(m.current_kib);
        self.raw(b",\"used_kib\":");
        self.opt_u64(m.used_kib);
        self.raw(b",\"balloon\":");
        match &m.balloon {
            Some(b) => self.balloon(b),
            None => self.raw(b"null"),
        }
        write_chosen(self.out, b",\"bandwidth_monitors\":", &m.bandwidth_monitors);
        self.raw(b"}");
    }

    fn balloon(&mut self, b: &BalloonRecord) {
        let fields: [(&[u8], Option<u64>); 13] = [
            (b"{\"actual_kib\":", b.actual_kib),
            (b",\"unused_kib\":", b.unused_kib),
            (b",\"available_kib\":", b.available_kib),
            (b",\"usable_kib\":", b.usable_kib),
            (b",\"rss_kib\":", b.rss_kib),
            (b",\"disk_caches_kib\":", b.disk_caches_kib),
            (b",\"swap_in_kib\":", b.swap_in_kib),
            (b",\"swap_out_kib\":", b.swap_out_kib),
            (b",\"major_faults\":", b.major_faults),
            (b",\"minor_faults\":", b.minor_faults),
            (b",\"hugetlb_pgalloc\":", b.hugetlb_pgalloc),
            (b",\"hugetlb_pgfail\":", b.hugetlb_pgfail),
            (b",\"last_update_unix_s\":", b.last_update_unix_s),
        ];
        for (key, value) in fields {
            self.raw(key);
            self.opt_u64(value);
        }
        self.raw(b",\"last_update_age_s\":");
        match b.last_update_age_s {
            Some(age) => self.raw(itoa::Buffer::new().format(age).as_bytes()),
            None => self.raw(b"null"),
        }
        self.raw(b",\"guest_stats\":");
        self.opt_str(b.guest_stats.map(|s| s.as_str()));
        self.raw(b"}");
    }

    fn collect(&mut self, c: &CollectInfo) {
        let s = &c.sources;
        let sources: [(&[u8], Option<Source>); 11] = [
            (b"{\"sources\":{\"state\":", Some(s.state)),
            (b",\"cpu\":", Some(s.cpu)),
            (b",\"vcpus\":", Some(s.vcpus)),
            (b",\"balloon\":", Some(s.balloon)),
            (b",\"disks\":", Some(s.disks)),
            (b",\"nics\":", Some(s.nics)),
            (b",\"kvm\":", s.kvm),
            (b",\"perf\":", s.perf),
            (b",\"iothreads\":", s.iothreads),
            (b",\"bandwidth_monitors\":", s.bandwidth_monitors),
            (b",\"dirtyrate\":", s.dirtyrate),
        ];
        for (key, source) in sources {
            let Some(source) = source else {
                continue; // an opt-in group not chosen
            };
            self.raw(key);
            self.raw(match source {
                Source::Bulk => b"\"bulk\"",
                Source::PerDomain => b"\"per-domain\"",
                Source::None => b"\"none\"",
                Source::Unsupported => b"\"unsupported\"",
            });
        }
        self.raw(b"},\"interval_s\":");
        self.opt_f64(c.interval_s);
        self.raw(b",\"duration_ms\":");
        self.f64(c.duration_ms);
        self.raw(b",\"missing\":[");
        for (i, m) in c.missing.iter().enumerate() {
            self.raw(if i > 0 {
                b",{\"field\":"
            } else {
                b"{\"field\":"
            });
            self.str(&m.field);
            self.raw(b",\"reason\":");
            self.str(&m.reason);
            self.raw(b"}");
        }
        self.raw(b"],\"control\":");
        match &c.control {
            None => self.raw(b"null"),
            Some(control) => {
                self.raw(b"{\"state\":");
                self.str(control.state.as_str());
                self.raw(b",\"since_ms\":");
                self.u64(control.since_ms);
                self.raw(b",\"reason\":");
                match control.reason {
                    Some(reason) => self.str(reason.as_str()),
                    None => self.raw(b"null"),
                }
                self.raw(b"}");
            }
        }
        self.raw(b"}");
    }
}

mod devices;

#[cfg(test)]
mod property;
#[cfg(test)]
pub(crate) mod tests;
