//! The rows, cells, sort order and filter of `top`, without a terminal.

use super::*;
use crate::record::{DomainState, VcpuRecord};
use crate::views::fixture;
use serde_json::json;

fn record(name: &str, cpu: Option<f64>, rx: f64) -> DomainRecord {
    let mut record = fixture::record(name, "u");
    let nova = std::sync::Arc::make_mut(record.nova.as_mut().unwrap());
    nova.instance = Some(format!("vm-{name}"));
    let stats = record.cpu.as_mut().unwrap();
    stats.utilisation_pct = cpu;
    stats.vcpus = [Some(1.0), Some(3.5), None]
        .into_iter()
        .zip(0..)
        .map(|(steal_pct, id)| VcpuRecord {
            id,
            steal_pct,
            ..VcpuRecord::default()
        })
        .collect();
    record.memory.max_kib = Some(2_097_152);
    record.memory.used_kib = Some(524_288);
    let rates = [
        (Some(1000.0), None, Some(10.0), Some(2.0)),
        (Some(24.0), None, None, Some(3.0)),
    ];
    fixture::with_rates(record, &rates, rx, 5.0)
}

#[test]
fn a_row_sums_devices_and_keeps_nulls() {
    let row = Row::from_domain(&record("a", Some(12.34), 2048.0));
    assert_eq!(row.vcpus, Some(3));
    assert_eq!(
        row.steal_pct,
        Some(2.25),
        "the mean over the vCPUs that have one"
    );
    assert_eq!(row.disk_read_bps, Some(1024.0));
    assert_eq!(row.disk_write_bps, None);
    assert_eq!(row.disk_write_iops, Some(5.0));
    assert_eq!(row.display.as_deref(), Some("vm-a"));
    assert_eq!(
        row.cells(),
        [
            "a",
            "running",
            "3",
            "12.3",
            "2.2",
            "512M/2.0G",
            "1.0K",
            "-",
            "10/5",
            "2.0K",
            "5"
        ]
        .map(String::from)
    );
    let evil = record("x\u{1b}[2Jy\u{7}", None, 0.0);
    assert_eq!(Row::from_domain(&evil).cells()[0], "x\\x1b[2Jy\\x07");
}

#[test]
fn an_answered_line_is_read_as_its_record() {
    let line = serde_json::to_value(record("a", Some(12.34), 2048.0)).unwrap();
    assert_eq!(
        Row::from_record(&line),
        Some(Row::from_domain(&record("a", Some(12.34), 2048.0)))
    );
    let cycle = serde_json::to_value(CycleRecord {
        kind: "cycle",
        ..CycleRecord::default()
    })
    .unwrap();
    assert_eq!(Row::from_record(&cycle), None, "not a domain record");
    let cut = json!({"kind": "domain", "domain": {"name": "a", "state": "running"}});
    assert_eq!(Row::from_record(&cut), None, "not a whole record");
    let now = Instant::now();
    let cycle = Cycle::from_cycle_line(&cycle, now);
    assert_eq!((cycle.seq, cycle.connected), (Some(0), Some(false)));
    assert_eq!(Cycle::from_cycle_line(&cut, now).seq, None);
}

#[test]
fn an_inactive_domain_is_dashes() {
    let mut off = record("spare", None, 0.0);
    off.domain.state = DomainState::Shutoff;
    off.cpu = None;
    off.memory.max_kib = None;
    off.memory.used_kib = None;
    off.disks.clear();
    off.nics.clear();
    let cells = Row::from_domain(&off).cells();
    assert_eq!(cells[1], "shutoff");
    assert!(cells[2..].iter().all(|c| c == "-"), "{cells:?}");
}

#[test]
fn units_fit_their_columns() {
    assert_eq!(bytes(0.0), "0");
    assert_eq!(bytes(999.0), "999");
    assert_eq!(bytes(1000.0), "1.0K");
    assert_eq!(bytes(15.0 * 1024.0 * 1024.0), "15M");
    assert_eq!(bytes(3.0 * 1024.0 * 1024.0 * 1024.0), "3.0G");
    assert_eq!(count(999.0), "999");
    assert_eq!(count(1234.0), "1.2k");
    assert_eq!(count(123_456.0), "123k");
    for v in [0.0, 999.4, 1023.0, 1e6, 1e9, 9.99e11, 5e13] {
        assert!(bytes(v).len() <= 5, "{v} -> {}", bytes(v));
    }
}

#[test]
fn sort_filter_and_reverse() {
    let mut view = View {
        rows: vec![
            Row::from_domain(&record("b", Some(5.0), 1.0)),
            Row::from_domain(&record("a", None, 3.0)),
            Row::from_domain(&record("c", Some(50.0), 2.0)),
        ],
        ..View::default()
    };
    let names = |v: &View| {
        v.visible()
            .iter()
            .map(|r| r.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&view),
        ["c", "b", "a"],
        "CPU, largest first, null last"
    );
    view.sort_by(Column::Cpu);
    assert_eq!(names(&view), ["a", "b", "c"]);
    view.sort_by(Column::NetRx);
    assert_eq!(names(&view), ["a", "c", "b"]);
    view.sort_by(Column::Name);
    assert_eq!(names(&view), ["a", "b", "c"]);
    view.set_filter("vm-?");
    assert_eq!(
        names(&view),
        ["a", "b", "c"],
        "the Nova display name matches"
    );
    view.set_filter("c*");
    assert_eq!(names(&view), ["c"]);
    view.set_filter(" ");
    assert_eq!(view.filter, None);
    assert_eq!(Column::Name.step(false), Column::NetTx);
    assert!(!Column::visible(80).contains(&Column::Steal));
    assert_eq!(Column::visible(86).len(), Column::ALL.len());
    view.sort_by(Column::Steal);
    assert_eq!(names(&view), ["a", "b", "c"], "equal steal: name order");
    assert_eq!(Column::NetTx.step(true), Column::Name);
}

#[test]
fn the_header_says_age_duration_and_libvirt() {
    let now = Instant::now();
    let line = CycleRecord {
        host: "hv1".into(),
        seq: 7,
        connected: true,
        duration_ms: 12.4,
        ..CycleRecord::default()
    };
    let mut view = View {
        cycle: Cycle::from_cycle(&line, now),
        ..View::default()
    };
    let later = now + Duration::from_secs(3);
    assert_eq!(
        view.header(later),
        "hv1  cycle 7: 3 s ago, 12 ms  libvirt connected  0 domains, 0 running"
    );
    let status = Status {
        connected: false,
        disconnect_reason: Some("no socket".into()),
        last_cycle: None,
        ..crate::query::protocol::status::tests::example()
    };
    view.cycle = Cycle::from_status(&status, now);
    assert_eq!(
        view.header(now),
        "-  no cycle yet  libvirt DISCONNECTED: no socket  0 domains, 0 running"
    );
}
