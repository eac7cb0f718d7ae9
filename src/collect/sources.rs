//! Where each statistics group comes from on a connection (the cycle line's `paths`)
//! and for one domain (its record's `collect.sources`): the bulk call, per-domain calls,
//! nowhere this cycle, or `unsupported` (an opt-in group the driver refuses in bulk,
//! with no per-domain equivalent).

use super::build::missing;
use super::connection::Connection;
use super::stats::{Group, RawStats};
use crate::record::{GroupSources, Missing, Source};

/// How `group` is collected on this connection.
pub fn path_of(connection: &Connection, group: Group) -> Source {
    if connection.in_bulk(group) {
        Source::Bulk
    } else if !connection.groups().per_domain(group) {
        Source::None // not asked for
    } else if group.is_opt_in() {
        Source::Unsupported
    } else {
        Source::PerDomain
    }
}

/// How `group` was filled for one domain this cycle.
pub fn source_of(connection: &Connection, group: Group, raw: &RawStats) -> Source {
    match path_of(connection, group) {
        Source::Unsupported => Source::Unsupported,
        path if raw.has(group) => path,
        _ => Source::None,
    }
}

/// The cycle line's `paths`.
pub fn paths(connection: &Connection) -> GroupSources {
    sources(connection, |group| path_of(connection, group))
}

/// Each group's source for an active domain; a default group that came back empty from
/// the bulk call was skipped by NOWAIT (the domain was busy with a job) and is reported
/// missing. An opt-in group that came back empty simply has nothing to say (no perf
/// event enabled, no IOThread, not a KVM guest).
pub fn group_sources(
    connection: &Connection,
    raw: &RawStats,
    missing_fields: &mut Vec<Missing>,
) -> GroupSources {
    sources(connection, |group| {
        let source = source_of(connection, group, raw);
        if source == Source::None && connection.in_bulk(group) && !group.is_opt_in() {
            missing_fields.push(missing(
                record_field(group),
                "not returned by the bulk call (domain busy with a job)",
            ));
        }
        source
    })
}

/// An inactive domain's sources: its state, and `none` for every chosen opt-in group
/// (their fields are then `null`, not absent).
pub fn inactive_sources(connection: &Connection, raw: &RawStats) -> GroupSources {
    sources(connection, |group| match path_of(connection, group) {
        Source::Unsupported => Source::Unsupported,
        _ if group == Group::State => source_of(connection, group, raw),
        _ => Source::None,
    })
}

/// Sources from `source`, asked once per group, opt-in groups only when chosen.
fn sources(connection: &Connection, mut source: impl FnMut(Group) -> Source) -> GroupSources {
    let wanted = connection.wanted_groups;
    let mut opt_in = |group: Group| (wanted & group.bit() != 0).then(|| source(group));
    let (kvm, perf, iothreads, bandwidth_monitors, dirtyrate) = (
        opt_in(Group::Vm),
        opt_in(Group::Perf),
        opt_in(Group::Iothread),
        opt_in(Group::Memory),
        opt_in(Group::Dirtyrate),
    );
    GroupSources {
        state: source(Group::State),
        cpu: source(Group::CpuTotal),
        vcpus: source(Group::Vcpu),
        balloon: source(Group::Balloon),
        disks: source(Group::Block),
        nics: source(Group::Interface),
        kvm,
        perf,
        iothreads,
        bandwidth_monitors,
        dirtyrate,
    }
}

/// The record field a group fills, as `collect.missing` names it.
fn record_field(group: Group) -> &'static str {
    match group {
        Group::State => "state",
        Group::CpuTotal => "cpu",
        Group::Vcpu => "cpu.vcpus",
        Group::Balloon => "memory.balloon",
        Group::Block => "disks",
        Group::Interface => "nics",
        Group::Vm => "kvm",
        Group::Perf => "perf",
        Group::Iothread => "iothreads",
        Group::Memory => "memory.bandwidth_monitors",
        Group::Dirtyrate => "dirtyrate",
    }
}
