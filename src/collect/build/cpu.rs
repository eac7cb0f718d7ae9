//! The CPU part of a record: total and per-vCPU times, and their utilisation between
//! two reads, held to 100 % per vCPU.

use std::time::{Duration, Instant};

use super::opt_in;
use super::{Inventory, Previous, RawStats};
use crate::rates::{between_reads, ms_after, round3, utilisation_pct, within, MAX_VCPUS};
use crate::record::{CpuStats, VcpuRecord, VcpuState};

/// Utilisation in percent of one host CPU over `elapsed`, at most `bound`.
fn pct(prev: Option<u64>, cur: Option<u64>, elapsed: Option<Duration>, bound: f64) -> Option<f64> {
    within(utilisation_pct(prev, cur, elapsed?), bound).map(round3)
}

pub(super) fn cpu_stats(
    raw: &RawStats,
    inventory: &Inventory,
    base: Instant,
    previous: Option<&Previous<'_>>,
) -> CpuStats {
    let prev_cpu = previous.and_then(|p| p.record.cpu.as_ref());
    let read_ms = ms_after(base, raw.cpu_read_at);
    let vcpus_read_ms = ms_after(base, raw.vcpus_read_at);
    let elapsed =
        |prev_ms: Option<f64>, cur_ms: Option<f64>| between_reads(previous?.since, prev_ms, cur_ms);
    let cpu_elapsed = elapsed(prev_cpu.and_then(|c| c.read_ms), read_ms);
    let vcpus_elapsed = elapsed(prev_cpu.and_then(|c| c.vcpus_read_ms), vcpus_read_ms);
    // One vCPU uses at most one host CPU: 100 % each.
    let vcpu_count = raw
        .vcpus
        .len()
        .max(inventory.vcpus_current.or(inventory.vcpus_max).unwrap_or(0) as usize);
    let vcpu_count = if vcpu_count == 0 {
        MAX_VCPUS
    } else {
        vcpu_count
    };
    let vcpus = raw
        .vcpus
        .iter()
        .map(|v| {
            let prev = prev_cpu.and_then(|c| c.vcpus.iter().find(|p| p.id == v.id));
            VcpuRecord {
                id: v.id,
                state: v.state.map(VcpuState::from_libvirt),
                time_ns: v.time_ns,
                delay_ns: v.delay_ns,
                wait_ns: v.wait_ns,
                utilisation_pct: pct(
                    prev.and_then(|p| p.time_ns),
                    v.time_ns,
                    vcpus_elapsed,
                    100.0,
                ),
                steal_pct: pct(
                    prev.and_then(|p| p.delay_ns),
                    v.delay_ns,
                    vcpus_elapsed,
                    100.0,
                ),
            }
        })
        .collect();
    CpuStats {
        time_ns: raw.cpu_time_ns,
        user_ns: raw.cpu_user_ns,
        system_ns: raw.cpu_system_ns,
        haltpoll_success_ns: raw.haltpoll_success_ns,
        haltpoll_fail_ns: raw.haltpoll_fail_ns,
        utilisation_pct: pct(
            prev_cpu.and_then(|c| c.time_ns),
            raw.cpu_time_ns,
            cpu_elapsed,
            100.0 * vcpu_count as f64,
        ),
        overhead_pct: None,
        vcpus,
        read_ms,
        vcpus_read_ms,
        cache_monitors: opt_in::cache_monitors(raw),
    }
}
