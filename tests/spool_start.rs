//! The spool read back at start, whatever it holds: one test per case an unlucky
//! operator or an attacker leaves behind (another host's spool, an absurd `seq`, a huge
//! line, a file with no newline, a burst of events, a spool moved away). Each starts
//! `virtdiag run` on such a spool and asserts the time to its first cycle (under 1 s),
//! its peak memory above an agent started on an empty spool (under 32 MiB), and what
//! the first cycle says: its `seq`, its rates.
//!
//! The bounds are the service's, so the suite runs against the release build:
//! `tests/run.sh` runs
//! `VIRTDIAG_BIN=target/release/virtdiag cargo test --test spool_start -- --ignored`.

mod common;

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::agent::{demo_config, workdir, Agent};
use common::procfs::peak_rss_kib;
use common::siege::one_at_a_time;
use serde_json::Value;

const HOST: &str = "spool-host";

/// Start to first cycle, at most.
const FIRST_CYCLE: Duration = Duration::from_secs(1);

/// Peak memory above an agent on an empty spool, at most.
const ABOVE_IDLE_KIB: u64 = 32 * 1024;

fn config(interval: f64) -> String {
    format!("{}host = \"{HOST}\"\n", demo_config(interval))
}

/// An agent started on whatever `prepare` left in its directory, and what its start cost.
struct Started {
    agent: Agent,
    first_cycle: Duration,
    peak_kib: u64,
}

fn start(dir: &Path, interval: f64) -> Started {
    let began = Instant::now();
    let mut agent = Agent::start(dir, &config(interval));
    agent.wait_until("the first cycle", Duration::from_secs(30), |a| {
        a.cycles() >= 1
    });
    let first_cycle = began.elapsed();
    let peak_kib = peak_rss_kib(agent.child.id());
    Started {
        agent,
        first_cycle,
        peak_kib,
    }
}

/// The peak memory of an agent on an empty spool, up to its first cycle.
fn idle_peak_kib() -> u64 {
    static IDLE: OnceLock<u64> = OnceLock::new();
    *IDLE.get_or_init(|| {
        let mut idle = start(&workdir("start-idle"), 0.5);
        assert!(idle.agent.stop(Duration::from_secs(3)).success());
        idle.peak_kib
    })
}

impl Started {
    /// Asserts the bounds of a start, and prints the figures.
    fn assert_bounded(&self, case: &str) {
        let idle = idle_peak_kib();
        let above = self.peak_kib.saturating_sub(idle);
        println!(
            "{case}: first cycle after {:.0} ms, peak RSS {} KiB ({} KiB above idle {} KiB)",
            self.first_cycle.as_secs_f64() * 1000.0,
            self.peak_kib,
            above,
            idle
        );
        assert!(
            self.first_cycle < FIRST_CYCLE,
            "{case}: first cycle after {:?}",
            self.first_cycle
        );
        assert!(
            above < ABOVE_IDLE_KIB,
            "{case}: peak RSS {above} KiB above idle"
        );
    }

    /// Stops the agent and returns the first cycle line of this run and its domain lines.
    fn stop_and_first_cycle(&mut self) -> (Value, Vec<Value>) {
        assert!(self.agent.stop(Duration::from_secs(3)).success());
        first_cycle_of_last_run(&self.agent.spool_lines())
    }
}

/// The first cycle line after the last `started` line, and its domain lines.
fn first_cycle_of_last_run(lines: &[Value]) -> (Value, Vec<Value>) {
    let started = lines
        .iter()
        .rposition(|l| l["kind"] == "agent" && l["event"] == "started")
        .expect("a started line");
    let run = &lines[started..];
    let cycle = run
        .iter()
        .find(|l| l["kind"] == "cycle")
        .expect("a cycle line")
        .clone();
    let domains = run
        .iter()
        .filter(|l| l["kind"] == "domain" && l["seq"] == cycle["seq"])
        .cloned()
        .collect();
    (cycle, domains)
}

/// Runs an agent for `cycles` cycles in `dir` and stops it: a spool this agent wrote.
fn earlier_run(dir: &Path, interval: f64, cycles: u64) -> u64 {
    let mut agent = Agent::start(dir, &config(interval));
    agent.wait_cycles(cycles);
    assert!(agent.stop(Duration::from_secs(3)).success());
    *agent.cycle_seqs().last().unwrap()
}

