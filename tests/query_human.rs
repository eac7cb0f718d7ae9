//! `virtdiag query` for a person: on a terminal (a pty from util-linux `script`),
//! `list`, `status`, `help`, `all` and `get` print tables, words and units, JSON
//! keeps the agent's key order, and an error is said once; piped, the JSON lines are
//! unchanged; `get` names one domain by the selection rule. Against an agent on the
//! demo host.

mod common;

use std::path::Path;
use std::process::Command;

use common::agent::{demo_config, workdir, Agent};

/// `virtdiag query WORDS` with its stdout and stderr on a terminal: the exit code and
/// what the terminal showed.
fn on_terminal(socket: &Path, words: &str) -> (i32, String) {
    on_terminal_within(socket, words, "")
}

/// [`on_terminal`], the command run by `prefix` (e.g. `timeout 3`).
fn on_terminal_within(socket: &Path, words: &str, prefix: &str) -> (i32, String) {
    let command = format!(
        "VIRTDIAG_SOCKET='{}' {prefix} '{}' query {words}",
        socket.display(),
        common::binary().display()
    );
    let output = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("script (util-linux)");
    let text = String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n");
    (output.status.code().unwrap(), text)
}

#[test]
fn list_status_and_errors_on_a_terminal_json_in_a_pipe() {
    let dir = workdir("query-human");
    let mut agent = Agent::start(&dir, &demo_config(0.5));
    agent.wait_cycles(2);

    let (code, list) = on_terminal(&agent.socket, "list");
    assert_eq!(code, 0, "{list}");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["NAME", "STATE", "ID", "UUID"],
        "{list}"
    );
    let db: Vec<&str> = lines
        .iter()
        .find(|l| l.starts_with("db-primary "))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(db[1], "running", "{list}");
    assert!(db[2].parse::<u32>().is_ok(), "an id: {list}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("spare ") && l.contains(" shutoff ")),
        "{list}"
    );
    assert!(
        lines.last().unwrap().starts_with("4 domains, cycle "),
        "{list}"
    );

    let (code, status) = on_terminal(&agent.socket, "status");
    assert_eq!(code, 0, "{status}");
    assert!(
        status.contains(&format!("libvirt     {} connected", common::demo_uri())),
        "{status}"
    );
    assert!(status.contains("domains (3 active)"), "{status}");
    assert!(
        status.contains(" ms; ") && (status.contains(" B, ") || status.contains(" KiB, ")),
        "units: {status}"
    );

    // An error is said once, on stderr, not also as the agent's JSON.
    let (code, error) = on_terminal(&agent.socket, "get no-such-domain");
    assert_eq!(code, 65, "{error}");
    assert!(!error.contains("{\"error\""), "{error}");
    assert_eq!(error.matches("no-such-domain").count(), 1, "{error}");

    // Piped: the JSON lines of the protocol, as before.
    let output = Command::new(common::binary())
        .env("VIRTDIAG_SOCKET", &agent.socket)
        .args(["query", "list"])
        .output()
        .unwrap();
    let lines = common::parse_lines(&String::from_utf8(output.stdout).unwrap());
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["kind"], "list");
    assert_eq!(lines[0]["count"], 4);

    // --json on a terminal: the JSON line as piped.
    let (code, json) = on_terminal(&agent.socket, "list --json");
    assert_eq!(code, 0, "{json}");
    assert_eq!(
        common::parse_lines(json.trim())[0]["kind"],
        "list",
        "{json}"
    );
}

#[test]
fn an_empty_list_says_libvirt_is_disconnected() {
    let dir = workdir("query-disconnected");
    let config = format!(
        "uri = \"test://{}\"\ninterval_seconds = 0.5\n",
        dir.join("no-such-node.xml").display()
    );
    let mut agent = Agent::start(&dir, &config);
    agent.wait_until(
        "a disconnect reason",
        std::time::Duration::from_secs(10),
        |a| a.status()["disconnect_reason"].is_string(),
    );
    let (code, list) = on_terminal(&agent.socket, "list");
    assert_eq!(code, 0, "{list}");
    assert!(list.contains("0 domains, cycle "), "{list}");
    assert!(list.contains("libvirt DISCONNECTED at test://"), "{list}");
    let (_, status) = on_terminal(&agent.socket, "status");
    assert!(status.contains(" DISCONNECTED: "), "{status}");
}

