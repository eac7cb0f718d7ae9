//! The 2.48 body: every field of the API reference, in its units, filled from the record.

use super::*;
use crate::record::DomainState;
use crate::views::fixture::record;

/// The fields of the 2.48 diagnostics body, as the API reference lists them.
const FIELDS: [&str; 13] = [
    "config_drive",
    "cpu_details",
    "disk_details",
    "driver",
    "hypervisor",
    "hypervisor_os",
    "memory_details",
    "nic_details",
    "num_cpus",
    "num_disks",
    "num_nics",
    "state",
    "uptime",
];

#[test]
fn the_body_has_exactly_the_api_fields() {
    let body = serde_json::to_value(diagnostics(&record("a", "u"))).unwrap();
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, FIELDS);
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort_unstable();
        k
    };
    assert_eq!(keys(&body["memory_details"]), ["maximum", "used"]);
    assert_eq!(keys(&body["cpu_details"][0]), ["id", "time", "utilisation"]);
    assert_eq!(
        keys(&body["nic_details"][0]),
        [
            "mac_address",
            "rx_drop",
            "rx_errors",
            "rx_octets",
            "rx_packets",
            "rx_rate",
            "tx_drop",
            "tx_errors",
            "tx_octets",
            "tx_packets",
            "tx_rate"
        ]
    );
    assert_eq!(
        keys(&body["disk_details"][0]),
        [
            "errors_count",
            "read_bytes",
            "read_requests",
            "write_bytes",
            "write_requests"
        ]
    );
}

#[test]
fn fills_what_nova_leaves_null_in_the_api_units() {
    let d = diagnostics(&record("a", "u"));
    assert_eq!(
        (d.state, d.driver, d.hypervisor_os),
        ("running", "libvirt", "linux")
    );
    assert!(d.config_drive, "disk.config is attached");
    assert_eq!((d.num_cpus, d.num_disks, d.num_nics), (2, 3, 2));
    assert_eq!(d.memory_details.maximum, Some(2048), "MiB");
    assert_eq!(d.memory_details.used, Some(1024), "MiB");
    assert_eq!(d.cpu_details[1].time, Some(3_000_000_500));
    assert_eq!(d.cpu_details[1].utilisation, Some(13));
    assert_eq!(d.nic_details[0].rx_rate, Some(151));
    assert_eq!(d.nic_details[0].tx_rate, Some(300));
    assert_eq!(
        d.nic_details[1].mac_address.as_deref(),
        Some("fa:16:3e:00:00:02")
    );
    assert_eq!(d.disk_details[0].read_bytes, Some(40960));
    assert_eq!(d.disk_details[0].errors_count, None, "null, not Nova's -1");
    assert_eq!(d.disk_details[2].read_bytes, None, "the empty drive");
    assert_eq!((d.uptime, d.hypervisor), (None, None));
}

#[test]
fn states_are_novas_power_states() {
    let mut r = record("a", "u");
    for (libvirt, nova) in [
        ("blocked", "running"),
        ("paused", "paused"),
        ("shutoff", "shutdown"),
        ("pmsuspended", "suspended"),
        ("crashed", "crashed"),
        ("nostate", "pending"),
    ] {
        r.domain.state = DomainState::from_name(libvirt).unwrap();
        assert_eq!(diagnostics(&r).state, nova);
    }
    r.disks.clear();
    r.cpu = None;
    let d = diagnostics(&r);
    assert!(!d.config_drive);
    assert_eq!(d.num_cpus, 0);
}

#[test]
fn the_line_names_the_domain() {
    let line = line(&record("web", "u-1"));
    assert_eq!(line["domain"], "web");
    assert_eq!(line["uuid"], "u-1");
    assert_eq!(line["diagnostics"]["driver"], "libvirt");
}
