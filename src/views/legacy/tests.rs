//! The seed's keys and its -1 for counters libvirt does not provide.

use std::sync::Arc;

use super::*;
use crate::record::*;

fn record() -> DomainRecord {
    let disk = |dev: &str, bytes: Option<u64>, errors: Option<u64>| DiskRecord {
        dev: Some(Arc::from(dev)),
        bus: None,
        device: None,
        source_type: None,
        path: None,
        read_requests: bytes.map(|b| b / 512),
        read_bytes: bytes,
        write_requests: bytes,
        write_bytes: bytes,
        errors,
        read_bytes_per_s: None,
        write_bytes_per_s: None,
        read_ops_per_s: None,
        write_ops_per_s: None,
        ..Default::default()
    };
    DomainRecord {
        kind: "domain",
        schema: 1,
        ts: "t".into(),
        host: "h".into(),
        seq: 1,
        domain: DomainIdentity {
            name: "d".into(),
            uuid: "u".into(),
            id: Some(1),
            state: DomainState::Running,
            reason: StateReason::Booted,
            transitions: Some(None),
            crashes: Some(None),
        },
        nova: None,
        cpu: Some(CpuStats {
            time_ns: Some(10),
            user_ns: None,
            system_ns: None,
            utilisation_pct: None,
            vcpus: vec![VcpuRecord {
                id: 0,
                state: Some(VcpuState::Running),
                time_ns: Some(7),
                utilisation_pct: None,
                ..Default::default()
            }],
            ..Default::default()
        }),
        memory: MemoryStats {
            max_kib: Some(2048),
            current_kib: Some(2048),
            used_kib: None,
            balloon: Some(BalloonRecord {
                actual_kib: Some(2048),
                rss_kib: Some(900),
                ..Default::default()
            }),
            bandwidth_monitors: None,
        },
        disks: vec![disk("vda", Some(1024), None), disk("hdc", None, None)],
        nics: vec![NicRecord {
            dev: Some("tap0".into()),
            mac: None,
            model: None,
            kind: None,
            source: None,
            rx_bytes: Some(5),
            rx_packets: Some(1),
            rx_errors: Some(0),
            rx_drop: Some(0),
            tx_bytes: Some(6),
            tx_packets: Some(2),
            tx_errors: None,
            tx_drop: Some(0),
            rx_bytes_per_s: None,
            tx_bytes_per_s: None,
            rx_packets_per_s: None,
            tx_packets_per_s: None,
            read_ms: None,
        }],
        job: None,
        opt_in: Default::default(),
        collect: CollectInfo {
            sources: GroupSources::default(),
            interval_s: None,
            duration_ms: 0.0,
            missing: vec![],
            control: None,
        },
    }
}

#[test]
fn maps_every_field_to_the_seeds_key() {
    let d = diagnostics(&record());
    let expected = serde_json::json!({
        "cpu0_time": 7,
        "vda_read_req": 2, "vda_read": 1024, "vda_write_req": 1024, "vda_write": 1024, "vda_errors": -1,
        "tap0_rx": 5, "tap0_rx_packets": 1, "tap0_rx_errors": 0, "tap0_rx_drop": 0,
        "tap0_tx": 6, "tap0_tx_packets": 2, "tap0_tx_errors": -1, "tap0_tx_drop": 0,
        "memory": 2048, "memory-actual": 2048, "memory-rss": 900,
    });
    assert_eq!(Value::Object(d), expected);
}

#[test]
fn the_line_names_the_domain() {
    let line = line(&record());
    assert_eq!(line["domain"], "d");
    assert_eq!(line["uuid"], "u");
    assert_eq!(line["diagnostics"]["cpu0_time"], 7);
}
