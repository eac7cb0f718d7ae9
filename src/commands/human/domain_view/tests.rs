//! The grouped view of a domain record, line by line.

use std::sync::Arc;

use super::*;
use crate::record::{
    BalloonRecord, ControlReason, ControlRecord, ControlState, DomainState, JobOperation, Missing,
    StateReason,
};
use crate::views::fixture;

/// The fixture's record as sampled on `vm`, named `name`.
fn record(name: &str, id: u32, ts: &str, seq: u64) -> DomainRecord {
    let mut record = fixture::record(name, "6c0c");
    record.domain.id = Some(id);
    record.ts = ts.into();
    record.host = "vm".into();
    record.seq = seq;
    record
}

#[test]
fn groups_every_part_of_the_record() {
    let mut record = record("instance-0000002a", 1, "2026-11-30T01:30:12.284Z", 2);
    record.nova = Some(Arc::new(NovaInfo {
        instance: Some("web-1".into()),
        flavor: Some("m1.small".into()),
        project_name: Some("webshop".into()),
        project_id: Some("1f2e".into()),
        user_name: None,
        user_id: Some("8a4f".into()),
    }));
    let cpu = record.cpu.as_mut().unwrap();
    cpu.time_ns = Some(90_000_000_000);
    cpu.utilisation_pct = Some(99.994);
    cpu.vcpus.truncate(1);
    cpu.vcpus[0].utilisation_pct = Some(50.0);
    cpu.vcpus[0].steal_pct = None;
    record.memory.max_kib = Some(2_097_152);
    record.memory.current_kib = Some(2_097_152);
    record.memory.used_kib = Some(1_048_576);
    record.memory.balloon = None;
    record.disks.truncate(1);
    let disk = &mut record.disks[0];
    disk.path = Some("/d/disk".into());
    (disk.read_bytes_per_s, disk.read_ops_per_s) = (Some(50_002.2), Some(99_999.7));
    (disk.write_bytes_per_s, disk.write_ops_per_s) = (None, None);
    disk.errors = Some(0);
    disk.allocation_bytes = Some(1_073_741_824);
    disk.capacity_bytes = Some(2_147_483_648);
    disk.fill_pct = Some(50.0);
    record.nics.truncate(1);
    let nic = &mut record.nics[0];
    nic.dev = Some("tap\u{1b}1".into());
    nic.mac = Some("fa:16:3e:5a:00:01".into());
    nic.source = Some("br-int".into());
    (nic.rx_bytes_per_s, nic.rx_packets_per_s) = (Some(99_999.7), Some(9_998.5));
    (nic.tx_bytes_per_s, nic.tx_packets_per_s) = (Some(1.0), Some(0.1));
    (nic.rx_drop, nic.tx_drop) = (Some(2), Some(0));
    record.collect.sources.state = Source::Bulk;
    record.collect.sources.cpu = Source::PerDomain;
    record.collect.sources.kvm = Some(Source::Unsupported);
    record.collect.interval_s = Some(10.02);
    record.collect.duration_ms = 0.098;
    record.collect.missing = vec![Missing {
        field: "nics[eth1]".into(),
        reason: "not supported by the driver".into(),
    }];
    let text = render(&record);
    let expected = [
        "domain        instance-0000002a (running, reason booted), id 1",
        "uuid          6c0c",
        "sampled       2026-11-30T01:30:12.284Z on vm, cycle 2",
        "nova          web-1, flavor m1.small, project webshop (1f2e), user 8a4f",
        "cpu           1 vCPUs, 100.0 % (100 % is one host CPU), 1 min 30 s used in all",
        "  vcpu 0      running, 50.0 %, steal - %",
        "memory        1.0 GiB used of 2.0 GiB max (50.0 %), 2.0 GiB current",
        "disk vda      virtio disk /d/disk: read 0.05 MB/s 100000 ops/s, write - MB/s - \
         ops/s; 1.0 GiB allocated of 2.0 GiB (50.0 % full); 0 errors",
        "nic tap\\x1b1  fa:16:3e:5a:00:01 virtio bridge on br-int: rx 0.10 MB/s 9998 \
         packets/s, tx 0.00 MB/s 0 packets/s; errors rx 0 tx 0, drops rx 2 tx 0",
        "collection    took 0.1 ms, 10.02 s since the previous sample; balloon none, cpu \
         per-domain, disks none, kvm unsupported, nics none, state bulk, vcpus none",
        "  missing     nics[eth1]: not supported by the driver",
    ];
    assert_eq!(text, expected.join("\n") + "\n");
}

#[test]
fn shows_the_verdicts_a_record_carries() {
    let mut record = record("web", 3, "t", 9);
    record.domain.state = DomainState::Paused;
    record.domain.reason = StateReason::Ioerror;
    record.domain.transitions = Some(Some(2));
    record.domain.crashes = Some(Some(1));
    record.nova = None;
    let cpu = record.cpu.as_mut().unwrap();
    cpu.time_ns = Some(1_000_000_000);
    cpu.utilisation_pct = Some(12.5);
    cpu.overhead_pct = Some(1.25);
    cpu.vcpus.clear();
    record.memory.used_kib = None;
    record.memory.balloon = Some(BalloonRecord {
        actual_kib: Some(1024),
        rss_kib: Some(512),
        guest_stats: Some(GuestStats::Off),
        ..BalloonRecord::default()
    });
    record.disks.truncate(1);
    record.disks[0].dev = Some("vdb".into());
    record.disks[0].error = Some(DiskError::NoSpace);
    record.nics.clear();
    record.job = Some(JobRecord {
        operation: JobOperation::Dump,
        elapsed_ms: Some(12_000),
        data_total_bytes: Some(4_294_967_296),
        data_processed_bytes: Some(1_073_741_824),
        data_remaining_bytes: Some(3_221_225_472),
        progress_pct: Some(25.0),
        ..JobRecord::default()
    });
    record.collect.control = Some(ControlRecord {
        state: ControlState::Error,
        since_ms: 90_000,
        reason: Some(ControlReason::Monitor),
    });
    let text = render(&record);
    for expected in [
        "domain         web (paused, reason ioerror), id 3\n",
        "lifecycle      2 state changes since the previous cycle, 1 crashes since the \
         agent started\n",
        "job            dump: 25.0 % done, 1.0 GiB of 4.0 GiB (3.0 GiB left); 12.0 s \
         elapsed, - to go\n",
        "cpu            0 vCPUs, 12.5 % (100 % is one host CPU), 1.0 s used in all, 1.2 % \
         outside the vCPUs\n",
        "  guest stats  off: no statistics period set (virsh dommemstat --period)\n",
        "  error        no_space: no space left where the image lives (virsh domblkerror)\n",
        "  monitor      error for 1 min 30 s (monitor)\n",
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }
    assert!(
        !text.contains("  memory  "),
        "no migration figures for a dump\n{text}"
    );
}
