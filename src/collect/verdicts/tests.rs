//! The verdicts' pure parts: event tallies, job records, overhead and balloon freshness.

use super::*;
use crate::collect::events::decode::lifecycle;
use crate::record::{BalloonRecord, CpuStats, VcpuRecord};

/// A lifecycle event by libvirt's numbers (`virDomainEventType`, its detail).
fn life(kind: i32, detail: i32) -> DomainEvent {
    DomainEvent::Lifecycle(lifecycle(kind, detail))
}

#[test]
fn the_tally_counts_transitions_crashes_and_flags_io_errors_and_jobs() {
    let mut tally = EventTally::default();
    tally.add(&life(3, 2)); // suspended, ioerror
    tally.add(&life(4, 0)); // resumed, unpaused
    assert_eq!(
        tally,
        EventTally {
            lifecycle: 2,
            ..Default::default()
        }
    );
    tally.add(&DomainEvent::IoError {
        device: Default::default(),
        path: None,
        action: Known::Number(0),
        reason: None,
    });
    tally.add(&life(8, 0)); // crashed, panicked
    assert!(tally.io_error && !tally.job);
    assert_eq!((tally.lifecycle, tally.crashed), (3, 1));
    tally.add(&DomainEvent::Reboot);
    assert_eq!(tally.lifecycle, 3, "a reboot is not a lifecycle event");

    for event in [
        DomainEvent::MigrationIteration { iteration: 1 },
        DomainEvent::JobCompleted {
            stats: Default::default(),
        },
        life(3, 1), // suspended, migrated
        life(5, 4), // stopped, saved
    ] {
        let mut tally = EventTally::default();
        tally.add(&event);
        assert!(tally.job, "{event:?}");
    }
}

#[test]
fn a_job_comes_with_exactly_the_details_that_name_one() {
    // Every type and detail libvirt numbers, and some it does not yet.
    for kind in -1..10 {
        for detail in -1..11 {
            let event = lifecycle(kind, detail);
            let named = event.detail().ok();
            let by_word = named.is_some_and(|d| {
                [
                    "migrated",
                    "saved",
                    "restored",
                    "from_snapshot",
                    "postcopy",
                    "postcopy_failed",
                ]
                .contains(&d)
            });
            assert_eq!(comes_with_job(&event), by_word, "{event:?}");
        }
    }
}

fn job(kind: i32, fields: &[(&str, u64)]) -> RawJob {
    RawJob {
        kind,
        fields: fields.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
    }
}

#[test]
fn a_job_becomes_a_record_with_progress_and_none_is_null() {
    let record = job_record(&job(
        1,
        &[
            ("operation", 5),
            ("time_elapsed", 1500),
            ("time_remaining", 500),
            ("data_total", 4000),
            ("data_processed", 1000),
            ("data_remaining", 3000),
            ("memory_bps", 7),
            ("memory_dirty_rate", 9),
            ("memory_iteration", 2),
        ],
    ))
    .unwrap();
    assert_eq!(record.operation, "migration_out");
    assert_eq!(record.progress_pct, Some(25.0));
    assert_eq!(record.elapsed_ms, Some(1500));
    assert_eq!(record.remaining_ms, Some(500));
    assert_eq!(record.data_remaining_bytes, Some(3000));
    assert_eq!(record.memory_bytes_per_s, Some(7));
    assert_eq!(record.memory_dirty_rate_pages_per_s, Some(9));
    assert_eq!(record.memory_iteration, Some(2));

    let dump = job_record(&job(2, &[("operation", 8), ("data_total", 0)])).unwrap();
    assert_eq!(
        (dump.operation, dump.progress_pct),
        (JobOperation::Dump, None)
    );
    // A memory-only dump reports memory_* only (libvirt 9.0, measured on the bed): data
    // is memory plus disks.
    let dump = job_record(&job(
        2,
        &[
            ("operation", 8),
            ("time_elapsed", 2935),
            ("memory_total", 134_479_872),
            ("memory_processed", 5_238_784),
            ("memory_remaining", 129_241_088),
        ],
    ))
    .unwrap();
    assert_eq!(dump.data_total_bytes, Some(134_479_872));
    assert_eq!(dump.data_processed_bytes, Some(5_238_784));
    assert_eq!(dump.data_remaining_bytes, Some(129_241_088));
    assert_eq!(dump.progress_pct, Some(3.896));
    assert_eq!(
        job_record(&job(2, &[("operation", 99)])).unwrap().operation,
        "unknown"
    );
    assert_eq!(job_record(&job(0, &[("operation", 5)])), None);
    assert_eq!(job_record(&job(3, &[])), None, "a completed job is no job");
}

