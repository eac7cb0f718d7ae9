//! The host around the guests, once per cycle: `virNodeGetInfo`, `virNodeGetCPUStats`
//! and `virNodeGetMemoryStats` (three calls, whatever the number of domains), plus the
//! cycle's records for guests by state and what running guests are promised.
//!
//! A call the driver refuses is not asked again on this connection (libvirt's test
//! driver has no node memory statistics); its figures are null.

use std::time::{Duration, Instant};

use virt::connect::Connect;

use crate::libvirt::{node, ErrorClass, LibvirtError};
use crate::rates::round3;
use crate::record::{DomainRecord, DomainState, DomainStates, NodeRecord};

/// The host's CPU counters at one sample: time not idle and all time, over all CPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuSample {
    pub busy_ns: u64,
    pub total_ns: u64,
}

/// What the host part of the collector keeps between cycles.
#[derive(Debug, Default)]
pub struct HostState {
    previous_cpu: Option<CpuSample>,
    memory_stats_refused: bool,
    cpu_stats_refused: bool,
}

/// What the three node calls gave this cycle.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct NodeSample {
    pub cpus: Option<u32>,
    pub memory_kib: Option<u64>,
    pub memory_free_kib: Option<u64>,
    pub cpu: Option<CpuSample>,
}

impl HostState {
    /// A new connection: refused calls are asked again, and the CPU baseline is kept
    /// (the host's counters do not depend on the connection).
    pub fn reconnected(&mut self) {
        self.memory_stats_refused = false;
        self.cpu_stats_refused = false;
    }

    /// Makes the node calls; returns what they gave and the time spent. Fails only when
    /// the connection broke.
    pub fn sample(&mut self, conn: &Connect) -> Result<(NodeSample, Duration), LibvirtError> {
        let started = Instant::now();
        let mut sample = NodeSample::default();
        match conn.node_info() {
            Ok(info) => {
                sample.cpus = Some(info.cpus);
                sample.memory_kib = Some(info.memory);
            }
            Err(e) => check(LibvirtError::from(e))?,
        }
        if !self.cpu_stats_refused {
            match node::cpu_stats(conn) {
                Ok(fields) => sample.cpu = cpu_sample(&fields),
                Err(e) => self.cpu_stats_refused = refused(e)?,
            }
        }
        if !self.memory_stats_refused {
            match node::memory_stats(conn) {
                Ok(fields) => {
                    let get = |n: &str| fields.iter().find(|(f, _)| f == n).map(|(_, v)| *v);
                    sample.memory_free_kib = get("free");
                    sample.memory_kib = get("total").or(sample.memory_kib);
                }
                Err(e) => self.memory_stats_refused = refused(e)?,
            }
        }
        Ok((sample, started.elapsed()))
    }

    /// The cycle line's `node`: this sample against the previous one and the records.
    pub fn record(
        &mut self,
        sample: &NodeSample,
        records: &[impl AsRef<DomainRecord>],
    ) -> NodeRecord {
        let cpu_utilisation_pct = match (self.previous_cpu, sample.cpu, sample.cpus) {
            (Some(before), Some(now), Some(cpus)) => cpu_utilisation_pct(before, now, cpus),
            _ => None,
        };
        if sample.cpu.is_some() {
            self.previous_cpu = sample.cpu;
        }
        node_record(sample, cpu_utilisation_pct, records)
    }
}

/// A broken connection ends the cycle; anything else leaves the figure null.
fn check(error: LibvirtError) -> Result<(), LibvirtError> {
    if error.class() == ErrorClass::Connection {
        return Err(error);
    }
    crate::log_debug!("node call failed: {error}");
    Ok(())
}

/// Whether a failed call should not be asked again (any non-connection failure: the
/// driver lacks it).
fn refused(error: LibvirtError) -> Result<bool, LibvirtError> {
    check(error)?;
    Ok(true)
}

/// Busy and total time from libvirt's fields: `kernel` + `user` busy, plus `idle` and
/// `iowait` for the total (Linux). None without `idle`.
pub fn cpu_sample(fields: &[(String, u64)]) -> Option<CpuSample> {
    let get = |n: &str| fields.iter().find(|(f, _)| f == n).map(|(_, v)| *v);
    let busy = get("kernel")
        .unwrap_or(0)
        .saturating_add(get("user").unwrap_or(0));
    let idle = get("idle")?.saturating_add(get("iowait").unwrap_or(0));
    Some(CpuSample {
        busy_ns: busy,
        total_ns: busy.saturating_add(idle),
    })
}

/// Δbusy / Δtotal × CPUs × 100: 100 = one host CPU, as `utilisation_pct` everywhere.
/// None when the counters did not move or went back.
pub fn cpu_utilisation_pct(before: CpuSample, now: CpuSample, cpus: u32) -> Option<f64> {
    let total = now.total_ns.checked_sub(before.total_ns)?;
    let busy = now.busy_ns.checked_sub(before.busy_ns)?;
    if total == 0 {
        return None;
    }
    Some(round3(busy as f64 / total as f64 * f64::from(cpus) * 100.0))
}

/// The node record from a sample and the cycle's domain records.
pub fn node_record(
    sample: &NodeSample,
    cpu_utilisation_pct: Option<f64>,
    records: &[impl AsRef<DomainRecord>],
) -> NodeRecord {
    let mut domains = DomainStates::default();
    let mut vcpus_running: u64 = 0;
    let mut memory_max_kib_running: u64 = 0;
    for record in records {
        let record = record.as_ref();
        match record.domain.state {
            DomainState::Running => {
                domains.running += 1;
                let vcpus = record.cpu.as_ref().map_or(0, |c| c.vcpus.len());
                vcpus_running += vcpus as u64;
                memory_max_kib_running += record.memory.max_kib.unwrap_or(0);
            }
            DomainState::Paused => domains.paused += 1,
            DomainState::Shutoff => domains.shutoff += 1,
            DomainState::Crashed => domains.crashed += 1,
            _ => domains.other += 1,
        }
    }
    let ratio = |part: u64, whole: Option<u64>| {
        whole
            .filter(|&w| w > 0)
            .map(|w| round3(part as f64 / w as f64))
    };
    NodeRecord {
        cpus: sample.cpus,
        memory_kib: sample.memory_kib,
        memory_free_kib: sample.memory_free_kib,
        cpu_utilisation_pct,
        domains,
        vcpus_running,
        vcpu_overcommit: ratio(vcpus_running, sample.cpus.map(u64::from)),
        memory_max_kib_running,
        memory_overcommit: ratio(memory_max_kib_running, sample.memory_kib),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_cpu_is_busy_over_total_time_in_host_cpus() {
        let fields = |kernel: u64, user: u64, idle: u64| {
            vec![
                ("kernel".to_string(), kernel),
                ("user".to_string(), user),
                ("idle".to_string(), idle),
                ("iowait".to_string(), 0),
            ]
        };
        let before = cpu_sample(&fields(100, 100, 800)).unwrap();
        let now = cpu_sample(&fields(200, 200, 1400)).unwrap();
        // 200 busy of 800: a quarter of 4 CPUs = one CPU.
        assert_eq!(cpu_utilisation_pct(before, now, 4), Some(100.0));
        assert_eq!(cpu_utilisation_pct(now, now, 4), None, "no time passed");
        assert_eq!(cpu_utilisation_pct(now, before, 4), None, "went back");
        assert_eq!(cpu_sample(&[("user".to_string(), 1)]), None);
    }
}
