//! The bulk call's parameters into raw statistics: names, indexes, bounds.

use super::*;

fn apply_all(params: &[(&str, ParamValue<'_>)]) -> RawStats {
    let mut stats = RawStats::default();
    for (name, value) in params {
        stats.apply_param(name, *value);
    }
    stats
}

#[test]
fn maps_bulk_names_onto_fields() {
    let stats = apply_all(&[
        ("state.state", ParamValue::Int(1)),
        ("state.reason", ParamValue::Int(1)),
        ("cpu.time", ParamValue::ULLong(2_870_000_000)),
        ("cpu.user", ParamValue::ULLong(1_000)),
        ("balloon.current", ParamValue::ULLong(524_288)),
        ("balloon.maximum", ParamValue::ULLong(1_048_576)),
        ("balloon.available", ParamValue::ULLong(500_000)),
        ("balloon.usable", ParamValue::ULLong(310_000)),
        ("balloon.last-update", ParamValue::ULLong(1_795_461_650)),
        ("vcpu.current", ParamValue::UInt(2)),
        ("vcpu.maximum", ParamValue::UInt(2)),
        ("vcpu.0.state", ParamValue::Int(1)),
        ("vcpu.0.time", ParamValue::ULLong(10)),
        ("vcpu.1.time", ParamValue::ULLong(20)),
        ("net.count", ParamValue::UInt(1)),
        ("net.0.name", ParamValue::String(c"tap1")),
        ("net.0.rx.bytes", ParamValue::ULLong(63_343)),
        ("net.0.tx.pkts", ParamValue::ULLong(45)),
        ("block.count", ParamValue::UInt(1)),
        ("block.0.name", ParamValue::String(c"vda")),
        ("block.0.path", ParamValue::String(c"/img/a.raw")),
        ("block.0.rd.reqs", ParamValue::ULLong(112)),
        ("block.0.wr.bytes", ParamValue::ULLong(5_606_400)),
        ("block.0.allocation", ParamValue::ULLong(1)),
        // QEMU reports the top image's index in its backing chain; without the
        // BACKING flag every block entry is a guest disk, whatever the index.
        ("block.0.backingIndex", ParamValue::UInt(2)),
        ("perf.cmt", ParamValue::ULLong(1)),
    ]);
    assert_eq!((stats.state, stats.reason), (Some(1), Some(1)));
    assert_eq!(stats.cpu_time_ns, Some(2_870_000_000));
    assert_eq!(stats.cpu_user_ns, Some(1_000));
    assert_eq!(stats.current_kib, Some(524_288));
    assert_eq!(stats.balloon.actual, Some(524_288));
    assert_eq!(stats.max_kib, Some(1_048_576));
    assert_eq!(stats.balloon.last_update, Some(1_795_461_650));
    assert_eq!(stats.vcpus.len(), 2);
    assert_eq!(stats.vcpus[1].id, 1);
    assert_eq!(stats.vcpus[1].time_ns, Some(20));
    assert_eq!(stats.nics[0].name.as_deref(), Some("tap1"));
    assert_eq!(stats.nics[0].rx_bytes, Some(63_343));
    assert_eq!(stats.nics[0].tx_pkts, Some(45));
    assert_eq!(stats.disks[0].name.as_deref(), Some("vda"));
    assert_eq!(stats.disks[0].path.as_deref(), Some("/img/a.raw"));
    assert_eq!(stats.disks[0].wr_bytes, Some(5_606_400));
    assert_eq!(stats.disks[0].errors, None);
    for group in Group::DEFAULT {
        assert!(stats.has(group), "{group:?} filled");
    }
}

#[test]
fn only_state_means_only_the_state_group() {
    let stats = apply_all(&[
        ("state.state", ParamValue::Int(5)),
        ("state.reason", ParamValue::Int(2)),
    ]);
    assert!(stats.has(Group::State));
    assert!(!stats.has(Group::CpuTotal));
    assert!(!stats.has(Group::Block));
}

#[test]
fn negative_counters_are_not_values() {
    let stats = apply_all(&[("block.0.errors", ParamValue::LLong(-1))]);
    assert_eq!(stats.disks[0].errors, None);
}

#[test]
fn malformed_and_absurd_indices_are_ignored() {
    let stats = apply_all(&[
        ("block.x.rd.reqs", ParamValue::ULLong(1)),
        ("net.99999999.rx.bytes", ParamValue::ULLong(1)),
    ]);
    assert!(stats.disks.is_empty());
    assert!(stats.nics.is_empty());
}
