//! Raw statistics of one domain for one cycle, as libvirt reports them.
//!
//! Both collection paths fill this same structure: the bulk path from typed parameter
//! names (`block.0.rd.bytes`), the per-domain path from individual calls. Pure.

use std::sync::Arc;
use std::time::Instant;

use crate::libvirt::bulk::ParamValue;

mod group;
mod opt_in;

pub use self::group::{Group, UnknownGroup};
pub use self::opt_in::RawOptIn;

/// The most devices (disks, NICs, vCPUs, monitors) one domain's statistics hold: indices
/// come from libvirt and are dense; an absurd one is ignored so a bad name cannot
/// exhaust memory.
const MAX_DEVICES: usize = 4096;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawStats {
    pub state: Option<i32>,
    pub reason: Option<i32>,
    pub cpu_time_ns: Option<u64>,
    pub cpu_user_ns: Option<u64>,
    pub cpu_system_ns: Option<u64>,
    pub haltpoll_success_ns: Option<u64>,
    pub haltpoll_fail_ns: Option<u64>,
    pub current_kib: Option<u64>,
    pub max_kib: Option<u64>,
    pub balloon: RawBalloon,
    pub vcpus: Vec<RawVcpu>,
    pub disks: Vec<RawDisk>,
    pub nics: Vec<RawNic>,
    /// Which groups produced anything (bit per [`Group`]).
    pub filled: u32,
    /// The groups asked for: counters that come unasked (per-vCPU KVM counters come
    /// with `vcpu`) are kept only when their group is chosen.
    pub wanted: u32,
    /// The opt-in groups, when any returned something.
    pub opt_in: Option<Box<RawOptIn>>,
    /// When `cpu_time_ns` and the vCPU times were read: the moment the call that gave
    /// them returned (the bulk call, or the per-domain one).
    pub cpu_read_at: Option<Instant>,
    pub vcpus_read_at: Option<Instant>,
}

