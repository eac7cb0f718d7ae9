//! Outside text never reaches a terminal raw. A test-driver host whose domain names
//! and Nova metadata carry 8-bit C1 controls (U+009B CSI, U+009D OSC), DEL and bidi
//! overrides, as libvirt lets them through; URIs, paths and patterns with ESC and
//! BEL in error messages. On a pty (util-linux `script`), every format of `once`,
//! every request of `query` and every error shows them escaped (`\u009b` in JSON,
//! `\x9b` in text); piped, the bytes are what they were.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::agent::{workdir, Agent};

/// The hostile names, as XML character references and as the strings libvirt reads.
const DB_XML: &str = "db&#x9b;2J&#x9d;0;pwned&#x7f;";
const DB: &str = "db\u{9b}2J\u{9d}0;pwned\u{7f}";
const NOVA_XML: &str = "web&#x202e;1&#x9d;x";
const NOVA: &str = "web\u{202e}1\u{9d}x";
const SPARE: &str = "spare\u{2066}\u{200f}";

/// The demo host with hostile names, written into `dir`.
fn hostile_host(dir: &Path) -> PathBuf {
    let demo = std::fs::read_to_string(common::repo_root().join("contrib/demo/node.xml")).unwrap();
    let xml = demo
        .replacen(
            "<name>db-primary</name>",
            &format!("<name>{DB_XML}</name>"),
            1,
        )
        .replacen(
            "<nova:name>web-1</nova:name>",
            &format!("<nova:name>{NOVA_XML}</nova:name>"),
            1,
        )
        .replacen(
            "<name>spare</name>",
            "<name>spare&#x2066;&#x200f;</name>",
            1,
        )
        .replacen(">alice</nova:user>", ">al&#x9b;ice</nova:user>", 1);
    let path = dir.join("hostile-node.xml");
    std::fs::write(&path, xml).unwrap();
    path
}

/// The characters a terminal must not receive raw, found in `shown`.
fn raw_controls(shown: &[u8]) -> Vec<char> {
    String::from_utf8_lossy(shown)
        .chars()
        .filter(|&c| c != '\n' && c != '\r' && virtdiag::escape::is_unsafe(c))
        .collect()
}

/// `sh -c COMMAND` on a pty: exit code and what the terminal received (stdout and
/// stderr). `env` sets variables the command refers to, so hostile bytes need no
/// shell quoting.
fn on_pty(command: &str, env: &[(&str, &str)]) -> (i32, Vec<u8>) {
    let output = Command::new("script")
        .args(["-qec", command, "/dev/null"])
        .env("SHELL", "/bin/sh")
        .envs(env.iter().copied())
        .output()
        .expect("script (util-linux)");
    (output.status.code().unwrap(), output.stdout)
}

fn binary() -> String {
    format!("'{}'", common::binary().display())
}

