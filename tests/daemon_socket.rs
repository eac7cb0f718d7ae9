//! The query socket through real socat and `virtdiag query`, and its limits.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::agent::{demo_config, read_lines, workdir, Agent};
use serde_json::Value;

/// `printf INPUT | socat - UNIX-CONNECT:SOCKET`, parsed.
fn socat(agent: &Agent, input: &str) -> Vec<Value> {
    let mut child = Command::new("socat")
        .args([
            "-t",
            "5",
            "-",
            &format!("UNIX-CONNECT:{}", agent.socket.display()),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("socat is installed (tests/run.sh installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    common::parse_lines(&String::from_utf8(output.stdout).unwrap())
}

fn query(agent: &Agent, args: &[&str]) -> std::process::Output {
    Command::new(common::binary())
        .arg("query")
        .arg("--socket")
        .arg(&agent.socket)
        .args(args)
        .output()
        .unwrap()
}

fn started(name: &str) -> Agent {
    let dir = workdir(name);
    let mut agent = Agent::start(&dir, &demo_config(0.3));
    agent.wait_cycles(2);
    agent
}

#[test]
fn every_command_through_socat() {
    let agent = started("socat");
    let help = socat(&agent, "help\n");
    assert_eq!(help.len(), virtdiag::query::protocol::COMMANDS.len() + 1);
    assert_eq!(help.last().unwrap()["kind"], "end");
    // No domain event happened on the demo host: the ring is empty, and says so.
    let events = socat(&agent, "events 5\n");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["kind"], "end");
    assert_eq!(events[0]["count"], 0);
    assert_eq!(
        socat(&agent, "events 0\n")[0]["error"]["code"],
        "bad_argument"
    );
    assert_eq!(
        socat(&agent, "version\n")[0]["version"],
        env!("CARGO_PKG_VERSION")
    );
    let status = &socat(&agent, "status\n")[0];
    assert_eq!(status["connected"], true);
    assert_eq!(status["interval_seconds"], 0.3);
    assert!(status["last_cycle"]["seq"].as_u64().unwrap() >= 2);
    let list = &socat(&agent, "list\n")[0];
    assert_eq!(list["count"], 4);
    let get = socat(&agent, "get instance-0000002a\n");
    common::assert_valid(&get[0]);
    assert_eq!(get[0]["nova"]["instance"], "web-1");
    let by_uuid = socat(
        &agent,
        "get 0B8E6A52-7D14-4C3A-9E21-5F6A7B8C9D01 format=legacy\n",
    );
    assert_eq!(by_uuid[0]["domain"], "db-primary");
    assert!(by_uuid[0]["diagnostics"]["vda_read"].is_number());
    let id = list["domains"][0]["id"].as_u64().unwrap();
    assert_eq!(socat(&agent, &format!("get {id}\n"))[0]["domain"]["id"], id);
    let all = socat(&agent, "all\n");
    assert_eq!(all.len(), 5);
    assert_eq!(
        all[4],
        serde_json::json!({"kind": "end", "count": 4, "seq": all[0]["seq"]})
    );
    let before = all[0]["seq"].as_u64().unwrap();
    let collected = socat(&agent, "collect format=legacy\n");
    assert_eq!(collected.len(), 5);
    assert!(collected[4]["seq"].as_u64().unwrap() > before);
    assert!(collected[0]["diagnostics"].is_object());
    // Several requests on one connection, then quit: the rest is not answered.
    let answers = socat(&agent, "version\nbogus\nstatus\nquit\nversion\n");
    assert_eq!(answers.len(), 3);
    assert_eq!(answers[1]["error"]["code"], "unknown_command");
    assert_eq!(answers[2]["kind"], "status");
}

#[test]
fn watch_streams_each_new_cycle() {
    let agent = started("watch");
    let mut stream = UnixStream::connect(&agent.socket).unwrap();
    stream.write_all(b"watch\n").unwrap();
    let lines = read_lines(&stream, 10, Duration::from_secs(10));
    assert_eq!(lines.len(), 10, "two cycles of 4 domains + cycle line");
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed[4]["kind"], "cycle");
    assert_eq!(parsed[9]["kind"], "cycle");
    assert_eq!(
        parsed[9]["seq"].as_u64().unwrap(),
        parsed[4]["seq"].as_u64().unwrap() + 1
    );
}

#[test]
fn the_query_client_prints_raw_lines_and_exits_by_outcome() {
    let agent = started("client");
    let out = query(&agent, &["status"]);
    assert!(out.status.success());
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["kind"], "status");
    let out = query(&agent, &["get", "spare", "format=legacy"]);
    assert!(out.status.success());
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["domain"], "spare");
    let out = query(&agent, &["get", "nope"]);
    assert_eq!(out.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no domain matches 'nope'"));
    let out = Command::new(common::binary())
        .args(["query", "--socket", "/nonexistent/v.sock", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(69));
}

#[test]
fn bad_requests_get_an_error_and_the_connection_stays_usable() {
    let agent = started("bad");
    let answers = socat(
        &agent,
        "get\nget a b\nall format=xml\n\u{1}\u{2}\nversion\n",
    );
    let codes: Vec<&str> = answers[..4]
        .iter()
        .map(|a| a["error"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "bad_argument",
            "bad_argument",
            "bad_argument",
            "bad_request"
        ]
    );
    assert_eq!(answers[4]["kind"], "version");

    // Binary garbage with newlines: errors, then a normal answer.
    let mut stream = UnixStream::connect(&agent.socket).unwrap();
    let garbage: Vec<u8> = (0..3000u32).map(|i| (i * 7919 % 256) as u8).collect();
    stream.write_all(&garbage).unwrap();
    stream.write_all(b"\nversion\n").unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut text = Vec::new();
    stream.read_to_end(&mut text).unwrap();
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("\"error\""));
    assert!(text.contains("\"kind\":\"version\""), "{text}");
}

