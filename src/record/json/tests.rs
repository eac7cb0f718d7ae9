//! The fast writer gives the same JSON as serde's derived serializer.

use std::sync::Arc;

use serde_json::Value;

use super::*;
use crate::record::*;

pub(crate) fn full_record() -> DomainRecord {
    DomainRecord {
        kind: "domain",
        schema: SCHEMA_VERSION,
        ts: "2026-11-23T19:20:53.123Z".into(),
        host: "compute-01".into(),
        seq: u64::MAX,
        domain: DomainIdentity {
            name: "wéb \"1\"\\\n\t\u{1}☁".into(),
            uuid: "6c0c3d8e-3a0f-4b6e-9f4e-2d1f0a9b7c11".into(),
            id: Some(u32::MAX),
            state: DomainState::Running,
            reason: StateReason::Booted,
            transitions: Some(Some(3)),
            crashes: Some(Some(1)),
        },
        nova: Some(Arc::new(NovaInfo {
            instance: Some("web-1".into()),
            flavor: None,
            project_id: Some("p".into()),
            project_name: Some("démo".into()),
            user_id: None,
            user_name: Some("alice".into()),
        })),
        cpu: Some(CpuStats {
            time_ns: Some(2_870_000_000),
            user_ns: None,
            system_ns: Some(0),
            utilisation_pct: Some(3.25),
            overhead_pct: Some(0.125),
            vcpus: vec![
                VcpuRecord {
                    id: 0,
                    state: Some(VcpuState::Running),
                    time_ns: Some(1),
                    utilisation_pct: Some(0.001),
                    delay_ns: Some(12),
                    steal_pct: Some(0.5),
                    ..Default::default()
                },
                VcpuRecord {
                    id: 1,
                    state: None,
                    time_ns: None,
                    utilisation_pct: Some(1e-9),
                    ..Default::default()
                },
            ],
            read_ms: Some(1.5),
            vcpus_read_ms: None,
            ..Default::default()
        }),
        memory: MemoryStats {
            max_kib: Some(524_288),
            current_kib: None,
            used_kib: Some(0),
            balloon: Some(BalloonRecord {
                actual_kib: Some(1),
                rss_kib: Some(2),
                last_update_unix_s: Some(1_795_461_650),
                last_update_age_s: Some(-3),
                guest_stats: Some(GuestStats::Stale),
                ..Default::default()
            }),
            bandwidth_monitors: None,
        },
        disks: vec![
            DiskRecord {
                dev: Some("vda".into()),
                bus: Some("virtio".into()),
                device: Some("disk".into()),
                source_type: Some("file".into()),
                path: Some("/var/lib/a b/\"c\".qcow2".into()),
                read_requests: Some(1),
                read_bytes: Some(u64::MAX),
                write_requests: None,
                write_bytes: Some(3),
                errors: None,
                read_bytes_per_s: Some(12345.678),
                write_bytes_per_s: Some(0.0),
                read_ops_per_s: None,
                write_ops_per_s: Some(1e20),
                read_ms: Some(0.001),
                error: Some(DiskError::NoSpace),
                ..Default::default()
            },
            DiskRecord {
                dev: None,
                bus: None,
                device: Some("cdrom".into()),
                source_type: None,
                path: None,
                read_requests: None,
                read_bytes: None,
                write_requests: None,
                write_bytes: None,
                errors: None,
                read_bytes_per_s: None,
                write_bytes_per_s: None,
                read_ops_per_s: None,
                write_ops_per_s: None,
                ..Default::default()
            },
        ],
        nics: vec![NicRecord {
            dev: Some("tap1".into()),
            mac: Some("fa:16:3e:00:00:01".into()),
            model: None,
            kind: Some("bridge".into()),
            source: Some("br-int".into()),
            rx_bytes: Some(63_343),
            rx_packets: Some(431),
            rx_errors: Some(0),
            rx_drop: None,
            tx_bytes: Some(4905),
            tx_packets: Some(45),
            tx_errors: Some(0),
            tx_drop: Some(0),
            rx_bytes_per_s: Some(1.5),
            tx_bytes_per_s: None,
            rx_packets_per_s: Some(f64::NAN),
            tx_packets_per_s: Some(0.333),
            read_ms: Some(2.125),
        }],
        job: Some(JobRecord {
            operation: JobOperation::MigrationOut,
            elapsed_ms: Some(12_000),
            remaining_ms: None,
            data_total_bytes: Some(1 << 30),
            data_processed_bytes: Some(1 << 29),
            data_remaining_bytes: Some(1 << 29),
            progress_pct: Some(50.0),
            memory_bytes_per_s: Some(0),
            memory_dirty_rate_pages_per_s: None,
            memory_iteration: Some(u64::MAX),
        }),
        opt_in: Default::default(),
        collect: CollectInfo {
            sources: GroupSources {
                state: Source::Bulk,
                cpu: Source::PerDomain,
                vcpus: Source::None,
                balloon: Source::Bulk,
                disks: Source::PerDomain,
                nics: Source::None,
                ..GroupSources::default()
            },
            interval_s: Some(1.001),
            duration_ms: 0.062,
            missing: vec![
                Missing {
                    field: "nics[eth0]".into(),
                    reason: "not supported by the driver".into(),
                },
                Missing {
                    field: "*".into(),
                    reason: "line\nbreak".into(),
                },
            ],
            control: None,
        },
    }
}

