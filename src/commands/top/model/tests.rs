//! The rows, cells, sort order and filter of `top`, without a terminal.

use super::*;
use serde_json::json;

fn record(name: &str, cpu: Option<f64>, rx: f64) -> Value {
    json!({
        "kind": "domain", "host": "h1", "seq": 3,
        "domain": {"name": name, "uuid": "u", "id": 1, "state": "running"},
        "nova": {"instance": format!("vm-{name}")},
        "cpu": {"utilisation_pct": cpu,
            "vcpus": [{"id": 0, "steal_pct": 1.0}, {"id": 1, "steal_pct": 3.5}, {"id": 2}]},
        "memory": {"max_kib": 2097152, "used_kib": 524288},
        "disks": [
            {"read_bytes_per_s": 1000.0, "write_bytes_per_s": null,
             "read_ops_per_s": 10.0, "write_ops_per_s": 2.0},
            {"read_bytes_per_s": 24.0, "write_bytes_per_s": null,
             "read_ops_per_s": null, "write_ops_per_s": 3.0}
        ],
        "nics": [{"rx_bytes_per_s": rx, "tx_bytes_per_s": 5.0}]
    })
}

#[test]
fn a_row_sums_devices_and_keeps_nulls() {
    let row = Row::from_record(&record("a", Some(12.34), 2048.0)).unwrap();
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
    assert!(Row::from_record(&json!({"kind": "cycle"})).is_none());
    let evil =
        json!({"kind": "domain", "domain": {"name": "x\u{1b}[2Jy\u{7}", "state": "running"}});
    assert_eq!(
        Row::from_record(&evil).unwrap().cells()[0],
        "x\\x1b[2Jy\\x07"
    );
}

#[test]
fn an_inactive_domain_is_dashes() {
    let off = json!({"kind": "domain", "domain": {"name": "spare", "state": "shutoff"},
        "cpu": null, "memory": {"max_kib": null, "used_kib": null}, "disks": [], "nics": []});
    let cells = Row::from_record(&off).unwrap().cells();
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
            Row::from_record(&record("b", Some(5.0), 1.0)).unwrap(),
            Row::from_record(&record("a", None, 3.0)).unwrap(),
            Row::from_record(&record("c", Some(50.0), 2.0)).unwrap(),
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
    let line = json!({"kind": "cycle", "host": "hv1", "seq": 7, "connected": true,
        "error": null, "duration_ms": 12.4});
    let mut view = View {
        cycle: Cycle::from_cycle_line(&line, now),
        ..View::default()
    };
    let later = now + Duration::from_secs(3);
    assert_eq!(
        view.header(later),
        "hv1  cycle 7: 3 s ago, 12 ms  libvirt connected  0 domains, 0 running"
    );
    let status = json!({"connected": false, "disconnect_reason": "no socket",
        "last_cycle": null});
    view.cycle = Cycle::from_status(&status, now);
    assert_eq!(
        view.header(now),
        "-  no cycle yet  libvirt DISCONNECTED: no socket  0 domains, 0 running"
    );
}