#[test]
fn format_on_query_as_on_once() {
    let dir = workdir("query-format");
    let mut agent = Agent::start(&dir, &demo_config(0.5));
    agent.wait_cycles(2);
    let query = |words: &[&str]| {
        let output = Command::new(common::binary())
            .env("VIRTDIAG_SOCKET", &agent.socket)
            .arg("query")
            .args(words)
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        (output.status.code().unwrap(), stdout)
    };

    // table: the legacy dictionary as the original table, even piped.
    let (code, table) = query(&["get", "db-primary", "--format", "table"]);
    assert_eq!(code, 0, "{table}");
    assert!(table.starts_with("Domain: db-primary\n+-"), "{table}");
    assert!(table.contains("| Property"), "{table}");

    let (code, nova) = query(&["all", "--format", "nova"]);
    assert_eq!(code, 0, "{nova}");
    let lines = common::parse_lines(&nova);
    assert_eq!(lines.len(), 5, "four domains and the end line: {nova}");
    assert!(lines[0]["diagnostics"].is_object(), "{nova}");
    assert_eq!(lines[4]["kind"], "end");

    let (code, json) = query(&["get", "spare", "--format", "json"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(common::parse_lines(&json)[0]["domain"]["state"], "shutoff");

    assert_eq!(query(&["status", "--format", "json"]).0, 64);
    assert_eq!(query(&["all", "format=nova", "--format", "legacy"]).0, 64);
}

#[test]
fn get_names_one_domain_by_the_selection_rule() {
    let dir = workdir("query-get-selection");
    let mut agent = Agent::start(&dir, &demo_config(0.5));
    agent.wait_cycles(2);
    let get = |target: &str| {
        let output = Command::new(common::binary())
            .env("VIRTDIAG_SOCKET", &agent.socket)
            .args(["query", "get", target])
            .output()
            .unwrap();
        (
            output.status.code().unwrap(),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let name_of = |target: &str| {
        let (code, out, err) = get(target);
        assert_eq!(code, 0, "{target}: {err}");
        common::parse_lines(&out)[0]["domain"]["name"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // An id is the id, not a name; a UUID in any case; a glob; a Nova display name.
    let list = {
        let output = Command::new(common::binary())
            .env("VIRTDIAG_SOCKET", &agent.socket)
            .args(["query", "list"])
            .output()
            .unwrap();
        common::parse_lines(&String::from_utf8(output.stdout).unwrap())[0].clone()
    };
    let db_id = list["domains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "db-primary")
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    assert_eq!(name_of(&db_id.to_string()), "db-primary");
    assert_eq!(
        name_of("6C0C3D8E-3A0F-4B6E-9F4E-2D1F0A9B7C11"),
        "instance-0000002a"
    );
    assert_eq!(name_of("instance-*"), "instance-0000002a");
    assert_eq!(name_of("sp[a-z]re"), "spare");
    assert_eq!(name_of("web-1"), "instance-0000002a");

    // A glob that matches several: an error that names them, the same status.
    let (code, out, err) = get("*-*");
    assert_eq!(code, 65, "{out}{err}");
    assert!(out.contains("\"ambiguous_domain\""), "{out}");
    for name in ["build-runner", "db-primary", "instance-0000002a"] {
        assert!(out.contains(&format!("'{name}'")), "{out}");
    }
    assert!(!out.contains("'spare'"), "{out}");
    let (code, out, _) = get("99");
    assert_eq!(code, 65);
    assert!(out.contains("\"unknown_domain\""), "{out}");
}

#[test]
fn help_all_get_and_json_for_a_person() {
    let dir = workdir("query-human-views");
    let mut agent = Agent::start(&dir, &demo_config(0.5));
    agent.wait_cycles(3);

    let (code, help) = on_terminal(&agent.socket, "help");
    assert_eq!(code, 0, "{help}");
    let lines: Vec<&str> = help.lines().collect();
    assert!(lines[0].starts_with("REQUEST  "), "{help}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("get DOMAIN [format=json|legacy|nova]  the latest record")),
        "{help}"
    );
    assert!(!help.contains("\"command\""), "no JSON lines: {help}");

    let (code, all) = on_terminal(&agent.socket, "all");
    assert_eq!(code, 0, "{all}");
    let lines: Vec<&str> = all.lines().collect();
    assert!(lines[0].starts_with("NAME  "), "{all}");
    for title in [
        "STATE",
        "VCPUS",
        "CPU %",
        "MEM MiB USED/MAX",
        "DISK MB/s RD/WR",
    ] {
        assert!(lines[0].contains(title), "{title}: {all}");
    }
    let db: Vec<&str> = lines
        .iter()
        .find(|l| l.starts_with("db-primary "))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(db[1..4], ["-", "running", "4"], "{all}");
    assert_eq!(db[5], "2048/4096", "{all}");
    assert!(
        lines[lines.len() - 1].starts_with("4 domains, 2 running, cycle "),
        "{all}"
    );

    let (code, get) = on_terminal(&agent.socket, "get web-1");
    assert_eq!(code, 0, "{get}");
    for start in [
        "domain ",
        "uuid ",
        "nova ",
        "cpu ",
        "  vcpu 0 ",
        "memory ",
        "disk vda ",
        "nic tap5a000001 ",
        "collection ",
    ] {
        assert!(get.lines().any(|l| l.starts_with(start)), "{start}: {get}");
    }
    assert!(get.starts_with("domain "), "{get}");
    assert!(get.contains("instance-0000002a (running"), "{get}");
    assert!(
        get.contains("web-1, flavor m1.small, project webshop"),
        "{get}"
    );
    assert!(get.contains(" MB/s "), "{get}");

    // watch: a table per cycle, closed by the cycle line (whose "error": null is
    // not an error).
    let (_, watch) = on_terminal_within(&agent.socket, "watch", "timeout 2.5");
    let footers: Vec<&str> = watch
        .lines()
        .filter(|l| l.starts_with("4 domains, 2 running, cycle ") && l.contains(" on "))
        .collect();
    assert!(footers.len() >= 2, "a table per cycle: {watch}");
    assert_eq!(
        watch.lines().filter(|l| l.starts_with("NAME ")).count(),
        footers.len(),
        "{watch}"
    );

    // Pretty JSON keeps the agent's key order: kind first.
    let (code, version) = on_terminal(&agent.socket, "version");
    assert_eq!(code, 0, "{version}");
    assert!(
        version.starts_with("{\n  \"kind\": \"version\",\n  \"version\": "),
        "{version}"
    );
    let (code, nova) = on_terminal(&agent.socket, "get db-primary --format nova");
    assert_eq!(code, 0, "{nova}");
    assert!(
        nova.starts_with("{\n  \"domain\": \"db-primary\",\n  \"uuid\": "),
        "{nova}"
    );
}
