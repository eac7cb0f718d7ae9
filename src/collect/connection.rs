//! The collector's libvirt connection: open, keepalive, and which statistics groups the
//! driver serves in bulk (probed once per connection).

use std::sync::Arc;

use virt::connect::Connect;
use virt::sys;

use super::stats::Group;
use crate::libvirt::bulk::BulkStats;
use crate::libvirt::domain_events::{self, RawEventSink, Registration};
use crate::libvirt::events::ensure_event_loop;
use crate::libvirt::{ErrorClass, LibvirtError};
use crate::{log_debug, log_warn};

const KEEPALIVE_INTERVAL_S: i32 = 5;
const KEEPALIVE_COUNT: u32 = 3;

/// The statistics groups a connection serves in bulk, and the ones the configuration
/// asks for (`VIR_DOMAIN_STATS_*` bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkGroups {
    pub bulk: u32,
    pub wanted: u32,
}

impl BulkGroups {
    pub fn in_bulk(self, group: Group) -> bool {
        self.bulk & group.bit() != 0
    }

    /// Asked for, and not served in bulk: the per-domain calls fill it.
    pub fn per_domain(self, group: Group) -> bool {
        self.wanted & group.bit() != 0 && !self.in_bulk(group)
    }
}

/// An open connection and what its driver supports.
pub struct Connection {
    pub conn: Connect,
    /// Groups the bulk call serves (`VIR_DOMAIN_STATS_*` bits), of those asked for.
    pub bulk_groups: u32,
    /// Groups the configuration asks for.
    pub wanted_groups: u32,
    /// Flags for the bulk call (NOWAIT where the driver accepts it).
    pub bulk_flags: u32,
    /// The domain event callbacks on this connection (deregistered on drop).
    _events: Option<Registration>,
}

impl Connection {
    /// Opens `uri` (read-only unless told otherwise), turns on keepalive where the driver
    /// has it, registers domain events for `events`, and probes the bulk groups.
    pub fn open(
        uri: &str,
        read_only: bool,
        events: Option<Arc<dyn RawEventSink>>,
        wanted_groups: u32,
    ) -> Result<Self, LibvirtError> {
        if let Err(e) = ensure_event_loop() {
            log_warn!("no libvirt event loop, so no keepalive: {e}");
        }
        let conn = if read_only {
            Connect::open_read_only(Some(uri))
        } else {
            Connect::open(Some(uri))
        }
        .map_err(LibvirtError::from)?;
        if let Err(e) = conn.set_keep_alive(KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT) {
            log_debug!(
                "keepalive not available on {uri}: {}",
                LibvirtError::from(e)
            );
        }
        let registration = events.and_then(|sink| match domain_events::register(&conn, sink) {
            Ok(registration) => Some(registration),
            Err(e) => {
                log_warn!("no domain events from {uri}: {e}");
                None
            }
        });
        let (bulk_groups, bulk_flags) = probe(&conn, wanted_groups)?;
        Ok(Self {
            conn,
            bulk_groups,
            wanted_groups,
            bulk_flags,
            _events: registration,
        })
    }

    pub fn in_bulk(&self, group: Group) -> bool {
        self.groups().in_bulk(group)
    }

    /// The groups served in bulk, as a value a call on another thread can take.
    pub fn groups(&self) -> BulkGroups {
        BulkGroups {
            bulk: self.bulk_groups,
            wanted: self.wanted_groups,
        }
    }

    /// Lets go of a connection that has a call left behind on it: deregistering its
    /// events and closing it would wait for that call (observed: until the stuck QEMU
    /// resumes), so that happens on a thread of its own, never the collector's.
    pub fn abandon(self) {
        let spawned = std::thread::Builder::new()
            .name("libvirt-close".into())
            .spawn(move || drop(self));
        if let Err(e) = spawned {
            log_warn!("cannot start a thread to close an abandoned connection: {e}");
        }
    }

    /// Whether libvirt still considers the connection usable.
    pub fn is_alive(&self) -> bool {
        self.conn.is_alive().unwrap_or(false)
    }
}

/// Which groups the driver serves in bulk, and whether it takes NOWAIT (so a domain
/// whose job is held by a hung call is skipped instead of waited for). With
/// ENFORCE_STATS a driver refuses a group it cannot serve instead of silently returning
/// nothing. One call for every wanted group first: QEMU serves them all, so connecting
/// costs one bulk call (on a saturated host each call can take seconds, and seven of
/// them overran the connect's bound); only a driver that refuses it (the test driver)
/// is asked group by group.
fn probe(conn: &Connect, wanted: u32) -> Result<(u32, u32), LibvirtError> {
    let enforce = sys::VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS;
    let nowait = sys::VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT;
    match BulkStats::get_all(conn, wanted, enforce | nowait) {
        Ok(_) => return Ok((wanted, nowait)),
        Err(e) if e.class() == ErrorClass::Connection => return Err(e),
        Err(e) => log_debug!("bulk call of every wanted group refused ({e}); asking each"),
    }
    let flags = match BulkStats::get_all(conn, Group::State.bit(), nowait) {
        Ok(_) => nowait,
        Err(e) if e.class() == ErrorClass::Connection => return Err(e),
        Err(e) => {
            log_debug!("bulk flag NOWAIT not supported: {e}");
            0
        }
    };
    let mut groups = 0;
    for group in Group::KNOWN.into_iter().filter(|g| wanted & g.bit() != 0) {
        match BulkStats::get_all(conn, group.bit(), enforce | flags) {
            Ok(_) => groups |= group.bit(),
            Err(e) if e.class() == ErrorClass::Connection => return Err(e),
            Err(e) => log_debug!("bulk group {} not supported: {e}", group.name()),
        }
    }
    Ok((groups, flags))
}
