//! A domain whose monitor did not answer, named: which groups the bulk call dropped
//! for it (NOWAIT skips a domain busy with a job; a call left behind holds the monitor),
//! and what `virDomainGetControlInfo`, which never waits for the monitor, says about it.
//! The other domains' records stay complete.

use virt::domain::Domain;

use super::build::missing;
use super::connection::Connection;
use super::inventory::Inventory;
use super::stats::{Group, RawStats};
use crate::libvirt::control::get_control_info;
use crate::record::{ControlReason, ControlRecord, ControlState, Missing};

/// The monitor-bound groups the bulk call should have filled for this running domain
/// and did not.
pub fn dropped_groups(
    connection: &Connection,
    raw: &RawStats,
    inventory: &Inventory,
) -> Vec<&'static str> {
    let mut dropped = Vec::new();
    let has_media = inventory.disks.iter().any(|d| d.path.is_some());
    let disk_counters = raw
        .disks
        .iter()
        .any(|d| d.rd_reqs.is_some() || d.wr_reqs.is_some());
    if connection.in_bulk(Group::Block) && has_media && !disk_counters {
        dropped.push("disks");
    }
    if connection.in_bulk(Group::Balloon) && raw.current_kib.is_none() {
        dropped.push("memory.balloon");
    }
    dropped
}

/// Asks the control interface why, and names each dropped group in `missing` with it.
pub fn name_the_monitor(
    domain: &Domain,
    dropped: &[&'static str],
    missing_fields: &mut Vec<Missing>,
) -> Option<ControlRecord> {
    let control = get_control_info(domain).ok().map(|info| {
        let state = ControlState::from_libvirt(info.state);
        ControlRecord {
            state,
            since_ms: info.since_ms,
            reason: (state == ControlState::Error)
                .then(|| ControlReason::from_libvirt(info.details)),
        }
    });
    let why = match &control {
        Some(c) if c.state == ControlState::Job => {
            format!("monitor busy (job) for {:.1} s", seconds(c.since_ms))
        }
        Some(c) if c.state == ControlState::Occupied => {
            format!(
                "monitor occupied by a call for {:.1} s",
                seconds(c.since_ms)
            )
        }
        Some(c) if c.state == ControlState::Error => {
            let reason = c.reason.unwrap_or(ControlReason::Unknown);
            format!("monitor error ({reason})")
        }
        Some(_) => "not returned by the bulk call; the monitor is free now".to_string(),
        None => "not returned by the bulk call; the control state is unknown".to_string(),
    };
    missing_fields.retain(|m| !dropped.contains(&m.field.as_str()));
    missing_fields.extend(dropped.iter().map(|field| missing(*field, why.clone())));
    control
}

fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}
