//! Verdicts on one domain record: I/O-error pauses (which disk, why), jobs in progress,
//! lifecycle flapping and panics, balloon statistics that are off or stale, and the CPU
//! QEMU spends outside the vCPUs.
//!
//! Nothing here costs a libvirt call in a steady cycle. `virDomainGetDiskErrors` is
//! asked only for a domain paused with reason `ioerror` or with an `io_error` event
//! since the previous cycle; `virDomainGetJobStats` only for a domain the NOWAIT bulk
//! call skipped as busy with a job (`collect.control` `job`), with a job or migration
//! event since the previous cycle, paused by a job (reason `dump`, `save`, `migration`,
//! ...), or with a job in its previous record; never for a monitor that is occupied or
//! in error (no call can answer; asking would leave one more behind). Both run under
//! the collector's time bound, like every other per-domain call; one left behind marks
//! the domain stuck. The rest is worked out from the record, the previous one, the
//! inventory and the events' tally ([`EventTally`]).

use std::collections::HashMap;
use std::time::Instant;

use super::bounded::Bounded;
use super::build::missing;
use super::inventory::Inventory;
use crate::libvirt::domain_checks::{self, RawJob};
use crate::libvirt::{ErrorClass, LibvirtError};
use crate::rates::round3;
use crate::record::event::{
    DefinedDetail as De, DomainEvent, Known, Lifecycle, ResumedDetail as Re, StartedDetail as St,
    StoppedDetail as Sp, SuspendedDetail as Su,
};
use crate::record::{
    ControlState, DiskError, DomainRecord, DomainState, GuestStats, JobOperation, JobRecord,
    StateReason,
};

/// What the events said about one domain since the previous cycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventTally {
    /// Lifecycle events (each one a state change).
    pub lifecycle: u32,
    /// Lifecycle events of type `crashed` (a guest panic).
    pub crashed: u32,
    /// An `io_error` event: the disk errors are worth asking.
    pub io_error: bool,
    /// A job or migration event: the job is worth asking.
    pub job: bool,
}

/// Whether a lifecycle event's detail says a job came with it (migration, save,
/// restore, snapshot, post-copy).
fn comes_with_job(lifecycle: &Lifecycle) -> bool {
    use Known::Named as N;
    use Lifecycle as L;
    matches!(
        lifecycle,
        L::Defined(N(De::FromSnapshot))
            | L::Started(N(St::Migrated | St::Restored | St::FromSnapshot))
            | L::Suspended(N(Su::Migrated
                | Su::Restored
                | Su::FromSnapshot
                | Su::Postcopy
                | Su::PostcopyFailed))
            | L::Resumed(N(Re::Migrated
                | Re::FromSnapshot
                | Re::Postcopy
                | Re::PostcopyFailed))
            | L::Stopped(N(Sp::Migrated | Sp::Saved | Sp::FromSnapshot))
    )
}

impl EventTally {
    /// Counts one event.
    pub fn add(&mut self, event: &DomainEvent) {
        match event {
            DomainEvent::Lifecycle(lifecycle) => {
                self.lifecycle = self.lifecycle.saturating_add(1);
                if matches!(lifecycle, Lifecycle::Crashed(_)) {
                    self.crashed = self.crashed.saturating_add(1);
                }
                if comes_with_job(lifecycle) {
                    self.job = true;
                }
            }
            DomainEvent::IoError { .. } => self.io_error = true,
            DomainEvent::JobCompleted { .. } | DomainEvent::MigrationIteration { .. } => {
                self.job = true;
            }
            _ => {}
        }
    }
}

/// Pause reasons that mean a job holds the guest (libvirt pauses it for a non-live dump,
/// a save, a snapshot or a migration's last phase): seen in the state, at no cost.
const JOB_PAUSE_REASONS: &[StateReason] = &[
    StateReason::Migration,
    StateReason::Save,
    StateReason::Dump,
    StateReason::Snapshot,
    StateReason::Postcopy,
];

/// What is remembered about a domain's verdicts between cycles.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// Crashed events counted since the agent started.
    pub crashes: u64,
}

