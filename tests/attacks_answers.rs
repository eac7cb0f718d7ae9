//! Attacks on the answers at 5,000 domains, one test per attack, each against `virtdiag
//! run` on the test driver: patterns, whole-cycle views (Nova, `list`, `metrics`) asked
//! in loops, watchers and readers that never or slowly read. While each runs, an honest
//! client's `status` is answered with p99 under 10 ms, memory stays within 64 MiB of
//! the idle baseline, and SIGTERM stops the agent within 2 s (`common::siege`). The
//! bound each attack runs into is named in its doc comment.
//!
//! Release build only, one at a time: `tests/run.sh` runs
//! `VIRTDIAG_BIN=target/release/virtdiag cargo test --test attacks_answers -- --ignored`.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::agent::{demo_config, workdir, Agent};
use common::procfs::PeakRss;
use common::siege::{one_at_a_time, Siege, Verdict};

/// Domains of the generated host every attack here runs against.
const DOMAINS: usize = 5000;

/// The agent on 5,000 domains every `interval` seconds, with an honest consumer of
/// every view (as a Prometheus scraping `metrics` and a dashboard asking `list` and
/// Nova's view, once a cycle), after warm-up cycles (the allocator's working set grows
/// over the first ones); its RSS then is the baseline. The consumer runs on through
/// the attack: the budget is the agent's RSS beyond what its honest use costs.
fn started(name: &str, interval: f64, extra: &str) -> (Agent, u64, Siege) {
    let dir = workdir(name);
    let config =
        demo_config(interval).replace(&common::demo_uri(), &common::fixture_uri(DOMAINS)) + extra;
    let mut agent = Agent::start(&dir, &config);
    agent.wait_until(
        "the first cycle at 5,000 domains",
        Duration::from_secs(60),
        |a| a.cycles() >= 1,
    );
    let mut honest = Siege::new();
    let socket = agent.socket.clone();
    honest.spawn(move |stop| {
        let mut scrapes = 0;
        while running(stop) {
            for request in ["metrics", "list", "all format=nova", "all format=legacy"] {
                drain(&socket, request);
            }
            scrapes += 1;
            std::thread::sleep(Duration::from_secs_f64(interval));
        }
        scrapes
    });
    let settled = agent.cycles() + 6;
    agent.wait_until("warm-up cycles", Duration::from_secs(120), |a| {
        a.cycles() >= settled
    });
    // Memory swings by a view's size as each cycle builds its views: the baseline is
    // the peak over three cycles of honest use, and an attack is held to its peak.
    let peak = PeakRss::start(agent.pid() as u32);
    let settled = agent.cycles() + 3;
    agent.wait_until("baseline cycles", Duration::from_secs(60), |a| {
        a.cycles() >= settled
    });
    (agent, peak.end(), honest)
}

/// The verdict with the peak memory of the attack, from `peak`'s start.
fn verdict(name: &'static str, agent: &mut Agent, baseline: u64, peak: PeakRss) -> Verdict {
    let mut verdict = Verdict::take(name, agent, baseline, ("status", "status"));
    verdict.rss_during_kib = verdict.rss_during_kib.max(peak.end());
    verdict
}

fn running(stop: &AtomicBool) -> bool {
    !stop.load(Ordering::Relaxed)
}

/// Sends `request` and reads the whole answer; its size (0 if the agent closed early).
fn drain(socket: &Path, request: &str) -> u64 {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return 0;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    if stream.write_all(format!("{request}\n").as_bytes()).is_err() {
        return 0;
    }
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    total
}

/// Clients that loop `request`, each reading whole answers as fast as it can.
fn loopers(siege: &mut Siege, socket: &Path, clients: usize, request: &'static str) {
    for _ in 0..clients {
        let socket = socket.to_path_buf();
        siege.spawn(move |stop| {
            let mut answers = 0;
            while running(stop) {
                if drain(&socket, request) > 0 {
                    answers += 1;
                }
            }
            answers
        });
    }
}

