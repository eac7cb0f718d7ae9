//! Domain events on the collector's connection: registered with each connection it
//! opens, made into typed events ([`decode`]), passed on to the daemon's sink, and used
//! to keep the inventory current.
//!
//! An event that changes what the domain XML says (a device added or removed, new
//! metadata, media changed, a domain started) marks that domain's inventory stale, so
//! the next cycle re-reads its XML: a NIC swapped for one with another MAC shows the new
//! MAC in the very next record. The device-count heuristic stays as a safety net for
//! drivers without events. Events between a lost connection and the next one cannot be
//! had: after a reconnect the collector says so in an agent line and re-reads every
//! inventory.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use super::inventory::Inventory;
use super::verdicts::EventTally;
use crate::libvirt::domain_events::{RawEvent, RawEventSink};
use crate::record::event::{DomainEvent, Lifecycle};

pub mod decode;

/// One domain event as the collector hands it on.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedEvent {
    /// When libvirt delivered it (RFC 3339, UTC).
    pub ts: String,
    pub name: String,
    pub uuid: String,
    /// The hypervisor's id; None for an inactive domain.
    pub id: Option<u32>,
    pub event: DomainEvent,
}

/// Where the collector delivers events. Must not block: it runs on libvirt's event
/// thread.
pub trait EventSink: Send + Sync {
    fn deliver(&self, event: ReceivedEvent);
}

/// Stands between libvirt's callbacks and the daemon's sink.
pub struct EventRouter {
    next: Arc<dyn EventSink>,
    /// UUIDs whose inventory an event made stale, until the next cycle takes them.
    stale: Mutex<HashSet<String>>,
    /// Each domain's devices by alias, from its inventory: device events name a device
    /// by its alias only.
    aliases: Mutex<HashMap<String, Vec<DeviceAlias>>>,
    /// What the events said per domain UUID since the last cycle took them.
    tallies: Mutex<HashMap<String, EventTally>>,
}

/// A device as its inventory knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAlias {
    pub alias: Arc<str>,
    /// The disk's or NIC's `<target dev>`.
    pub target: Option<Arc<str>>,
    /// A NIC's MAC address.
    pub mac: Option<Arc<str>>,
}

/// The aliased devices of an inventory.
pub fn device_aliases(inventory: &Inventory) -> Vec<DeviceAlias> {
    let disks = inventory.disks.iter().filter_map(|d| {
        Some(DeviceAlias {
            alias: d.alias.clone()?,
            target: d.dev.clone(),
            mac: None,
        })
    });
    let nics = inventory.nics.iter().filter_map(|n| {
        Some(DeviceAlias {
            alias: n.alias.clone()?,
            target: n.dev.clone(),
            mac: n.mac.clone(),
        })
    });
    disks.chain(nics).collect()
}

impl EventRouter {
    pub fn new(next: Arc<dyn EventSink>) -> Self {
        Self {
            next,
            stale: Mutex::new(HashSet::new()),
            aliases: Mutex::new(HashMap::new()),
            tallies: Mutex::new(HashMap::new()),
        }
    }

    /// What the collector knows of a domain's devices, after reading its XML.
    pub fn set_aliases(&self, uuid: &str, devices: Vec<DeviceAlias>) {
        let mut aliases = self.aliases.lock().unwrap_or_else(|p| p.into_inner());
        if aliases.len() >= 100_000 {
            aliases.clear(); // bounded whatever the UUIDs
        }
        aliases.insert(uuid.to_string(), devices);
    }

    /// Adds the device's target (and a NIC's MAC) to an event that names it by alias.
    fn annotate(&self, uuid: &str, event: &mut DomainEvent) {
        let Some(device) = event.device_mut() else {
            return;
        };
        let Some(alias) = device.alias.as_deref() else {
            return;
        };
        let aliases = self.aliases.lock().unwrap_or_else(|p| p.into_inner());
        let Some(known) = aliases
            .get(uuid)
            .and_then(|devices| devices.iter().find(|d| &*d.alias == alias))
        else {
            return;
        };
        device.target = known.target.clone();
        device.mac = known.mac.clone();
    }

    /// Each domain's event tally since the last call, emptied.
    pub fn take_tallies(&self) -> HashMap<String, EventTally> {
        std::mem::take(&mut *self.tallies.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The UUIDs whose XML must be read again, emptied.
    pub fn take_stale(&self) -> HashSet<String> {
        std::mem::take(&mut *self.stale.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Whether this event changes what the domain XML says.
pub fn changes_inventory(event: &DomainEvent) -> bool {
    use DomainEvent as E;
    match event {
        E::DeviceAdded(_)
        | E::DeviceRemoved(_)
        | E::MetadataChanged { .. }
        | E::TrayChange { .. }
        | E::DiskChange { .. } => true,
        E::Lifecycle(lifecycle) => {
            matches!(lifecycle, Lifecycle::Started(_) | Lifecycle::Defined(_))
        }
        _ => false,
    }
}

impl RawEventSink for EventRouter {
    fn deliver(&self, raw: RawEvent) {
        let mut event = decode::decode(raw.args);
        self.annotate(&raw.uuid, &mut event);
        let event = ReceivedEvent {
            ts: crate::clock::now_rfc3339(),
            name: raw.name,
            uuid: raw.uuid,
            id: raw.id,
            event,
        };
        {
            let mut tallies = self.tallies.lock().unwrap_or_else(|p| p.into_inner());
            // Bounded by the domains on the host, as UUIDs repeat; past the bound an
            // unknown UUID is not counted.
            if tallies.len() < 100_000 || tallies.contains_key(&event.uuid) {
                tallies
                    .entry(event.uuid.clone())
                    .or_default()
                    .add(&event.event);
            }
        }
        if changes_inventory(&event.event) {
            let mut stale = self.stale.lock().unwrap_or_else(|p| p.into_inner());
            // Bounded by the domains on the host, as UUIDs repeat.
            if stale.len() < 100_000 {
                stale.insert(event.uuid.clone());
            }
        }
        self.next.deliver(event);
    }
}

#[cfg(test)]
mod tests;
