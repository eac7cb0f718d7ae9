//! A domain line read back from the spool, as the baseline of the next rates.
//!
//! After a restart the agent has no previous sample, so its first cycle would have no
//! rates. The spool holds the last cycle's counters: [`from_line`] rebuilds the parts of
//! a [`DomainRecord`] that rates are computed from (identity, CPU and vCPU times, disk
//! and NIC counters with the names they are matched by). Everything else keeps its
//! empty value: a baseline is never answered or written, only subtracted from. Pure.

use std::sync::Arc;

use serde_json::Value;

use super::{
    CollectInfo, CpuStats, DiskRecord, DomainIdentity, DomainRecord, MemoryStats, NicRecord,
    VcpuRecord, SCHEMA_VERSION,
};

/// The baseline in one spool line, if it is a domain line with an identity.
pub fn from_line(line: &Value) -> Option<DomainRecord> {
    if line.get("kind")?.as_str()? != "domain" {
        return None;
    }
    let domain = line.get("domain")?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(Arc::<str>::from);
    let count = |v: &Value, key: &str| v.get(key).and_then(Value::as_u64);
    let cpu = line
        .get("cpu")
        .filter(|c| c.is_object())
        .map(|cpu| CpuStats {
            time_ns: count(cpu, "time_ns"),
            user_ns: count(cpu, "user_ns"),
            system_ns: count(cpu, "system_ns"),
            vcpus: items(cpu, "vcpus")
                .filter_map(|v| {
                    Some(VcpuRecord {
                        id: u32::try_from(count(v, "id")?).ok()?,
                        state: None,
                        time_ns: count(v, "time_ns"),
                        delay_ns: count(v, "delay_ns"),
                        ..VcpuRecord::default()
                    })
                })
                .collect(),
            ..CpuStats::default()
        });
    Some(DomainRecord {
        kind: "domain",
        schema: SCHEMA_VERSION,
        ts: text(line, "ts")?,
        host: text(line, "host")?,
        seq: count(line, "seq")?,
        domain: DomainIdentity {
            name: text(domain, "name")?,
            uuid: text(domain, "uuid")?,
            id: count(domain, "id").and_then(|id| u32::try_from(id).ok()),
            state: "unknown",
            reason: "unknown",
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
        disks: items(line, "disks")
            .map(|d| DiskRecord {
                dev: text(d, "dev"),
                read_requests: count(d, "read_requests"),
                read_bytes: count(d, "read_bytes"),
                write_requests: count(d, "write_requests"),
                write_bytes: count(d, "write_bytes"),
                errors: count(d, "errors"),
                read_time_ns: count(d, "read_time_ns"),
                write_time_ns: count(d, "write_time_ns"),
                flush_requests: count(d, "flush_requests"),
                flush_time_ns: count(d, "flush_time_ns"),
                allocation_bytes: count(d, "allocation_bytes"),
                ..DiskRecord::default()
            })
            .collect(),
        nics: items(line, "nics")
            .map(|n| NicRecord {
                dev: text(n, "dev"),
                mac: text(n, "mac"),
                model: None,
                kind: None,
                source: None,
                rx_bytes: count(n, "rx_bytes"),
                rx_packets: count(n, "rx_packets"),
                rx_errors: count(n, "rx_errors"),
                rx_drop: count(n, "rx_drop"),
                tx_bytes: count(n, "tx_bytes"),
                tx_packets: count(n, "tx_packets"),
                tx_errors: count(n, "tx_errors"),
                tx_drop: count(n, "tx_drop"),
                rx_bytes_per_s: None,
                tx_bytes_per_s: None,
                rx_packets_per_s: None,
                tx_packets_per_s: None,
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

fn items<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_line_gives_back_its_counters_and_identity() {
        let line: Value = serde_json::from_str(
            r#"{"kind":"domain","schema":1,"ts":"2026-11-29T10:00:00.000Z","host":"h","seq":9,
            "domain":{"name":"vm","uuid":"u","id":4,"state":"running","reason":"booted"},
            "nova":null,"cpu":{"time_ns":100,"user_ns":null,"system_ns":null,
            "utilisation_pct":1.0,"vcpus":[{"id":0,"state":"running","time_ns":50,
            "utilisation_pct":null}]},"memory":{},"disks":[{"dev":"vda","read_bytes":7}],
            "nics":[{"dev":"tap0","mac":"52:54:00:00:00:01","tx_bytes":3}],"collect":{}}"#,
        )
        .unwrap();
        let record = from_line(&line).unwrap();
        assert_eq!(record.domain.id, Some(4));
        assert_eq!(record.seq, 9);
        let cpu = record.cpu.unwrap();
        assert_eq!((cpu.time_ns, cpu.vcpus[0].time_ns), (Some(100), Some(50)));
        assert_eq!(record.disks[0].read_bytes, Some(7));
        assert_eq!(record.nics[0].tx_bytes, Some(3));
        assert_eq!(record.nics[0].mac.as_deref(), Some("52:54:00:00:00:01"));
    }

    #[test]
    fn other_lines_and_broken_ones_give_nothing() {
        for text in [
            r#"{"kind":"cycle","seq":3}"#,
            r#"{"kind":"domain","seq":3}"#,
            r#"{"kind":"domain","ts":"t","host":"h","seq":"x","domain":{"name":"a","uuid":"b"}}"#,
            "[]",
        ] {
            assert!(
                from_line(&serde_json::from_str(text).unwrap()).is_none(),
                "{text}"
            );
        }
    }
}