/// A pattern with a `[...]` set as long as a request line allows.
fn long_set_pattern() -> String {
    let set: String = (0..4000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    format!("get *[{set}]*")
}

/// Bound: a pattern is at most 256 bytes (longer is `bad_argument` before any name is
/// read), compiled once and matched in time linear in the name; a client's turn ends
/// after 1 ms of the loop's time.
#[test]
#[ignore = "the release build's budget: tests/run.sh runs it with VIRTDIAG_BIN"]
fn long_patterns_in_a_pipeline() {
    let _serial = one_at_a_time();
    let (mut agent, baseline, _honest) = started("answers-patterns", 2.0, "");
    let peak = PeakRss::start(agent.pid() as u32);
    // The longest pattern allowed, made to backtrack: every name is tried against it.
    let worst = format!("get {}", "*a".repeat(127) + "*");
    let long = long_set_pattern();
    let started = Instant::now();
    let answer = agent.request(&worst);
    let one = started.elapsed();
    assert!(answer[0]["error"]["code"] == "unknown_domain", "{answer:?}");
    let answer = agent.request(&long);
    assert_eq!(answer[0]["error"]["code"], "bad_argument", "{answer:?}");
    let message = answer[0]["error"]["message"].as_str().unwrap();
    assert!(message.contains("256"), "the limit is named: {message}");
    println!("one worst-case pattern get at {DOMAINS} domains: {one:?} round trip");

    let mut siege = Siege::new();
    for pattern in [worst, long] {
        let socket = agent.socket.clone();
        siege.spawn(move |stop| {
            // Sixteen at once, as fast as the agent answers them.
            let burst = format!("{pattern}\n").repeat(16);
            let mut bursts = 0;
            while running(stop) {
                let Ok(mut stream) = UnixStream::connect(&socket) else {
                    continue;
                };
                if stream.write_all(burst.as_bytes()).is_err() {
                    continue;
                }
                let _ = stream.shutdown(std::net::Shutdown::Write);
                let mut sink = Vec::new();
                let _ = stream.read_to_end(&mut sink);
                bursts += 1;
            }
            bursts
        });
    }
    std::thread::sleep(Duration::from_millis(500));
    let verdict = verdict(
        "16 pattern gets at once, looped",
        &mut agent,
        baseline,
        peak,
    );
    let bursts = siege.end();
    assert!(bursts > 3, "the attackers were answered: {bursts} bursts");
    verdict.assert_within_budget();
}

/// Bound: views are built once per cycle and shared; a watcher more than three cycles
/// behind is closed; older cycles' buffers count against the 64 MiB answer budget.
#[test]
#[ignore = "the release build's budget: tests/run.sh runs it with VIRTDIAG_BIN"]
fn nova_watchers_that_never_read() {
    let _serial = one_at_a_time();
    let (mut agent, baseline, _honest) =
        started("answers-watchers", 1.0, "[socket]\nmax_clients = 128\n");
    let peak = PeakRss::start(agent.pid() as u32);
    let mut watchers = Vec::new();
    for _ in 0..60 {
        let mut stream = UnixStream::connect(&agent.socket).unwrap();
        stream.write_all(b"watch format=nova\n").unwrap();
        watchers.push(stream);
    }
    // Several cycles pass while nobody reads.
    let until = agent.cycles() + 5;
    agent.wait_until(
        "five cycles with stalled watchers",
        Duration::from_secs(60),
        |a| a.cycles() >= until,
    );
    let status = agent.status();
    println!("with 60 stalled Nova watchers: {}", status["clients"]);
    let clients = &status["clients"];
    assert!(clients["bytes_in_flight"].as_u64() <= clients["budget_bytes"].as_u64());
    let verdict = verdict("60 Nova watchers never read", &mut agent, baseline, peak);
    drop(watchers);
    verdict.assert_within_budget();
}

/// Bound: `all format=nova` is one shared buffer per cycle, built off the loop.
#[test]
#[ignore = "the release build's budget: tests/run.sh runs it with VIRTDIAG_BIN"]
fn nova_all_in_a_loop() {
    views_in_a_loop(
        "answers-nova-all",
        "all format=nova",
        "32 clients loop all format=nova",
    );
}

/// Bound: `list` is one shared buffer per cycle, built off the loop.
#[test]
#[ignore = "the release build's budget: tests/run.sh runs it with VIRTDIAG_BIN"]
fn list_in_a_loop() {
    views_in_a_loop("answers-list", "list", "32 clients loop list");
}

/// Bound: `metrics` shares the cycle's domain families; older cycles' buffers held by
/// readers count against the answer budget.
#[test]
#[ignore = "the release build's budget: tests/run.sh runs it with VIRTDIAG_BIN"]
fn metrics_in_a_loop() {
    views_in_a_loop("answers-metrics", "metrics", "32 clients loop metrics");
}

fn views_in_a_loop(name: &str, request: &'static str, title: &'static str) {
    let _serial = one_at_a_time();
    let (mut agent, baseline, _honest) = started(name, 1.0, "[socket]\nmax_clients = 128\n");
    let peak = PeakRss::start(agent.pid() as u32);
    let mut siege = Siege::new();
    loopers(&mut siege, &agent.socket, 32, request);
    // Across cycles, so that readers straddle a new cycle's views.
    let until = agent.cycles() + 3;
    agent.wait_until(
        "three cycles under the loop",
        Duration::from_secs(60),
        |a| a.cycles() >= until,
    );
    let verdict = verdict(title, &mut agent, baseline, peak);
    let answers = siege.end();
    assert!(answers >= 32, "the loopers were answered: {answers}");
    verdict.assert_within_budget();
}

/// Bound: a reader that keeps an older cycle's buffer alive past the 64 MiB answer
/// budget is closed with `too_slow`, the largest holders first.
#[test]
#[ignore = "the release build's budget: tests/run.sh runs it with VIRTDIAG_BIN"]
fn slow_metrics_readers_one_per_cycle() {
    let _serial = one_at_a_time();
    let (mut agent, baseline, _honest) = started(
        "answers-slow-metrics",
        1.0,
        "[socket]\nmax_clients = 128\nidle_timeout_seconds = 120\n",
    );
    let peak = PeakRss::start(agent.pid() as u32);
    let mut siege = Siege::new();
    let mut cycle = agent.cycles();
    for _ in 0..24 {
        agent.wait_until("the next cycle", Duration::from_secs(30), |a| {
            a.cycles() > cycle
        });
        cycle = agent.cycles();
        let socket: PathBuf = agent.socket.clone();
        // 640 KB/s: 64 KiB every 100 ms.
        siege.spawn(move |stop| {
            let Ok(mut stream) = UnixStream::connect(&socket) else {
                return 0;
            };
            let _ = stream.write_all(b"metrics\n");
            let mut buf = vec![0u8; 64 << 10];
            let mut total = 0u64;
            while running(stop) {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => total += n as u64,
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            total
        });
    }
    let status = agent.status();
    println!("with 24 slow metrics readers: {}", status["clients"]);
    assert!(
        status["clients"]["dropped"].as_u64().unwrap() > 0,
        "readers pinning older cycles were closed: {}",
        status["clients"]
    );
    let verdict = verdict(
        "24 slow metrics readers, one per cycle",
        &mut agent,
        baseline,
        peak,
    );
    siege.end();
    verdict.assert_within_budget();
}
