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
fn legacy_prints_the_original_dictionary_per_domain() {
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
fn table_prints_the_original_table_under_a_heading() {
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
fn a_domain_pattern_past_the_limit_exits_64_before_libvirt_is_asked() {
    let long = format!("[{}]", "a".repeat(300));
    // Not even a URI that exists: the pattern is refused first.
    let out = virtdiag(&[
        "once",
        "--uri",
        "test:///nonexistent/host.xml",
        "--domain",
        &long,
    ]);
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--domain '[aaa") && err.contains("302 bytes") && err.contains("at most 256"),
        "{err}"
    );
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
}

#[test]
fn a_domain_that_does_not_exist_exits_65_as_in_query() {
    for (wanted, reading) in [
        ("nope", "read as a name, then a Nova display name"),
        (
            "instance-9*",
            "read as a glob on the name and Nova display name",
        ),
        ("77", "read as an id, then a name"),
        ("00000000-0000-4000-8000-000000000000", "read as a UUID"),
    ] {
        let out = once_demo(&["--domain", "db-primary", "--domain", wanted]);
        assert_eq!(out.status.code(), Some(65), "{wanted}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "no domain matches '{wanted}' ({reading}) at test://"
            )),
            "{err}"
        );
        assert!(stdout(&out).is_empty());
    }
}

/// The names of the domains `once --domain ...` prints, in order.
fn selected(wanted: &[&str]) -> Vec<String> {
    let mut args = Vec::new();
    for w in wanted {
        args.extend(["--domain", w]);
    }
    let out = once_demo(&args);
    assert!(out.status.success(), "{wanted:?}: {}", stderr(&out));
    common::parse_lines(&stdout(&out))
        .iter()
        .map(|l| l["domain"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn domains_by_glob_id_uuid_and_nova_display_name() {
    // The glob docs/collection.md promises.
    assert_eq!(selected(&["instance-*"]), ["instance-0000002a"]);
    // Sets, ranges and negation, as in fnmatch.
    assert_eq!(selected(&["[bd]*"]), ["build-runner", "db-primary"]);
    assert_eq!(selected(&["[!a-h]*"]), ["instance-0000002a", "spare"]);
    // All digits: the hypervisor id.
    assert_eq!(selected(&["2"]), ["db-primary"]);
    // A UUID in any case, without its dashes too.
    assert_eq!(
        selected(&["3D4C5B6A1E2F4A3B8C7D9E0F1A2B3C4D"]),
        ["build-runner"]
    );
    // Nova's display name, exact or as a glob.
    assert_eq!(selected(&["web-1"]), ["instance-0000002a"]);
    assert_eq!(selected(&["web-?"]), ["instance-0000002a"]);
    // Several strings: the host's order, each domain once.
    assert_eq!(
        selected(&["spare", "2", "db-primary", "b*"]),
        ["build-runner", "db-primary", "spare"]
    );
}

/// `virtdiag once ARGS` on the demo host with stdout on a terminal (util-linux
/// `script`): what the terminal showed.
fn once_on_terminal(args: &str) -> String {
    let command = format!(
        "'{}' --log-level warning once --uri '{}' --sample-interval 0.2 {args}",
        common::binary().display(),
        common::demo_uri()
    );
    let output = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("script (util-linux)");
    assert!(output.status.success(), "{command}");
    String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n")
}

#[test]
fn on_a_terminal_a_table_with_units_and_state() {
    let text = once_on_terminal("");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "NAME               NOVA NAME  STATE    VCPUS  CPU %  MEM MiB USED/MAX  DISK MB/s RD/WR  \
         DISK ops/s RD/WR  NET MB/s RX/TX",
        "{text}"
    );
    let web: Vec<&str> = lines
        .iter()
        .find(|l| l.starts_with("instance-0000002a "))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(web[1..4], ["web-1", "running", "2"], "{text}");
    assert!(web[4].parse::<f64>().is_ok(), "CPU % filled: {text}");
    assert_eq!(web[5], "1024/2048", "MiB: {text}");
    let (read, write) = web[6].split_once('/').unwrap();
    assert!(read.parse::<f64>().unwrap() > 0.0, "MB/s: {text}");
    assert!(write.parse::<f64>().is_ok(), "MB/s: {text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("spare ") && l.contains(" shutoff ")),
        "{text}"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("4 domains, 2 running, cycle 2 on "),
        "{text}"
    );

    // A named format wins over the terminal: JSON records.
    let json = once_on_terminal("--format json --domain spare");
    let lines = common::parse_lines(json.trim());
    assert_eq!(lines.len(), 1, "{json}");
    assert_eq!(lines[0]["domain"]["name"], "spare");
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
