//! The per-domain path: one call per statistic, for groups the driver does not serve in
//! bulk (libvirt's test driver serves only `state`). Fills the same [`RawStats`] as the
//! bulk path, each value stamped with the moment its call returned. Calls the driver
//! refuses are remembered per domain and not retried; calls left behind by a hung
//! guest are bounded like the bulk call and not repeated while they hang
//! ([`bounded_fill`]).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use virt::domain::Domain;

use super::bounded::Bounded;
use super::build::missing;
use super::connection::BulkGroups;
use super::inventory::Inventory;
use super::stats::{Group, RawDisk, RawNic, RawStats};
use crate::libvirt::vcpus::get_vcpus;
use crate::libvirt::{ErrorClass, LibvirtError};
use crate::record::Missing;

/// A call that the driver refused as unsupported, by kind and device index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    Info,
    Vcpus,
    Memory,
    Block(usize),
    BlockInfo(usize),
    Interface(usize),
}

/// Why the per-domain path stopped early for a domain.
#[derive(Debug)]
pub enum Stop {
    /// The domain was undefined or destroyed mid-cycle (NO_DOMAIN).
    Vanished,
    /// The domain stopped running mid-cycle (OPERATION_INVALID).
    Stopped,
    /// The connection broke: the cycle ends.
    Connection(LibvirtError),
}

/// What a domain's per-domain calls leave for the next cycle.
#[derive(Debug, Default)]
pub struct Remembered {
    /// The calls the driver refused: not asked again.
    pub unsupported: HashSet<Call>,
    /// When the calls were left behind, not answering.
    pub stuck_since: Option<Instant>,
}

/// The per-domain calls for the groups the driver does not serve in bulk, bounded like
/// the bulk call: on the collector's caller thread, at most the call time-out. A domain
/// whose calls were left behind is not asked again while calls are still stuck; its
/// record names the hang in `collect.missing`.
pub fn bounded_fill(
    domain: &Domain,
    groups: BulkGroups,
    inventory: &Arc<Inventory>,
    remembered: &mut Remembered,
    raw: &mut RawStats,
    missing_fields: &mut Vec<Missing>,
    bounded: &mut Bounded,
) -> Result<(), Stop> {
    if !needs_calls(groups) {
        return fill(
            domain,
            groups,
            inventory,
            raw,
            &mut remembered.unsupported,
            missing_fields,
        );
    }
    if let Some(since) = remembered.stuck_since {
        if bounded.abandoned() > 0 {
            missing_fields.push(missing(
                "*",
                format!(
                    "per-domain calls stuck for {:.1} s (a hung guest); not asked again until they return",
                    since.elapsed().as_secs_f64()
                ),
            ));
            return Ok(());
        }
        remembered.stuck_since = None;
    }
    let domain = domain.clone();
    let inventory = Arc::clone(inventory);
    let mut unsupported = std::mem::take(&mut remembered.unsupported);
    let mut filled = raw.clone();
    let outcome = bounded.run("the per-domain calls", move || {
        let mut missing = Vec::new();
        let outcome = fill(
            &domain,
            groups,
            &inventory,
            &mut filled,
            &mut unsupported,
            &mut missing,
        );
        (outcome, filled, unsupported, missing)
    });
    match outcome {
        Ok((outcome, filled, unsupported, missing)) => {
            *raw = filled;
            remembered.unsupported = unsupported;
            missing_fields.extend(missing);
            outcome
        }
        Err(timeout) => {
            remembered.stuck_since = Some(Instant::now());
            missing_fields.push(missing("*", timeout.message));
            Ok(())
        }
    }
}

/// Whether [`fill`] has any call to make: some group is not served in bulk.
pub fn needs_calls(groups: BulkGroups) -> bool {
    [
        Group::CpuTotal,
        Group::Balloon,
        Group::Vcpu,
        Group::Block,
        Group::Interface,
    ]
    .into_iter()
    .any(|group| groups.per_domain(group))
}

