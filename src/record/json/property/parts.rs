//! A random domain record, part by part: every field of every object drawn from [`Gen`].

use super::Gen;
use crate::record::opt_in::*;
use crate::record::*;

pub(super) fn record(g: &mut Gen) -> DomainRecord {
    DomainRecord {
        kind: "domain",
        schema: g.u32(),
        ts: g.arc(),
        host: g.arc(),
        seq: g.u64(),
        domain: DomainIdentity {
            name: g.arc(),
            uuid: g.arc(),
            id: g.opt(Gen::u32),
            state: g.pick(DomainState::ALL),
            reason: g.pick(StateReason::ALL),
            transitions: g.chosen(Gen::u32),
            crashes: g.chosen(Gen::u64),
        },
        nova: g.opt(|g| {
            std::sync::Arc::new(NovaInfo {
                instance: g.opt(Gen::text),
                flavor: g.opt(Gen::text),
                project_id: g.opt(Gen::text),
                project_name: g.opt(Gen::text),
                user_id: g.opt(Gen::text),
                user_name: g.opt(Gen::text),
            })
        }),
        cpu: g.opt(cpu),
        memory: memory(g),
        disks: g.items(disk),
        nics: g.items(nic),
        job: g.opt(job),
        opt_in: opt_in(g),
        collect: collect(g),
    }
}

fn cpu(g: &mut Gen) -> CpuStats {
    CpuStats {
        time_ns: g.opt(Gen::u64),
        user_ns: g.opt(Gen::u64),
        system_ns: g.opt(Gen::u64),
        haltpoll_success_ns: g.opt(Gen::u64),
        haltpoll_fail_ns: g.opt(Gen::u64),
        utilisation_pct: g.opt(Gen::f64),
        overhead_pct: g.opt(Gen::f64),
        vcpus: g.items(|g| VcpuRecord {
            id: g.u32(),
            state: g.opt(|g| g.pick(VcpuState::ALL)),
            time_ns: g.opt(Gen::u64),
            delay_ns: g.opt(Gen::u64),
            wait_ns: g.opt(Gen::u64),
            utilisation_pct: g.opt(Gen::f64),
            steal_pct: g.opt(Gen::f64),
        }),
        read_ms: g.opt(Gen::f64),
        vcpus_read_ms: g.opt(Gen::f64),
        cache_monitors: g.opt(|g| {
            g.items(|g| CacheMonitorRecord {
                name: g.opt_arc(),
                vcpus: g.opt_arc(),
                banks: g.items(|g| CacheBankRecord {
                    id: g.opt(Gen::u64),
                    bytes: g.opt(Gen::u64),
                }),
            })
        }),
    }
}

fn memory(g: &mut Gen) -> MemoryStats {
    MemoryStats {
        max_kib: g.opt(Gen::u64),
        current_kib: g.opt(Gen::u64),
        used_kib: g.opt(Gen::u64),
        balloon: g.opt(|g| BalloonRecord {
            actual_kib: g.opt(Gen::u64),
            unused_kib: g.opt(Gen::u64),
            available_kib: g.opt(Gen::u64),
            usable_kib: g.opt(Gen::u64),
            rss_kib: g.opt(Gen::u64),
            disk_caches_kib: g.opt(Gen::u64),
            swap_in_kib: g.opt(Gen::u64),
            swap_out_kib: g.opt(Gen::u64),
            major_faults: g.opt(Gen::u64),
            minor_faults: g.opt(Gen::u64),
            hugetlb_pgalloc: g.opt(Gen::u64),
            hugetlb_pgfail: g.opt(Gen::u64),
            last_update_unix_s: g.opt(Gen::u64),
            last_update_age_s: g.opt(Gen::i64),
            guest_stats: g.opt(|g| g.pick(GuestStats::ALL)),
        }),
        bandwidth_monitors: g.chosen(|g| {
            g.items(|g| BandwidthMonitorRecord {
                name: g.opt_arc(),
                vcpus: g.opt_arc(),
                nodes: g.items(|g| BandwidthNodeRecord {
                    id: g.opt(Gen::u64),
                    bytes_local: g.opt(Gen::u64),
                    bytes_total: g.opt(Gen::u64),
                }),
            })
        }),
    }
}

