//! Every answer of the socket protocol on the demo host, held byte for byte against
//! `tests/golden/protocol.txt`: the wire is a contract with socat scripts, shippers and
//! other tools, so a change in the code behind it must not change what it writes.
//!
//! What varies from run to run is masked before the comparison, and nothing else:
//! numbers (counters, rates, times), timestamps, the host name, the version and the
//! test's own paths. Keys, their order, strings, nulls, error codes and messages are
//! compared as written. `VIRTDIAG_BLESS=1 cargo test --test protocol_golden` rewrites
//! the file after a deliberate change of the protocol.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::agent::{demo_config, workdir, Agent};

/// The requests, in the order asked. Each answer depends only on the demo host and on
/// the requests before it (one cycle at start, a second one from `collect`).
const REQUESTS: &[&str] = &[
    "help",
    "version",
    "status",
    "list",
    "get db-primary",
    "get db-primary format=legacy",
    "get instance-0000002a format=nova",
    "all",
    "all format=legacy",
    "all format=nova",
    "collect",
    "get db-primary",
    "events",
    "events 2",
    "metrics",
    "quit",
    // The errors, one of each kind a request can meet.
    "frobnicate",
    "get",
    "get no-such-domain",
    "get db-[",
    "all format=xml",
    "events many",
    "status please",
    "status\u{1}",
];

#[test]
fn every_answer_is_what_the_wire_promises() {
    let dir = workdir("protocol-golden");
    let mut agent = Agent::start(&dir, &demo_config(3600.0));
    agent.wait_cycles(1);
    let masks = Masks::new(&dir.display().to_string());
    let mut transcript = String::new();
    for request in REQUESTS {
        let heading = request.escape_debug().to_string();
        masks.append(&mut transcript, &heading, ask(&agent, request).lines());
    }
    // A line past the longest request: refused, and the connection closed.
    let long = format!("get {}", "x".repeat(5000));
    let answer = ask(&agent, &long);
    masks.append(&mut transcript, "get xxx... (5,000 bytes)", answer.lines());
    // A watcher's first lines: the next cycle, asked for with `collect` on the side.
    let watched = watch_one_cycle(&agent);
    masks.append(
        &mut transcript,
        "watch (one cycle)",
        watched.iter().map(String::as_str),
    );
    agent.stop(Duration::from_secs(10));

    let golden = common::repo_root().join("tests/golden/protocol.txt");
    if std::env::var_os("VIRTDIAG_BLESS").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        std::fs::write(&golden, &transcript).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&golden).unwrap_or_default();
    if expected != transcript {
        let first = expected
            .lines()
            .zip(transcript.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(transcript.lines().count()));
        panic!(
            "the protocol's answers changed (first at line {}):\n  expected: {}\n  got:      {}\n\
             if the change is deliberate: VIRTDIAG_BLESS=1 cargo test --test protocol_golden, \
             and say so in virtdiag-protocol(7)",
            first + 1,
            expected.lines().nth(first).unwrap_or("<end>"),
            transcript.lines().nth(first).unwrap_or("<end>"),
        );
    }
}

/// One request; the answer as text until the agent closes.
fn ask(agent: &Agent, request: &str) -> String {
    agent
        .try_request_text(request)
        .unwrap_or_else(|e| panic!("request {request:?}: {e}; log:\n{}", agent.log()))
}

/// The lines a watcher gets for one cycle, through its cycle line.
fn watch_one_cycle(agent: &Agent) -> Vec<String> {
    let mut stream = UnixStream::connect(&agent.socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(b"watch\n").unwrap();
    // The watcher is registered once its request is read: `status` after it is served
    // in a later turn, so a `collect` after that reaches the watcher.
    agent.status();
    agent.request("collect");
    let mut lines = Vec::new();
    let mut pending = Vec::new();
    let mut buffer = [0u8; 65536];
    loop {
        let n = stream.read(&mut buffer).expect("the watcher's cycle comes");
        assert!(n > 0, "the agent closed the watcher");
        pending.extend_from_slice(&buffer[..n]);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let line = String::from_utf8(line[..line.len() - 1].to_vec()).unwrap();
            let cycle = line.starts_with("{\"kind\":\"cycle\"");
            lines.push(line);
            if cycle {
                return lines;
            }
        }
    }
}

/// What varies between runs, found once: the test's directory, the checkout, the host
/// name.
struct Masks {
    workdir: String,
    repo: String,
    host: Option<String>,
}

impl Masks {
    fn new(workdir: &str) -> Masks {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty());
        Masks {
            workdir: workdir.to_string(),
            repo: common::repo_root().display().to_string(),
            host,
        }
    }

    /// `## HEADING`, then each line masked.
    fn append<'a>(
        &self,
        transcript: &mut String,
        heading: &str,
        lines: impl Iterator<Item = &'a str>,
    ) {
        transcript.push_str(&format!("## {heading}\n"));
        for line in lines {
            transcript.push_str(&self.line(line));
            transcript.push('\n');
        }
    }

    /// The line with what varies between runs replaced by fixed marks.
    fn line(&self, line: &str) -> String {
        let mut line = line
            .replace(&self.workdir, "<dir>")
            .replace(&self.repo, "<repo>")
            .replace(env!("CARGO_PKG_VERSION"), "<version>");
        if let Some(host) = &self.host {
            line = line
                .replace(&format!("\"{host}\""), "\"<host>\"")
                .replace(&format!("host=\\\"{host}\\\""), "host=\\\"<host>\\\"")
                .replace(&format!("host=\"{host}\""), "host=\"<host>\"");
        }
        if line.starts_with('{') {
            mask_json(&line)
        } else {
            mask_prometheus(&line)
        }
    }
}

/// Numbers outside strings become `0`; timestamps inside strings become `<ts>`.
fn mask_json(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    let mut in_string = false;
    let mut string = String::new();
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                '\\' => {
                    string.push(c);
                    if let Some(next) = chars.next() {
                        string.push(next);
                    }
                }
                '"' => {
                    out.push_str(&mask_timestamp(&string));
                    out.push('"');
                    string.clear();
                    in_string = false;
                }
                _ => string.push(c),
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '-' | '0'..='9' => {
                while matches!(chars.peek(), Some('0'..='9' | '.' | 'e' | 'E' | '+' | '-')) {
                    chars.next();
                }
                out.push('0');
            }
            _ => out.push(c),
        }
    }
    out
}

/// An RFC 3339 time (`2026-12-06T22:08:49.123Z`) as `<ts>`, any other text as it is.
fn mask_timestamp(text: &str) -> String {
    let bytes = text.as_bytes();
    let looks_like_time = bytes.len() >= 20
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && text.ends_with('Z');
    if looks_like_time {
        "<ts>".to_string()
    } else {
        text.to_string()
    }
}

/// A sample's value becomes `0`; help, type and EOF lines stay as they are.
fn mask_prometheus(line: &str) -> String {
    if line.starts_with('#') || line.is_empty() {
        return line.to_string();
    }
    match line.rsplit_once(' ') {
        Some((series, _value)) => format!("{series} 0"),
        None => line.to_string(),
    }
}
