//! Parsing the opt-in groups from parameters as libvirt 9.0 returns them.
//!
//! `domstats-kvm.txt` is `virsh domstats --raw` of a real KVM guest (the bed's libvirtd,
//! a `<domain type='kvm'>` with 2 vCPUs and `<iothreads>2</iothreads>`, after
//! `virsh domdirtyrate-calc --seconds 1`). Values typed as libvirt types them: `yes`/`no`
//! booleans, numbers, strings.

use std::ffi::CString;

use super::*;
use crate::collect::stats::RawStats;
use crate::libvirt::bulk::ParamValue;

const KVM_GUEST: &str = include_str!("domstats-kvm.txt");

/// `name=value` lines as libvirt's typed parameters.
fn params(text: &str) -> Vec<(String, CString)> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_string(), CString::new(value).unwrap()))
        .collect()
}

fn apply(raw: &mut RawStats, params: &[(String, CString)]) {
    for (name, value) in params {
        let text = value.to_str().unwrap();
        let typed = match (text, text.parse::<u64>()) {
            ("yes", _) => ParamValue::Boolean(true),
            ("no", _) => ParamValue::Boolean(false),
            (_, Ok(number)) => ParamValue::ULLong(number),
            _ => ParamValue::String(value),
        };
        raw.apply_param(name, typed);
    }
}

fn parsed(wanted: &[Group], text: &str) -> RawStats {
    let mut raw = RawStats::for_groups(wanted.iter().map(|g| g.bit()).sum());
    apply(&mut raw, &params(text));
    raw
}

#[test]
fn kvm_counters_of_the_vm_and_each_vcpu() {
    let raw = parsed(&[Group::Vcpu, Group::Vm], KVM_GUEST);
    let opt_in = raw.opt_in.as_deref().expect("opt-in statistics");
    assert!(raw.has(Group::Vm));
    assert_eq!(opt_in.kvm_vm.0.len(), 15);
    let vm: Vec<_> = opt_in.kvm_vm.0.iter().map(|(n, v)| (&**n, *v)).collect();
    assert!(vm.contains(&("mmu_shadow_zapped.sum", KvmValue::Count(28))));
    assert!(vm.contains(&("max_mmu_rmap_size.max", KvmValue::Count(0))));
    assert_eq!(opt_in.kvm_vcpus.len(), 2);
    let vcpu0: Vec<_> = opt_in.kvm_vcpus[0]
        .0
        .iter()
        .map(|(n, v)| (&**n, *v))
        .collect();
    assert_eq!(vcpu0.len(), 42);
    assert!(vcpu0.contains(&("exits.sum", KvmValue::Count(7596))));
    assert!(vcpu0.contains(&("halt_wait_ns.sum", KvmValue::Count(4_249_369_342))));
    assert!(vcpu0.contains(&("blocking.cur", KvmValue::Flag(true))));
    assert!(vcpu0.contains(&("guest_mode.cur", KvmValue::Flag(false))));
    // libvirt's own per-vCPU fields stay where they were.
    assert_eq!(raw.vcpus[0].time_ns, Some(2_820_000_000));
    assert_eq!(raw.vcpus[0].delay_ns, Some(15_036_653));
    assert_eq!(raw.vcpus[1].wait_ns, Some(0));
}

#[test]
fn per_vcpu_kvm_counters_cost_nothing_unless_vm_is_chosen() {
    let text: String = KVM_GUEST
        .lines()
        .filter(|l| l.starts_with("vcpu."))
        .map(|l| format!("{l}\n"))
        .collect();
    let raw = parsed(&Group::DEFAULT, &text);
    assert!(raw.opt_in.is_none(), "nothing kept: {:?}", raw.opt_in);
    assert_eq!(raw.vcpus.len(), 2);
    assert_eq!(raw.vcpus[0].time_ns, Some(2_820_000_000));
}

#[test]
fn iothreads_by_id() {
    let raw = parsed(&[Group::Iothread], KVM_GUEST);
    let threads = &raw.opt_in.as_deref().unwrap().iothreads;
    let expected = |id| IothreadRecord {
        id,
        poll_max_ns: Some(32_768),
        poll_grow: Some(0),
        poll_shrink: Some(0),
    };
    // libvirt lists the highest id first.
    assert_eq!(threads, &[expected(2), expected(1)]);
}

