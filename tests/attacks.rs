//! The agent under attack, one test per attack, each against `virtdiag run` on the test
//! driver. While each attack runs, an honest client's requests are answered with p99
//! under 10 ms, the agent's memory stays within 64 MiB of its idle baseline, and
//! SIGTERM stops it within 2 s; afterwards the spool holds whole lines only, no file
//! outside it was touched, and the loss is counted (`common::siege`). The bound each
//! attack runs into is named in its doc comment.
//!
//! The budget is the service's, so the suite runs against the release build, one
//! attack at a time: `tests/run.sh` runs
//! `VIRTDIAG_BIN=target/release/virtdiag cargo test --test attacks -- --ignored`.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::agent::{demo_config, read_lines, workdir, Agent};
use common::siege::{assert_spool_whole, one_at_a_time, Siege, Verdict};

/// A config for a generated host of `domains` domains.
fn fixture_config(domains: usize, interval: f64) -> String {
    demo_config(interval).replace(&common::demo_uri(), &common::fixture_uri(domains))
}

fn started(dir: &Path, config: &str, cycles: u64) -> (Agent, u64) {
    let mut agent = Agent::start(dir, config);
    agent.wait_cycles(cycles);
    let baseline = agent.rss_kib();
    (agent, baseline)
}

fn running(stop: &AtomicBool) -> bool {
    !stop.load(Ordering::Relaxed)
}

/// Bound: requests are read only while a client owes < 256 KiB, 16 per turn, round
/// robin; output that does not shrink for the stall timeout drops the client.
#[test]
#[ignore = "the release build's budget: tests/run.sh runs it with VIRTDIAG_BIN"]
fn request_flood() {
    let _serial = one_at_a_time();
    let dir = workdir("attack-flood");
    let config = format!("{}[socket]\nidle_timeout_seconds = 2\n", demo_config(0.5));
    let (mut agent, baseline) = started(&dir, &config, 1);
    let mut siege = Siege::new();
    let socket = agent.socket.clone();
    // Writes pipelined requests as fast as it can and never reads.
    siege.spawn(move |stop| {
        let stream = UnixStream::connect(&socket).unwrap();
        let _ =
            nix::sys::socket::setsockopt(&stream, nix::sys::socket::sockopt::SndBuf, &(4 << 20));
        stream
            .set_write_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let burst = b"version\n".repeat(8192);
        let mut sent = 0;
        let mut stream = stream;
        while running(stop) {
            match stream.write(&burst) {
                Ok(n) => sent += n as u64,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => break, // dropped by the agent
            }
        }
        sent
    });
    // Also floods, but reads its answers: it is served, fairly.
    let socket = agent.socket.clone();
    siege.spawn(move |stop| {
        let mut writer = UnixStream::connect(&socket).unwrap();
        let mut reader = writer.try_clone().unwrap();
        let reading = std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 16];
            let mut total = 0u64;
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                total += n as u64;
            }
            total
        });
        let burst = b"version\n".repeat(1024);
        while running(stop) && writer.write_all(&burst).is_ok() {}
        let _ = writer.shutdown(std::net::Shutdown::Both);
        reading.join().unwrap()
    });
    std::thread::sleep(Duration::from_millis(500));
    let served_reader = agent.status()["clients"]["connected"].as_u64().unwrap();
    assert!(served_reader >= 2, "both flooders are connected");
    // The one that never reads is dropped once its unread answers stop shrinking.
    agent.wait_until(
        "the non-reading flooder to be dropped",
        Duration::from_secs(10),
        |a| a.status()["clients"]["dropped"].as_u64().unwrap() >= 1,
    );
    let verdict = Verdict::take(
        "request flood",
        &mut agent,
        baseline,
        ("version", "version"),
    );
    let answered = siege.end();
    assert!(answered > 0, "the reading flooder was answered too");
    verdict.assert_within_budget();
    assert_spool_whole(&agent.spool);
}

