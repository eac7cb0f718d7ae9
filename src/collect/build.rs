//! Assembles one [`DomainRecord`] from the inventory, this cycle's raw statistics and
//! the domain's previous record (for rates). Pure: no libvirt, no clock reads.
//!
//! Each value's rate runs between its two reads (`read_ms`, see [`crate::rates`]), and
//! is kept within its physical bound.

use std::sync::Arc;
use std::time::{Duration, Instant};

mod cpu;
mod opt_in;

use super::inventory::Inventory;
use super::stats::{RawDisk, RawNic, RawStats};
use crate::rates::{
    between_reads, change_per_second, fill_pct, full_in_s, latency_ms, ms_after, per_second,
    round3, within, MAX_BYTES_PER_S, MAX_EVENTS_PER_S,
};
use crate::record::{
    BalloonRecord, CollectInfo, CpuStats, DiskRecord, DomainIdentity, DomainRecord, DomainState,
    MemoryStats, Missing, NicRecord, StateReason, SCHEMA_VERSION,
};

/// Everything about one domain's sample that is not a statistic.
pub struct Sample<'a> {
    pub ts: &'a Arc<str>,
    /// The instant `ts` stands for: `read_ms` count from here.
    pub base: Instant,
    pub ts_unix_s: u64,
    pub host: &'a Arc<str>,
    pub seq: u64,
    pub name: Arc<str>,
    pub uuid: Arc<str>,
    pub id: Option<u32>,
    pub active: bool,
    pub inventory: &'a Inventory,
    pub collect: CollectInfo,
}

/// The previous record of the same domain, and the time from its `ts` to this one's.
pub struct Previous<'a> {
    pub record: &'a DomainRecord,
    pub since: Duration,
}

pub fn build_record(
    sample: Sample<'_>,
    raw: &RawStats,
    previous: Option<Previous<'_>>,
) -> DomainRecord {
    // A different hypervisor id means the domain was restarted: its counters started
    // over, so the previous sample gives no rates.
    let previous = previous.filter(|p| p.record.domain.id == sample.id && sample.id.is_some());
    let cpu = sample
        .active
        .then(|| cpu::cpu_stats(raw, sample.inventory, sample.base, previous.as_ref()));
    // The rates' interval: between the two reads of the CPU time, else between the
    // two samples' `ts`.
    let interval = previous.as_ref().map(|p| {
        let read_ms = |c: Option<&CpuStats>| c.and_then(|c| c.read_ms);
        let prev_ms = read_ms(p.record.cpu.as_ref());
        between_reads(p.since, prev_ms, read_ms(cpu.as_ref())).unwrap_or(p.since)
    });
    let mut collect = sample.collect;
    collect.interval_s = interval.map(|e| round3(e.as_secs_f64()));
    let state = raw.state.unwrap_or(if sample.active { 1 } else { 5 });
    let mut memory = memory_stats(raw, sample.inventory, sample.active, sample.ts_unix_s);
    memory.bandwidth_monitors = opt_in::bandwidth_monitors(raw, &collect.sources);

    DomainRecord {
        kind: "domain",
        schema: SCHEMA_VERSION,
        ts: Arc::clone(sample.ts),
        host: Arc::clone(sample.host),
        seq: sample.seq,
        domain: DomainIdentity {
            name: sample.name,
            uuid: sample.uuid,
            id: sample.id,
            state: DomainState::from_libvirt(state),
            reason: StateReason::from_libvirt(
                DomainState::from_libvirt(state),
                raw.reason.unwrap_or(0),
            ),
            // The verdicts (collect/verdicts.rs) fill these and the other verdict fields.
            transitions: Some(None),
            crashes: Some(None),
        },
        nova: sample.inventory.nova.clone(),
        cpu,
        memory,
        disks: disk_records(raw, sample.inventory, sample.base, previous.as_ref()),
        nics: nic_records(raw, sample.inventory, sample.base, previous.as_ref()),
        job: None,
        opt_in: opt_in::opt_in_stats(raw, &collect.sources),
        collect,
    }
}

/// A per-second rate over `elapsed`, at most `bound`.
fn rate(prev: Option<u64>, cur: Option<u64>, elapsed: Option<Duration>, bound: f64) -> Option<f64> {
    within(per_second(prev, cur, elapsed?), bound).map(round3)
}