fn both(record: &DomainRecord) -> (Value, Value) {
    let mut line = Vec::new();
    write_domain_line(record, &mut line);
    assert_eq!(line.last(), Some(&b'\n'));
    assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1, "one line");
    let fast: Value = serde_json::from_slice(&line).expect("valid JSON");
    (fast, serde_json::to_value(record).unwrap())
}

#[test]
fn a_full_record_matches_serde() {
    let (fast, reference) = both(&full_record());
    assert_eq!(fast, reference);
}

#[test]
fn an_inactive_record_matches_serde() {
    let mut record = full_record();
    record.nova = None;
    record.cpu = None;
    record.memory.balloon = None;
    record.disks.clear();
    record.nics.clear();
    record.collect.missing.clear();
    record.collect.interval_s = None;
    record.domain.id = None;
    record.domain.transitions = Some(None);
    record.domain.crashes = None;
    record.job = None;
    let (fast, reference) = both(&record);
    assert_eq!(fast, reference);
}

/// Asserts that both writers give the same strings (keys and string values) in the
/// same order.
fn assert_same_order(record: &DomainRecord) {
    let mut fast = Vec::new();
    write_domain_line(record, &mut fast);
    let reference = serde_json::to_vec(record).unwrap();
    let keys = |bytes: &[u8]| -> Vec<String> {
        let text = String::from_utf8_lossy(bytes).to_string();
        text.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    assert_eq!(keys(&fast), keys(&reference));
}

#[test]
fn field_order_matches_serde() {
    let mut record = full_record();
    record.nics[0].rx_packets_per_s = None; // NaN differs only in the value, not the order
    assert_same_order(&record);
}

/// A record with every opt-in group chosen: values, nulls and an unsupported source.
pub(crate) fn opt_in_record() -> DomainRecord {
    use crate::record::opt_in::*;
    let mut record = full_record();
    let mut vm = Named::default();
    vm.push("mmu_cache_miss.sum", KvmValue::Count(20));
    vm.push("pages_4k.cur", KvmValue::Count(0));
    let mut vcpu = Named::default();
    vcpu.push("blocking.cur", KvmValue::Flag(true));
    vcpu.push("exits.sum", KvmValue::Count(7596));
    record.opt_in = OptInStats {
        kvm: Some(Some(KvmRecord {
            vm: Some(vm),
            vcpus: vec![KvmVcpuRecord {
                id: 0,
                counters: vcpu,
            }],
        })),
        perf: Some(None),
        iothreads: Some(Some(vec![IothreadRecord {
            id: 1,
            poll_max_ns: Some(32_768),
            poll_grow: Some(0),
            poll_shrink: None,
        }])),
        dirtyrate: Some(Some(DirtyRateRecord {
            status: Some(DirtyRateStatus::Measured),
            start_unix_s: Some(1_796_002_140),
            period_s: Some(1),
            mode: Some("page-sampling".into()),
            mib_per_s: Some(2),
            vcpus: vec![],
        })),
    };
    record.memory.bandwidth_monitors = Some(Some(vec![BandwidthMonitorRecord {
        name: Some("vcpus_0".into()),
        vcpus: Some("0".into()),
        nodes: vec![BandwidthNodeRecord {
            id: Some(0),
            bytes_local: Some(4096),
            bytes_total: None,
        }],
    }]));
    if let Some(cpu) = record.cpu.as_mut() {
        cpu.cache_monitors = Some(vec![CacheMonitorRecord {
            name: Some("cache_0".into()),
            vcpus: Some("0-1".into()),
            banks: vec![CacheBankRecord {
                id: Some(0),
                bytes: Some(884_736),
            }],
        }]);
    }
    let sources = &mut record.collect.sources;
    sources.kvm = Some(Source::Bulk);
    sources.perf = Some(Source::Unsupported);
    sources.iothreads = Some(Source::Bulk);
    sources.bandwidth_monitors = Some(Source::None);
    sources.dirtyrate = Some(Source::Bulk);
    record.nics[0].rx_packets_per_s = None;
    record
}

#[test]
fn opt_in_groups_match_serde_in_value_and_order() {
    let record = opt_in_record();
    let (fast, reference) = both(&record);
    assert_eq!(fast, reference);
    assert_eq!(fast["kvm"]["vcpus"][0]["blocking.cur"], Value::Bool(true));
    assert_eq!(fast["perf"], Value::Null);
    assert_eq!(fast["collect"]["sources"]["perf"], "unsupported");
    assert_same_order(&record);
}

#[test]
fn opt_in_groups_not_chosen_are_absent() {
    let (fast, _) = both(&full_record());
    for key in ["kvm", "perf", "iothreads", "dirtyrate"] {
        assert!(fast.get(key).is_none(), "{key}");
        assert!(fast["collect"]["sources"].get(key).is_none(), "{key}");
    }
    assert!(fast["memory"].get("bandwidth_monitors").is_none());
    assert!(fast["cpu"].get("cache_monitors").is_none());
}
