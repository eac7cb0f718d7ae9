//! Raw statistics of the opt-in groups (`vm`, `perf`, `iothread`, `memory`,
//! `dirtyrate`), the per-vCPU KVM counters that come with `vcpu`, and the cache
//! monitors that come with `cpu-total`, parsed from libvirt's bulk parameter names.
//! They are kept in the record's own shapes: libvirt's values need no derivation.

use std::sync::Arc;

use super::{slot_at, Group, RawStats};
use crate::libvirt::bulk::ParamValue;
use crate::record::opt_in::{
    BandwidthMonitorRecord, CacheMonitorRecord, DirtyRateRecord, IothreadRecord, KvmValue, Named,
};
use crate::record::DirtyRateStatus;

/// What the opt-in groups returned for one domain this cycle.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawOptIn {
    /// `vm.<name>.<type>`, named without `vm.`.
    pub kvm_vm: Named<KvmValue>,
    /// `vcpu.<N>.<name>.<type>`, by vCPU number, named without `vcpu.<N>.`.
    pub kvm_vcpus: Vec<Named<KvmValue>>,
    /// `perf.<event>`.
    pub perf: Named<u64>,
    /// `iothread.<id>.*`, in libvirt's order.
    pub iothreads: Vec<IothreadRecord>,
    /// `cpu.cache.monitor.<M>.*`, by monitor index.
    pub cache_monitors: Vec<CacheMonitorRecord>,
    /// `memory.bandwidth.monitor.<M>.*`, by monitor index.
    pub bandwidth_monitors: Vec<BandwidthMonitorRecord>,
    pub dirtyrate: DirtyRateRecord,
}

/// The kinds of KVM statistic libvirt 9.0 passes on (histograms it leaves out).
const KVM_KINDS: [&str; 3] = ["sum", "cur", "max"];

/// A KVM statistic's value: a number or a flag.
fn kvm_value(value: ParamValue<'_>) -> Option<KvmValue> {
    match value {
        ParamValue::Boolean(flag) => Some(KvmValue::Flag(flag)),
        other => other.as_u64().map(KvmValue::Count),
    }
}

fn text(value: ParamValue<'_>) -> Option<Arc<str>> {
    value.as_str().map(|s| Arc::from(s.as_ref()))
}

impl RawStats {
    /// The opt-in part, created on first use so the default groups pay nothing for it.
    fn opt_in_mut(&mut self) -> &mut RawOptIn {
        self.opt_in.get_or_insert_with(Box::default)
    }

    /// `vm.<name>.<type>`.
    pub(super) fn apply_vm(&mut self, field: &str, value: ParamValue<'_>) {
        self.mark(Group::Vm);
        if let Some(value) = kvm_value(value) {
            self.opt_in_mut().kvm_vm.push(field, value);
        }
    }

    /// `vcpu.<N>.<name>.<type>`: a KVM counter of one vCPU, kept only when the `vm`
    /// group is chosen (libvirt returns them with `vcpu` for every KVM guest). Returns
    /// whether `suffix` was one.
    pub(super) fn apply_vcpu_kvm(
        &mut self,
        index: usize,
        suffix: &str,
        value: ParamValue<'_>,
    ) -> bool {
        let is_kvm = suffix
            .rsplit_once('.')
            .is_some_and(|(_, kind)| KVM_KINDS.contains(&kind));
        if !is_kvm {
            return false;
        }
        if self.wanted & Group::Vm.bit() != 0 {
            if let Some(value) = kvm_value(value) {
                if let Some(counters) = slot_at(&mut self.opt_in_mut().kvm_vcpus, index) {
                    counters.push(suffix, value);
                }
            }
        }
        true
    }

    /// `perf.<event>`.
    pub(super) fn apply_perf(&mut self, event: &str, value: ParamValue<'_>) {
        self.mark(Group::Perf);
        if let Some(value) = value.as_u64() {
            self.opt_in_mut().perf.push(event, value);
        }
    }