/// The balloon's memory statistics, by libvirt's memoryStats tags.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RawBalloon {
    pub actual: Option<u64>,
    pub swap_in: Option<u64>,
    pub swap_out: Option<u64>,
    pub major_fault: Option<u64>,
    pub minor_fault: Option<u64>,
    pub unused: Option<u64>,
    pub available: Option<u64>,
    pub usable: Option<u64>,
    pub rss: Option<u64>,
    pub last_update: Option<u64>,
    pub disk_caches: Option<u64>,
    pub hugetlb_pgalloc: Option<u64>,
    pub hugetlb_pgfail: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawVcpu {
    pub id: u32,
    pub state: Option<i32>,
    pub time_ns: Option<u64>,
    /// `vcpu.N.delay`: time runnable but waiting for a host CPU (steal).
    pub delay_ns: Option<u64>,
    /// `vcpu.N.wait`: scheduler wait time (needs schedstats on the host).
    pub wait_ns: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawDisk {
    pub name: Option<Arc<str>>,
    pub path: Option<Arc<str>>,
    pub rd_reqs: Option<u64>,
    pub rd_bytes: Option<u64>,
    pub wr_reqs: Option<u64>,
    pub wr_bytes: Option<u64>,
    pub errors: Option<u64>,
    pub rd_times: Option<u64>,
    pub wr_times: Option<u64>,
    pub fl_reqs: Option<u64>,
    pub fl_times: Option<u64>,
    pub allocation: Option<u64>,
    pub capacity: Option<u64>,
    pub physical: Option<u64>,
    pub threshold: Option<u64>,
    /// When the counters were read (the call that gave them returned).
    pub read_at: Option<Instant>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawNic {
    pub name: Option<Arc<str>>,
    pub rx_bytes: Option<u64>,
    pub rx_pkts: Option<u64>,
    pub rx_errs: Option<u64>,
    pub rx_drop: Option<u64>,
    pub tx_bytes: Option<u64>,
    pub tx_pkts: Option<u64>,
    pub tx_errs: Option<u64>,
    pub tx_drop: Option<u64>,
    /// When the counters were read (the call that gave them returned).
    pub read_at: Option<Instant>,
}

impl RawStats {
    /// Empty statistics for a cycle that asked for `wanted` (`VIR_DOMAIN_STATS_*` bits).
    pub fn for_groups(wanted: u32) -> Self {
        Self {
            wanted,
            ..Self::default()
        }
    }

    pub fn has(&self, group: Group) -> bool {
        self.filled & group.bit() != 0
    }

    pub fn mark(&mut self, group: Group) {
        self.filled |= group.bit();
    }

    /// Stamps what the bulk call gave with the moment it returned.
    pub fn stamp_bulk(&mut self, returned: Instant) {
        if self.cpu_time_ns.is_some() {
            self.cpu_read_at = Some(returned);
        }
        if !self.vcpus.is_empty() {
            self.vcpus_read_at = Some(returned);
        }
        for disk in &mut self.disks {
            disk.read_at = Some(returned);
        }
        for nic in &mut self.nics {
            nic.read_at = Some(returned);
        }
    }

    /// Applies one bulk-stats parameter. Unknown names are ignored, so newer libvirt
    /// versions with more fields are fine.
    pub fn apply_param(&mut self, name: &str, value: ParamValue<'_>) {
        let (prefix, rest) = name.split_once('.').unwrap_or((name, ""));
        match prefix {
            "state" => {
                self.mark(Group::State);
                let v = value.as_i64().and_then(|v| i32::try_from(v).ok());
                match rest {
                    "state" => self.state = v,
                    "reason" => self.reason = v,
                    _ => {}
                }
            }
            "cpu" => {
                if let Some(monitor) = rest.strip_prefix("cache.monitor.") {
                    self.mark(Group::CpuTotal);
                    self.apply_cache_monitor(monitor, value);
                    return;
                }
                let slot = match rest {
                    "time" => &mut self.cpu_time_ns,
                    "user" => &mut self.cpu_user_ns,
                    "system" => &mut self.cpu_system_ns,
                    "haltpoll.success.time" => &mut self.haltpoll_success_ns,
                    "haltpoll.fail.time" => &mut self.haltpoll_fail_ns,
                    _ => return,
                };
                self.filled |= Group::CpuTotal.bit();
                *slot = value.as_u64();
            }
            "balloon" => self.apply_balloon(rest, value),
            "vcpu" => self.apply_vcpu(rest, value),
            "net" => self.apply_net(rest, value),
            "block" => self.apply_block(rest, value),
            "perf" => self.apply_perf(rest, value),
            "iothread" => self.apply_iothread(rest, value),
            "memory" => self.apply_memory(rest, value),
            "dirtyrate" => self.apply_dirtyrate(rest, value),
            "vm" => self.apply_vm(rest, value),
            _ => {}
        }
    }

    fn apply_balloon(&mut self, field: &str, value: ParamValue<'_>) {
        let b = &mut self.balloon;
        let slot = match field {
            "current" => {
                self.current_kib = value.as_u64();
                &mut b.actual
            }
            "maximum" => &mut self.max_kib,
            "swap_in" => &mut b.swap_in,
            "swap_out" => &mut b.swap_out,
            "major_fault" => &mut b.major_fault,
            "minor_fault" => &mut b.minor_fault,
            "unused" => &mut b.unused,
            "available" => &mut b.available,
            "usable" => &mut b.usable,
            "rss" => &mut b.rss,
            "last-update" => &mut b.last_update,
            "disk_caches" => &mut b.disk_caches,
            "hugetlb_pgalloc" => &mut b.hugetlb_pgalloc,
            "hugetlb_pgfail" => &mut b.hugetlb_pgfail,
            _ => return,
        };
        *slot = value.as_u64();
        self.filled |= Group::Balloon.bit();
    }

    fn apply_vcpu(&mut self, field: &str, value: ParamValue<'_>) {
        self.mark(Group::Vcpu);
        let Some((index, suffix)) = indexed(field) else {
            return; // vcpu.current / vcpu.maximum: the vcpus list says it all
        };
        if self.apply_vcpu_kvm(index, suffix, value) {
            return;
        }
        let Some(vcpu) = slot_at(&mut self.vcpus, index) else {
            return;
        };
        vcpu.id = index as u32;
        match suffix {
            "state" => vcpu.state = value.as_i64().and_then(|v| i32::try_from(v).ok()),
            "time" => vcpu.time_ns = value.as_u64(),
            "delay" => vcpu.delay_ns = value.as_u64(),
            "wait" => vcpu.wait_ns = value.as_u64(),
            _ => {}
        }
    }

    fn apply_net(&mut self, field: &str, value: ParamValue<'_>) {
        self.mark(Group::Interface);
        let Some((index, suffix)) = indexed(field) else {
            return; // net.count
        };
        let Some(nic) = slot_at(&mut self.nics, index) else {
            return;
        };
        let slot = match suffix {
            "name" => {
                nic.name = value.as_str().map(|s| Arc::from(s.as_ref()));
                return;
            }
            "rx.bytes" => &mut nic.rx_bytes,
            "rx.pkts" => &mut nic.rx_pkts,
            "rx.errs" => &mut nic.rx_errs,
            "rx.drop" => &mut nic.rx_drop,
            "tx.bytes" => &mut nic.tx_bytes,
            "tx.pkts" => &mut nic.tx_pkts,
            "tx.errs" => &mut nic.tx_errs,
            "tx.drop" => &mut nic.tx_drop,
            _ => return,
        };
        *slot = value.as_u64();
    }

    fn apply_block(&mut self, field: &str, value: ParamValue<'_>) {
        self.mark(Group::Block);
        let Some((index, suffix)) = indexed(field) else {
            return; // block.count
        };
        let Some(disk) = slot_at(&mut self.disks, index) else {
            return;
        };
        let slot = match suffix {
            "name" => {
                disk.name = value.as_str().map(|s| Arc::from(s.as_ref()));
                return;
            }
            "path" => {
                disk.path = value.as_str().map(|s| Arc::from(s.as_ref()));
                return;
            }
            "rd.reqs" => &mut disk.rd_reqs,
            "rd.bytes" => &mut disk.rd_bytes,
            "wr.reqs" => &mut disk.wr_reqs,
            "wr.bytes" => &mut disk.wr_bytes,
            "errors" => &mut disk.errors,
            "rd.times" => &mut disk.rd_times,
            "wr.times" => &mut disk.wr_times,
            "fl.reqs" => &mut disk.fl_reqs,
            "fl.times" => &mut disk.fl_times,
            "allocation" => &mut disk.allocation,
            "capacity" => &mut disk.capacity,
            "physical" => &mut disk.physical,
            "threshold" => &mut disk.threshold,
            _ => return,
        };
        *slot = value.as_u64();
    }
}

/// Splits `3.rx.bytes` into (3, "rx.bytes").
fn indexed(field: &str) -> Option<(usize, &str)> {
    let (index, suffix) = field.split_once('.')?;
    Some((index.parse().ok()?, suffix))
}

/// The element at `index`, growing the list with defaults as needed (up to
/// [`MAX_DEVICES`]).
fn slot_at<T: Default>(list: &mut Vec<T>, index: usize) -> Option<&mut T> {
    if index >= MAX_DEVICES {
        return None;
    }
    if list.len() <= index {
        list.resize_with(index + 1, T::default);
    }
    list.get_mut(index)
}

#[cfg(test)]
mod tests;
