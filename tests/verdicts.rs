//! The verdict fields against libvirt's test driver, in-process: the cycle's `node`
//! against the driver's own node calls, transitions counted from real lifecycle events,
//! and the two on-demand calls (disk errors, job stats) as the driver answers them.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use virt::connect::Connect;
use virtdiag::collect::events::{EventSink, ReceivedEvent};
use virtdiag::collect::Snapshot;
use virtdiag::libvirt::domain_checks;

use common::collector;

fn validate(snapshot: &Snapshot) {
    for record in &snapshot.records {
        common::assert_valid(&serde_json::to_value(&**record).unwrap());
    }
    common::assert_valid(&serde_json::to_value(&snapshot.cycle).unwrap());
}

#[test]
fn the_node_line_matches_the_drivers_node_calls_and_the_records() {
    let mut c = collector(&common::demo_uri());
    c.collect();
    std::thread::sleep(Duration::from_millis(20));
    let snapshot = c.collect();
    validate(&snapshot);
    let info = c.libvirt().unwrap().node_info().unwrap();
    let node = snapshot
        .cycle
        .node
        .as_ref()
        .expect("a connected cycle has node");
    assert_eq!(node.cpus, Some(info.cpus));
    assert_eq!(node.memory_kib, Some(info.memory));
    // The test driver has no virNodeGetMemoryStats, and its CPU counters never move.
    assert_eq!(node.memory_free_kib, None);
    assert_eq!(node.cpu_utilisation_pct, None);

    let count = |state: &str| {
        snapshot
            .records
            .iter()
            .filter(|r| r.domain.state == state)
            .count()
    };
    assert_eq!(node.domains.running, count("running"));
    assert_eq!(node.domains.paused, count("paused"));
    assert_eq!(node.domains.shutoff, count("shutoff"));
    assert!(node.domains.paused >= 1 && node.domains.shutoff >= 1);
    let running = snapshot
        .records
        .iter()
        .filter(|r| r.domain.state == "running");
    let vcpus: usize = running
        .clone()
        .map(|r| r.cpu.as_ref().unwrap().vcpus.len())
        .sum();
    let memory: u64 = running.map(|r| r.memory.max_kib.unwrap()).sum();
    assert!(vcpus > 0);
    assert_eq!(node.vcpus_running, vcpus as u64);
    assert_eq!(node.memory_max_kib_running, memory);
    let round3 = |x: f64| (x * 1000.0).round() / 1000.0;
    assert_eq!(
        node.vcpu_overcommit,
        Some(round3(vcpus as f64 / f64::from(info.cpus)))
    );
    assert_eq!(
        node.memory_overcommit,
        Some(round3(memory as f64 / info.memory as f64))
    );

    // Without events the agent cannot know transitions or crashes: null, not 0.
    for record in &snapshot.records {
        assert_eq!(record.domain.transitions, Some(None));
        assert_eq!(record.domain.crashes, Some(None));
        assert_eq!(record.job, None);
        assert!(record.disks.iter().all(|d| d.error.is_none()));
    }
    let json = serde_json::to_value(&snapshot.cycle).unwrap();
    assert!(json["node"]["domains"]["running"].is_u64(), "{json}");
}

struct Discard;
impl EventSink for Discard {
    fn deliver(&self, _: ReceivedEvent) {}
}

#[test]
fn transitions_count_the_lifecycle_events_since_the_previous_cycle() {
    let mut c = collector(&common::fixture_uri(3));
    c.enable_events(Arc::new(Discard));
    let first = c.collect();
    validate(&first);
    for record in &first.records {
        assert_eq!(record.domain.transitions, Some(Some(0)));
        assert_eq!(record.domain.crashes, Some(Some(0)));
    }
    let conn: Connect = c.libvirt().unwrap().clone();
    let domain = conn.lookup_domain_by_name("vm-00001").unwrap();
    domain.suspend().unwrap();
    domain.resume().unwrap();
    // libvirt's event thread delivers them: wait until the next cycle sees both.
    let deadline = Instant::now() + Duration::from_secs(5);
    let flapped = loop {
        std::thread::sleep(Duration::from_millis(50));
        let snapshot = c.collect();
        validate(&snapshot);
        let record = snapshot
            .records
            .iter()
            .find(|r| &*r.domain.name == "vm-00001")
            .unwrap()
            .clone();
        let others: Vec<_> = snapshot
            .records
            .iter()
            .filter(|r| &*r.domain.name != "vm-00001")
            .map(|r| r.domain.transitions)
            .collect();
        assert!(others.iter().all(|t| *t == Some(Some(0))), "{others:?}");
        let seen = record.domain.transitions.flatten().unwrap();
        if seen >= 2 || Instant::now() > deadline {
            break seen;
        }
        assert_eq!(seen, 0, "both events arrive before one cycle takes them");
    };
    assert_eq!(flapped, 2, "suspended + resumed");
    let calm = c.collect();
    let record = calm
        .records
        .iter()
        .find(|r| &*r.domain.name == "vm-00001")
        .unwrap();
    assert_eq!(record.domain.transitions, Some(Some(0)), "counted once");
    assert_eq!(record.domain.crashes, Some(Some(0)));
}

#[test]
fn the_on_demand_calls_read_what_the_driver_says() {
    let conn = Connect::open(Some("test:///default")).unwrap();
    let domain = conn.lookup_domain_by_name("test").unwrap();
    // `virsh -c test:///default domblkerror test` says "vda: unspecified error".
    let errors = domain_checks::disk_errors(&domain).unwrap();
    assert_eq!(errors, vec![("vda".to_string(), 1)]);
    // The test driver has no job statistics: an error, not a crash or a fake job.
    let job = domain_checks::job_stats(&domain);
    assert!(job.is_err(), "{job:?}");
}
