//! `virtdiag query` for a person: on a terminal (a pty from util-linux `script`),
//! `list` and `status` print words and units and an error is said once; piped, the
//! JSON lines are unchanged. Against an agent on the demo host.

mod common;

use std::path::Path;
use std::process::Command;

use common::agent::{demo_config, workdir, Agent};

/// `virtdiag query WORDS` with its stdout and stderr on a terminal: the exit code and
/// what the terminal showed.
fn on_terminal(socket: &Path, words: &str) -> (i32, String) {
    let command = format!(
        "VIRTDIAG_SOCKET='{}' '{}' query {words}",
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