/// Fills in `raw` every group the connection does not serve in bulk.
pub fn fill(
    domain: &Domain,
    connection: BulkGroups,
    inventory: &Inventory,
    raw: &mut RawStats,
    unsupported: &mut HashSet<Call>,
    missing_fields: &mut Vec<Missing>,
) -> Result<(), Stop> {
    let mut calls = Calls {
        unsupported,
        missing_fields,
    };
    let need_info = connection.per_domain(Group::CpuTotal) || connection.per_domain(Group::Balloon);
    let mut vcpu_count = inventory.vcpus_current.or(inventory.vcpus_max);
    if need_info {
        if let Some(info) = calls.run(Call::Info, || "cpu".to_string(), || domain.info())? {
            if connection.per_domain(Group::CpuTotal) {
                raw.cpu_time_ns = Some(info.cpu_time);
                raw.cpu_read_at = Some(Instant::now());
                raw.mark(Group::CpuTotal);
            }
            if connection.per_domain(Group::Balloon) {
                raw.current_kib = Some(info.memory);
                raw.max_kib = Some(info.max_mem);
            }
            if raw.state.is_none() {
                raw.state = Some(info.state.to_raw() as i32);
            }
            vcpu_count = Some(info.nr_virt_cpu);
        }
    }
    if connection.per_domain(Group::Vcpu) {
        let max = vcpu_count.unwrap_or(0);
        if let Some(vcpus) = calls.run(
            Call::Vcpus,
            || "cpu.vcpus".to_string(),
            || get_vcpus(domain, max),
        )? {
            raw.vcpus_read_at = Some(Instant::now());
            raw.vcpus = vcpus
                .into_iter()
                .map(|v| super::stats::RawVcpu {
                    delay_ns: None,
                    wait_ns: None,
                    id: v.number,
                    state: Some(v.state),
                    time_ns: Some(v.cpu_time_ns),
                })
                .collect();
            raw.mark(Group::Vcpu);
        }
    }
    if connection.per_domain(Group::Balloon) {
        if let Some(stats) = calls.run(
            Call::Memory,
            || "memory.balloon".to_string(),
            || domain.memory_stats(0),
        )? {
            for stat in stats {
                apply_memory_tag(raw, stat.tag, stat.val);
            }
            raw.mark(Group::Balloon);
        }
    }
    if connection.per_domain(Group::Block) {
        for (index, disk) in inventory.disks.iter().enumerate() {
            let Some(dev) = &disk.dev else {
                continue; // nothing to ask a drive without a target about
            };
            if disk.path.is_none() {
                // An empty drive: asked as Nova asks every target, and what the driver
                // answers is kept; a refusal is no missing field.
                match domain.block_stats(dev) {
                    Ok(s) => raw.disks.push(block_counters(dev, &s, Instant::now())),
                    Err(e) => {
                        let e = LibvirtError::from(e);
                        if e.class() == ErrorClass::Connection {
                            return Err(Stop::Connection(e));
                        }
                    }
                }
                continue;
            }
            let field = || format!("disks[{dev}]");
            if let Some(s) = calls.run(Call::Block(index), field, || domain.block_stats(dev))? {
                let read_at = Instant::now();
                let sizes =
                    calls.run(Call::BlockInfo(index), field, || domain.block_info(dev, 0))?;
                raw.disks.push(RawDisk {
                    allocation: sizes.as_ref().map(|b| b.allocation),
                    capacity: sizes.as_ref().map(|b| b.capacity),
                    physical: sizes.as_ref().map(|b| b.physical),
                    ..block_counters(dev, &s, read_at)
                });
            }
        }
        raw.mark(Group::Block);
    }
    if connection.per_domain(Group::Interface) {
        for (index, nic) in inventory.nics.iter().enumerate() {
            // libvirt finds a NIC by its host device, or by MAC where it has none.
            let Some(key) = nic.dev.as_ref().or(nic.mac.as_ref()) else {
                continue;
            };
            let field = || format!("nics[{key}]");
            if let Some(s) = calls.run(Call::Interface(index), field, || {
                domain.interface_stats(key)
            })? {
                raw.nics.push(RawNic {
                    read_at: Some(Instant::now()),
                    name: Some(key.clone()),
                    rx_bytes: u64::try_from(s.rx_bytes).ok(),
                    rx_pkts: u64::try_from(s.rx_packets).ok(),
                    rx_errs: u64::try_from(s.rx_errs).ok(),
                    rx_drop: u64::try_from(s.rx_drop).ok(),
                    tx_bytes: u64::try_from(s.tx_bytes).ok(),
                    tx_pkts: u64::try_from(s.tx_packets).ok(),
                    tx_errs: u64::try_from(s.tx_errs).ok(),
                    tx_drop: u64::try_from(s.tx_drop).ok(),
                });
            }
        }
        raw.mark(Group::Interface);
    }
    Ok(())
}