fn memory_stats(
    raw: &RawStats,
    inventory: &Inventory,
    active: bool,
    now_unix_s: u64,
) -> MemoryStats {
    let max_kib = raw.max_kib.or(inventory.max_memory_kib);
    if !active {
        return MemoryStats {
            max_kib,
            current_kib: None,
            used_kib: None,
            balloon: None,
            bandwidth_monitors: None,
        };
    }
    let b = &raw.balloon;
    let balloon = (*b != Default::default()).then(|| BalloonRecord {
        actual_kib: b.actual,
        unused_kib: b.unused,
        available_kib: b.available,
        usable_kib: b.usable,
        rss_kib: b.rss,
        disk_caches_kib: b.disk_caches,
        swap_in_kib: b.swap_in,
        swap_out_kib: b.swap_out,
        major_faults: b.major_fault,
        minor_faults: b.minor_fault,
        hugetlb_pgalloc: b.hugetlb_pgalloc,
        hugetlb_pgfail: b.hugetlb_pgfail,
        last_update_unix_s: b.last_update.filter(|&t| t > 0),
        last_update_age_s: b
            .last_update
            .filter(|&t| t > 0)
            .map(|t| now_unix_s as i64 - t as i64),
        guest_stats: None,
    });
    MemoryStats {
        max_kib,
        current_kib: raw.current_kib.or(b.actual),
        used_kib: match (b.available, b.usable) {
            (Some(available), Some(usable)) => available.checked_sub(usable),
            _ => None,
        },
        balloon,
        bandwidth_monitors: None,
    }
}

/// Disks in XML order, with their statistics; disks libvirt reports that the XML does
/// not name (a hot-plug between the XML fetch and this cycle) are appended.
fn disk_records(
    raw: &RawStats,
    inventory: &Inventory,
    base: Instant,
    previous: Option<&Previous<'_>>,
) -> Vec<DiskRecord> {
    let stats_for = |dev: Option<&str>| -> Option<&RawDisk> {
        let dev = dev?;
        raw.disks.iter().find(|d| d.name.as_deref() == Some(dev))
    };
    let mut records: Vec<DiskRecord> = inventory
        .disks
        .iter()
        .map(|info| {
            let stats = stats_for(info.dev.as_deref());
            DiskRecord {
                dev: info.dev.clone(),
                bus: info.bus.clone(),
                device: info.device.clone(),
                source_type: info.source_type.clone(),
                path: info
                    .path
                    .clone()
                    .or_else(|| stats.and_then(|s| s.path.clone())),
                ..disk_counters(stats, base)
            }
        })
        .collect();
    for stats in &raw.disks {
        let known = inventory
            .disks
            .iter()
            .any(|info| info.dev.is_some() && info.dev == stats.name);
        if !known {
            records.push(DiskRecord {
                dev: stats.name.clone(),
                path: stats.path.clone(),
                ..disk_counters(Some(stats), base)
            });
        }
    }
    if let Some(previous) = previous {
        for disk in records.iter_mut() {
            let prev = previous
                .record
                .disks
                .iter()
                .find(|p| p.dev.is_some() && p.dev == disk.dev);
            let elapsed = between_reads(previous.since, prev.and_then(|p| p.read_ms), disk.read_ms);
            let bytes = |prev: Option<u64>, cur| rate(prev, cur, elapsed, MAX_BYTES_PER_S);
            let ops = |prev: Option<u64>, cur| rate(prev, cur, elapsed, MAX_EVENTS_PER_S);
            disk.read_bytes_per_s = bytes(prev.and_then(|p| p.read_bytes), disk.read_bytes);
            disk.write_bytes_per_s = bytes(prev.and_then(|p| p.write_bytes), disk.write_bytes);
            disk.read_ops_per_s = ops(prev.and_then(|p| p.read_requests), disk.read_requests);
            disk.write_ops_per_s = ops(prev.and_then(|p| p.write_requests), disk.write_requests);
            disk_interval_figures(disk, prev, elapsed);
        }
    }
    for disk in records.iter_mut() {
        disk.fill_pct = fill_pct(disk.allocation_bytes, disk.capacity_bytes).map(round3);
    }
    records
}

/// Flushes, latencies and growth over the interval, from the previous record.
fn disk_interval_figures(
    disk: &mut DiskRecord,
    prev: Option<&DiskRecord>,
    elapsed: Option<Duration>,
) {
    type Counter = fn(&DiskRecord) -> Option<u64>;
    let latency = |disk: &DiskRecord, time: Counter, requests: Counter| {
        latency_ms(
            prev.and_then(time),
            time(disk),
            prev.and_then(requests),
            requests(disk),
        )
        .map(round3)
    };
    disk.read_latency_ms = latency(disk, |d| d.read_time_ns, |d| d.read_requests);
    disk.write_latency_ms = latency(disk, |d| d.write_time_ns, |d| d.write_requests);
    disk.flush_latency_ms = latency(disk, |d| d.flush_time_ns, |d| d.flush_requests);
    disk.flush_ops_per_s = rate(
        prev.and_then(|p| p.flush_requests),
        disk.flush_requests,
        elapsed,
        MAX_EVENTS_PER_S,
    );
    let growth = elapsed
        .and_then(|elapsed| {
            change_per_second(
                prev.and_then(|p| p.allocation_bytes),
                disk.allocation_bytes,
                elapsed,
            )
        })
        .filter(|g| g.abs() <= MAX_BYTES_PER_S);
    disk.growth_bytes_per_s = growth.map(round3);
    disk.full_in_s = full_in_s(disk.allocation_bytes, disk.capacity_bytes, growth).map(round3);
}

