//! The collector against libvirt's embedded test driver, in-process.

mod common;

use std::time::Duration;

use serde_json::Value;
use virt::connect::Connect;
use virtdiag::collect::filter::Selector;
use virtdiag::collect::{Collector, CollectorConfig, DomainFilter, Snapshot};
use virtdiag::record::{DomainRecord, Source};
use virtdiag::views::legacy;

use common::collector;

fn validate_snapshot(snapshot: &Snapshot) {
    for record in &snapshot.records {
        common::assert_valid(&serde_json::to_value(&**record).unwrap());
    }
    common::assert_valid(&serde_json::to_value(&snapshot.cycle).unwrap());
    for event in &snapshot.events {
        common::assert_valid(&serde_json::to_value(event).unwrap());
    }
}

fn by_name<'a>(snapshot: &'a Snapshot, name: &str) -> &'a DomainRecord {
    snapshot
        .records
        .iter()
        .find(|r| &*r.domain.name == name)
        .unwrap_or_else(|| panic!("no record for {name}"))
}

#[test]
fn demo_host_records_validate_and_carry_inventory() {
    let mut c = collector(&common::demo_uri());
    let first = c.collect();
    std::thread::sleep(Duration::from_millis(50));
    let second = c.collect();
    for snapshot in [&first, &second] {
        validate_snapshot(snapshot);
        assert!(snapshot.cycle.connected);
        assert_eq!(snapshot.records.len(), 4);
    }
    assert_eq!(first.events.len(), 1, "one connect event");
    assert!(second.events.is_empty());
    assert_eq!(second.seq, first.seq + 1);

    let web = by_name(&second, "instance-0000002a");
    let nova = web.nova.as_ref().expect("nova metadata");
    assert_eq!(nova.instance.as_deref(), Some("web-1"));
    assert_eq!(nova.flavor.as_deref(), Some("m1.small"));
    assert_eq!(nova.project_name.as_deref(), Some("webshop"));
    let devs: Vec<_> = web
        .disks
        .iter()
        .map(|d| d.dev.as_deref().unwrap())
        .collect();
    assert_eq!(devs, ["vda", "vdb", "hdc"]);
    // An empty CD-ROM is asked too, as Nova asks every target: the test driver answers
    // with counters, and they are kept; it has no media, so no path and no sizes.
    assert!(web.disks[2].read_bytes.is_some(), "{:?}", web.disks[2]);
    assert_eq!(web.disks[2].path, None);
    assert_eq!(web.disks[2].capacity_bytes, None);
    assert!(
        web.disks[0].capacity_bytes.is_some(),
        "virDomainGetBlockInfo's sizes"
    );
    assert_eq!(web.nics.len(), 2);
    assert_eq!(web.memory.max_kib, Some(2048 * 1024));

    let spare = by_name(&second, "spare");
    assert_eq!(spare.domain.state, "shutoff");
    assert_eq!(spare.domain.id, None);
    assert!(spare.cpu.is_none());
    assert_eq!(spare.memory.max_kib, Some(512 * 1024));
    assert_eq!(spare.disks[0].read_bytes, None);
    assert_eq!(by_name(&second, "build-runner").domain.state, "paused");
}

