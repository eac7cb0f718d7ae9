//! Record assembly: rates against the previous record, resets, restarts, memory.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::*;
use crate::collect::inventory::{DiskInfo, NicInfo};
use crate::collect::stats::{RawBalloon, RawVcpu};
use crate::record::{GroupSources, Source};

fn inventory() -> Inventory {
    Inventory {
        vcpus_max: Some(1),
        vcpus_current: Some(1),
        max_memory_kib: Some(1024),
        disks: vec![DiskInfo {
            dev: Some("vda".into()),
            path: Some("/img".into()),
            ..Default::default()
        }],
        nics: vec![NicInfo {
            dev: Some("tap0".into()),
            mac: Some("52:54:00:00:00:01".into()),
            ..Default::default()
        }],
        nova: None,
        ..Default::default()
    }
}

fn raw(cpu_ns: u64, disk_bytes: u64, nic_bytes: u64) -> RawStats {
    RawStats {
        state: Some(1),
        reason: Some(1),
        cpu_time_ns: Some(cpu_ns),
        vcpus: vec![RawVcpu {
            id: 0,
            state: Some(1),
            time_ns: Some(cpu_ns),
            ..Default::default()
        }],
        disks: vec![RawDisk {
            name: Some("vda".into()),
            rd_bytes: Some(disk_bytes),
            rd_reqs: Some(disk_bytes / 512),
            ..Default::default()
        }],
        nics: vec![RawNic {
            name: Some("tap0".into()),
            rx_bytes: Some(nic_bytes),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The instant every test record's `ts` stands for.
fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// A record of `raw`; values without a read time were read 10 ms after `ts`.
fn record(raw: &RawStats, id: Option<u32>, previous: Option<Previous<'_>>) -> DomainRecord {
    let mut raw = raw.clone();
    if raw.cpu_read_at.is_none() {
        raw.stamp_bulk(base() + Duration::from_millis(10));
    }
    let raw = &raw;
    let ts: Arc<str> = Arc::from("2026-11-23T00:00:00.000Z");
    let host: Arc<str> = Arc::from("h");
    let inventory = inventory();
    let sample = Sample {
        ts: &ts,
        base: base(),
        ts_unix_s: 1_000,
        host: &host,
        seq: 1,
        name: "d".into(),
        uuid: "u".into(),
        id,
        active: id.is_some(),
        inventory: &inventory,
        collect: CollectInfo {
            sources: GroupSources::default(),
            interval_s: None,
            duration_ms: 0.0,
            missing: Vec::new(),
            control: None,
        },
    };
    build_record(sample, raw, previous)
}

#[test]
fn first_sample_has_null_rates() {
    let r = record(&raw(1_000, 4096, 100), Some(1), None);
    assert_eq!(r.cpu.as_ref().unwrap().utilisation_pct, None);
    assert_eq!(r.disks[0].read_bytes_per_s, None);
    assert_eq!(r.nics[0].rx_bytes_per_s, None);
    assert_eq!(r.collect.interval_s, None);
    assert_eq!(r.collect.sources.cpu, Source::None);
}

#[test]
fn rates_over_the_measured_interval() {
    let first = record(&raw(0, 0, 0), Some(1), None);
    let previous = Previous {
        record: &first,
        since: Duration::from_secs(2),
    };
    let second = record(&raw(1_000_000_000, 8192, 3000), Some(1), Some(previous));
    let cpu = second.cpu.as_ref().unwrap();
    assert_eq!(cpu.utilisation_pct, Some(50.0));
    assert_eq!(cpu.vcpus[0].utilisation_pct, Some(50.0));
    assert_eq!(second.disks[0].read_bytes_per_s, Some(4096.0));
    assert_eq!(second.disks[0].read_ops_per_s, Some(8.0));
    assert_eq!(second.nics[0].rx_bytes_per_s, Some(1500.0));
    assert_eq!(second.collect.interval_s, Some(2.0));
}

#[test]
fn a_counter_reset_gives_no_rate_for_that_counter_only() {
    let first = record(&raw(5_000, 8192, 100), Some(1), None);
    let previous = Previous {
        record: &first,
        since: Duration::from_secs(1),
    };
    let second = record(&raw(6_000, 0, 200), Some(1), Some(previous));
    assert_eq!(second.disks[0].read_bytes_per_s, None);
    assert_eq!(second.nics[0].rx_bytes_per_s, Some(100.0));
    assert!(second.cpu.as_ref().unwrap().utilisation_pct.is_some());
}

#[test]
fn a_restart_with_a_new_id_gives_no_rates() {
    let first = record(&raw(0, 0, 0), Some(1), None);
    let previous = Previous {
        record: &first,
        since: Duration::from_secs(1),
    };
    let second = record(&raw(10, 10, 10), Some(2), Some(previous));
    assert_eq!(second.cpu.as_ref().unwrap().utilisation_pct, None);
    assert_eq!(second.disks[0].read_bytes_per_s, None);
    assert_eq!(second.collect.interval_s, None);
}

#[test]
fn each_rate_runs_between_the_two_reads_of_its_value() {
    let mut first_raw = raw(0, 0, 0);
    // Read per domain, 400 ms after the first cycle's ts (behind other domains' XML).
    first_raw.stamp_bulk(base() + Duration::from_millis(400));
    let first = record(&first_raw, Some(1), None);
    assert_eq!(first.cpu.as_ref().unwrap().read_ms, Some(400.0));
    assert_eq!(first.disks[0].read_ms, Some(400.0));
    let mut second_raw = raw(900_000_000, 4096, 0);
    second_raw.stamp_bulk(base() + Duration::from_millis(400));
    // This time the CPU was read 100 ms after ts, the disk 200 ms after it.
    second_raw.cpu_read_at = Some(base() + Duration::from_millis(100));
    second_raw.disks[0].read_at = Some(base() + Duration::from_millis(200));
    let previous = Previous {
        record: &first,
        since: Duration::from_secs(2),
    };
    let second = record(&second_raw, Some(1), Some(previous));
    // 0.9 s of CPU over 2 s - 300 ms.
    let cpu = second.cpu.as_ref().unwrap();
    assert_eq!(cpu.utilisation_pct, Some(52.941));
    assert_eq!(second.collect.interval_s, Some(1.7));
    // 4096 bytes over 2 s - 200 ms.
    assert_eq!(second.disks[0].read_bytes_per_s, Some(2275.556));
    // A previous sample without read times (a spool from an older agent) gives no rate.
    let mut old = first.clone();
    old.cpu.as_mut().unwrap().read_ms = None;
    old.disks[0].read_ms = None;
    let previous = Previous {
        record: &old,
        since: Duration::from_secs(2),
    };
    let third = record(&second_raw, Some(1), Some(previous));
    assert_eq!(third.cpu.as_ref().unwrap().utilisation_pct, None);
    assert_eq!(third.disks[0].read_bytes_per_s, None);
    assert_eq!(third.collect.interval_s, Some(2.0));
}

#[test]
fn no_rate_above_its_physical_bound() {
    // A baseline from a fresh host (every counter 0) against a test-driver domain whose
    // CPU time is the wall clock: 4.95e11 % without the bound.
    let zero = record(&raw(0, 0, 0), Some(1), None);
    let since = Duration::from_secs(3);
    let now_ns = 1_795_000_000_000_000_000;
    let r = record(
        &raw(now_ns, 1 << 60, 1 << 60),
        Some(1),
        Some(Previous {
            record: &zero,
            since,
        }),
    );
    let cpu = r.cpu.as_ref().unwrap();
    assert_eq!(cpu.utilisation_pct, None);
    assert_eq!(cpu.vcpus[0].utilisation_pct, None);
    assert_eq!(r.disks[0].read_bytes_per_s, None, "2^60 bytes in 3 s");
    assert_eq!(r.disks[0].read_ops_per_s, None);
    assert_eq!(r.nics[0].rx_bytes_per_s, None);
    // One vCPU: 104 % is jitter and reads 100 %, 106 % is no reading.
    let at = |pct: u64| {
        let r = record(
            &raw(pct * 10_000_000, 0, 0),
            Some(1),
            Some(Previous {
                record: &zero,
                since: Duration::from_secs(1),
            }),
        );
        r.cpu.unwrap().utilisation_pct
    };
    assert_eq!(at(99), Some(99.0));
    assert_eq!(at(104), Some(100.0));
    assert_eq!(at(106), None);
}

#[test]
fn inactive_domain_keeps_inventory_with_null_stats() {
    let r = record(
        &RawStats {
            state: Some(5),
            ..Default::default()
        },
        None,
        None,
    );
    assert_eq!(r.domain.state, "shutoff");
    assert!(r.cpu.is_none());
    assert_eq!(r.memory.max_kib, Some(1024));
    assert_eq!(r.memory.balloon, None);
    assert_eq!(r.disks[0].dev.as_deref(), Some("vda"));
    assert_eq!(r.disks[0].read_bytes, None);
}

#[test]
fn guest_used_memory_is_available_minus_usable_and_ages_the_balloon() {
    let mut stats = raw(0, 0, 0);
    stats.balloon = RawBalloon {
        actual: Some(1024),
        available: Some(1000),
        usable: Some(600),
        last_update: Some(990),
        ..Default::default()
    };
    let r = record(&stats, Some(1), None);
    assert_eq!(r.memory.used_kib, Some(400));
    assert_eq!(r.memory.current_kib, Some(1024));
    let balloon = r.memory.balloon.as_ref().unwrap();
    assert_eq!(balloon.last_update_age_s, Some(10));

    stats.balloon.usable = None;
    assert_eq!(
        record(&stats, Some(1), None).memory.used_kib,
        None,
        "null without both"
    );
}

#[test]
fn no_balloon_stats_means_null_balloon() {
    let r = record(&raw(0, 0, 0), Some(1), None);
    assert_eq!(r.memory.balloon, None);
    assert_eq!(r.memory.used_kib, None);
}

#[test]
fn devices_libvirt_reports_beyond_the_xml_are_appended() {
    let mut stats = raw(0, 0, 0);
    stats.disks.push(RawDisk {
        name: Some("vdz".into()),
        rd_bytes: Some(1),
        ..Default::default()
    });
    let r = record(&stats, Some(1), None);
    let devs: Vec<_> = r.disks.iter().map(|d| d.dev.as_deref()).collect();
    assert_eq!(devs, [Some("vda"), Some("vdz")]);
}

/// Regression: QEMU reports `block.N.backingIndex` for top-level disks too (vda=2 on a
/// real host); those disks must keep their counters.
#[test]
fn bulk_disks_with_a_backing_index_keep_their_counters() {
    use crate::libvirt::bulk::ParamValue;
    let mut stats = RawStats::default();
    for (name, value) in [
        ("block.count", ParamValue::UInt(1)),
        ("block.0.name", ParamValue::String(c"vda")),
        ("block.0.backingIndex", ParamValue::UInt(2)),
        ("block.0.rd.bytes", ParamValue::ULLong(4096)),
        ("block.0.wr.reqs", ParamValue::ULLong(3)),
    ] {
        stats.apply_param(name, value);
    }
    stats.state = Some(1);
    let r = record(&stats, Some(1), None);
    assert_eq!(r.disks.len(), 1);
    assert_eq!(r.disks[0].read_bytes, Some(4096));
    assert_eq!(r.disks[0].write_requests, Some(3));
}