/// A disk's counters from `virDomainBlockStats` (libvirt's -1 is "not available"),
/// read when that call returned.
fn block_counters(
    dev: &std::sync::Arc<str>,
    s: &virt::domain::BlockStats,
    read_at: Instant,
) -> RawDisk {
    RawDisk {
        read_at: Some(read_at),
        name: Some(dev.clone()),
        rd_reqs: u64::try_from(s.rd_req).ok(),
        rd_bytes: u64::try_from(s.rd_bytes).ok(),
        wr_reqs: u64::try_from(s.wr_req).ok(),
        wr_bytes: u64::try_from(s.wr_bytes).ok(),
        errors: u64::try_from(s.errs).ok(),
        ..RawDisk::default()
    }
}

/// `virDomainMemoryStatTags` onto the balloon fields.
fn apply_memory_tag(raw: &mut RawStats, tag: u32, value: u64) {
    let b = &mut raw.balloon;
    let slot = match tag {
        0 => &mut b.swap_in,
        1 => &mut b.swap_out,
        2 => &mut b.major_fault,
        3 => &mut b.minor_fault,
        4 => &mut b.unused,
        5 => &mut b.available,
        6 => &mut b.actual,
        7 => &mut b.rss,
        8 => &mut b.usable,
        9 => &mut b.last_update,
        10 => &mut b.disk_caches,
        11 => &mut b.hugetlb_pgalloc,
        12 => &mut b.hugetlb_pgfail,
        _ => return,
    };
    *slot = Some(value);
}

/// Runs calls with the shared error policy.
struct Calls<'a> {
    unsupported: &'a mut HashSet<Call>,
    missing_fields: &'a mut Vec<Missing>,
}

impl Calls<'_> {
    /// `field` names the field for `missing`; it is only built on failure.
    /// `Ok(Some(value))` on success; `Ok(None)` when the field is missing for this cycle
    /// (recorded in `missing`); `Err` when the domain or the connection is gone.
    fn run<T, E: Into<LibvirtError>>(
        &mut self,
        call: Call,
        field: impl FnOnce() -> String,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<Option<T>, Stop> {
        if self.unsupported.contains(&call) {
            self.missing_fields
                .push(missing(field(), "not supported by the driver"));
            return Ok(None);
        }
        let error = match f() {
            Ok(value) => return Ok(Some(value)),
            Err(e) => e.into(),
        };
        match error.class() {
            ErrorClass::Churn if error.code == virt::sys::VIR_ERR_NO_DOMAIN as i32 => {
                Err(Stop::Vanished)
            }
            ErrorClass::Churn => Err(Stop::Stopped),
            ErrorClass::Connection => Err(Stop::Connection(error)),
            ErrorClass::Unsupported => {
                self.unsupported.insert(call);
                self.missing_fields
                    .push(missing(field(), "not supported by the driver"));
                Ok(None)
            }
            ErrorClass::Other => {
                self.missing_fields
                    .push(missing(field(), error.to_string()));
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_tags_map_onto_balloon_fields() {
        let mut raw = RawStats::default();
        for (tag, value) in [
            (6, 524_288),
            (7, 200_000),
            (5, 500_000),
            (8, 310_000),
            (9, 17),
            (99, 1),
        ] {
            apply_memory_tag(&mut raw, tag, value);
        }
        assert_eq!(raw.balloon.actual, Some(524_288));
        assert_eq!(raw.balloon.rss, Some(200_000));
        assert_eq!(raw.balloon.available, Some(500_000));
        assert_eq!(raw.balloon.usable, Some(310_000));
        assert_eq!(raw.balloon.last_update, Some(17));
        assert_eq!(raw.balloon.swap_in, None);
    }
}