#[test]
fn per_domain_fallback_fills_every_group_the_test_driver_supports() {
    let mut c = collector(&common::fixture_uri(50));
    c.collect();
    std::thread::sleep(Duration::from_millis(20));
    let snapshot = c.collect();
    validate_snapshot(&snapshot);
    assert_eq!(snapshot.records.len(), 50);
    assert_eq!(snapshot.cycle.paths.state, Source::Bulk);
    assert_eq!(snapshot.cycle.paths.cpu, Source::PerDomain);
    for record in &snapshot.records {
        let s = record.collect.sources;
        assert_eq!(s.state, Source::Bulk);
        for group in [s.cpu, s.vcpus, s.balloon, s.disks, s.nics] {
            assert_eq!(group, Source::PerDomain, "{}", record.domain.name);
        }
        assert!(
            record.collect.missing.is_empty(),
            "{:?}",
            record.collect.missing
        );
        let cpu = record.cpu.as_ref().unwrap();
        assert!(cpu.time_ns.is_some() && cpu.utilisation_pct.is_some());
        assert_eq!(cpu.vcpus.len(), 4);
        assert!(cpu
            .vcpus
            .iter()
            .all(|v| v.time_ns.is_some() && v.utilisation_pct.is_some()));
        let balloon = record.memory.balloon.as_ref().unwrap();
        assert!(balloon.actual_kib.is_some() && balloon.rss_kib.is_some());
        assert!(record.memory.used_kib.is_some());
        assert_eq!(record.disks.len(), 2);
        assert_eq!(record.nics.len(), 2);
        for d in &record.disks {
            assert!(
                d.read_bytes.is_some()
                    && d.write_requests.is_some()
                    && d.read_bytes_per_s.is_some()
            );
        }
        for n in &record.nics {
            assert!(n.rx_bytes.is_some() && n.tx_packets.is_some() && n.tx_bytes_per_s.is_some());
        }
    }
    assert_eq!(
        snapshot.cycle.inventory_fetches, 0,
        "XML is fetched only when a domain is new"
    );
}

#[test]
fn values_lie_between_direct_libvirt_readings() {
    let mut c = collector(&common::fixture_uri(50));
    c.collect();
    let conn: Connect = c.libvirt().expect("connected").clone();
    let dom = conn.lookup_domain_by_name("vm-00007").unwrap();
    let before = (
        dom.info().unwrap(),
        dom.block_stats("vdb").unwrap(),
        dom.interface_stats("tap7b").unwrap(),
    );
    let snapshot = c.collect();
    let after = (
        dom.info().unwrap(),
        dom.block_stats("vdb").unwrap(),
        dom.interface_stats("tap7b").unwrap(),
    );
    let record = by_name(&snapshot, "vm-00007");

    let cpu = record.cpu.as_ref().unwrap().time_ns.unwrap();
    assert!(before.0.cpu_time <= cpu && cpu <= after.0.cpu_time);
    assert_eq!(record.memory.max_kib, Some(after.0.max_mem));
    let disk = record
        .disks
        .iter()
        .find(|d| d.dev.as_deref() == Some("vdb"))
        .unwrap();
    let rd = disk.read_bytes.unwrap() as i64;
    assert!(before.1.rd_bytes <= rd && rd <= after.1.rd_bytes);
    let wr = disk.write_requests.unwrap() as i64;
    assert!(before.1.wr_req <= wr && wr <= after.1.wr_req);
    let nic = record
        .nics
        .iter()
        .find(|n| n.dev.as_deref() == Some("tap7b"))
        .unwrap();
    let rx = nic.rx_bytes.unwrap() as i64;
    assert!(before.2.rx_bytes <= rx && rx <= after.2.rx_bytes);
    let tx = nic.tx_packets.unwrap() as i64;
    assert!(before.2.tx_packets <= tx && tx <= after.2.tx_packets);
}

#[test]
fn churn_between_cycles_never_fails_a_cycle() {
    let mut c = collector(&common::fixture_uri(50));
    let first = c.collect();
    assert_eq!(first.records.len(), 50);
    let conn: Connect = c.libvirt().unwrap().clone();

    // Destroy one, destroy and undefine another, suspend a third.
    conn.lookup_domain_by_name("vm-00001")
        .unwrap()
        .destroy()
        .unwrap();
    let gone = conn.lookup_domain_by_name("vm-00002").unwrap();
    gone.destroy().unwrap();
    gone.undefine().unwrap();
    conn.lookup_domain_by_name("vm-00003")
        .unwrap()
        .suspend()
        .unwrap();
    let second = c.collect();
    validate_snapshot(&second);
    assert!(second.cycle.error.is_none());
    assert_eq!(second.records.len(), 49);
    assert_eq!(by_name(&second, "vm-00001").domain.state, "shutoff");
    assert!(by_name(&second, "vm-00001").cpu.is_none());
    assert!(second.records.iter().all(|r| &*r.domain.name != "vm-00002"));
    assert_eq!(by_name(&second, "vm-00003").domain.state, "paused");
    assert!(second.cycle.churned_domains >= 1);

    // A new domain appears with null rates, then real ones.
    let xml = common::fixture::node_xml(1)
        .replace("<node>", "")
        .replace("</node>", "")
        .replace("vm-00000", "newcomer")
        .replace(
            &common::fixture::uuid_for(0),
            "11111111-2222-4333-8444-555555555555",
        );
    conn.create_domain_xml(&xml, 0).unwrap();
    // And the destroyed one is started again: new id, so no rates across the restart.
    conn.lookup_domain_by_name("vm-00001")
        .unwrap()
        .create()
        .unwrap();
    let third = c.collect();
    validate_snapshot(&third);
    let newcomer = by_name(&third, "newcomer");
    assert!(newcomer.cpu.as_ref().unwrap().utilisation_pct.is_none());
    assert!(newcomer.disks[0].read_bytes_per_s.is_none());
    assert!(newcomer.collect.interval_s.is_none());
    assert!(by_name(&third, "vm-00001")
        .cpu
        .as_ref()
        .unwrap()
        .utilisation_pct
        .is_none());
    std::thread::sleep(Duration::from_millis(20));
    let fourth = c.collect();
    let newcomer = by_name(&fourth, "newcomer");
    assert!(newcomer.cpu.as_ref().unwrap().utilisation_pct.is_some());
    assert!(newcomer.disks[0].read_bytes_per_s.is_some());
    assert_eq!(fourth.records.len(), 50);
}

