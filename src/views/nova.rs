//! Nova's server diagnostics (API microversion 2.48) of a record: the body of
//! `GET /servers/{id}/diagnostics`, filled where Nova's libvirt driver leaves nulls.
//!
//! Field by field, where each value comes from and where Nova's own driver differs, is
//! in docs/nova.md. In short: `utilisation`, `rx_rate` and `tx_rate`
//! come from the agent's rates (Nova leaves them null); `memory_details` is in MiB as
//! the API reference says (Nova's driver divides KiB by 2^20); a counter libvirt does
//! not give is null, never -1; `uptime` and `hypervisor` stay null (Nova reads them
//! from its database and its configuration, which the agent does not see).

use serde::Serialize;

use crate::record::DomainRecord;

/// The 2.48 diagnostics body.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Diagnostics {
    pub state: &'static str,
    pub driver: &'static str,
    pub hypervisor: Option<&'static str>,
    pub hypervisor_os: &'static str,
    pub uptime: Option<u64>,
    pub config_drive: bool,
    pub num_cpus: usize,
    pub num_nics: usize,
    pub num_disks: usize,
    pub memory_details: MemoryDetails,
    pub cpu_details: Vec<CpuDetails>,
    pub nic_details: Vec<NicDetails>,
    pub disk_details: Vec<DiskDetails>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MemoryDetails {
    /// MiB.
    pub maximum: Option<u64>,
    /// MiB.
    pub used: Option<u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CpuDetails {
    pub id: u32,
    /// Nanoseconds.
    pub time: Option<u64>,
    /// Percent of one host CPU, rounded.
    pub utilisation: Option<u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NicDetails {
    pub mac_address: Option<String>,
    pub rx_octets: Option<u64>,
    pub rx_errors: Option<u64>,
    pub rx_drop: Option<u64>,
    pub rx_packets: Option<u64>,
    /// Bytes per second, rounded.
    pub rx_rate: Option<u64>,
    pub tx_octets: Option<u64>,
    pub tx_errors: Option<u64>,
    pub tx_drop: Option<u64>,
    pub tx_packets: Option<u64>,
    /// Bytes per second, rounded.
    pub tx_rate: Option<u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DiskDetails {
    pub read_bytes: Option<u64>,
    pub read_requests: Option<u64>,
    pub write_bytes: Option<u64>,
    pub write_requests: Option<u64>,
    pub errors_count: Option<u64>,
}

/// Nova's power state names (`nova.compute.power_state.STATE_MAP`) for libvirt's
/// states, as Nova's libvirt driver maps them.
fn power_state(state: &str) -> &'static str {
    match state {
        "running" | "blocked" => "running",
        "paused" => "paused",
        "shutdown" | "shutoff" => "shutdown",
        "crashed" => "crashed",
        "pmsuspended" => "suspended",
        _ => "pending",
    }
}

/// A disk Nova attached as the instance's config drive: `disk.config` in the instance
/// directory, or `<uuid>_disk.config` in an RBD pool.
fn is_config_drive(path: &str) -> bool {
    path.ends_with("/disk.config") || path.ends_with("_disk.config") || path == "disk.config"
}

fn rounded(value: Option<f64>) -> Option<u64> {
    value
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v.round() as u64)
}

fn mib(kib: Option<u64>) -> Option<u64> {
    kib.map(|k| k / 1024)
}

pub fn diagnostics(record: &DomainRecord) -> Diagnostics {
    let cpu_details: Vec<CpuDetails> = record
        .cpu
        .iter()
        .flat_map(|cpu| &cpu.vcpus)
        .map(|v| CpuDetails {
            id: v.id,
            time: v.time_ns,
            utilisation: rounded(v.utilisation_pct),
        })
        .collect();
    let nic_details: Vec<NicDetails> = record
        .nics
        .iter()
        .map(|n| NicDetails {
            mac_address: n.mac.as_deref().map(str::to_owned),
            rx_octets: n.rx_bytes,
            rx_errors: n.rx_errors,
            rx_drop: n.rx_drop,
            rx_packets: n.rx_packets,
            rx_rate: rounded(n.rx_bytes_per_s),
            tx_octets: n.tx_bytes,
            tx_errors: n.tx_errors,
            tx_drop: n.tx_drop,
            tx_packets: n.tx_packets,
            tx_rate: rounded(n.tx_bytes_per_s),
        })
        .collect();
    let disk_details: Vec<DiskDetails> = record
        .disks
        .iter()
        .map(|d| DiskDetails {
            read_bytes: d.read_bytes,
            read_requests: d.read_requests,
            write_bytes: d.write_bytes,
            write_requests: d.write_requests,
            errors_count: d.errors,
        })
        .collect();
    Diagnostics {
        state: power_state(record.domain.state.as_str()),
        driver: "libvirt",
        hypervisor: None,
        hypervisor_os: "linux",
        uptime: None,
        config_drive: record
            .disks
            .iter()
            .any(|d| d.path.as_deref().is_some_and(is_config_drive)),
        num_cpus: cpu_details.len(),
        num_nics: nic_details.len(),
        num_disks: disk_details.len(),
        memory_details: MemoryDetails {
            maximum: mib(record.memory.max_kib),
            used: mib(record.memory.current_kib),
        },
        cpu_details,
        nic_details,
        disk_details,
    }
}

/// The `nova` line of one domain as a JSON value: its [`super::legacy::Envelope`].
pub fn line(record: &DomainRecord) -> serde_json::Value {
    super::legacy::Envelope::new(record, diagnostics(record)).to_value()
}

#[cfg(test)]
mod tests;
