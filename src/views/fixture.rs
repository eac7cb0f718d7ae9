//! A full record for the views' tests: a running Nova instance with two vCPUs, a disk
//! and an empty CD-ROM, two NICs (one without a host device), balloon statistics and
//! rates.

use std::sync::Arc;

use crate::record::*;

pub fn record(name: &str, uuid: &str) -> DomainRecord {
    let disk = |dev: &str, device: &str, path: Option<&str>, n: Option<u64>| DiskRecord {
        dev: Some(Arc::from(dev)),
        bus: Some(Arc::from("virtio")),
        device: Some(Arc::from(device)),
        source_type: Some(Arc::from("file")),
        path: path.map(Arc::from),
        read_requests: n,
        read_bytes: n.map(|n| n * 4096),
        write_requests: n.map(|n| n * 2),
        write_bytes: n.map(|n| n * 8192),
        errors: None,
        read_bytes_per_s: n.map(|_| 1000.4),
        write_bytes_per_s: n.map(|_| 2000.6),
        read_ops_per_s: n.map(|_| 1.0),
        write_ops_per_s: n.map(|_| 2.0),
        ..Default::default()
    };
    let nic = |dev: Option<&str>, mac: &str, n: u64| NicRecord {
        dev: dev.map(Arc::from),
        mac: Some(Arc::from(mac)),
        model: Some(Arc::from("virtio")),
        kind: Some(Arc::from("bridge")),
        source: Some(Arc::from("br0")),
        rx_bytes: Some(n),
        rx_packets: Some(n / 100),
        rx_errors: Some(0),
        rx_drop: Some(1),
        tx_bytes: Some(n * 2),
        tx_packets: Some(n / 50),
        tx_errors: Some(0),
        tx_drop: Some(2),
        rx_bytes_per_s: Some(150.5),
        tx_bytes_per_s: Some(300.2),
        rx_packets_per_s: Some(1.5),
        tx_packets_per_s: Some(3.0),
        read_ms: None,
    };
    let vcpu = |id: u32, time_ns: u64| VcpuRecord {
        id,
        state: Some(VcpuState::Running),
        time_ns: Some(time_ns),
        utilisation_pct: Some(12.6),
        ..Default::default()
    };
    DomainRecord {
        kind: "domain",
        schema: SCHEMA_VERSION,
        ts: "2026-11-23T19:20:53.123Z".into(),
        host: "compute-1".into(),
        seq: 7,
        domain: DomainIdentity {
            name: name.into(),
            uuid: uuid.into(),
            id: Some(3),
            state: DomainState::Running,
            reason: StateReason::Booted,
            transitions: Some(None),
            crashes: Some(None),
        },
        nova: Some(Arc::new(NovaInfo {
            instance: Some("web \"1\"".into()),
            flavor: Some("m1.small".into()),
            project_id: Some("p-1".into()),
            project_name: Some("demo".into()),
            user_id: Some("u-1".into()),
            user_name: None,
        })),
        cpu: Some(CpuStats {
            time_ns: Some(5_500_000_001),
            user_ns: Some(1),
            system_ns: Some(2),
            utilisation_pct: Some(25.2),
            vcpus: vec![vcpu(0, 2_000_000_000), vcpu(1, 3_000_000_500)],
            ..Default::default()
        }),
        memory: MemoryStats {
            max_kib: Some(2_097_152),
            current_kib: Some(1_048_576),
            used_kib: Some(524_288),
            balloon: Some(BalloonRecord {
                actual_kib: Some(1_048_576),
                unused_kib: Some(262_144),
                available_kib: Some(1_000_000),
                usable_kib: Some(475_712),
                rss_kib: Some(900_000),
                last_update_unix_s: Some(1_795_461_650),
                last_update_age_s: Some(3),
                ..Default::default()
            }),
            bandwidth_monitors: None,
        },
        disks: vec![
            disk(
                "vda",
                "disk",
                Some("/var/lib/nova/instances/x/disk"),
                Some(10),
            ),
            disk(
                "hdd",
                "cdrom",
                Some("/var/lib/nova/instances/x/disk.config"),
                Some(1),
            ),
            disk("hdc", "cdrom", None, None),
        ],
        nics: vec![
            nic(Some("tap1"), "fa:16:3e:00:00:01", 10_000),
            nic(None, "fa:16:3e:00:00:02", 500),
        ],
        job: None,
        opt_in: Default::default(),
        collect: CollectInfo {
            sources: GroupSources::default(),
            interval_s: Some(10.0),
            duration_ms: 0.0,
            missing: vec![],
            control: None,
        },
    }
}

/// A disk's rates: read and write bytes per second, read and write operations per
/// second.
pub type DiskRates = (Option<f64>, Option<f64>, Option<f64>, Option<f64>);

/// Keeps the record's first disks, one per entry of `disks`, with those rates, and its
/// first NIC, with `rx` and `tx` bytes per second.
pub fn with_rates(mut record: DomainRecord, disks: &[DiskRates], rx: f64, tx: f64) -> DomainRecord {
    record.disks.truncate(disks.len());
    for (disk, &(read, write, read_ops, write_ops)) in record.disks.iter_mut().zip(disks) {
        disk.read_bytes_per_s = read;
        disk.write_bytes_per_s = write;
        disk.read_ops_per_s = read_ops;
        disk.write_ops_per_s = write_ops;
    }
    record.nics.truncate(1);
    record.nics[0].rx_bytes_per_s = Some(rx);
    record.nics[0].tx_bytes_per_s = Some(tx);
    record
}
