//! Domain events on the collector's connection: registered with each connection it
//! opens, passed on to the daemon's sink, and used to keep the inventory current.
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

use serde_json::Value;

use super::inventory::Inventory;
use super::verdicts::EventTally;
use crate::libvirt::domain_events::{DomainEvent, EventSink};

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
    fn annotate(&self, event: &mut DomainEvent) {
        let Some(alias) = event.fields.get("device").and_then(Value::as_str) else {
            return;
        };
        let aliases = self.aliases.lock().unwrap_or_else(|p| p.into_inner());
        let Some(device) = aliases
            .get(&event.uuid)
            .and_then(|devices| devices.iter().find(|d| &*d.alias == alias))
        else {
            return;
        };
        let (target, mac) = (device.target.clone(), device.mac.clone());
        drop(aliases);
        if let Some(target) = target {
            event.fields.insert("target".into(), Value::from(&*target));
        }
        if let Some(mac) = mac {
            event.fields.insert("mac".into(), Value::from(&*mac));
        }
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
    match event.event {
        "device_added" | "device_removed" | "metadata_changed" | "tray_change" | "disk_change" => {
            true
        }
        "lifecycle" => matches!(
            event.fields.get("type").and_then(|t| t.as_str()),
            Some("started" | "defined")
        ),
        _ => false,
    }
}

impl EventSink for EventRouter {
    fn deliver(&self, mut event: DomainEvent) {
        if event.event != "block_threshold" {
            self.annotate(&mut event);
        }
        {
            let mut tallies = self.tallies.lock().unwrap_or_else(|p| p.into_inner());
            // Bounded by the domains on the host, as UUIDs repeat; past the bound an
            // unknown UUID is not counted.
            if tallies.len() < 100_000 || tallies.contains_key(&event.uuid) {
                tallies.entry(event.uuid.clone()).or_default().add(&event);
            }
        }
        if changes_inventory(&event) {
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
mod tests {
    use super::*;
    use serde_json::Map;

    struct Count(Mutex<usize>);

    impl EventSink for Count {
        fn deliver(&self, _: DomainEvent) {
            *self.0.lock().unwrap() += 1;
        }
    }

    fn event(name: &'static str, kind: Option<&str>) -> DomainEvent {
        let mut fields = Map::new();
        if let Some(kind) = kind {
            fields.insert("type".into(), Value::from(kind));
        }
        DomainEvent {
            ts: String::new(),
            name: "vm".into(),
            uuid: format!("uuid-{name}"),
            id: Some(1),
            event: name,
            fields,
        }
    }

    #[test]
    fn device_and_metadata_events_mark_the_inventory_stale_and_pass_on() {
        let count = Arc::new(Count(Mutex::new(0)));
        let router = EventRouter::new(count.clone());
        router.deliver(event("device_added", None));
        router.deliver(event("reboot", None));
        router.deliver(event("lifecycle", Some("suspended")));
        router.deliver(event("lifecycle", Some("started")));
        assert_eq!(*count.0.lock().unwrap(), 4);
        let stale = router.take_stale();
        assert_eq!(stale.len(), 2, "{stale:?}");
        assert!(stale.contains("uuid-device_added"));
        assert!(router.take_stale().is_empty());
    }

    #[test]
    fn a_device_event_gets_the_target_and_mac_its_alias_stands_for() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        struct Keep(Arc<Mutex<Vec<DomainEvent>>>);
        impl EventSink for Keep {
            fn deliver(&self, event: DomainEvent) {
                self.0.lock().unwrap().push(event);
            }
        }
        let router = EventRouter::new(Arc::new(Keep(Arc::clone(&seen))));
        let inventory = Inventory {
            nics: vec![crate::collect::inventory::NicInfo {
                dev: Some("tap7".into()),
                mac: Some("52:54:00:00:00:07".into()),
                alias: Some("net1".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        router.set_aliases("uuid-device_removed", device_aliases(&inventory));
        let mut removed = event("device_removed", None);
        removed.fields.insert("device".into(), Value::from("net1"));
        router.deliver(removed);
        let mut unknown = event("device_removed", None);
        unknown.fields.insert("device".into(), Value::from("net9"));
        router.deliver(unknown);
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].fields["target"], "tap7");
        assert_eq!(seen[0].fields["mac"], "52:54:00:00:00:07");
        assert!(!seen[1].fields.contains_key("target"));
    }
}