#[test]
fn a_thousand_domains_in_one_cycle() {
    let mut c = collector(&common::fixture_uri(1000));
    c.collect();
    let snapshot = c.collect();
    assert_eq!(snapshot.records.len(), 1000);
    assert_eq!(snapshot.cycle.active, 1000);
    validate_snapshot(&snapshot);
}

#[test]
fn domain_filter_selects_by_glob_and_uuid() {
    let mut c = Collector::new(CollectorConfig {
        uri: common::fixture_uri(50),
        read_only: false,
        host: "h".into(),
        filter: DomainFilter {
            include: Selector::parse_all(&["vm-0001*".into(), common::fixture::uuid_for(42)])
                .unwrap(),
            exclude: Selector::parse_all(&["vm-00019".into()]).unwrap(),
        },
        groups: virtdiag::collect::stats::Group::all_bits(),
    });
    let snapshot = c.collect();
    let mut names: Vec<_> = snapshot
        .records
        .iter()
        .map(|r| r.domain.name.to_string())
        .collect();
    names.sort();
    let mut expected: Vec<String> = (10..19).map(|i| format!("vm-{i:05}")).collect();
    expected.push("vm-00042".into());
    assert_eq!(names, expected);
}

#[test]
fn unreachable_libvirt_gives_a_disconnected_cycle_not_a_failure() {
    let mut c = collector("test:///nonexistent/node.xml");
    let snapshot = c.collect();
    validate_snapshot(&snapshot);
    assert!(!snapshot.cycle.connected);
    assert!(snapshot
        .cycle
        .error
        .as_deref()
        .unwrap()
        .contains("nonexistent"));
    assert_eq!(snapshot.events.len(), 1);
    assert_eq!(snapshot.events[0].event, "libvirt_disconnected");
    assert!(
        c.collect().events.is_empty(),
        "no repeated event while still disconnected"
    );
}

#[test]
fn legacy_view_has_exactly_the_original_keys() {
    let mut c = collector(&common::demo_uri());
    let snapshot = c.collect();
    let web = by_name(&snapshot, "instance-0000002a");
    let keys: Vec<String> = legacy::diagnostics(web).keys().cloned().collect();
    let mut expected: Vec<String> = vec!["cpu0_time".into(), "cpu1_time".into(), "memory".into()];
    // The empty CD-ROM too: Nova lists every target whose call succeeds.
    for dev in ["vda", "vdb", "hdc"] {
        for s in ["read_req", "read", "write_req", "write", "errors"] {
            expected.push(format!("{dev}_{s}"));
        }
    }
    for dev in ["tap5a000001", "tap5a000002"] {
        for s in [
            "rx",
            "rx_packets",
            "rx_errors",
            "rx_drop",
            "tx",
            "tx_packets",
            "tx_errors",
            "tx_drop",
        ] {
            expected.push(format!("{dev}_{s}"));
        }
    }
    // The test driver reports all 13 memoryStats tags.
    for tag in [
        "swap_in",
        "swap_out",
        "major_fault",
        "minor_fault",
        "unused",
        "available",
        "actual",
        "rss",
        "usable",
        "last_update",
        "disk_caches",
        "hugetlb_pgalloc",
        "hugetlb_pgfail",
    ] {
        expected.push(format!("memory-{tag}"));
    }
    expected.sort();
    assert_eq!(keys, expected);
    let line = legacy::line(web);
    assert_eq!(line["domain"], Value::from("instance-0000002a"));
}

