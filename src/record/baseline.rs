//! A domain line read back from the spool, as the baseline of the next rates.
//!
//! After a restart the agent has no previous sample, so its first cycle would have no
//! rates. The spool holds the last cycle's counters: [`from_bytes`] rebuilds the parts
//! of a [`DomainRecord`] that rates are computed from (identity, CPU and vCPU times,
//! disk and NIC counters with the names they are matched by, and when each was read).
//! Everything else keeps its empty value: a baseline is never answered or written, only
//! subtracted from. Pure.
//!
//! The line is untrusted: it is read into typed fields (never a tree of values), each
//! array holds at most [`MAX_ITEMS`] entries or the line is refused, and a field of the
//! wrong type refuses the line. [`size`] says what a record costs, for the caller's
//! budget.

use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;

use super::{
    CollectInfo, CpuStats, DiskRecord, DomainIdentity, DomainRecord, DomainState, MemoryStats,
    NicRecord, StateReason, VcpuRecord, SCHEMA_VERSION,
};

/// A read time (`read_ms`) a baseline may claim, at most: an hour after its `ts`.
/// Beyond, or negative, the value has no read time and gives no rate.
pub const MAX_READ_MS: f64 = 3_600_000.0;

/// Entries of one array (vCPUs, disks, NICs) a baseline line may have: QEMU's own
/// limit is 4096 vCPUs, and no domain has that many disks or NICs.
pub const MAX_ITEMS: usize = 4096;

/// The baseline in one spool line, if it is a well-formed domain line.
pub fn from_bytes(text: &[u8]) -> Option<DomainRecord> {
    let line: Line = serde_json::from_slice(text).ok()?;
    if line.kind != "domain" {
        return None;
    }
    let cpu = line.cpu.map(|cpu| CpuStats {
        time_ns: cpu.time_ns,
        user_ns: cpu.user_ns,
        system_ns: cpu.system_ns,
        read_ms: plausible(cpu.read_ms),
        vcpus_read_ms: plausible(cpu.vcpus_read_ms),
        vcpus: cpu
            .vcpus
            .into_iter()
            .map(|v| VcpuRecord {
                id: v.id,
                time_ns: v.time_ns,
                delay_ns: v.delay_ns,
                ..VcpuRecord::default()
            })
            .collect(),
        ..CpuStats::default()
    });
    Some(DomainRecord {
        kind: "domain",
        schema: SCHEMA_VERSION,
        ts: line.ts,
        host: line.host,
        seq: line.seq,
        domain: DomainIdentity {
            name: line.domain.name,
            uuid: line.domain.uuid,
            id: line.domain.id,
            state: DomainState::Unknown,
            reason: StateReason::Unknown,
            transitions: None,
            crashes: None,
        },
        nova: None,
        cpu,
        memory: MemoryStats {
            max_kib: None,
            current_kib: None,
            used_kib: None,
            balloon: None,
            bandwidth_monitors: None,
        },
        disks: line
            .disks
            .into_iter()
            .map(|d| DiskRecord {
                dev: d.dev,
                read_requests: d.read_requests,
                read_bytes: d.read_bytes,
                write_requests: d.write_requests,
                write_bytes: d.write_bytes,
                read_time_ns: d.read_time_ns,
                write_time_ns: d.write_time_ns,
                flush_requests: d.flush_requests,
                flush_time_ns: d.flush_time_ns,
                allocation_bytes: d.allocation_bytes,
                read_ms: plausible(d.read_ms),
                ..DiskRecord::default()
            })
            .collect(),
        nics: line
            .nics
            .into_iter()
            .map(|n| NicRecord {
                dev: n.dev,
                mac: n.mac,
                model: None,
                kind: None,
                source: None,
                rx_bytes: n.rx_bytes,
                rx_packets: n.rx_packets,
                rx_errors: None,
                rx_drop: None,
                tx_bytes: n.tx_bytes,
                tx_packets: n.tx_packets,
                tx_errors: None,
                tx_drop: None,
                rx_bytes_per_s: None,
                tx_bytes_per_s: None,
                rx_packets_per_s: None,
                tx_packets_per_s: None,
                read_ms: plausible(n.read_ms),
            })
            .collect(),
        job: None,
        opt_in: Default::default(),
        collect: CollectInfo {
            sources: Default::default(),
            interval_s: None,
            duration_ms: 0.0,
            missing: Vec::new(),
            control: None,
        },
    })
}