#[test]
fn once_escapes_every_format_on_a_terminal_and_not_in_a_pipe() {
    let dir = workdir("terminal-once");
    let uri = format!("test://{}", hostile_host(&dir).display());
    for format in [
        "",
        "--format json",
        "--format legacy",
        "--format nova",
        "--format table",
        "--format prometheus",
    ] {
        let command = format!(
            "{} --log-level warning once --sample-interval 0 {format}",
            binary()
        );
        let (code, shown) = on_pty(&command, &[("LIBVIRT_DEFAULT_URI", &uri)]);
        let text = String::from_utf8_lossy(&shown);
        assert_eq!(code, 0, "{format}: {text}");
        assert_eq!(raw_controls(&shown), [], "{format}: {text}");
        let escaped = match format {
            "--format json" | "--format legacy" | "--format nova" => {
                "db\\u009b2J\\u009d0;pwned\\u007f"
            }
            _ => "db\\x9b2J\\x9d0;pwned\\x7f",
        };
        assert!(text.contains(escaped), "{format}: {text}");
        if format == "--format json" {
            // Still the same JSON: each line parses back to the real names.
            let names: Vec<String> = common::parse_lines(&text.replace('\r', ""))
                .iter()
                .map(|r| r["domain"]["name"].as_str().unwrap().to_string())
                .collect();
            assert!(
                names.iter().any(|n| n == DB) && names.iter().any(|n| n == SPARE),
                "{names:?}"
            );
        }
    }

    // Piped: the raw bytes, as serde_json writes them.
    let out = Command::new(common::binary())
        .args([
            "once",
            "--sample-interval",
            "0",
            "--format",
            "nova",
            "-c",
            &uri,
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let piped = String::from_utf8(out.stdout).unwrap();
    assert!(piped.contains(&format!("\"domain\":\"{DB}\"")), "{piped}");
    assert!(
        piped.contains(&format!("\"domain\":\"{SPARE}\"")),
        "{piped}"
    );
}

#[test]
fn errors_on_a_terminal_never_carry_a_control_character() {
    let dir = workdir("terminal-errors");
    let evil = "/x\u{1b}]0;pwned\u{7}\u{9b}";
    let shown_as = "/x\\x1b]0;pwned\\x07\\x9b";
    let cases = [
        // A URI: libvirt's own message repeats it.
        format!("{} once -c \"test://$EVIL\"", binary()),
        // A socket path, a config path, a pattern, a value clap refuses.
        format!("{} query --socket \"$EVIL\" status", binary()),
        format!("{} check-config --config \"$EVIL\"", binary()),
        format!(
            "{} once -c test:///default --sample-interval 0 --domain \"$EVIL\"",
            binary()
        ),
        format!("{} once --format \"$EVIL\"", binary()),
    ];
    for command in &cases {
        let (code, shown) = on_pty(command, &[("EVIL", evil)]);
        let text = String::from_utf8_lossy(&shown);
        assert_ne!(code, 0, "{command}: {text}");
        assert_eq!(raw_controls(&shown), [], "{command}: {text}");
        // clap drops the escape sequence from the value it quotes; the rest is shown.
        let shown_as = if command.contains("--format") {
            r"/x\x9b"
        } else {
            shown_as
        };
        assert!(text.contains(shown_as), "{command}: {text}");
    }

    // check-config's effective configuration names the URI: TOML's own escapes.
    let command = format!(
        "{} check-config --config /dev/null -c \"test://$EVIL\" --spool \"$EVIL/d.ndjson\"",
        binary()
    );
    let (code, shown) = on_pty(&command, &[("EVIL", evil)]);
    let text = String::from_utf8_lossy(&shown);
    assert_eq!(code, 0, "{text}");
    assert_eq!(raw_controls(&shown), [], "{text}");
    assert!(
        text.contains(r#"uri = "test:///x\u001B]0;pwned\u0007\u009b""#),
        "{text}"
    );
    // A log line (a warning about the spool's missing directory) names the path.
    assert!(
        text.contains(r"virtdiag: warning: spool.path /x\x1b]0;pwned\x07\x9b/d.ndjson"),
        "{text}"
    );

    // Piped, the message is what it was: the bytes as given.
    let out = Command::new(common::binary())
        .args(["query", "--socket"])
        .arg(dir.join(evil.trim_start_matches('/')))
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(69));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("x\u{1b}]0;pwned\u{7}\u{9b}: nothing there"),
        "{stderr}"
    );
}

#[test]
fn query_escapes_every_answer_on_a_terminal_and_not_in_a_pipe() {
    let dir = workdir("terminal-query");
    let config = format!(
        "uri = \"test://{}\"\nread_only = false\ninterval_seconds = 0.5\n",
        hostile_host(&dir).display()
    );
    let mut agent = Agent::start(&dir, &config);
    agent.wait_cycles(2);
    let socket = agent.socket.to_str().unwrap().to_string();
    let requests = [
        "list",
        "status",
        "all",
        "all --raw",
        "--format nova all",
        "--format legacy all",
        "--format table all",
        "--raw --format legacy all",
        "get 'db*'",
        "get 'db*' --raw",
        "get instance-0000002a",
        "get instance-0000002a --format nova",
        "metrics",
        "--raw metrics",
        "events",
        "collect --raw",
        "get nope\u{202e}x",
    ];
    for words in requests {
        let command = format!("{} query {words}", binary());
        let (_, shown) = on_pty(&command, &[("VIRTDIAG_SOCKET", &socket)]);
        let text = String::from_utf8_lossy(&shown);
        assert_eq!(raw_controls(&shown), [], "{words}: {text}");
        let expected = match words {
            "status" | "events" | "--format nova all" | "get instance-0000002a --format nova" => {
                None
            }
            "get instance-0000002a" => Some(r"web\u202e1\x9dx, flavor m1.small"),
            "get nope\u{202e}x" => Some(r"nope\u202ex"),
            w if w.contains("--raw") && !w.contains("metrics") => {
                Some(r"db\u009b2J\u009d0;pwned\u007f")
            }
            _ => Some(r"db\x9b2J\x9d0;pwned\x7f"),
        };
        if let Some(expected) = expected {
            assert!(text.contains(expected), "{words}: {expected} in {text}");
        }
    }
    // watch: two cycles, then stopped.
    let command = format!("timeout 2 {} query watch --raw", binary());
    let (_, shown) = on_pty(&command, &[("VIRTDIAG_SOCKET", &socket)]);
    assert_eq!(raw_controls(&shown), []);
    assert!(String::from_utf8_lossy(&shown).contains("\"kind\":\"cycle\""));

    // Piped: the agent's bytes, the names raw as serde_json writes them.
    let piped = |words: &[&str]| {
        let out = Command::new(common::binary())
            .args(["query", "--socket", &socket])
            .args(words)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let list = piped(&["list"]);
    for name in [DB, SPARE] {
        assert!(list.contains(&format!("\"name\":\"{name}\"")), "{list}");
    }
    let get = piped(&["get", "instance-0000002a"]);
    assert!(get.contains(&format!("\"instance\":\"{NOVA}\"")), "{get}");
}