#[test]
fn the_default_test_host_and_a_one_domain_host() {
    for (uri, name) in [
        ("test:///default".to_string(), "test"),
        (common::fixture_uri(1), "vm-00000"),
    ] {
        let mut c = collector(&uri);
        c.collect();
        std::thread::sleep(Duration::from_millis(10));
        let snapshot = c.collect();
        validate_snapshot(&snapshot);
        assert_eq!(snapshot.records.len(), 1, "{uri}");
        let record = by_name(&snapshot, name);
        assert_eq!(record.domain.state, "running");
        assert!(record.cpu.as_ref().unwrap().utilisation_pct.is_some());
        assert!(
            record.collect.missing.is_empty(),
            "{:?}",
            record.collect.missing
        );
    }
}

#[test]
fn only_the_chosen_groups_are_collected() {
    use virtdiag::collect::stats::Group;
    let mut c = Collector::new(CollectorConfig {
        uri: common::demo_uri(),
        read_only: false,
        host: "h".into(),
        filter: DomainFilter::default(),
        groups: Group::State.bit() | Group::CpuTotal.bit(),
    });
    let snapshot = c.collect();
    validate_snapshot(&snapshot);
    let web = by_name(&snapshot, "instance-0000002a");
    assert!(
        web.cpu.as_ref().unwrap().time_ns.is_some(),
        "cpu-total was chosen"
    );
    assert!(web.cpu.as_ref().unwrap().vcpus.is_empty(), "vcpu was not");
    assert!(web.disks.iter().all(|d| d.read_bytes.is_none()));
    assert!(web.nics.iter().all(|n| n.rx_bytes.is_none()));
    assert!(web.collect.missing.is_empty(), "{:?}", web.collect.missing);
    assert_eq!(web.collect.sources.disks, Source::None);
    assert_eq!(snapshot.cycle.paths.disks, Source::None);
    assert_eq!(snapshot.cycle.paths.cpu, Source::PerDomain);
}

/// The test driver refuses `vm`, `perf`, `memory` and `dirtyrate` in bulk (with
/// ENFORCE_STATS) and has no per-domain call for them: they are `unsupported`, their
/// fields null. It accepts `iothread` and returns nothing: `bulk`, and null. The
/// default groups keep their per-domain fallback.
#[test]
fn opt_in_groups_the_driver_refuses_are_unsupported() {
    use virtdiag::collect::stats::Group;
    let mut c = Collector::new(CollectorConfig {
        uri: common::demo_uri(),
        read_only: false,
        host: "h".into(),
        filter: DomainFilter::default(),
        groups: Group::KNOWN.iter().map(|g| g.bit()).sum(),
    });
    c.collect();
    let snapshot = c.collect();
    validate_snapshot(&snapshot);
    let paths = snapshot.cycle.paths;
    assert_eq!((paths.state, paths.cpu), (Source::Bulk, Source::PerDomain));
    for refused in [
        paths.kvm,
        paths.perf,
        paths.bandwidth_monitors,
        paths.dirtyrate,
    ] {
        assert_eq!(refused, Some(Source::Unsupported), "{paths:?}");
    }
    assert_eq!(paths.iothreads, Some(Source::Bulk));
    let cycle = serde_json::to_value(&snapshot.cycle).unwrap();
    assert_eq!(cycle["paths"]["kvm"], "unsupported");

    for name in ["instance-0000002a", "spare"] {
        let record = by_name(&snapshot, name);
        let line = serde_json::to_value(record).unwrap();
        for field in ["kvm", "perf", "iothreads", "dirtyrate"] {
            assert_eq!(
                line[field],
                Value::Null,
                "{name}: {field} is null, not absent"
            );
        }
        assert_eq!(line["memory"]["bandwidth_monitors"], Value::Null, "{name}");
        assert_eq!(record.collect.sources.kvm, Some(Source::Unsupported));
        assert!(
            !record.collect.missing.iter().any(|m| m.field == "kvm"),
            "an unsupported group is not a missing field: {:?}",
            record.collect.missing
        );
    }
    let web = by_name(&snapshot, "instance-0000002a");
    assert_eq!(web.collect.sources.cpu, Source::PerDomain);
    assert!(web.cpu.as_ref().unwrap().time_ns.is_some());
}