fn plausible(read_ms: Option<f64>) -> Option<f64> {
    read_ms.filter(|ms| (0.0..=MAX_READ_MS).contains(ms))
}

/// The memory a baseline record takes, near enough for a budget.
pub fn size(record: &DomainRecord) -> usize {
    let strings = record.ts.len() + record.host.len() + record.domain.name.len();
    let disks: usize = record
        .disks
        .iter()
        .map(|d| size_of::<DiskRecord>() + d.dev.as_ref().map_or(0, |s| s.len()))
        .sum();
    let nics: usize = record
        .nics
        .iter()
        .map(|n| {
            size_of::<NicRecord>()
                + n.dev.as_ref().map_or(0, |s| s.len())
                + n.mac.as_ref().map_or(0, |s| s.len())
        })
        .sum();
    let vcpus = record
        .cpu
        .as_ref()
        .map_or(0, |c| c.vcpus.len() * size_of::<VcpuRecord>());
    size_of::<DomainRecord>() + strings + record.domain.uuid.len() + disks + nics + vcpus
}

#[derive(Deserialize)]
struct Line {
    kind: String,
    ts: Arc<str>,
    host: Arc<str>,
    seq: u64,
    domain: Identity,
    cpu: Option<Cpu>,
    #[serde(default, deserialize_with = "bounded")]
    disks: Vec<Disk>,
    #[serde(default, deserialize_with = "bounded")]
    nics: Vec<Nic>,
}

#[derive(Deserialize)]
struct Identity {
    name: Arc<str>,
    uuid: Arc<str>,
    id: Option<u32>,
}

#[derive(Deserialize)]
struct Cpu {
    time_ns: Option<u64>,
    user_ns: Option<u64>,
    system_ns: Option<u64>,
    read_ms: Option<f64>,
    vcpus_read_ms: Option<f64>,
    #[serde(default, deserialize_with = "bounded")]
    vcpus: Vec<Vcpu>,
}

#[derive(Deserialize)]
struct Vcpu {
    id: u32,
    time_ns: Option<u64>,
    delay_ns: Option<u64>,
}

#[derive(Deserialize)]
struct Disk {
    dev: Option<Arc<str>>,
    read_requests: Option<u64>,
    read_bytes: Option<u64>,
    write_requests: Option<u64>,
    write_bytes: Option<u64>,
    read_time_ns: Option<u64>,
    write_time_ns: Option<u64>,
    flush_requests: Option<u64>,
    flush_time_ns: Option<u64>,
    allocation_bytes: Option<u64>,
    read_ms: Option<f64>,
}

#[derive(Deserialize)]
struct Nic {
    dev: Option<Arc<str>>,
    mac: Option<Arc<str>>,
    rx_bytes: Option<u64>,
    rx_packets: Option<u64>,
    tx_bytes: Option<u64>,
    tx_packets: Option<u64>,
    read_ms: Option<f64>,
}

