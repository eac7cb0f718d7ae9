//! Domain events on libvirt's test driver, in-process: delivered by the collector's
//! connection, turned into schema-valid event lines, and keeping the inventory current.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use virt::connect::Connect;
use virtdiag::collect::events::{EventSink, ReceivedEvent};
use virtdiag::collect::{Collector, CollectorConfig, DomainFilter};
use virtdiag::daemon::events::EventLines;
use virtdiag::query::answers::Latest;
use virtdiag::record::event::{
    DomainEvent, Known, Lifecycle, ResumedDetail, StartedDetail, StoppedDetail, SuspendedDetail,
};

#[derive(Default)]
struct Recorder(Mutex<Vec<ReceivedEvent>>);

impl EventSink for Recorder {
    fn deliver(&self, event: ReceivedEvent) {
        self.0.lock().unwrap().push(event);
    }
}

impl Recorder {
    /// Waits until `count` events arrived (libvirt's event thread delivers them).
    fn wait_for(&self, count: usize) -> Vec<ReceivedEvent> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let events = self.0.lock().unwrap().clone();
            if events.len() >= count || Instant::now() > deadline {
                return events;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn collector_with_events(uri: &str) -> (Collector, Arc<Recorder>) {
    let mut collector = Collector::new(CollectorConfig {
        uri: uri.to_string(),
        read_only: false,
        host: "test-host".into(),
        filter: DomainFilter::default(),
        groups: virtdiag::collect::stats::Group::all_bits(),
    });
    let recorder = Arc::new(Recorder::default());
    collector.enable_events(recorder.clone());
    (collector, recorder)
}

#[test]
fn lifecycle_events_arrive_as_they_happen_and_make_valid_lines() {
    let (mut collector, recorder) = collector_with_events(&common::fixture_uri(3));
    let first = collector.collect();
    assert!(first.cycle.error.is_none());
    let conn: Connect = collector.libvirt().unwrap().clone();
    let domain = conn.lookup_domain_by_name("vm-00001").unwrap();
    let started = Instant::now();
    domain.suspend().unwrap();
    domain.resume().unwrap();
    domain.destroy().unwrap();
    domain.create().unwrap();
    let events = recorder.wait_for(4);
    println!("4 events in {:?}", started.elapsed());
    let seen: Vec<&DomainEvent> = events.iter().map(|e| &e.event).collect();
    let expected = [
        Lifecycle::Suspended(Known::Named(SuspendedDetail::Paused)),
        Lifecycle::Resumed(Known::Named(ResumedDetail::Unpaused)),
        Lifecycle::Stopped(Known::Named(StoppedDetail::Destroyed)),
        Lifecycle::Started(Known::Named(StartedDetail::Booted)),
    ]
    .map(DomainEvent::Lifecycle);
    assert_eq!(seen, expected.iter().collect::<Vec<_>>());
    assert!(events.iter().all(|e| e.name == "vm-00001"));
    assert_eq!(events[0].uuid, common::fixture::uuid_for(1));

    // Each becomes a schema-valid line carrying the state the event leaves.
    let latest = Latest::new(
        first.seq,
        first.records.clone(),
        Arc::new(Vec::new()),
        Vec::new(),
    );
    let mut lines = EventLines::default();
    let host: Arc<str> = Arc::from("test-host");
    let states: Vec<Value> = events
        .into_iter()
        .map(|event| {
            let line = lines.line(event, &host, &latest, Instant::now()).unwrap();
            let value: Value = serde_json::from_slice(&line).unwrap();
            common::assert_valid(&value);
            value["domain"]["state"].clone()
        })
        .collect();
    assert_eq!(states, ["paused", "running", "shutoff", "running"]);
}

#[test]
fn a_metadata_change_is_in_the_very_next_record() {
    let (mut collector, recorder) = collector_with_events(&common::fixture_uri(2));
    let first = collector.collect();
    let before = first
        .records
        .iter()
        .find(|r| &*r.domain.name == "vm-00000")
        .unwrap();
    assert_eq!(before.nova, None);
    let conn: Connect = collector.libvirt().unwrap().clone();
    let domain = conn.lookup_domain_by_name("vm-00000").unwrap();
    let nova = "<instance><name>web-7</name><flavor name=\"m1.small\"/></instance>";
    domain
        .set_metadata(
            virt::sys::VIR_DOMAIN_METADATA_ELEMENT as i32,
            Some(nova),
            Some("nova"),
            Some("http://openstack.org/xmlns/libvirt/nova/1.1"),
            0,
        )
        .unwrap();
    let events = recorder.wait_for(1);
    assert!(
        events
            .iter()
            .any(|e| matches!(e.event, DomainEvent::MetadataChanged { .. })),
        "{events:?}"
    );
    // No device count changed, no restart: only the event makes the collector read the
    // XML again.
    let second = collector.collect();
    let after = second
        .records
        .iter()
        .find(|r| &*r.domain.name == "vm-00000")
        .unwrap();
    let nova = after
        .nova
        .as_ref()
        .expect("the new metadata is in the next record");
    assert_eq!(nova.instance.as_deref(), Some("web-7"));
    assert_eq!(nova.flavor.as_deref(), Some("m1.small"));
    assert_eq!(second.cycle.inventory_fetches, 1);
}