/// With the default groups a record has no opt-in field at all: lines stay as they were.
#[test]
fn opt_in_fields_are_absent_unless_chosen() {
    let mut c = collector(&common::demo_uri());
    let snapshot = c.collect();
    let web = serde_json::to_value(by_name(&snapshot, "instance-0000002a")).unwrap();
    for field in ["kvm", "perf", "iothreads", "dirtyrate"] {
        assert!(web.get(field).is_none(), "{field}");
    }
    assert!(web["memory"].get("bandwidth_monitors").is_none());
    let cycle = serde_json::to_value(&snapshot.cycle).unwrap();
    assert!(cycle["paths"].get("kvm").is_none(), "{}", cycle["paths"]);
}

/// The schema accepts the opt-in groups' values as the record writes them (the test
/// driver has none, so they are set by hand, shaped as a KVM guest gives them).
#[test]
fn opt_in_values_validate() {
    use virtdiag::record::opt_in::*;
    let mut c = collector(&common::demo_uri());
    let snapshot = c.collect();
    let mut record = by_name(&snapshot, "instance-0000002a").clone();
    let mut vm = Named::default();
    vm.push("mmu_shadow_zapped.sum", KvmValue::Count(28));
    let mut vcpu = Named::default();
    vcpu.push("blocking.cur", KvmValue::Flag(true));
    vcpu.push("exits.sum", KvmValue::Count(7596));
    record.opt_in = OptInStats {
        kvm: Some(Some(KvmRecord {
            vm: Some(vm),
            vcpus: vec![KvmVcpuRecord {
                id: 0,
                counters: vcpu,
            }],
        })),
        perf: Some(Some(Named(vec![("cpu_cycles".into(), 5)]))),
        iothreads: Some(Some(vec![IothreadRecord {
            id: 1,
            poll_max_ns: Some(32_768),
            poll_grow: Some(0),
            poll_shrink: Some(0),
        }])),
        dirtyrate: Some(Some(DirtyRateRecord {
            status: Some(virtdiag::record::DirtyRateStatus::Measured),
            start_unix_s: Some(1_796_002_140),
            period_s: Some(1),
            mode: Some("dirty-ring".into()),
            mib_per_s: Some(2),
            vcpus: vec![DirtyRateVcpuRecord {
                id: 0,
                mib_per_s: Some(2),
            }],
        })),
    };
    record.memory.bandwidth_monitors = Some(Some(vec![BandwidthMonitorRecord {
        name: Some("mem_0".into()),
        vcpus: Some("0".into()),
        nodes: vec![BandwidthNodeRecord {
            id: Some(0),
            bytes_local: Some(1),
            bytes_total: Some(2),
        }],
    }]));
    record.cpu.as_mut().unwrap().cache_monitors = Some(vec![CacheMonitorRecord {
        name: Some("cache_0".into()),
        vcpus: Some("0-1".into()),
        banks: vec![CacheBankRecord {
            id: Some(0),
            bytes: Some(884_736),
        }],
    }]);
    let mut line = Vec::new();
    virtdiag::record::json::write_domain_line(&record, &mut line);
    let value: Value = serde_json::from_slice(&line).unwrap();
    common::assert_valid(&value);
    assert_eq!(value["kvm"]["vcpus"][0]["exits.sum"], 7596);

    // A counter name that is not libvirt's <name>.<type> is refused by the schema.
    let mut bad = value.clone();
    bad["kvm"]["vm"]["no_type"] = Value::from(1);
    assert!(!common::schema().is_valid(&bad));
}