/// Bound: the spool is opened with O_NOFOLLOW and only as the agent's own regular file;
/// a refused path costs that cycle's lines, counted, and is tried again next cycle.
#[test]
#[ignore = "the release build's budget: tests/run.sh runs it with VIRTDIAG_BIN"]
fn symlinked_spool_while_running() {
    let _serial = one_at_a_time();
    let dir = workdir("attack-symlink");
    let (mut agent, baseline) = started(&dir, &demo_config(0.2), 2);
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "precious, with no newline at the end").unwrap();
    let victim_before = std::fs::metadata(&victim).unwrap();

    std::fs::remove_file(&agent.spool).unwrap();
    std::os::unix::fs::symlink(&victim, &agent.spool).unwrap();
    agent.wait_until("refused writes", Duration::from_secs(10), |a| {
        a.status()["spool"]["refused_paths"].as_u64().unwrap() >= 2
    });
    let status = agent.status();
    assert!(
        status["spool"]["lines_lost"].as_u64().unwrap() > 0,
        "{status}"
    );
    assert!(
        status["spool"]["last_error"]
            .as_str()
            .unwrap()
            .contains("symbolic link"),
        "{status}"
    );
    // The link goes away: the agent's own file comes back, and the first cycle line
    // in it reports what was lost.
    std::fs::remove_file(&agent.spool).unwrap();
    agent.wait_until("the spool to come back", Duration::from_secs(10), |a| {
        std::fs::read_to_string(&a.spool).is_ok_and(|t| t.contains("\"kind\":\"cycle\""))
    });
    let first_cycle = agent
        .spool_lines()
        .into_iter()
        .find(|l| l["kind"] == "cycle")
        .unwrap();
    assert!(
        first_cycle["spool_lost_lines"].as_u64().unwrap() > 0,
        "{first_cycle}"
    );
    common::assert_valid(&first_cycle);
    let status = agent.status();
    assert_eq!(
        status["spool"]["last_error"],
        serde_json::Value::Null,
        "recovered: {status}"
    );

    let verdict = Verdict::take(
        "symlinked spool",
        &mut agent,
        baseline,
        ("get db-primary", "domain"),
    );
    verdict.assert_within_budget();
    let victim_after = std::fs::metadata(&victim).unwrap();
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "precious, with no newline at the end"
    );
    assert_eq!(
        victim_before.modified().unwrap(),
        victim_after.modified().unwrap()
    );
    assert_spool_whole(&agent.spool);
}

