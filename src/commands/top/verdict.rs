//! What `virtdiag top` says beyond the figures: the host line under the header (guests
//! by state, vCPU and memory overcommit, host CPU, from the cycle line's `node`) and the
//! verdict that marks a row (crashed, paused on an I/O error, a stuck monitor, steal
//! above the alert's threshold, a job in progress with its %). Pure.

use super::model::bytes;
use crate::record::{
    ControlState, DomainRecord, DomainState, JobOperation, NodeRecord, StateReason,
};

/// The steal share above which a row is marked: `VcpuStealHigh`'s threshold
/// (contrib/prometheus/virtdiag-alerts.yml; tests/alerts.rs keeps the two equal).
pub const STEAL_ALERT_PCT: f64 = 10.0;

/// The word that replaces a marked row's state, or `None` for a row with nothing to
/// say. Problems are in capitals; a job is its operation and progress (`mig42%`).
pub fn verdict(record: &DomainRecord, steal_pct: Option<f64>) -> Option<String> {
    let (state, reason) = (record.domain.state, record.domain.reason);
    if state == DomainState::Crashed
        || (state == DomainState::Shutoff && reason == StateReason::Crashed)
    {
        return Some("CRASHED".into());
    }
    if reason == StateReason::Ioerror || record.disks.iter().any(|d| d.error.is_some()) {
        return Some("IOERROR".into());
    }
    let control = record.collect.control.as_ref().map(|c| c.state);
    if matches!(control, Some(ControlState::Occupied | ControlState::Error)) {
        return Some("STUCK".into());
    }
    if let Some(job) = &record.job {
        return Some(job_word(job.operation, job.progress_pct));
    }
    if steal_pct.is_some_and(|s| s > STEAL_ALERT_PCT) {
        return Some("STEAL".into());
    }
    None
}

/// A job as a row's verdict: its operation, short, and its progress (`mig42%`).
fn job_word(operation: JobOperation, progress_pct: Option<f64>) -> String {
    use JobOperation::*;
    let short = match operation {
        MigrationOut | MigrationIn => "mig",
        Dump => "dump",
        Save => "save",
        Restore => "rest",
        Backup => "bkup",
        Snapshot | SnapshotRevert | SnapshotDelete => "snap",
        Start | Unknown => "job",
    };
    match progress_pct {
        Some(pct) => format!("{short}{:.0}%", pct.clamp(0.0, 100.0).floor()),
        None => short.to_string(),
    }
}

/// The host line from a cycle line's `node`.
pub fn host_line(node: &NodeRecord) -> String {
    let d = &node.domains;
    let mut guests = format!(
        "{} running, {} paused, {} off, {} crashed",
        d.running, d.paused, d.shutoff, d.crashed
    );
    if d.other > 0 {
        guests.push_str(&format!(", {} other", d.other));
    }
    let ratio = |r: Option<f64>| r.map_or_else(String::new, |r| format!(" ({r:.1}x)"));
    let vcpus = format!(
        "vCPU {}/{}{}",
        node.vcpus_running,
        node.cpus.map_or_else(|| "-".into(), |c| c.to_string()),
        ratio(node.vcpu_overcommit)
    );
    let kib = |k: Option<u64>| k.map_or_else(|| "-".into(), |k| bytes(k as f64 * 1024.0));
    let memory = format!(
        "mem {}/{}{}",
        kib(Some(node.memory_max_kib_running)),
        kib(node.memory_kib),
        ratio(node.memory_overcommit)
    );
    // 100 = one host CPU in the record; here, the share of all of them.
    let cpu = match (node.cpu_utilisation_pct, node.cpus) {
        (Some(pct), Some(cpus)) if cpus > 0 => format!("host CPU {:.0}%", pct / cpus as f64),
        _ => "host CPU -".into(),
    };
    format!("{guests} | {vcpus} | {memory} | {cpu}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{ControlRecord, DiskError, DomainStates, JobRecord};
    use crate::views::fixture;

    fn record(state: &str, reason: &str) -> DomainRecord {
        let mut record = fixture::record("vm", "u");
        record.domain.state = DomainState::from_name(state).unwrap();
        record.domain.reason = StateReason::from_name(reason).unwrap();
        record
    }

    #[test]
    fn each_verdict_marks_the_row_and_a_quiet_domain_has_none() {
        assert_eq!(verdict(&record("running", "booted"), Some(2.0)), None);
        assert_eq!(verdict(&record("paused", "user"), None), None);
        assert_eq!(
            verdict(&record("crashed", "panicked"), None).as_deref(),
            Some("CRASHED")
        );
        assert_eq!(
            verdict(&record("shutoff", "crashed"), None).as_deref(),
            Some("CRASHED")
        );
        assert_eq!(
            verdict(&record("paused", "ioerror"), None).as_deref(),
            Some("IOERROR")
        );
        let mut error = record("running", "unpaused");
        error.disks[0].error = Some(DiskError::NoSpace);
        assert_eq!(verdict(&error, None).as_deref(), Some("IOERROR"));
        let control = |state| ControlRecord {
            state,
            since_ms: 40_000,
            reason: None,
        };
        let mut stuck = record("running", "booted");
        stuck.collect.control = Some(control(ControlState::Occupied));
        assert_eq!(verdict(&stuck, None).as_deref(), Some("STUCK"));
        let mut busy = record("running", "booted");
        busy.collect.control = Some(control(ControlState::Job));
        busy.job = Some(JobRecord {
            operation: JobOperation::MigrationOut,
            progress_pct: Some(42.7),
            ..JobRecord::default()
        });
        assert_eq!(verdict(&busy, None).as_deref(), Some("mig42%"));
        busy.job = Some(JobRecord {
            operation: JobOperation::Dump,
            ..JobRecord::default()
        });
        assert_eq!(verdict(&busy, None).as_deref(), Some("dump"));
        assert_eq!(
            verdict(&record("running", "booted"), Some(10.5)).as_deref(),
            Some("STEAL")
        );
        assert_eq!(verdict(&record("running", "booted"), Some(10.0)), None);
    }

    #[test]
    fn the_host_line_says_guests_overcommit_and_host_cpu() {
        let mut node = NodeRecord {
            cpus: Some(16),
            memory_kib: Some(16_777_216),
            memory_free_kib: None,
            cpu_utilisation_pct: Some(400.0),
            domains: DomainStates {
                running: 3,
                paused: 1,
                shutoff: 2,
                crashed: 0,
                other: 0,
            },
            vcpus_running: 24,
            vcpu_overcommit: Some(1.5),
            memory_max_kib_running: 4_194_304,
            memory_overcommit: Some(0.25),
        };
        assert_eq!(
            host_line(&node),
            "3 running, 1 paused, 2 off, 0 crashed | vCPU 24/16 (1.5x) | mem 4.0G/16G (0.2x) \
             | host CPU 25%"
        );
        node.domains.other = 2;
        node.cpus = None;
        node.vcpu_overcommit = None;
        assert_eq!(
            host_line(&node),
            "3 running, 1 paused, 2 off, 0 crashed, 2 other | vCPU 24/- | mem 4.0G/16G (0.2x) \
             | host CPU -"
        );
    }
}