fn disk(g: &mut Gen) -> DiskRecord {
    DiskRecord {
        dev: g.opt_arc(),
        bus: g.opt_arc(),
        device: g.opt_arc(),
        source_type: g.opt_arc(),
        path: g.opt_arc(),
        read_requests: g.opt(Gen::u64),
        read_bytes: g.opt(Gen::u64),
        write_requests: g.opt(Gen::u64),
        write_bytes: g.opt(Gen::u64),
        errors: g.opt(Gen::u64),
        read_time_ns: g.opt(Gen::u64),
        write_time_ns: g.opt(Gen::u64),
        flush_requests: g.opt(Gen::u64),
        flush_time_ns: g.opt(Gen::u64),
        allocation_bytes: g.opt(Gen::u64),
        capacity_bytes: g.opt(Gen::u64),
        physical_bytes: g.opt(Gen::u64),
        threshold_bytes: g.opt(Gen::u64),
        read_bytes_per_s: g.opt(Gen::f64),
        write_bytes_per_s: g.opt(Gen::f64),
        read_ops_per_s: g.opt(Gen::f64),
        write_ops_per_s: g.opt(Gen::f64),
        flush_ops_per_s: g.opt(Gen::f64),
        read_latency_ms: g.opt(Gen::f64),
        write_latency_ms: g.opt(Gen::f64),
        flush_latency_ms: g.opt(Gen::f64),
        fill_pct: g.opt(Gen::f64),
        growth_bytes_per_s: g.opt(Gen::f64),
        full_in_s: g.opt(Gen::f64),
        read_ms: g.opt(Gen::f64),
        error: g.opt(|g| g.pick(DiskError::ALL)),
    }
}

fn nic(g: &mut Gen) -> NicRecord {
    NicRecord {
        dev: g.opt_arc(),
        mac: g.opt_arc(),
        model: g.opt_arc(),
        kind: g.opt_arc(),
        source: g.opt_arc(),
        rx_bytes: g.opt(Gen::u64),
        rx_packets: g.opt(Gen::u64),
        rx_errors: g.opt(Gen::u64),
        rx_drop: g.opt(Gen::u64),
        tx_bytes: g.opt(Gen::u64),
        tx_packets: g.opt(Gen::u64),
        tx_errors: g.opt(Gen::u64),
        tx_drop: g.opt(Gen::u64),
        rx_bytes_per_s: g.opt(Gen::f64),
        tx_bytes_per_s: g.opt(Gen::f64),
        rx_packets_per_s: g.opt(Gen::f64),
        tx_packets_per_s: g.opt(Gen::f64),
        read_ms: g.opt(Gen::f64),
    }
}

fn job(g: &mut Gen) -> JobRecord {
    JobRecord {
        operation: g.pick(JobOperation::ALL),
        elapsed_ms: g.opt(Gen::u64),
        remaining_ms: g.opt(Gen::u64),
        data_total_bytes: g.opt(Gen::u64),
        data_processed_bytes: g.opt(Gen::u64),
        data_remaining_bytes: g.opt(Gen::u64),
        progress_pct: g.opt(Gen::f64),
        memory_bytes_per_s: g.opt(Gen::u64),
        memory_dirty_rate_pages_per_s: g.opt(Gen::u64),
        memory_iteration: g.opt(Gen::u64),
    }
}

fn kvm_value(g: &mut Gen) -> KvmValue {
    if g.chance(3) {
        KvmValue::Flag(g.chance(2))
    } else {
        KvmValue::Count(g.u64())
    }
}

fn opt_in(g: &mut Gen) -> OptInStats {
    OptInStats {
        kvm: g.chosen(|g| KvmRecord {
            vm: g.opt(|g| g.named(kvm_value)),
            vcpus: g.items(|g| KvmVcpuRecord {
                id: g.u32(),
                counters: g.named(kvm_value),
            }),
        }),
        perf: g.chosen(|g| g.named(Gen::u64)),
        iothreads: g.chosen(|g| {
            g.items(|g| IothreadRecord {
                id: g.u32(),
                poll_max_ns: g.opt(Gen::u64),
                poll_grow: g.opt(Gen::u64),
                poll_shrink: g.opt(Gen::u64),
            })
        }),
        dirtyrate: g.chosen(|g| DirtyRateRecord {
            status: g.opt(|g| g.pick(DirtyRateStatus::ALL)),
            start_unix_s: g.opt(Gen::i64),
            period_s: g.opt(Gen::i64),
            mode: g.opt_arc(),
            mib_per_s: g.opt(Gen::u64),
            vcpus: g.items(|g| DirtyRateVcpuRecord {
                id: g.u32(),
                mib_per_s: g.opt(Gen::u64),
            }),
        }),
    }
}

fn collect(g: &mut Gen) -> CollectInfo {
    const SOURCES: [Source; 4] = [
        Source::Bulk,
        Source::PerDomain,
        Source::None,
        Source::Unsupported,
    ];
    let source = |g: &mut Gen| g.pick(&SOURCES);
    CollectInfo {
        sources: GroupSources {
            state: source(g),
            cpu: source(g),
            vcpus: source(g),
            balloon: source(g),
            disks: source(g),
            nics: source(g),
            kvm: g.opt(source),
            perf: g.opt(source),
            iothreads: g.opt(source),
            bandwidth_monitors: g.opt(source),
            dirtyrate: g.opt(source),
        },
        interval_s: g.opt(Gen::f64),
        duration_ms: g.f64(),
        missing: g.items(|g| Missing {
            field: g.text(),
            reason: g.text(),
        }),
        control: g.opt(|g| ControlRecord {
            state: g.pick(ControlState::ALL),
            since_ms: g.u64(),
            reason: g.opt(|g| g.pick(ControlReason::ALL)),
        }),
    }
}
