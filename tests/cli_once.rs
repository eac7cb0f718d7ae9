//! The built binary's `once` command, its formats and its errors.

mod common;

use std::process::{Command, Output};

fn virtdiag(args: &[&str]) -> Output {
    Command::new(common::binary())
        .args(args)
        .output()
        .expect("the binary runs")
}

/// `virtdiag once` on the demo host, one sample right after the other, plus `args`.
fn once_demo(args: &[&str]) -> Output {
    let uri = common::demo_uri();
    let mut all = vec!["once", "--uri", &uri, "--sample-interval", "0"];
    all.extend_from_slice(args);
    virtdiag(&all)
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn json_prints_one_valid_record_per_domain_with_rates() {
    let uri = common::demo_uri();
    let out = virtdiag(&["once", "--uri", &uri, "--sample-interval", "0.2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = common::parse_lines(&stdout(&out));
    assert_eq!(lines.len(), 4);
    for line in &lines {
        common::assert_valid(line);
    }
    let web = lines
        .iter()
        .find(|l| l["domain"]["name"] == "instance-0000002a")
        .unwrap();
    assert!(
        web["cpu"]["utilisation_pct"].is_number(),
        "rates filled: {web}"
    );
    assert!(web["disks"][0]["read_bytes_per_s"].is_number());
}

#[test]
fn legacy_prints_the_seeds_dictionary_per_domain() {
    let out = once_demo(&["--format", "legacy", "--domain", "db-primary"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = common::parse_lines(&stdout(&out));
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["domain"], "db-primary");
    assert_eq!(lines[0]["uuid"], "0b8e6a52-7d14-4c3a-9e21-5f6a7b8c9d01");
    let d = lines[0]["diagnostics"].as_object().unwrap();
    assert_eq!(d["memory"], 4 * 1024 * 1024);
    for key in [
        "cpu3_time",
        "vda_read",
        "vdb_write_req",
        "tapdb0_rx",
        "tapdb0_tx_drop",
        "memory-actual",
    ] {
        assert!(d.contains_key(key), "{key} in {d:?}");
    }
}

#[test]
fn table_prints_the_seeds_table_under_a_heading() {
    let out = once_demo(&["--format", "table", "--domain", "build-runner"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("Domain: build-runner"));
    let rule = lines.next().unwrap();
    assert!(rule.starts_with("+-") && rule.ends_with("-+"));
    assert!(lines.next().unwrap().starts_with("| Property"));
    let keys: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Property"))
        .map(|l| l.split('|').nth(1).unwrap().trim())
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "sorted by key");
    assert!(keys.contains(&"tapbuild0_rx"));
}

#[test]
fn a_domain_selected_by_uuid() {
    let out = once_demo(&["--domain", "9A8B7C6D-5E4F-4A3B-9C2D-1E0F9A8B7C6D"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = common::parse_lines(&stdout(&out));
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["domain"]["name"], "spare");
}

#[test]
fn unreachable_libvirt_exits_69_with_the_uri_and_reason() {
    let out = virtdiag(&["once", "--uri", "test:///nonexistent/host.xml"]);
    assert_eq!(out.status.code(), Some(69));
    let err = stderr(&out);
    assert!(
        err.contains("cannot connect to libvirt at test:///nonexistent/host.xml"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn bad_usage_exits_64() {
    for args in [
        &["once", "--format", "xml"][..],
        &["once", "--sample-interval", "-1"],
        &["once", "--no-such-flag"],
        &["frobnicate"],
        &["--log-level", "loud", "once"],
    ] {
        let out = virtdiag(args);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).is_empty());
    }
    let out = once_demo(&["--domain", "nope"]);
    assert_eq!(out.status.code(), Some(64));
    assert!(stderr(&out).contains("no domain named or with UUID 'nope'"));
}

#[test]
fn help_and_version() {
    let out = virtdiag(&["--help"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("Examples:"));
    let out = virtdiag(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out).trim(),
        format!("virtdiag {}", env!("CARGO_PKG_VERSION"))
    );
}