/// This cycle's inputs for one domain, besides its record.
pub struct Inputs<'a> {
    pub domain: &'a virt::domain::Domain,
    pub inventory: &'a Inventory,
    /// The events since the previous cycle; None when the agent gets no events.
    pub tallies: Option<&'a HashMap<String, EventTally>>,
    /// Whether the domain's previous record had a job.
    pub had_job: bool,
    /// The domain's previous record, when its rates came from it.
    pub previous: Option<&'a DomainRecord>,
    /// Its per-domain calls are stuck: ask nothing more.
    pub stuck: bool,
}

/// What the verdict calls cost.
#[derive(Debug, Default, Clone, Copy)]
pub struct Spent {
    /// Time inside libvirt.
    pub libvirt: std::time::Duration,
    /// The calls overran the time bound and were left behind: the domain is stuck.
    pub timed_out: bool,
}

/// Completes `record` with its verdicts; returns what the calls cost. Fails only when
/// the connection broke.
pub fn complete(
    record: &mut DomainRecord,
    inputs: Inputs<'_>,
    memory: &mut Memory,
    bounded: &mut Bounded,
) -> Result<Spent, LibvirtError> {
    let tally = inputs
        .tallies
        .map(|t| t.get(&*record.domain.uuid).copied().unwrap_or_default());
    record.domain.transitions = Some(tally.map(|t| t.lifecycle));
    if let Some(t) = tally {
        memory.crashes = memory.crashes.saturating_add(u64::from(t.crashed));
    }
    record.domain.crashes = Some(tally.map(|_| memory.crashes));
    if let Some(cpu) = record.cpu.as_mut() {
        let previous = inputs.previous.and_then(|p| p.cpu.as_ref());
        cpu.overhead_pct = overhead_pct(cpu, previous, record.collect.interval_s);
    }
    if let Some(balloon) = record.memory.balloon.as_mut() {
        balloon.guest_stats = Some(guest_stats(
            balloon,
            inputs.inventory.balloon_period_s,
            record.collect.interval_s,
        ));
    }

    let (want_errors, want_job) = wanted(record, tally.unwrap_or_default(), inputs.had_job);
    if inputs.stuck || !(want_errors || want_job) {
        return Ok(Spent::default());
    }
    let started = Instant::now();
    let domain = inputs.domain.clone();
    let outcome = bounded.run("the verdict calls", move || {
        let errors = want_errors.then(|| domain_checks::disk_errors(&domain));
        let job = want_job.then(|| domain_checks::job_stats(&domain));
        (errors, job)
    });
    let mut spent = Spent {
        libvirt: started.elapsed(),
        timed_out: false,
    };
    let (errors, job) = match outcome {
        Ok(results) => results,
        Err(timeout) => {
            let field = if want_job { "job" } else { "disks[].error" };
            record.collect.missing.push(missing(field, timeout.message));
            spent.timed_out = true;
            return Ok(spent);
        }
    };
    match errors {
        Some(Ok(errors)) => apply_disk_errors(record, &errors),
        Some(Err(e)) => note_failure(record, "disks[].error", e)?,
        None => {}
    }
    match job {
        Some(Ok(job)) => record.job = job_record(&job),
        Some(Err(e)) => note_failure(record, "job", e)?,
        None => {}
    }
    Ok(spent)
}

fn note_failure(
    record: &mut DomainRecord,
    field: &str,
    error: LibvirtError,
) -> Result<(), LibvirtError> {
    if error.class() == ErrorClass::Connection {
        return Err(error);
    }
    record
        .collect
        .missing
        .push(missing(field, error.to_string()));
    Ok(())
}

/// Which of the two calls this record calls for: (disk errors, job). Pure: the rules of
/// the module's doc.
pub fn wanted(record: &DomainRecord, tally: EventTally, had_job: bool) -> (bool, bool) {
    let domain = &record.domain;
    let paused = domain.state == DomainState::Paused;
    let errors = (paused && domain.reason == StateReason::Ioerror) || tally.io_error;
    let paused_by_job = paused && JOB_PAUSE_REASONS.contains(&domain.reason);
    // A monitor that is occupied or in error answers no call: asking would only leave
    // one more call behind. Busy with a job (`job`), it is the job that is wanted.
    let control = record.collect.control.as_ref().map(|c| c.state);
    let monitor_stuck = matches!(control, Some(ControlState::Occupied | ControlState::Error));
    let job = domain.id.is_some()
        && !monitor_stuck
        && (control == Some(ControlState::Job) || tally.job || had_job || paused_by_job);
    (errors, job)
}

