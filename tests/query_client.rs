//! `virtdiag query`, `query status --check` and `top` against sockets that misbehave
//! (tests/common/fake.rs): accepting and never answering, never accepting (a full
//! listen backlog), streaming without end, a `watch` that falls silent; and against
//! paths where no agent is (nothing, a regular file, a directory, a socket nobody
//! listens on, a socket this user may not use). Each ends within its deadline, in
//! bounded memory, with the documented exit code and a message that says what was
//! at the path.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::agent::workdir;
use common::fake::{self, status_line};

/// How a client run ended.
#[derive(Debug)]
struct Ended {
    code: i32,
    stderr: String,
    took: Duration,
    /// The peak resident memory seen, in KiB.
    peak_kib: u64,
}

/// Runs the binary with `args` (stdout to /dev/null), watching its memory, and
/// kills it after `limit`.
fn run(args: &[&str], limit: Duration) -> Ended {
    let started = Instant::now();
    let mut child = Command::new(common::binary())
        .args(args)
        .env_remove("VIRTDIAG_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut peak_kib = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if let Some(hwm) = peak(child.id()) {
            peak_kib = peak_kib.max(hwm);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("{args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    Ended {
        code: status.code().unwrap_or(-1),
        stderr,
        took,
        peak_kib,
    }
}

/// VmHWM of a running process, in KiB.
fn peak(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .ok()
}

fn query(socket: &Path, extra: &[&str]) -> Ended {
    let socket = socket.to_str().unwrap();
    let mut args = vec!["query", "--socket", socket];
    args.extend_from_slice(extra);
    run(&args, Duration::from_secs(60))
}

fn assert_took(ended: &Ended, at_least: f64, at_most: f64) {
    let took = ended.took.as_secs_f64();
    assert!(
        (at_least..at_most).contains(&took),
        "took {took:.2} s, not within {at_least}..{at_most}: {ended:?}"
    );
}

#[test]
fn a_status_missing_a_field_is_a_broken_answer() {
    let dir = workdir("client-broken");
    // A status without its `uri`, raw and for a person: exit 74, the field named.
    let socket = fake::script(&dir, "broken.sock", |_request, stream| {
        let line = status_line(10.0).replacen("\"uri\":\"test:///default\",", "", 1);
        let _ = stream.write_all(line.as_bytes());
    });
    for extra in [&["status"][..], &["--raw", "status"][..]] {
        let ended = query(&socket, extra);
        assert_eq!(ended.code, 74, "{ended:?}");
        assert!(
            ended.stderr.contains(&format!(
                "a broken answer from the agent at {}: missing field `uri`",
                socket.display()
            )),
            "{ended:?}"
        );
    }
}

#[test]
fn metrics_without_its_trailer_was_cut_short() {
    let dir = workdir("client-metrics");
    let socket = fake::script(&dir, "cut-metrics.sock", |_request, stream| {
        let _ = stream.write_all(b"# TYPE virtdiag_up gauge\nvirtdiag_up 1\n");
    });
    let ended = query(&socket, &["metrics"]);
    assert_eq!(ended.code, 74, "{ended:?}");
    assert!(
        ended.stderr.contains("was cut short") && ended.stderr.contains("no # EOF"),
        "{ended:?}"
    );
    let socket = fake::script(&dir, "metrics.sock", |_request, stream| {
        let _ = stream.write_all(b"# TYPE virtdiag_up gauge\nvirtdiag_up 1\n# EOF\n");
    });
    assert_eq!(query(&socket, &["metrics"]).code, 0);
}

#[test]
fn a_socket_that_accepts_and_never_answers() {
    let dir = workdir("client-silent");
    let socket = fake::silent(&dir);
    let ended = query(&socket, &["status"]);
    assert_eq!(ended.code, 74, "{ended:?}");
    assert_took(&ended, 4.9, 15.0);
    assert!(
        ended.stderr.contains(&format!(
            "no answer in time from the agent at {}: not complete within 5 s (--timeout",
            socket.display()
        )),
        "{ended:?}"
    );
    assert_eq!(ended.stderr.lines().count(), 1, "{ended:?}");

    let ended = query(&socket, &["--timeout", "0.5", "all"]);
    assert_eq!(ended.code, 74, "{ended:?}");
    assert_took(&ended, 0.45, 6.0);
    assert!(ended.stderr.contains("within 0.5 s"), "{ended:?}");

    // The plugin keeps its codes: CRITICAL, within the same deadline.
    let ended = query(&socket, &["--timeout", "1", "status", "--check"]);
    assert_eq!(ended.code, 2, "{ended:?}");
    assert_took(&ended, 0.95, 8.0);
}

#[test]
fn a_socket_that_never_accepts() {
    let dir = workdir("client-backlog");
    let (socket, _held) = fake::never_accepting(&dir);
    let ended = query(&socket, &["status"]);
    assert_eq!(ended.code, 69, "{ended:?}");
    assert_took(&ended, 4.9, 15.0);
    assert!(
        ended
            .stderr
            .contains("did not accept the connection within 5 s (--timeout)"),
        "{ended:?}"
    );
    assert!(ended
        .stderr
        .contains("queue of waiting connections is full"));

    let ended = query(&socket, &["--timeout", "1.5", "status", "--check"]);
    assert_eq!(ended.code, 2, "{ended:?}");
    assert_took(&ended, 1.45, 8.0);
}

#[test]
fn a_stream_without_end_is_cut_at_the_bound_in_bounded_memory() {
    let dir = workdir("client-endless");
    // Lines of 64 KiB, for ever: the answer bound ends it.
    static LINE: [u8; 65536] = {
        let mut line = [b'x'; 65536];
        line[65535] = b'\n';
        line
    };
    let socket = fake::endless(&dir, "lines.sock", &LINE);
    let ended = query(&socket, &["--max-answer-bytes", "128M", "metrics"]);
    assert_eq!(ended.code, 74, "{ended:?}");
    assert!(
        ended.stderr.contains("a broken answer from the agent at "),
        "{ended:?}"
    );
    assert!(
        ended
            .stderr
            .contains(": larger than 134217728 bytes (--max-answer-bytes)"),
        "{ended:?}"
    );
    assert!(ended.peak_kib < 48 * 1024, "peak RSS: {ended:?}");

    // One line without end: the line bound ends it.
    let socket = fake::endless(&dir, "one-line.sock", &[b'y'; 65536]);
    let ended = query(&socket, &["status"]);
    assert_eq!(ended.code, 74, "{ended:?}");
    assert!(
        ended
            .stderr
            .contains("a line longer than 16 MiB: this is not the agent's protocol"),
        "{ended:?}"
    );
    assert!(ended.peak_kib < 64 * 1024, "peak RSS: {ended:?}");
}

#[test]
fn watch_may_be_silent_three_intervals_and_not_more() {
    let dir = workdir("client-watch");
    // An agent whose cycles stop: status says 0.25 s, watch gets two cycles, then
    // nothing.
    let socket = fake::script(&dir, "watch.sock", |request, stream| {
        let _ = match request {
            "status" => stream.write_all(status_line(0.25).as_bytes()),
            _ => {
                for seq in 1..=2 {
                    std::thread::sleep(Duration::from_millis(250));
                    let cycle = format!("{{\"kind\":\"cycle\",\"seq\":{seq}}}\n");
                    let _ = stream.write_all(cycle.as_bytes());
                }
                std::thread::sleep(Duration::from_secs(3600));
                Ok(())
            }
        };
    });
    let ended = query(&socket, &["--timeout", "1", "watch"]);
    assert_eq!(ended.code, 74, "{ended:?}");
    // Two cycles 0.25 s apart, then 3 × 0.25 s + 1 s of silence.
    assert_took(&ended, 2.2, 10.0);
    assert!(
        ended.stderr.contains("no more cycles from the agent at "),
        "{ended:?}"
    );
    assert!(
        ended
            .stderr
            .contains(": nothing for 1.8 s, longer than 3 of its intervals plus --timeout"),
        "{ended:?}"
    );

    // A watch that streams without end is not cut, and does not grow: 3 s of
    // records at full speed, then stopped.
    static RECORD: &[u8] = b"{\"kind\":\"domain\",\"domain\":{\"name\":\"vm\"}}\n";
    let socket = fake::script(&dir, "flood.sock", |request, stream| {
        let _ = match request {
            "status" => stream.write_all(status_line(1.0).as_bytes()),
            _ => loop {
                if stream.write_all(&RECORD.repeat(1000)).is_err() {
                    break Ok(());
                }
            },
        };
    });
    let mut child = Command::new(common::binary())
        .args(["query", "--socket", socket.to_str().unwrap(), "watch"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let rss = peak(child.id());
    assert!(child.try_wait().unwrap().is_none(), "a live stream goes on");
    child.kill().unwrap();
    child.wait().unwrap();
    let rss = rss.unwrap();
    assert!(rss < 48 * 1024, "peak RSS {rss} KiB");
}

#[test]
fn watch_asks_again_before_giving_up_and_learns_a_longer_interval() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static ASKED: AtomicUsize = AtomicUsize::new(0);
    let dir = workdir("client-reload");
    // The first status says 0.25 s; the agent is then reloaded with 2 s, and its
    // next cycle comes 4 s after the watch began: later than 3 × 0.25 s + 1 s,
    // sooner than 3 × 2 s + 1 s.
    let socket = fake::script(&dir, "reload.sock", |request, stream| {
        let _ = match request {
            "status" => {
                let interval = if ASKED.fetch_add(1, Ordering::SeqCst) == 0 {
                    0.25
                } else {
                    2.0
                };
                stream.write_all(status_line(interval).as_bytes())
            }
            _ => {
                std::thread::sleep(Duration::from_secs(4));
                stream.write_all(b"{\"kind\":\"cycle\",\"seq\":1}\n")
            }
        };
    });
    let ended = query(&socket, &["--timeout", "1", "watch"]);
    assert_eq!(ended.code, 0, "{ended:?}");
    assert_eq!(ASKED.load(Ordering::SeqCst), 2, "{ended:?}");
    assert_took(&ended, 3.9, 12.0);
}

#[test]
fn unreachable_says_what_is_at_the_path() {
    let dir = workdir("client-paths");
    let said = |path: &Path| {
        let ended = query(path, &["status"]);
        assert_eq!(ended.code, 69, "{ended:?}");
        assert!(ended.took < Duration::from_secs(5), "{ended:?}");
        let prefix = format!(
            "virtdiag: cannot connect to the agent at {}: ",
            path.display()
        );
        assert!(ended.stderr.starts_with(&prefix), "{ended:?}");
        assert_eq!(ended.stderr.lines().count(), 1, "{ended:?}");
        ended.stderr[prefix.len()..].to_string()
    };
    let missing = said(&dir.join("no-such.sock"));
    assert!(
        missing.starts_with("nothing there (no such file)"),
        "{missing}"
    );
    assert!(missing.contains("systemctl status virtdiag"), "{missing}");
    let missing_dir = said(&dir.join("no-such-dir/v.sock"));
    assert!(
        missing_dir.contains("no-such-dir does not exist either"),
        "{missing_dir}"
    );
    let file = dir.join("diagnostics.ndjson");
    std::fs::write(&file, "{}\n").unwrap();
    assert!(said(&file).starts_with("a regular file, not a socket"));
    assert!(said(&dir).starts_with("a directory, not a socket"));
    let stale = dir.join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let stale = said(&stale);
    assert!(stale.starts_with("a socket nobody listens on"), "{stale}");

    // The same for top, before it touches the terminal (its stdout is not one
    // here, which it checks first; so the plugin form stands in).
    let ended = query(&dir.join("no-such.sock"), &["status", "--check"]);
    assert_eq!(ended.code, 2, "{ended:?}");
}

#[test]
fn permission_denied_names_the_user_and_the_socket_owner() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root to run the client as another user");
        return;
    }
    let dir = workdir("client-denied");
    let socket = fake::silent(&dir);
    std::fs::set_permissions(&socket, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(common::binary())
        .args(["query", "--socket"])
        .arg(&socket)
        .arg("status")
        .output()
        .expect("setpriv (util-linux)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(69), "{stderr}");
    assert!(
        stderr.contains(
            "permission denied for user nobody (uid 65534): the socket is root:root, mode 0600"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("usermod -aG root $USER"), "{stderr}");
}

#[test]
fn top_ends_with_the_same_codes() {
    let dir = workdir("client-top");
    let silent = fake::silent(&dir);
    // top needs a terminal: util-linux `script` gives it one.
    let top = |socket: &Path| {
        let command = format!(
            "'{}' top --timeout 1 --socket '{}'",
            common::binary().display(),
            socket.display()
        );
        let started = Instant::now();
        let out = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .output()
            .expect("script (util-linux)");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.code().unwrap(), text, started.elapsed())
    };
    let (code, text, took) = top(&silent);
    assert_eq!(code, 74, "{text}");
    assert!(text.contains("within 1 s (--timeout"), "{text}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    let (code, text, _) = top(&dir.join("nothing.sock"));
    assert_eq!(code, 69, "{text}");
    assert!(text.contains("nothing there (no such file)"), "{text}");
}