/// An array of at most [`MAX_ITEMS`] entries (null reads as empty); a longer one
/// refuses the line without holding the rest.
fn bounded<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Bounded<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for Bounded<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "an array of at most {MAX_ITEMS} entries")
        }

        fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Vec<T>, A::Error> {
            let mut kept = Vec::new();
            while let Some(item) = items.next_element()? {
                if kept.len() == MAX_ITEMS {
                    while items.next_element::<IgnoredAny>()?.is_some() {}
                    return Err(de::Error::custom(format!("more than {MAX_ITEMS} entries")));
                }
                kept.push(item);
            }
            Ok(kept)
        }
    }

    deserializer.deserialize_any(Bounded(PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_line_gives_back_its_counters_identity_and_read_times() {
        let line =
            br#"{"kind":"domain","schema":1,"ts":"2026-11-29T10:00:00.000Z","host":"h","seq":9,
            "domain":{"name":"vm","uuid":"u","id":4,"state":"running","reason":"booted"},
            "nova":null,"cpu":{"time_ns":100,"user_ns":null,"system_ns":null,
            "utilisation_pct":1.0,"vcpus":[{"id":0,"state":"running","time_ns":50,
            "utilisation_pct":null}],"read_ms":1.25,"vcpus_read_ms":1.5},"memory":{},
            "disks":[{"dev":"vda","read_bytes":7,"read_ms":2.0}],
            "nics":[{"dev":"tap0","mac":"52:54:00:00:00:01","tx_bytes":3}],"collect":{}}"#;
        let record = from_bytes(line).unwrap();
        assert_eq!(record.domain.id, Some(4));
        assert_eq!(record.seq, 9);
        let cpu = record.cpu.as_ref().unwrap();
        assert_eq!((cpu.time_ns, cpu.vcpus[0].time_ns), (Some(100), Some(50)));
        assert_eq!((cpu.read_ms, cpu.vcpus_read_ms), (Some(1.25), Some(1.5)));
        assert_eq!(record.disks[0].read_bytes, Some(7));
        assert_eq!(record.disks[0].read_ms, Some(2.0));
        assert_eq!(record.nics[0].tx_bytes, Some(3));
        assert_eq!(record.nics[0].read_ms, None, "a line from before read_ms");
        let implausible = std::str::from_utf8(line)
            .unwrap()
            .replace("\"read_ms\":2.0", "\"read_ms\":-2.0")
            .replace("\"read_ms\":1.25", "\"read_ms\":1e12");
        let record2 = from_bytes(implausible.as_bytes()).unwrap();
        assert_eq!(record2.disks[0].read_ms, None);
        assert_eq!(record2.cpu.unwrap().read_ms, None);
        assert_eq!(record.nics[0].mac.as_deref(), Some("52:54:00:00:00:01"));
        assert!(size(&record) > size_of::<DomainRecord>());
    }

    /// The baseline reads the lines the record's own serializer writes: a field renamed
    /// in the record without the baseline would fail here, not silently lose rates.
    #[test]
    fn a_written_record_gives_back_what_rates_are_computed_from() {
        let written = crate::record::json::tests::full_record();
        let record = from_bytes(&serde_json::to_vec(&written).unwrap()).unwrap();
        assert_eq!(
            (record.seq, &record.domain.uuid),
            (written.seq, &written.domain.uuid)
        );
        let (cpu, was) = (record.cpu.unwrap(), written.cpu.unwrap());
        assert_eq!((cpu.time_ns, cpu.read_ms), (was.time_ns, was.read_ms));
        let times = |c: &CpuStats| {
            c.vcpus
                .iter()
                .map(|v| (v.id, v.time_ns, v.delay_ns))
                .collect::<Vec<_>>()
        };
        assert_eq!(times(&cpu), times(&was));
        for (disk, was) in record.disks.iter().zip(&written.disks) {
            assert_eq!(disk.dev, was.dev);
            assert_eq!(
                (
                    disk.read_bytes,
                    disk.write_requests,
                    disk.flush_time_ns,
                    disk.allocation_bytes
                ),
                (
                    was.read_bytes,
                    was.write_requests,
                    was.flush_time_ns,
                    was.allocation_bytes
                )
            );
        }
        for (nic, was) in record.nics.iter().zip(&written.nics) {
            assert_eq!((&nic.dev, &nic.mac), (&was.dev, &was.mac));
            assert_eq!(
                (nic.rx_bytes, nic.tx_packets),
                (was.rx_bytes, was.tx_packets)
            );
        }
        assert_eq!(record.disks.len(), written.disks.len());
        assert_eq!(record.nics.len(), written.nics.len());
    }

    #[test]
    fn other_lines_and_broken_ones_give_nothing() {
        for text in [
            r#"{"kind":"cycle","seq":3}"#,
            r#"{"kind":"domain","seq":3}"#,
            r#"{"kind":"domain","ts":"t","host":"h","seq":"x","domain":{"name":"a","uuid":"b"}}"#,
            r#"{"kind":"domain","ts":"t","host":"h","seq":1,"domain":{"name":"a","uuid":"b","id":-1}}"#,
            r#"{"kind":"domain","ts":"t","host":"h","seq":1,"domain":{"name":"a","uuid":"b"},"cpu":{"time_ns":-5}}"#,
            "[]",
            "not json",
        ] {
            assert!(from_bytes(text.as_bytes()).is_none(), "{text}");
        }
    }

    #[test]
    fn an_array_past_the_bound_refuses_the_line() {
        let line = |disks: usize| {
            format!(
                "{{\"kind\":\"domain\",\"ts\":\"t\",\"host\":\"h\",\"seq\":1,\
                 \"domain\":{{\"name\":\"a\",\"uuid\":\"b\",\"id\":1}},\"disks\":[{}]}}",
                vec!["{}"; disks].join(",")
            )
        };
        assert_eq!(
            from_bytes(line(MAX_ITEMS).as_bytes()).unwrap().disks.len(),
            MAX_ITEMS
        );
        assert!(from_bytes(line(MAX_ITEMS + 1).as_bytes()).is_none());
    }
}