fn disk_counters(stats: Option<&RawDisk>, base: Instant) -> DiskRecord {
    DiskRecord {
        read_ms: ms_after(base, stats.and_then(|s| s.read_at)),
        dev: None,
        bus: None,
        device: None,
        source_type: None,
        path: None,
        read_requests: stats.and_then(|s| s.rd_reqs),
        read_bytes: stats.and_then(|s| s.rd_bytes),
        write_requests: stats.and_then(|s| s.wr_reqs),
        write_bytes: stats.and_then(|s| s.wr_bytes),
        errors: stats.and_then(|s| s.errors),
        read_time_ns: stats.and_then(|s| s.rd_times),
        write_time_ns: stats.and_then(|s| s.wr_times),
        flush_requests: stats.and_then(|s| s.fl_reqs),
        flush_time_ns: stats.and_then(|s| s.fl_times),
        allocation_bytes: stats.and_then(|s| s.allocation),
        capacity_bytes: stats.and_then(|s| s.capacity),
        physical_bytes: stats.and_then(|s| s.physical),
        threshold_bytes: stats.and_then(|s| s.threshold),
        ..DiskRecord::default()
    }
}

/// NICs in XML order with their statistics, matched by host device name; others that
/// libvirt reports are appended.
fn nic_records(
    raw: &RawStats,
    inventory: &Inventory,
    base: Instant,
    previous: Option<&Previous<'_>>,
) -> Vec<NicRecord> {
    let mut used = vec![false; raw.nics.len()];
    let mut records: Vec<NicRecord> = inventory
        .nics
        .iter()
        .map(|info| {
            let position = raw.nics.iter().enumerate().position(|(i, n)| {
                !used[i]
                    && n.name.is_some()
                    && (n.name == info.dev || (info.dev.is_none() && n.name == info.mac))
            });
            if let Some(i) = position {
                used[i] = true;
            }
            NicRecord {
                dev: info.dev.clone(),
                mac: info.mac.clone(),
                model: info.model.clone(),
                kind: info.kind.clone(),
                source: info.source.clone(),
                ..nic_counters(position.map(|i| &raw.nics[i]), base)
            }
        })
        .collect();
    for (i, stats) in raw.nics.iter().enumerate() {
        if !used[i] && stats.name.is_some() {
            records.push(NicRecord {
                dev: stats.name.clone(),
                ..nic_counters(Some(stats), base)
            });
        }
    }
    if let Some(previous) = previous {
        for nic in records.iter_mut() {
            let prev = previous.record.nics.iter().find(|p| {
                (p.dev.is_some() && p.dev == nic.dev) || (p.dev.is_none() && p.mac == nic.mac)
            });
            let elapsed = between_reads(previous.since, prev.and_then(|p| p.read_ms), nic.read_ms);
            let bytes = |prev: Option<u64>, cur| rate(prev, cur, elapsed, MAX_BYTES_PER_S);
            let packets = |prev: Option<u64>, cur| rate(prev, cur, elapsed, MAX_EVENTS_PER_S);
            nic.rx_bytes_per_s = bytes(prev.and_then(|p| p.rx_bytes), nic.rx_bytes);
            nic.tx_bytes_per_s = bytes(prev.and_then(|p| p.tx_bytes), nic.tx_bytes);
            nic.rx_packets_per_s = packets(prev.and_then(|p| p.rx_packets), nic.rx_packets);
            nic.tx_packets_per_s = packets(prev.and_then(|p| p.tx_packets), nic.tx_packets);
        }
    }
    records
}

fn nic_counters(stats: Option<&RawNic>, base: Instant) -> NicRecord {
    NicRecord {
        read_ms: ms_after(base, stats.and_then(|s| s.read_at)),
        dev: None,
        mac: None,
        model: None,
        kind: None,
        source: None,
        rx_bytes: stats.and_then(|s| s.rx_bytes),
        rx_packets: stats.and_then(|s| s.rx_pkts),
        rx_errors: stats.and_then(|s| s.rx_errs),
        rx_drop: stats.and_then(|s| s.rx_drop),
        tx_bytes: stats.and_then(|s| s.tx_bytes),
        tx_packets: stats.and_then(|s| s.tx_pkts),
        tx_errors: stats.and_then(|s| s.tx_errs),
        tx_drop: stats.and_then(|s| s.tx_drop),
        rx_bytes_per_s: None,
        tx_bytes_per_s: None,
        rx_packets_per_s: None,
        tx_packets_per_s: None,
    }
}

/// A `missing` entry.
pub fn missing(field: impl Into<String>, reason: impl Into<String>) -> Missing {
    Missing {
        field: field.into(),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests;
