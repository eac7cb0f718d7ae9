//! The opt-in groups' fields of a record, from this cycle's raw statistics: absent when
//! the group is not chosen (its source is absent), `null` when chosen and libvirt
//! reported nothing, the values otherwise. Pure.

use crate::collect::stats::{Group, RawStats};
use crate::record::opt_in::{
    BandwidthMonitorRecord, CacheMonitorRecord, Chosen, KvmRecord, KvmVcpuRecord, OptInStats,
};
use crate::record::{GroupSources, Source};

/// `value` when the group is chosen (it has a source), else absent.
fn chosen<T>(source: Option<Source>, value: impl FnOnce() -> Option<T>) -> Chosen<T> {
    source.map(|_| value())
}

pub fn opt_in_stats(raw: &RawStats, sources: &GroupSources) -> OptInStats {
    let opt_in = raw.opt_in.as_deref();
    OptInStats {
        kvm: chosen(sources.kvm, || kvm(raw)),
        perf: chosen(sources.perf, || {
            opt_in
                .filter(|o| !o.perf.is_empty())
                .map(|o| o.perf.sorted())
        }),
        iothreads: chosen(sources.iothreads, || {
            raw.has(Group::Iothread).then(|| {
                let mut threads = opt_in.map(|o| o.iothreads.clone()).unwrap_or_default();
                threads.sort_unstable_by_key(|t| t.id);
                threads
            })
        }),
        dirtyrate: chosen(sources.dirtyrate, || {
            raw.has(Group::Dirtyrate)
                .then(|| opt_in.map(|o| o.dirtyrate.clone()).unwrap_or_default())
        }),
    }
}

/// The KVM counters: per VM from the `vm` group, per vCPU from the `vcpu` group.
fn kvm(raw: &RawStats) -> Option<KvmRecord> {
    let opt_in = raw.opt_in.as_deref()?;
    let vm = (!opt_in.kvm_vm.is_empty()).then(|| opt_in.kvm_vm.sorted());
    let vcpus: Vec<KvmVcpuRecord> = opt_in
        .kvm_vcpus
        .iter()
        .enumerate()
        .filter(|(_, counters)| !counters.is_empty())
        .map(|(id, counters)| KvmVcpuRecord {
            id: id as u32,
            counters: counters.sorted(),
        })
        .collect();
    (vm.is_some() || !vcpus.is_empty()).then_some(KvmRecord { vm, vcpus })
}

/// `memory.bandwidth_monitors`.
pub fn bandwidth_monitors(
    raw: &RawStats,
    sources: &GroupSources,
) -> Chosen<Vec<BandwidthMonitorRecord>> {
    chosen(sources.bandwidth_monitors, || {
        raw.has(Group::Memory).then(|| {
            raw.opt_in
                .as_deref()
                .map(|o| o.bandwidth_monitors.clone())
                .unwrap_or_default()
        })
    })
}

/// `cpu.cache_monitors`: present only when the domain has some.
pub fn cache_monitors(raw: &RawStats) -> Option<Vec<CacheMonitorRecord>> {
    raw.opt_in
        .as_deref()
        .filter(|o| !o.cache_monitors.is_empty())
        .map(|o| o.cache_monitors.clone())
}