/// A cycle line as the agent writes it (`kind` first: the agent recognises its lines
/// by their start).
fn cycle_line(ts: &str, seq: u64) -> String {
    format!(
        "{{\"kind\":\"cycle\",\"schema\":1,\"ts\":\"{ts}\",\"host\":\"{HOST}\",\"seq\":{seq}}}\n"
    )
}

/// The line with every integer set to 0 but `id`, `seq` and `schema`: the same line
/// from a host whose counters all start at 0. Edited as text, so the line keeps the
/// agent's key order.
fn zero_counters(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find("\":") {
        let (head, tail) = rest.split_at(i + 2);
        out.push_str(head);
        let key = &head[head[..head.len() - 2].rfind('"').unwrap() + 1..head.len() - 2];
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        let integer = digits > 0 && !tail[digits..].starts_with(['.', 'e', 'E']);
        if integer && !["id", "seq", "schema"].contains(&key) {
            out.push('0');
            rest = &tail[digits..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// Row "last cycle's counters all 0 (a spool from a fresh host)": was CPU 4.95e11 %.
#[test]
#[ignore = "the release build's bounds: tests/run.sh runs it with VIRTDIAG_BIN"]
fn a_fresh_hosts_spool_gives_no_rate_above_its_bound() {
    let _serial = one_at_a_time();
    let dir = workdir("start-zeros");
    let last = earlier_run(&dir, 0.5, 2);
    let spool = dir.join("diagnostics.ndjson");
    let text: String = std::fs::read_to_string(&spool)
        .unwrap()
        .lines()
        .map(|line| {
            let line = if line.starts_with("{\"kind\":\"domain\"") {
                // Names are libvirt's to give, never the spool's.
                zero_counters(line).replace("\"name\":\"db-primary\"", "\"name\":\"spoofed\"")
            } else {
                line.to_string()
            };
            line + "\n"
        })
        .collect();
    assert!(text.contains("\"time_ns\":0,"), "{text}");
    std::fs::write(&spool, text).unwrap();
    let mut started = start(&dir, 0.5);
    started.assert_bounded("counters all 0");
    let (cycle, domains) = started.stop_and_first_cycle();
    assert!(
        started
            .agent
            .log()
            .contains("rates continue from the spool's last cycle: 4 domains"),
        "the zeroed lines were taken as the baseline: {}",
        started.agent.log()
    );
    assert_eq!(cycle["seq"], last + 1);
    let mut running = 0;
    for domain in &domains {
        let Some(cpu) = domain["cpu"].as_object() else {
            continue;
        };
        let vcpus = cpu["vcpus"].as_array().unwrap().len().max(1) as f64;
        if let Some(pct) = cpu["utilisation_pct"].as_f64() {
            assert!(pct <= 100.0 * vcpus, "{domain}");
        }
        if domain["domain"]["state"] == "running" {
            running += 1;
            // The test driver's CPU time is the wall clock: against 0, no reading.
            assert_eq!(cpu["utilisation_pct"], Value::Null, "{domain}");
            for disk in domain["disks"].as_array().unwrap() {
                assert!(
                    disk["read_bytes_per_s"]
                        .as_f64()
                        .is_none_or(|r| r <= (1u64 << 40) as f64),
                    "{disk}"
                );
            }
        }
    }
    assert!(running >= 2, "{domains:?}");
    assert!(
        domains.iter().any(|d| d["domain"]["name"] == "db-primary")
            && !domains.iter().any(|d| d["domain"]["name"] == "spoofed"),
        "{domains:?}"
    );
}

/// Row "`seq` 18446744073709551615": `seq` wrapped to 0.
#[test]
#[ignore = "the release build's bounds: tests/run.sh runs it with VIRTDIAG_BIN"]
fn an_absurd_seq_starts_a_new_sequence_and_says_why() {
    let _serial = one_at_a_time();
    let dir = workdir("start-absurd");
    let absurd = cycle_line("2026-11-29T10:00:00.000Z", u64::MAX);
    std::fs::write(dir.join("diagnostics.ndjson"), absurd).unwrap();
    let mut started = start(&dir, 0.5);
    started.assert_bounded("seq 18446744073709551615");
    let (cycle, _) = started.stop_and_first_cycle();
    assert_eq!(cycle["seq"], 1, "a new sequence");
    let lines = started.agent.spool_lines();
    let announced = lines
        .iter()
        .find(|l| l["kind"] == "agent" && l["event"] == "new_sequence")
        .expect("a new_sequence agent line");
    common::assert_valid(announced);
    let message = announced["message"].as_str().unwrap();
    assert!(message.contains("18446744073709551615"), "{message}");
}

/// Row "a 15 MiB tail holding one record with a huge `disks` array": RSS 4.6 GB, 16 s.
#[test]
#[ignore = "the release build's bounds: tests/run.sh runs it with VIRTDIAG_BIN"]
fn a_huge_record_in_the_tail_is_passed_over_in_bounded_memory() {
    let _serial = one_at_a_time();
    let dir = workdir("start-huge");
    let ts = now_ts();
    let disk = r#"{"dev":"vda","read_bytes":1,"write_bytes":2,"read_requests":3},"#;
    let disks = disk.repeat(15 * 1024 * 1024 / disk.len());
    let huge = format!(
        "{{\"kind\":\"domain\",\"schema\":1,\"ts\":\"{ts}\",\"host\":\"{HOST}\",\"seq\":5,\
         \"domain\":{{\"name\":\"big\",\"uuid\":\"6c0c3d8e-3a0f-4b6e-9f4e-2d1f0a9b7c11\",\
         \"id\":1}},\"cpu\":null,\"disks\":[{}]}}\n",
        disks.trim_end_matches(',')
    );
    std::fs::write(
        dir.join("diagnostics.ndjson"),
        [huge, cycle_line(&ts, 5)].concat(),
    )
    .unwrap();
    let mut started = start(&dir, 0.5);
    started.assert_bounded("a 15 MiB record");
    let (cycle, _) = started.stop_and_first_cycle();
    assert_eq!(cycle["seq"], 6);
    assert!(
        started
            .agent
            .log()
            .contains("passed over 1 lines longer than 1 MiB"),
        "{}",
        started.agent.log()
    );
}

/// Row "a 48 MiB file with no newline": 21 s before the first cycle.
#[test]
#[ignore = "the release build's bounds: tests/run.sh runs it with VIRTDIAG_BIN"]
fn a_file_without_a_newline_is_cut_in_bounded_time() {
    let _serial = one_at_a_time();
    let dir = workdir("start-no-newline");
    let size = 48 * 1024 * 1024;
    std::fs::write(dir.join("diagnostics.ndjson"), vec![b'x'; size]).unwrap();
    let mut started = start(&dir, 0.5);
    started.assert_bounded("48 MiB without a newline");
    let (cycle, _) = started.stop_and_first_cycle();
    assert_eq!(cycle["seq"], 1);
    assert!(started
        .agent
        .log()
        .contains(&format!("removed a torn last line ({size} bytes)")));
    let text = std::fs::read_to_string(&started.agent.spool).unwrap();
    assert!(
        text.starts_with("{\"kind\":\"agent\""),
        "the torn line is gone"
    );
}

/// The scan's worst case: 70 MiB of short domain lines that name `seq` without having
/// one, so each is parsed, and no cycle line to end the search: the whole 64 MiB window
/// is read, line by line.
#[test]
#[ignore = "the release build's bounds: tests/run.sh runs it with VIRTDIAG_BIN"]
fn a_window_of_short_lines_without_a_cycle_is_read_in_bounded_time() {
    let _serial = one_at_a_time();
    let dir = workdir("start-short-lines");
    let line = "{\"kind\":\"domain\",\"x\":\"seq\"}\n";
    let text = line.repeat(70 * 1024 * 1024 / line.len());
    std::fs::write(dir.join("diagnostics.ndjson"), text).unwrap();
    let mut started = start(&dir, 0.5);
    started.assert_bounded("70 MiB of short lines");
    let (cycle, _) = started.stop_and_first_cycle();
    assert_eq!(cycle["seq"], 1);
}

/// The baseline's budget: a last cycle whose domain lines each carry as many disks as a
/// line may (4096) would take 24 MiB of records every 15 lines without it.
#[test]
#[ignore = "the release build's bounds: tests/run.sh runs it with VIRTDIAG_BIN"]
fn a_cycle_of_maximal_lines_stays_within_the_baseline_budget() {
    let _serial = one_at_a_time();
    let dir = workdir("start-budget");
    let ts = now_ts();
    let disks = vec![r#"{"dev":"vda","read_bytes":1}"#; 4096].join(",");
    let mut text = String::new();
    for i in 0..200 {
        text.push_str(&format!(
            "{{\"kind\":\"domain\",\"schema\":1,\"ts\":\"{ts}\",\"host\":\"{HOST}\",\"seq\":9,\
             \"domain\":{{\"name\":\"d{i}\",\"uuid\":\"{}\",\"id\":{i}}},\"cpu\":null,\
             \"disks\":[{disks}]}}\n",
            common::fixture::uuid_for(i)
        ));
    }
    text.push_str(&cycle_line(&ts, 9));
    std::fs::write(dir.join("diagnostics.ndjson"), text).unwrap();
    let mut started = start(&dir, 0.5);
    started.assert_bounded("200 lines of 4096 disks");
    let (cycle, _) = started.stop_and_first_cycle();
    assert_eq!(cycle["seq"], 10);
    assert!(
        started.agent.log().contains("past the 24 MiB budget"),
        "{}",
        started.agent.log()
    );
}

/// Row "1.2 MiB of `event` lines after the last cycle line": `seq` restarted at 1.
#[test]
#[ignore = "the release build's bounds: tests/run.sh runs it with VIRTDIAG_BIN"]
fn event_lines_after_the_last_cycle_never_hide_it() {
    let _serial = one_at_a_time();
    let dir = workdir("start-events");
    let last = earlier_run(&dir, 0.5, 2);
    let event = format!(
        "{{\"kind\":\"event\",\"schema\":1,\"ts\":\"{}\",\"host\":\"{HOST}\",\
         \"domain\":{{\"name\":\"db-1\",\"uuid\":\"00000000-0000-0000-0000-000000000000\",\
         \"id\":2,\"state\":\"running\",\"reason\":\"unknown\"}},\"nova\":null,\
         \"event\":\"reboot\",\"seq\":1}}\n",
        now_ts()
    );
    let burst = event.repeat(1_300_000 / event.len());
    assert!(burst.len() > 1_200_000);
    let spool = dir.join("diagnostics.ndjson");
    let mut text = std::fs::read_to_string(&spool).unwrap();
    text.push_str(&burst);
    std::fs::write(&spool, text).unwrap();
    let mut started = start(&dir, 0.5);
    started.assert_bounded("1.2 MiB of event lines");
    let (cycle, domains) = started.stop_and_first_cycle();
    assert_eq!(cycle["seq"], last + 1, "the sequence goes on");
    let running: Vec<&Value> = domains
        .iter()
        .filter(|d| d["domain"]["state"] == "running")
        .collect();
    assert!(!running.is_empty());
    for domain in running {
        assert!(
            domain["cpu"]["utilisation_pct"].is_f64(),
            "rates continue from the cycle behind the events: {domain}"
        );
    }
}

/// Row "spool moved away (`mv`), SIGHUP, stop, start": `seq` restarted at 1.
#[test]
#[ignore = "the release build's bounds: tests/run.sh runs it with VIRTDIAG_BIN"]
fn the_sequence_survives_the_spool_moved_away() {
    let _serial = one_at_a_time();
    let dir = workdir("start-moved");
    // A long interval: no cycle reaches the new file before the stop.
    let mut agent = Agent::start(&dir, &config(30.0));
    agent.wait_cycles(1);
    agent.signal(10); // SIGUSR1: one more cycle
                      // Written, not only counted: the spool writer may still hold the cycle's lines, and
                      // lines written after the SIGHUP below go to the new file, as they should.
    agent.wait_until(
        "two cycle lines in the spool",
        Duration::from_secs(30),
        |a| a.cycle_seqs().len() >= 2,
    );
    let last = *agent.cycle_seqs().last().unwrap();
    std::fs::rename(&agent.spool, dir.join("moved-away.ndjson")).unwrap();
    agent.signal(1);
    agent.wait_until("the reopened spool", Duration::from_secs(10), |a| {
        a.spool.exists()
    });
    assert!(agent.stop(Duration::from_secs(3)).success());
    assert!(
        agent.cycle_seqs().is_empty(),
        "no cycle line in the new spool: only the state file knows the sequence"
    );
    let mut started = start(&dir, 30.0);
    started.assert_bounded("spool moved away");
    let (cycle, _) = started.stop_and_first_cycle();
    assert_eq!(cycle["seq"], last + 1);
}

/// Now as the agent writes `ts`.
fn now_ts() -> String {
    virtdiag::clock::now_rfc3339()
}
