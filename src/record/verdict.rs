//! The verdicts' own objects: a domain's job, and the host's totals on the cycle line.

use serde::{Deserialize, Serialize};

use super::JobOperation;

/// A job in progress, from `virDomainGetJobStats`; a figure libvirt does not give for
/// this kind of job is null.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct JobRecord {
    /// libvirt's name of the operation: `migration_out`, `migration_in`, `save`,
    /// `restore`, `dump`, `backup`, `snapshot`, `snapshot_revert`, `snapshot_delete`,
    /// `start` or `unknown`.
    pub operation: JobOperation,
    pub elapsed_ms: Option<u64>,
    pub remaining_ms: Option<u64>,
    pub data_total_bytes: Option<u64>,
    pub data_processed_bytes: Option<u64>,
    pub data_remaining_bytes: Option<u64>,
    /// 100 × processed / total.
    pub progress_pct: Option<f64>,
    pub memory_bytes_per_s: Option<u64>,
    pub memory_dirty_rate_pages_per_s: Option<u64>,
    pub memory_iteration: Option<u64>,
}

/// The host's totals and what its guests are promised.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct NodeRecord {
    pub cpus: Option<u32>,
    pub memory_kib: Option<u64>,
    pub memory_free_kib: Option<u64>,
    /// Host CPU time not idle over the interval; 100 = one host CPU, as elsewhere.
    pub cpu_utilisation_pct: Option<f64>,
    pub domains: DomainStates,
    /// vCPUs of running guests, and those per host CPU.
    pub vcpus_running: u64,
    pub vcpu_overcommit: Option<f64>,
    /// Maximum memory of running guests, and that over the host's memory.
    pub memory_max_kib_running: u64,
    pub memory_overcommit: Option<f64>,
}

/// Domains of this cycle by state.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct DomainStates {
    pub running: usize,
    pub paused: usize,
    pub shutoff: usize,
    pub crashed: usize,
    /// blocked, shutdown (in progress), pmsuspended, nostate.
    pub other: usize,
}
