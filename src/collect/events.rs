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

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crate::libvirt::domain_events::{DomainEvent, EventSink};

/// Stands between libvirt's callbacks and the daemon's sink.
pub struct EventRouter {
    next: Arc<dyn EventSink>,
    /// UUIDs whose inventory an event made stale, until the next cycle takes them.
    stale: Mutex<HashSet<String>>,
}

impl EventRouter {
    pub fn new(next: Arc<dyn EventSink>) -> Self {
        Self {
            next,
            stale: Mutex::new(HashSet::new()),
        }
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
    fn deliver(&self, event: DomainEvent) {
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
    use serde_json::{Map, Value};

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
}