#[test]
fn the_last_dirty_rate_measurement() {
    let raw = parsed(&[Group::Dirtyrate], KVM_GUEST);
    let rate = &raw.opt_in.as_deref().unwrap().dirtyrate;
    assert_eq!(rate.status, Some(DirtyRateStatus::Measured));
    assert_eq!(rate.start_unix_s, Some(1_796_002_140));
    assert_eq!(rate.period_s, Some(1));
    assert_eq!(rate.mode.as_deref(), Some("page-sampling"));
    assert_eq!(rate.mib_per_s, Some(0));

    // Before any measurement: a status and no rate (a TCG guest on the same bed).
    let unstarted = parsed(
        &[Group::Dirtyrate],
        "dirtyrate.calc_status=0\ndirtyrate.calc_start_time=0\ndirtyrate.calc_period=0\n\
         dirtyrate.calc_mode=page-sampling\n",
    );
    let rate = &unstarted.opt_in.as_deref().unwrap().dirtyrate;
    assert_eq!(rate.status, Some(DirtyRateStatus::Unstarted));
    assert_eq!(rate.mib_per_s, None);
}

#[test]
fn dirty_ring_rates_per_vcpu() {
    let raw = parsed(
        &[Group::Dirtyrate],
        "dirtyrate.calc_status=2\ndirtyrate.calc_mode=dirty-ring\n\
         dirtyrate.vcpu.0.megabytes_per_second=3\ndirtyrate.vcpu.1.megabytes_per_second=5\n",
    );
    let rate = &raw.opt_in.as_deref().unwrap().dirtyrate;
    let rates: Vec<_> = rate.vcpus.iter().map(|v| (v.id, v.mib_per_s)).collect();
    assert_eq!(rates, [(0, Some(3)), (1, Some(5))]);
}

#[test]
fn perf_events_by_name() {
    let raw = parsed(
        &[Group::Perf],
        "perf.cpu_cycles=1234567\nperf.instructions=7654321\n",
    );
    let perf = &raw.opt_in.as_deref().unwrap().perf;
    assert_eq!(perf.0.len(), 2);
    assert_eq!((&*perf.0[0].0, perf.0[0].1), ("cpu_cycles", 1_234_567));
    assert!(raw.has(Group::Perf));
}

/// Names as libvirt's documentation of `virsh domstats` lists them; no host here has
/// resctrl monitoring.
#[test]
fn resctrl_monitors() {
    let raw = parsed(
        &[Group::CpuTotal, Group::Memory],
        "cpu.time=1\ncpu.cache.monitor.count=1\ncpu.cache.monitor.0.name=cache_0\n\
         cpu.cache.monitor.0.vcpus=0-1\ncpu.cache.monitor.0.bank.count=2\n\
         cpu.cache.monitor.0.bank.0.id=0\ncpu.cache.monitor.0.bank.0.bytes=884736\n\
         cpu.cache.monitor.0.bank.1.id=1\ncpu.cache.monitor.0.bank.1.bytes=0\n\
         memory.bandwidth.monitor.count=1\nmemory.bandwidth.monitor.0.name=mem_0\n\
         memory.bandwidth.monitor.0.vcpus=0\nmemory.bandwidth.monitor.0.node.count=1\n\
         memory.bandwidth.monitor.0.node.0.id=0\n\
         memory.bandwidth.monitor.0.node.0.bytes.local=4096\n\
         memory.bandwidth.monitor.0.node.0.bytes.total=8192\n",
    );
    assert_eq!(raw.cpu_time_ns, Some(1));
    let opt_in = raw.opt_in.as_deref().unwrap();
    let cache = &opt_in.cache_monitors[0];
    assert_eq!(cache.name.as_deref(), Some("cache_0"));
    assert_eq!(cache.vcpus.as_deref(), Some("0-1"));
    let banks: Vec<_> = cache.banks.iter().map(|b| (b.id, b.bytes)).collect();
    assert_eq!(banks, [(Some(0), Some(884_736)), (Some(1), Some(0))]);
    let memory = &opt_in.bandwidth_monitors[0];
    assert_eq!(memory.name.as_deref(), Some("mem_0"));
    assert_eq!(memory.nodes[0].bytes_local, Some(4096));
    assert_eq!(memory.nodes[0].bytes_total, Some(8192));
    assert!(raw.has(Group::Memory));
}

#[test]
fn no_monitor_means_nothing_kept() {
    // What the bulk call returns when only the default groups are asked for.
    let opt_in_prefixes = ["vm.", "iothread.", "dirtyrate.", "perf.", "memory."];
    let text: String = KVM_GUEST
        .lines()
        .filter(|l| !opt_in_prefixes.iter().any(|p| l.starts_with(p)))
        .map(|l| format!("{l}\n"))
        .collect();
    let raw = parsed(&Group::DEFAULT, &text);
    assert!(raw.opt_in.is_none(), "{:?}", raw.opt_in);
    assert!(raw.has(Group::CpuTotal));
}

#[test]
fn named_values_are_bounded() {
    let text: String = (0..2000).map(|i| format!("vm.c{i}.sum={i}\n")).collect();
    let raw = parsed(&[Group::Vm], &text);
    assert_eq!(
        raw.opt_in.as_deref().unwrap().kvm_vm.0.len(),
        crate::record::opt_in::MAX_NAMED
    );
}