#[test]
fn an_oversized_request_is_refused_and_the_connection_closed() {
    let agent = started("oversized");
    let mut stream = UnixStream::connect(&agent.socket).unwrap();
    stream.write_all(&vec![b'a'; 5000]).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let lines = common::parse_lines(&text);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["error"]["code"], "request_too_long");
}

/// Time for a fresh client to get `version` answered.
fn version_latency(agent: &Agent) -> Duration {
    let started = Instant::now();
    let answer = agent.request("version");
    assert_eq!(answer[0]["kind"], "version");
    started.elapsed()
}

#[test]
fn stalled_and_abusive_clients_never_block_the_others() {
    let dir = workdir("abuse");
    let config = format!(
        "{}[socket]\nmax_clients = 256\nidle_timeout_seconds = 2\n[spool]\nmax_bytes = \"4GiB\"\n",
        common::agent::demo_config(0.2).replace(&common::demo_uri(), &common::fixture_uri(1000))
    );
    let mut agent = Agent::start(&dir, &config);
    // The baseline once the agent has warmed up: its first cycles and spool rotations
    // grow its caches and the allocator's arenas by about 35 MiB at 1000 domains (then
    // it stays flat), which is not what the clients cost. No rotation during the test.
    agent.wait_cycles(10);
    let rss_before = agent.rss_kib();

    // A watcher that never reads: its output grows until it is dropped at 8 MiB.
    let mut never_reads = UnixStream::connect(&agent.socket).unwrap();
    never_reads.write_all(b"watch\n").unwrap();
    // A client that sends half a line and stalls.
    let mut half_line = UnixStream::connect(&agent.socket).unwrap();
    half_line.write_all(b"get inst").unwrap();
    // 200 simultaneous connections, each asking for status.
    let mut crowd: Vec<UnixStream> = (0..200)
        .map(|_| UnixStream::connect(&agent.socket).unwrap())
        .collect();
    for stream in &mut crowd {
        stream.write_all(b"status\n").unwrap();
    }

    let mut worst = Duration::ZERO;
    for _ in 0..50 {
        worst = worst.max(version_latency(&agent));
        std::thread::sleep(Duration::from_millis(20));
    }
    for stream in &crowd {
        let lines = read_lines(stream, 1, Duration::from_secs(5));
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("\"kind\":\"status\""));
    }
    drop(crowd);
    agent.wait_until(
        "the stalled watcher to be dropped",
        Duration::from_secs(30),
        |a| a.status()["clients"]["dropped"].as_u64().unwrap() >= 1,
    );
    // The half-line client is closed by the idle timeout, with a line that says so.
    half_line
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut rest = String::new();
    half_line.read_to_string(&mut rest).unwrap();
    let lines = common::parse_lines(&rest);
    assert_eq!(lines.len(), 1, "{rest}");
    assert_eq!(lines[0]["error"]["code"], "idle_timeout");
    drop(never_reads);
    let rss_after = agent.rss_kib();
    println!("worst version latency {worst:?}; RSS {rss_before} -> {rss_after} KiB");
    // Liveness, not speed: the others were answered all along, none waited behind the
    // abusive clients (benches/daemon.rs measures the latency itself).
    assert!(
        worst < Duration::from_secs(1),
        "a client waited {worst:?} behind the abusive ones"
    );
    assert!(
        rss_after < rss_before + 40 * 1024,
        "memory stays bounded: {rss_before} -> {rss_after} KiB"
    );
}

#[test]
fn a_full_agent_evicts_the_oldest_idle_client_and_refuses_only_when_all_are_busy() {
    let dir = workdir("max");
    let config = format!("{}[socket]\nmax_clients = 3\n", demo_config(0.3));
    let mut agent = Agent::start(&dir, &config);
    agent.wait_cycles(1);
    let idle: Vec<UnixStream> = (0..3)
        .map(|_| {
            let stream = UnixStream::connect(&agent.socket).unwrap();
            std::thread::sleep(Duration::from_millis(50));
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    // A newcomer is served; the longest idle connection makes room, and is told why.
    assert_eq!(agent.request("version")[0]["kind"], "version");
    let lines = read_lines(&idle[0], 1, Duration::from_secs(5));
    assert!(lines[0].contains("\"evicted\""), "{}", lines[0]);
    drop(idle);

    // Three watchers are busy, not idle: a fourth client is refused.
    let watchers: Vec<UnixStream> = agent.watchers(3);
    for watcher in &watchers {
        assert_eq!(read_lines(watcher, 1, Duration::from_secs(5)).len(), 1);
    }
    let extra = UnixStream::connect(&agent.socket).unwrap();
    let lines = read_lines(&extra, 1, Duration::from_secs(5));
    assert!(lines[0].contains("too_many_clients"), "{}", lines[0]);
    drop(watchers);
    agent.wait_until("a free slot", Duration::from_secs(5), |a| {
        a.try_request("version").is_ok()
    });
}
