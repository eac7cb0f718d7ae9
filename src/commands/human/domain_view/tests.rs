//! The grouped view of a domain record, line by line.

use super::*;
use serde_json::json;

#[test]
fn groups_every_part_of_the_record() {
    let record = json!({"kind": "domain", "ts": "2026-11-30T01:30:12.284Z", "host": "vm",
        "seq": 2, "domain": {"name": "instance-0000002a", "uuid": "6c0c", "id": 1,
            "state": "running", "reason": "booted"},
        "nova": {"instance": "web-1", "flavor": "m1.small", "project_name": "webshop",
            "project_id": "1f2e", "user_name": null, "user_id": "8a4f"},
        "cpu": {"time_ns": 90_000_000_000u64, "utilisation_pct": 99.994,
            "vcpus": [{"id": 0, "state": "running", "utilisation_pct": 50.0,
                "steal_pct": null}]},
        "memory": {"max_kib": 2_097_152, "current_kib": 2_097_152, "used_kib": 1_048_576,
            "balloon": null},
        "disks": [{"dev": "vda", "bus": "virtio", "device": "disk", "path": "/d/disk",
            "read_bytes_per_s": 50_002.2, "read_ops_per_s": 99_999.7,
            "write_bytes_per_s": null, "write_ops_per_s": null, "errors": 0,
            "allocation_bytes": 1_073_741_824u64, "capacity_bytes": 2_147_483_648u64,
            "fill_pct": 50.0}],
        "nics": [{"dev": "tap\u{1b}1", "mac": "fa:16:3e:5a:00:01", "model": "virtio",
            "type": "bridge", "source": "br-int", "rx_bytes_per_s": 99_999.7,
            "rx_packets_per_s": 9_998.5, "tx_bytes_per_s": 1.0, "tx_packets_per_s": 0.1,
            "rx_errors": 0, "tx_errors": 0, "rx_drop": 2, "tx_drop": 0}],
        "collect": {"sources": {"state": "bulk", "cpu": "per-domain"}, "interval_s": 10.02,
            "duration_ms": 0.098, "missing": [{"field": "nics[eth1]",
            "reason": "not supported by the driver"}], "control": null}});
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
        "collection    took 0.1 ms, 10.02 s since the previous sample; cpu per-domain, \
         state bulk",
        "  missing     nics[eth1]: not supported by the driver",
    ];
    assert_eq!(text, expected.join("\n") + "\n");
}

#[test]
fn shows_the_verdicts_a_record_carries() {
    let record = json!({"kind": "domain", "ts": "t", "host": "vm", "seq": 9,
        "domain": {"name": "web", "uuid": "6c0c", "id": 3, "state": "paused",
            "reason": "ioerror", "transitions": 2, "crashes": 1},
        "nova": null,
        "cpu": {"time_ns": 1_000_000_000u64, "utilisation_pct": 12.5,
            "overhead_pct": 1.25, "vcpus": []},
        "memory": {"max_kib": 1024, "current_kib": 1024, "used_kib": null,
            "balloon": {"actual_kib": 1024, "rss_kib": 512, "guest_stats": "off"}},
        "disks": [{"dev": "vdb", "bus": "virtio", "device": "disk", "path": "/t/b.img",
            "errors": null, "error": "no_space"}],
        "nics": [],
        "job": {"operation": "dump", "elapsed_ms": 12_000, "remaining_ms": null,
            "data_total_bytes": 4_294_967_296u64, "data_processed_bytes": 1_073_741_824u64,
            "data_remaining_bytes": 3_221_225_472u64, "progress_pct": 25.0,
            "memory_bytes_per_s": null, "memory_dirty_rate_pages_per_s": null,
            "memory_iteration": null},
        "collect": {"sources": {}, "interval_s": 10.0, "duration_ms": 0.5,
            "missing": [], "control": null}});
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
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }
    assert!(
        !text.contains("  memory  "),
        "no migration figures for a dump\n{text}"
    );
}
