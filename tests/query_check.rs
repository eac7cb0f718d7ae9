//! `virtdiag query status --check`, the monitoring plugin, against real agents on
//! libvirt's test driver: OK, spool losses (WARNING), libvirt unreachable and the
//! agent unreachable or hung (CRITICAL), misuse (UNKNOWN). The socket comes from
//! `VIRTDIAG_SOCKET`, as a plugin's command definition would set it.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::agent::{demo_config, workdir, Agent};

/// Runs `virtdiag query WORDS --check`; its exit code and its one line of output.
fn check(socket: &Path, words: &[&str]) -> (i32, String) {
    let output = Command::new(common::binary())
        .env("VIRTDIAG_SOCKET", socket)
        .arg("query")
        .args(words)
        .arg("--check")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout:?}");
    assert!(output.stderr.is_empty(), "nothing on stderr: {output:?}");
    (output.status.code().unwrap(), stdout.trim_end().to_string())
}

#[test]
fn healthy_then_losing_spool_lines_then_gone() {
    let dir = workdir("check-demo");
    let mut agent = Agent::start(&dir, &demo_config(0.5));
    agent.wait_cycles(2);
    let (code, line) = check(&agent.socket, &["status"]);
    assert_eq!(code, 0, "{line}");
    assert!(
        line.starts_with("VIRTDIAG OK - libvirt connected, cycle "),
        "{line}"
    );
    assert!(line.contains("4 domains (3 active) | age="), "{line}");
    assert!(
        line.contains(" domains=4;;;0 active=3;;;0 spool_lost_lines=0c"),
        "{line}"
    );

    // The spool path becomes a symbolic link: the agent refuses it and loses lines.
    std::fs::remove_file(&agent.spool).unwrap();
    std::os::unix::fs::symlink(dir.join("elsewhere"), &agent.spool).unwrap();
    agent.wait_until("lost lines", Duration::from_secs(10), |a| {
        a.status()["spool"]["lines_lost"].as_u64().unwrap() > 0
    });
    let (code, line) = check(&agent.socket, &["status"]);
    assert_eq!(code, 1, "{line}");
    assert!(line.starts_with("VIRTDIAG WARNING - spool lost "), "{line}");
    assert!(line.contains("symbolic link"), "{line}");

    // Misuse is UNKNOWN, as monitoring plugins report it.
    let (code, line) = check(&agent.socket, &["list"]);
    assert_eq!(
        (code, line.as_str()),
        (
            3,
            "VIRTDIAG UNKNOWN - --check goes with the status request only"
        )
    );

    // A hung agent (stopped) does not hang the check: CRITICAL after the timeout.
    agent.signal(19); // SIGSTOP
    let started = Instant::now();
    let (code, line) = check(&agent.socket, &["status"]);
    agent.signal(18); // SIGCONT
    assert_eq!(code, 2, "{line}");
    assert!(
        line.contains("agent unreachable: no answer in time from the agent at ")
            && line.contains(" within 5 s (--timeout"),
        "{line}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );

    agent.stop(Duration::from_secs(5));
    let (code, line) = check(&agent.socket, &["status"]);
    assert_eq!(code, 2, "{line}");
    assert!(
        line.starts_with("VIRTDIAG CRITICAL - agent unreachable: cannot connect to the agent at "),
        "{line}"
    );
}

#[test]
fn libvirt_unreachable_is_critical() {
    let dir = workdir("check-no-libvirt");
    let config = format!(
        "uri = \"test://{}\"\ninterval_seconds = 0.5\n",
        dir.join("no-such-node.xml").display()
    );
    let mut agent = Agent::start(&dir, &config);
    agent.wait_until("a disconnect reason", Duration::from_secs(10), |a| {
        a.status()["disconnect_reason"].is_string()
    });
    let (code, line) = check(&agent.socket, &["status"]);
    assert_eq!(code, 2, "{line}");
    assert!(
        line.starts_with("VIRTDIAG CRITICAL - libvirt disconnected: "),
        "{line}"
    );
    assert!(
        line.contains(" | ") && line.contains("cycles="),
        "perfdata: {line}"
    );
}

#[test]
fn a_status_with_a_field_renamed_is_unknown_not_ok() {
    use std::io::Write;
    let dir = workdir("check-renamed");
    // A whole status but for one field an agent renamed: `connected` is `is_connected`.
    let whole = common::fake::status_line(10.0);
    let socket = common::fake::script(&dir, "renamed.sock", |_request, stream| {
        let renamed =
            common::fake::status_line(10.0).replacen("\"connected\":", "\"is_connected\":", 1);
        let _ = stream.write_all(renamed.as_bytes());
    });
    assert!(whole.contains("\"connected\":true"), "{whole}");
    let (code, line) = check(&socket, &["status"]);
    assert_eq!(code, 3, "{line}");
    assert_eq!(
        line,
        "VIRTDIAG UNKNOWN - a broken answer from the agent: missing field `connected`"
    );
}