/// Bound: a dangling symlink at the spool path at start is refused (exit 73); its
/// target is never created.
#[test]
#[ignore = "the release build's budget: tests/run.sh runs it with VIRTDIAG_BIN"]
fn dangling_symlink_spool_at_start() {
    let _serial = one_at_a_time();
    let dir = workdir("attack-dangling");
    let target = dir.join("created-by-nobody");
    let spool = dir.join("diagnostics.ndjson");
    std::os::unix::fs::symlink(&target, &spool).unwrap();
    let out = Command::new(common::binary())
        .args(["run", "--uri", &common::demo_uri(), "--spool"])
        .arg(&spool)
        .arg("--socket")
        .arg(dir.join("v.sock"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(73), "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert!(!target.exists(), "the link's target was created");
    assert!(!dir.join("v.sock").exists(), "no socket left behind");
}

/// Bound: a FIFO is refused without blocking (O_NONBLOCK open, then fstat); the loop
/// never writes to disk, so it keeps answering whatever the spool path holds.
#[test]
#[ignore = "the release build's budget: tests/run.sh runs it with VIRTDIAG_BIN"]
fn fifo_at_the_spool_path() {
    let _serial = one_at_a_time();
    let dir = workdir("attack-fifo");
    let (mut agent, baseline) = started(&dir, &fixture_config(1000, 0.2), 2);
    std::fs::remove_file(&agent.spool).unwrap();
    nix::unistd::mkfifo(
        &agent.spool,
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    // A reader that holds the FIFO open and never reads: an open for writing succeeds.
    let _reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags_nonblocking()
        .open(&agent.spool)
        .unwrap();
    agent.wait_until("refused writes", Duration::from_secs(10), |a| {
        a.status()["spool"]["refused_paths"].as_u64().unwrap() >= 3
    });
    let status = agent.status();
    assert!(
        status["spool"]["lines_lost"].as_u64().unwrap() >= 3000,
        "{status}"
    );
    assert!(
        status["spool"]["last_error"]
            .as_str()
            .unwrap()
            .contains("FIFO"),
        "{status}"
    );
    let verdict = Verdict::take("FIFO spool", &mut agent, baseline, ("version", "version"));
    verdict.assert_within_budget();
}

/// Bound: when every slot is taken, hung-up peers are reaped and then the oldest idle
/// client is evicted; a newcomer is refused only if every slot is busy.
#[test]
#[ignore = "the release build's budget: tests/run.sh runs it with VIRTDIAG_BIN"]
fn idle_connections_hold_every_slot() {
    let _serial = one_at_a_time();
    let dir = workdir("attack-idle");
    let config = format!("{}[socket]\nmax_clients = 64\n", demo_config(0.5));
    let (mut agent, baseline) = started(&dir, &config, 1);
    let mut siege = Siege::new();
    let socket = agent.socket.clone();
    // Keeps 64 silent connections open, replacing each one the agent closes.
    siege.spawn(move |stop| {
        let mut held: Vec<UnixStream> = Vec::new();
        let mut opened = 0;
        while running(stop) {
            // A connection the agent wrote to (evicted) or closed is replaced.
            held.retain(|s| {
                s.set_nonblocking(true).unwrap();
                (&*s).read(&mut [0u8; 1]).is_err()
            });
            while held.len() < 64 && running(stop) {
                match UnixStream::connect(&socket) {
                    Ok(stream) => {
                        held.push(stream);
                        opened += 1;
                    }
                    Err(_) => break, // the agent stopped
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        opened
    });
    std::thread::sleep(Duration::from_millis(500));
    // This very request found every slot taken and evicted the longest idle one.
    let status = agent.status();
    assert!(
        status["clients"]["evicted"].as_u64().unwrap() >= 1,
        "{status}"
    );
    assert_eq!(status["clients"]["refused"], 0, "{status}");
    let verdict = Verdict::take("idle slots", &mut agent, baseline, ("version", "version"));
    let opened = siege.end();
    verdict.assert_within_budget();
    assert!(
        opened > 64,
        "the attacker replaced evicted connections ({opened} opened)"
    );
}

/// Bound: a watcher more than 3 cycles behind gets `too_slow` and is closed; cycles are
/// shared buffers, never copied per watcher.
#[test]
#[ignore = "the release build's budget: tests/run.sh runs it with VIRTDIAG_BIN"]
fn watchers_that_never_read() {
    let _serial = one_at_a_time();
    let dir = workdir("attack-watchers");
    let (mut agent, baseline) = started(&dir, &fixture_config(1000, 0.2), 2);
    let watchers: Vec<UnixStream> = agent.watchers(20);
    agent.wait_until(
        "the stalled watchers to be dropped",
        Duration::from_secs(20),
        |a| a.status()["clients"]["dropped"].as_u64().unwrap() >= 20,
    );
    let verdict = Verdict::take(
        "stalled watchers",
        &mut agent,
        baseline,
        ("version", "version"),
    );
    verdict.assert_within_budget();
    drop(watchers);
}

/// Bound: at most 64 accepts per turn; peers that already left are reaped before
/// anyone is refused.
#[test]
#[ignore = "the release build's budget: tests/run.sh runs it with VIRTDIAG_BIN"]
fn connect_close_storm() {
    let _serial = one_at_a_time();
    let dir = workdir("attack-storm");
    let config = format!("{}[socket]\nmax_clients = 16\n", demo_config(0.5));
    let (mut agent, baseline) = started(&dir, &config, 1);
    let mut siege = Siege::new();
    {
        let socket = agent.socket.clone();
        siege.spawn(move |stop| {
            let mut count = 0;
            while running(stop) {
                if UnixStream::connect(&socket).is_ok() {
                    count += 1;
                }
            }
            count
        });
    }
    std::thread::sleep(Duration::from_millis(300));
    let status = agent.status();
    assert!(
        status["clients"]["reaped"].as_u64().unwrap() > 0,
        "{status}"
    );
    let verdict = Verdict::take(
        "connect storm",
        &mut agent,
        baseline,
        ("version", "version"),
    );
    let connections = siege.end();
    println!("storm: {connections} connections");
    verdict.assert_within_budget();
}

/// Bound: at most one on-demand cycle per `min_collect_interval_seconds`; every client
/// waiting shares it.
#[test]
#[ignore = "the release build's budget: tests/run.sh runs it with VIRTDIAG_BIN"]
fn collect_in_a_loop() {
    let _serial = one_at_a_time();
    let dir = workdir("attack-collect");
    let config = format!(
        "{}min_collect_interval_seconds = 1\n",
        fixture_config(1000, 60.0)
    );
    let (mut agent, baseline) = started(&dir, &config, 1);
    let cycles_before = agent.cycles();
    let mut siege = Siege::new();
    for _ in 0..4 {
        let socket = agent.socket.clone();
        siege.spawn(move |stop| {
            let mut answered = 0;
            while running(stop) {
                let Ok(mut stream) = UnixStream::connect(&socket) else {
                    continue;
                };
                let _ = stream.write_all(b"collect\n");
                let _ = stream.shutdown(std::net::Shutdown::Write);
                let mut sink = Vec::new();
                if stream.read_to_end(&mut sink).is_ok() && sink.ends_with(b"}\n") {
                    answered += 1;
                }
            }
            answered
        });
    }
    let window = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let verdict = Verdict::take("collect loop", &mut agent, baseline, ("version", "version"));
    let elapsed = window.elapsed().as_secs_f64();
    let answered = siege.end();
    let cycles = agent.cycle_seqs().len() as u64 - cycles_before;
    println!("collect loop: {answered} answers from {cycles} cycles in {elapsed:.1} s");
    assert!(answered >= cycles, "waiting clients share cycles");
    assert!(
        (cycles as f64) <= elapsed + 2.0,
        "{cycles} on-demand cycles in {elapsed:.1} s"
    );
    verdict.assert_within_budget();
    assert_spool_whole(&agent.spool);
}

/// Bound: none on the size of one answer; a reader that keeps reading gets all of it,
/// and a cut answer never looks complete.
#[test]
#[ignore = "the release build's budget: tests/run.sh runs it with VIRTDIAG_BIN"]
fn answers_over_8_mib() {
    let _serial = one_at_a_time();
    let dir = workdir("attack-big");
    let (mut agent, baseline) = started(&dir, &fixture_config(3200, 30.0), 1);
    // A slow but steady reader.
    let mut stream = UnixStream::connect(&agent.socket).unwrap();
    stream.write_all(b"all\n").unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = stream.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(answer.len() > 8 << 20, "{} bytes", answer.len());
    let lines = common::parse_lines(std::str::from_utf8(&answer).unwrap());
    assert_eq!(lines.len(), 3201);
    assert_eq!(lines[3200]["kind"], "end");
    assert_eq!(lines[3200]["count"], 3200);

    // The query client prints it all and succeeds.
    let out = Command::new(common::binary())
        .args(["query", "--socket"])
        .arg(&agent.socket)
        .arg("all")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), answer.len());

    let verdict = Verdict::take(
        "answers over 8 MiB",
        &mut agent,
        baseline,
        ("version", "version"),
    );
    verdict.assert_within_budget();
}

/// A cut answer (no end line) makes `virtdiag query` fail, whatever its size: served
/// by socat as an agent that dies mid-answer.
#[test]
#[ignore = "the release build's budget: tests/run.sh runs it with VIRTDIAG_BIN"]
fn a_cut_answer_never_looks_complete() {
    let _serial = one_at_a_time();
    let dir = workdir("attack-cut");
    let socket = dir.join("cut.sock");
    // One whole record, then half of the next: what a reader sees when the agent dies
    // mid-answer.
    let answer = dir.join("answer");
    std::fs::write(&answer, "{\"kind\":\"domain\"}\n{\"kind\":\"dom").unwrap();
    // The fake agent reads the request line before it answers, as the agent does: a
    // server that closes with the request unread makes the client's write fail (EPIPE) or
    // its read reset, and this test is about the answer, not the request.
    let mut fake = Command::new("socat")
        .arg(format!("UNIX-LISTEN:{},fork", socket.display()))
        .arg(format!(
            "SYSTEM:head -n 1 >/dev/null; cat '{}'",
            answer.display()
        ))
        .spawn()
        .expect("socat is installed (tests/run.sh installs it)");
    // socat binds before it listens: wait until a connection is accepted.
    let deadline = Instant::now() + Duration::from_secs(5);
    while UnixStream::connect(&socket).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = Command::new(common::binary())
        .args(["query", "--socket"])
        .arg(&socket)
        .arg("all")
        .output()
        .unwrap();
    let _ = fake.kill();
    let _ = fake.wait();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"kind\":\"domain\""),
        "the whole record got through: {err}"
    );
    assert_eq!(
        out.status.code(),
        Some(74),
        "a torn answer passed as complete: {err}"
    );
    assert!(err.contains("cut short"), "{err}");
}

/// Bound: every numeric key has a range, checked alike at start, by check-config and at
/// reload; a bad reload keeps the running config.
#[test]
#[ignore = "the release build's budget: tests/run.sh runs it with VIRTDIAG_BIN"]
fn absurd_numbers_in_the_config() {
    let _serial = one_at_a_time();
    let dir = workdir("attack-config");
    let bad = dir.join("bad.toml");
    for value in ["1e300", "1e19", "nan", "-1", "inf"] {
        std::fs::write(&bad, format!("[socket]\nidle_timeout_seconds = {value}\n")).unwrap();
        let out = Command::new(common::binary())
            .args(["check-config", "--config"])
            .arg(&bad)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{value}: {err}");
        assert!(
            err.contains("socket.idle_timeout_seconds"),
            "{value}: {err}"
        );
        let out = Command::new(common::binary())
            .args(["run", "--config"])
            .arg(&bad)
            .args(["--uri", &common::demo_uri(), "--spool"])
            .arg(dir.join("never.ndjson"))
            .arg("--socket")
            .arg(dir.join("never.sock"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(78), "{value}");
    }
    assert!(!dir.join("never.ndjson").exists());

    let (mut agent, baseline) = started(&dir, &demo_config(0.3), 1);
    let good = std::fs::read_to_string(&agent.config).unwrap();
    std::fs::write(
        &agent.config,
        format!("{good}[socket]\nidle_timeout_seconds = 1e19\n"),
    )
    .unwrap();
    agent.signal(1);
    agent.wait_until("the reload to fail", Duration::from_secs(5), |a| {
        a.events().iter().any(|e| e == "reload_failed")
    });
    // Still serving, with the old limits: a client that connects is not cut off.
    let stream = UnixStream::connect(&agent.socket).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(read_lines(&stream, 1, Duration::from_millis(100)).is_empty());
    let verdict = Verdict::take(
        "absurd config at reload",
        &mut agent,
        baseline,
        ("version", "version"),
    );
    verdict.assert_within_budget();
    assert_eq!(agent.events().last().map(String::as_str), Some("stopping"));
}

/// Bound: an exclusive lock on the spool; a second agent on it exits 73 naming the
/// holder, and the spool's `seq`s stay one sequence.
#[test]
#[ignore = "the release build's budget: tests/run.sh runs it with VIRTDIAG_BIN"]
fn a_second_agent_on_the_same_spool() {
    let _serial = one_at_a_time();
    let dir = workdir("attack-second");
    let (mut agent, baseline) = started(&dir, &demo_config(0.2), 2);
    for _ in 0..5 {
        let out = Command::new(common::binary())
            .args(["run", "--uri", &common::demo_uri(), "--spool"])
            .arg(&agent.spool)
            .arg("--socket")
            .arg(dir.join("other.sock"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(73), "{err}");
        assert!(
            err.contains(&format!("locked by pid {}", agent.pid())),
            "{err}"
        );
        assert!(
            !dir.join("other.sock").exists(),
            "the refused agent left its socket"
        );
    }
    agent.wait_cycles(4);
    let verdict = Verdict::take("second agent", &mut agent, baseline, ("version", "version"));
    verdict.assert_within_budget();
    let seqs = agent.cycle_seqs();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
}

/// Bound: starts on one socket race under the socket's lock; exactly one agent runs.
#[test]
#[ignore = "the release build's budget: tests/run.sh runs it with VIRTDIAG_BIN"]
fn concurrent_starts_on_one_socket() {
    let _serial = one_at_a_time();
    let dir = workdir("attack-race");
    let socket = dir.join("v.sock");
    let mut children: Vec<_> = (0..8)
        .map(|i| {
            Command::new(common::binary())
                .args([
                    "run",
                    "--uri",
                    &common::demo_uri(),
                    "--interval",
                    "1",
                    "--spool",
                ])
                .arg(dir.join(format!("s{i}.ndjson")))
                .arg("--socket")
                .arg(&socket)
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let mut count = 0;
    for child in &mut children {
        if child.try_wait().unwrap().is_none() {
            count += 1;
            let _ = Command::new("kill").arg(child.id().to_string()).status();
        }
    }
    for child in &mut children {
        let _ = child.wait();
    }
    assert_eq!(count, 1, "{count} agents run on one socket");
}

/// Bound: a spool that cannot be opened at start is an I/O failure (exit 73, which the
/// unit restarts with backoff), not a configuration error (78, never restarted).
#[test]
#[ignore = "the release build's budget: tests/run.sh runs it with VIRTDIAG_BIN"]
fn unopenable_spool_at_start() {
    let _serial = one_at_a_time();
    let dir = workdir("attack-unopenable");
    let readonly = dir.join("ro");
    std::fs::create_dir_all(&readonly).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"])
        .arg(&readonly)
        .status()
        .is_ok_and(|s| s.success());
    let mut paths = vec![("EACCES", Path::new("/sys/virtdiag.ndjson").to_path_buf())];
    if mounted {
        paths.push(("EROFS", readonly.join("d.ndjson")));
    }
    for (what, spool) in &paths {
        let out = Command::new(common::binary())
            .args(["run", "--uri", &common::demo_uri(), "--spool"])
            .arg(spool)
            .arg("--socket")
            .arg(dir.join("v.sock"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(73), "{what}: {err}");
        assert!(err.contains("spool.path"), "{what}: {err}");
    }
    if mounted {
        let _ = Command::new("umount").arg(&readonly).status();
    }
}

/// O_NONBLOCK for opening a FIFO's read end without a writer.
trait NonBlocking {
    fn custom_flags_nonblocking(&mut self) -> &mut Self;
}

impl NonBlocking for std::fs::OpenOptions {
    fn custom_flags_nonblocking(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
    }
}