    /// `iothread.count` and `iothread.<id>.poll-max-ns|poll-grow|poll-shrink`.
    pub(super) fn apply_iothread(&mut self, field: &str, value: ParamValue<'_>) {
        self.mark(Group::Iothread);
        let iothreads = &mut self.opt_in_mut().iothreads;
        let Some((id, suffix)) = super::indexed(field) else {
            return; // iothread.count: the list says it all
        };
        let Ok(id) = u32::try_from(id) else {
            return;
        };
        let position = match iothreads.iter().position(|t| t.id == id) {
            Some(position) => position,
            None if iothreads.len() < super::MAX_DEVICES => {
                iothreads.push(IothreadRecord {
                    id,
                    ..IothreadRecord::default()
                });
                iothreads.len() - 1
            }
            None => return,
        };
        let thread = &mut iothreads[position];
        let slot = match suffix {
            "poll-max-ns" => &mut thread.poll_max_ns,
            "poll-grow" => &mut thread.poll_grow,
            "poll-shrink" => &mut thread.poll_shrink,
            _ => return,
        };
        *slot = value.as_u64();
    }

    /// `cpu.cache.monitor.*` (after `cpu.cache.monitor.`).
    pub(super) fn apply_cache_monitor(&mut self, field: &str, value: ParamValue<'_>) {
        let Some((index, suffix)) = super::indexed(field) else {
            return; // count: the list says it all
        };
        let monitors = &mut self.opt_in_mut().cache_monitors;
        let Some(monitor) = slot_at(monitors, index) else {
            return;
        };
        match suffix {
            "name" => monitor.name = text(value),
            "vcpus" => monitor.vcpus = text(value),
            _ => {
                let Some((bank, what)) = suffix.strip_prefix("bank.").and_then(super::indexed)
                else {
                    return; // bank.count
                };
                let Some(bank) = slot_at(&mut monitor.banks, bank) else {
                    return;
                };
                match what {
                    "id" => bank.id = value.as_u64(),
                    "bytes" => bank.bytes = value.as_u64(),
                    _ => {}
                }
            }
        }
    }

    /// `memory.bandwidth.monitor.*` (after `memory.`).
    pub(super) fn apply_memory(&mut self, field: &str, value: ParamValue<'_>) {
        self.mark(Group::Memory);
        let Some((index, suffix)) = field
            .strip_prefix("bandwidth.monitor.")
            .and_then(super::indexed)
        else {
            return; // bandwidth.monitor.count
        };
        let monitors = &mut self.opt_in_mut().bandwidth_monitors;
        let Some(monitor) = slot_at(monitors, index) else {
            return;
        };
        match suffix {
            "name" => monitor.name = text(value),
            "vcpus" => monitor.vcpus = text(value),
            _ => {
                let Some((node, what)) = suffix.strip_prefix("node.").and_then(super::indexed)
                else {
                    return; // node.count
                };
                let Some(node) = slot_at(&mut monitor.nodes, node) else {
                    return;
                };
                match what {
                    "id" => node.id = value.as_u64(),
                    "bytes.local" => node.bytes_local = value.as_u64(),
                    "bytes.total" => node.bytes_total = value.as_u64(),
                    _ => {}
                }
            }
        }
    }

    /// `dirtyrate.*`.
    pub(super) fn apply_dirtyrate(&mut self, field: &str, value: ParamValue<'_>) {
        self.mark(Group::Dirtyrate);
        let rate = &mut self.opt_in_mut().dirtyrate;
        match field {
            "calc_status" => rate.status = value.as_i64().map(DirtyRateStatus::from_libvirt),
            "calc_start_time" => rate.start_unix_s = value.as_i64(),
            "calc_period" => rate.period_s = value.as_i64(),
            "calc_mode" => rate.mode = text(value),
            "megabytes_per_second" => rate.mib_per_s = value.as_u64(),
            _ => {
                let Some((id, "megabytes_per_second")) =
                    field.strip_prefix("vcpu.").and_then(super::indexed)
                else {
                    return;
                };
                if let Some(vcpu) = slot_at(&mut rate.vcpus, id) {
                    vcpu.id = id as u32;
                    vcpu.mib_per_s = value.as_u64();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