fn apply_disk_errors(record: &mut DomainRecord, errors: &[(String, i32)]) {
    for (dev, code) in errors {
        if let Some(disk) = record
            .disks
            .iter_mut()
            .find(|d| d.dev.as_deref() == Some(dev.as_str()))
        {
            disk.error = DiskError::from_libvirt(*code);
        }
    }
}

/// `virDomainJobOperation` names, by number.
pub const JOB_OPERATIONS: [&str; 11] = {
    let mut names = [""; 11];
    let mut i = 0;
    while i < names.len() {
        names[i] = JobOperation::ALL[i].as_str();
        i += 1;
    }
    names
};

/// The job as the record says it; None when there is none (type 0) or it has ended.
pub fn job_record(job: &RawJob) -> Option<JobRecord> {
    if !(1..=2).contains(&job.kind) {
        return None;
    }
    let operation = job
        .get("operation")
        .map_or(JobOperation::Unknown, JobOperation::from_libvirt);
    // libvirt's data is memory plus disks; a dump or a save reports only the memory.
    let data = |kind: &str| {
        job.get(&format!("data_{kind}")).or_else(|| {
            let memory = job.get(&format!("memory_{kind}"));
            let disk = job.get(&format!("disk_{kind}"));
            match (memory, disk) {
                (None, None) => None,
                (m, d) => Some(m.unwrap_or(0).saturating_add(d.unwrap_or(0))),
            }
        })
    };
    let total = data("total");
    let processed = data("processed");
    let progress_pct = match (total, processed) {
        (Some(total), Some(processed)) if total > 0 => {
            Some(round3(100.0 * processed as f64 / total as f64))
        }
        _ => None,
    };
    Some(JobRecord {
        operation,
        elapsed_ms: job.get("time_elapsed"),
        remaining_ms: job.get("time_remaining"),
        data_total_bytes: total,
        data_processed_bytes: processed,
        data_remaining_bytes: data("remaining"),
        progress_pct,
        memory_bytes_per_s: job.get("memory_bps"),
        memory_dirty_rate_pages_per_s: job.get("memory_dirty_rate"),
        memory_iteration: job.get("memory_iteration"),
    })
}

/// (Δ CPU time − Σ Δ vCPU time) over the interval, 100 = one host CPU; null without
/// a previous sample, when a vCPU's time is missing on either side, or when the vCPU
/// set changed. A negative difference (the two are read microseconds apart) is 0.
pub fn overhead_pct(
    cpu: &crate::record::CpuStats,
    previous: Option<&crate::record::CpuStats>,
    interval_s: Option<f64>,
) -> Option<f64> {
    let previous = previous?;
    let interval_s = interval_s.filter(|&s| s > 0.0)?;
    let total = cpu.time_ns?.checked_sub(previous.time_ns?)?;
    if cpu.vcpus.is_empty() || cpu.vcpus.len() != previous.vcpus.len() {
        return None;
    }
    let mut vcpus: u64 = 0;
    for v in &cpu.vcpus {
        let before = previous.vcpus.iter().find(|p| p.id == v.id)?.time_ns?;
        vcpus = vcpus.saturating_add(v.time_ns?.checked_sub(before)?);
    }
    let outside = total.saturating_sub(vcpus) as f64;
    Some(round3(outside / 1e9 / interval_s * 100.0))
}

/// `ok`, `off` or `stale` (see [`crate::record::BalloonRecord::guest_stats`]).
pub fn guest_stats(
    balloon: &crate::record::BalloonRecord,
    period_s: Option<u32>,
    interval_s: Option<f64>,
) -> GuestStats {
    let guest_fields = [
        balloon.unused_kib,
        balloon.available_kib,
        balloon.usable_kib,
        balloon.last_update_unix_s,
    ];
    if period_s == Some(0) || guest_fields.iter().all(Option::is_none) {
        return GuestStats::Off;
    }
    let limit_s = match period_s {
        Some(period) => Some(3.0 * f64::from(period)),
        None => interval_s,
    };
    match (balloon.last_update_age_s, limit_s) {
        (Some(age), Some(limit)) if age as f64 > limit => GuestStats::Stale,
        _ => GuestStats::Ok,
    }
}

#[cfg(test)]
mod tests;