fn cpu(time_ns: u64, vcpus: &[u64]) -> CpuStats {
    CpuStats {
        time_ns: Some(time_ns),
        vcpus: vcpus
            .iter()
            .enumerate()
            .map(|(i, t)| VcpuRecord {
                id: i as u32,
                time_ns: Some(*t),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

#[test]
fn overhead_is_cpu_time_outside_the_vcpus_per_interval() {
    let before = cpu(10_000_000_000, &[4_000_000_000, 4_000_000_000]);
    // 2 s of CPU in 2 s, of which 1.5 s in vCPUs: 0.5 s outside = 25 % of one CPU.
    let now = cpu(12_000_000_000, &[4_750_000_000, 4_750_000_000]);
    assert_eq!(overhead_pct(&now, Some(&before), Some(2.0)), Some(25.0));
    assert_eq!(overhead_pct(&now, None, Some(2.0)), None);
    assert_eq!(overhead_pct(&now, Some(&before), None), None);
    // vCPUs ahead of the total (read microseconds apart): 0, never negative.
    let skewed = cpu(10_100_000_000, &[4_100_000_000, 4_100_000_000]);
    assert_eq!(overhead_pct(&skewed, Some(&before), Some(1.0)), Some(0.0));
    // A vCPU hot-plugged: no like-for-like sum.
    let more = cpu(12_000_000_000, &[4_750_000_000, 4_750_000_000, 1]);
    assert_eq!(overhead_pct(&more, Some(&before), Some(2.0)), None);
    // A counter that went back (a reset): null.
    let reset = cpu(1, &[0, 0]);
    assert_eq!(overhead_pct(&reset, Some(&before), Some(2.0)), None);
}

#[test]
fn guest_stats_are_off_without_guest_fields_and_stale_past_three_periods() {
    let host_only = BalloonRecord {
        actual_kib: Some(1),
        rss_kib: Some(2),
        ..Default::default()
    };
    assert_eq!(guest_stats(&host_only, None, Some(10.0)), "off");
    let guest = |age: i64| BalloonRecord {
        unused_kib: Some(1),
        available_kib: Some(2),
        last_update_unix_s: Some(1_000),
        last_update_age_s: Some(age),
        ..host_only.clone()
    };
    assert_eq!(guest_stats(&guest(14), Some(5), Some(10.0)), "ok");
    assert_eq!(guest_stats(&guest(16), Some(5), Some(10.0)), "stale");
    assert_eq!(guest_stats(&guest(16), Some(0), Some(10.0)), "off");
    // Period unknown: the interval is the limit.
    assert_eq!(guest_stats(&guest(9), None, Some(10.0)), "ok");
    assert_eq!(guest_stats(&guest(11), None, Some(10.0)), "stale");
    assert_eq!(guest_stats(&guest(11), None, None), "ok", "first sample");
}

#[test]
fn disk_error_codes_have_names() {
    assert_eq!(DiskError::from_libvirt(0), None);
    assert_eq!(DiskError::from_libvirt(1), Some(DiskError::Unspecified));
    assert_eq!(DiskError::from_libvirt(2), Some(DiskError::NoSpace));
    assert_eq!(DiskError::from_libvirt(7), None);
}

#[test]
fn the_calls_are_asked_only_when_a_verdict_needs_them() {
    use crate::record::ControlRecord;
    let mut record = crate::views::fixture::record("vm", "u");
    let quiet = EventTally::default();
    assert_eq!(
        wanted(&record, quiet, false),
        (false, false),
        "a steady cycle"
    );
    let io = EventTally {
        io_error: true,
        ..quiet
    };
    assert_eq!(wanted(&record, io, false), (true, false));
    let job_event = EventTally { job: true, ..quiet };
    assert_eq!(wanted(&record, job_event, false), (false, true));
    assert_eq!(
        wanted(&record, quiet, true),
        (false, true),
        "a job last cycle"
    );

    record.domain.state = DomainState::Paused;
    record.domain.reason = StateReason::Ioerror;
    assert_eq!(wanted(&record, quiet, false), (true, false));
    record.domain.reason = StateReason::Dump;
    assert_eq!(wanted(&record, quiet, false), (false, true));
    record.domain.reason = StateReason::User;
    assert_eq!(wanted(&record, quiet, false), (false, false));

    record.domain.state = DomainState::Running;
    let control = |state| {
        Some(ControlRecord {
            state,
            since_ms: 1000,
            reason: None,
        })
    };
    record.collect.control = control(ControlState::Job);
    assert_eq!(
        wanted(&record, quiet, false),
        (false, true),
        "skipped as busy"
    );
    // A stopped or hung QEMU: no call can answer, whatever else says a job.
    for state in [ControlState::Occupied, ControlState::Error] {
        record.collect.control = control(state);
        assert_eq!(wanted(&record, job_event, true), (false, false), "{state}");
    }
    record.collect.control = None;
    record.domain.id = None;
    assert_eq!(wanted(&record, job_event, true), (false, false), "inactive");
}
