//! The router: typed events from raw arguments, the inventory marked stale, devices
//! annotated from the inventory.

use super::*;
use crate::libvirt::domain_events::RawArgs;
use crate::record::event::{Device, Known, StartedDetail, SuspendedDetail};

#[derive(Default)]
struct Keep(Mutex<Vec<ReceivedEvent>>);

impl EventSink for Keep {
    fn deliver(&self, event: ReceivedEvent) {
        self.0.lock().unwrap().push(event);
    }
}

fn raw(uuid: &str, args: RawArgs) -> RawEvent {
    RawEvent {
        name: "vm".into(),
        uuid: uuid.into(),
        id: Some(1),
        args,
    }
}

#[test]
fn device_and_metadata_events_mark_the_inventory_stale_and_pass_on() {
    let keep = Arc::new(Keep::default());
    let router = EventRouter::new(keep.clone());
    let alias = Some("net0".to_string());
    router.deliver(raw("added", RawArgs::DeviceAdded { dev_alias: alias }));
    router.deliver(raw("reboot", RawArgs::Reboot));
    let lifecycle = |event, detail| RawArgs::Lifecycle { event, detail };
    router.deliver(raw("suspended", lifecycle(3, 0)));
    router.deliver(raw("started", lifecycle(2, 0)));
    let seen = keep.0.lock().unwrap();
    assert_eq!(seen.len(), 4);
    assert_eq!(
        seen[2].event,
        DomainEvent::Lifecycle(Lifecycle::Suspended(Known::Named(SuspendedDetail::Paused)))
    );
    assert_eq!(
        seen[3].event,
        DomainEvent::Lifecycle(Lifecycle::Started(Known::Named(StartedDetail::Booted)))
    );
    assert!(!seen[0].ts.is_empty());
    let stale = router.take_stale();
    assert_eq!(stale.len(), 2, "{stale:?}");
    assert!(stale.contains("added") && stale.contains("started"));
    assert!(router.take_stale().is_empty());
    let tallies = router.take_tallies();
    assert_eq!(tallies["suspended"].lifecycle, 1);
    assert_eq!(tallies["reboot"].lifecycle, 0);
}

#[test]
fn a_device_event_gets_the_target_and_mac_its_alias_stands_for() {
    let keep = Arc::new(Keep::default());
    let router = EventRouter::new(keep.clone());
    let inventory = Inventory {
        nics: vec![crate::collect::inventory::NicInfo {
            dev: Some("tap7".into()),
            mac: Some("52:54:00:00:00:07".into()),
            alias: Some("net1".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    router.set_aliases("u", device_aliases(&inventory));
    let removed = |alias: &str| RawArgs::DeviceRemoved {
        dev_alias: Some(alias.into()),
    };
    router.deliver(raw("u", removed("net1")));
    router.deliver(raw("u", removed("net9")));
    router.deliver(raw(
        "u",
        RawArgs::BlockThreshold {
            dev: Some("net1".into()),
            path: None,
            threshold: 1,
            excess: 0,
        },
    ));
    let seen = keep.0.lock().unwrap();
    assert_eq!(
        seen[0].event,
        DomainEvent::DeviceRemoved(Device {
            alias: Some("net1".into()),
            target: Some("tap7".into()),
            mac: Some("52:54:00:00:00:07".into()),
        })
    );
    assert_eq!(
        seen[1].event,
        DomainEvent::DeviceRemoved(Device {
            alias: Some("net9".into()),
            ..Device::default()
        })
    );
    assert!(
        matches!(&seen[2].event, DomainEvent::BlockThreshold { device: Some(d), .. } if d == "net1"),
        "a threshold names a target, not an alias: nothing is added"
    );
}
