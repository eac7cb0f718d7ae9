//! The agent's spool: lines, rotation, reopening, repair, full disks and crashes.

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use common::agent::{demo_config, workdir, Agent};
use serde_json::Value;

fn kinds(lines: &[Value], kind: &str) -> Vec<Value> {
    lines
        .iter()
        .filter(|l| l["kind"] == kind)
        .cloned()
        .collect()
}

#[test]
fn every_cycle_writes_a_line_per_domain_and_a_cycle_line_all_valid() {
    let dir = workdir("lines");
    let mut agent = Agent::start(&dir, &demo_config(0.2));
    agent.wait_cycles(5);
    assert!(agent.stop(Duration::from_secs(3)).success());
    let lines = agent.spool_lines();
    for line in &lines {
        common::assert_valid(line);
    }
    let cycles = kinds(&lines, "cycle");
    let domains = kinds(&lines, "domain");
    assert!(cycles.len() >= 5);
    assert_eq!(domains.len(), cycles.len() * 4, "4 demo domains per cycle");
    let seqs: Vec<u64> = cycles.iter().map(|c| c["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "seq has no gaps"
    );
    let events = agent.events();
    assert_eq!(events.first().map(String::as_str), Some("started"));
    assert!(events.iter().any(|e| e == "libvirt_connected"));
    assert_eq!(events.last().map(String::as_str), Some("stopping"));
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&agent.spool).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777 & !0o640, 0, "spool mode {mode:o}");
}

#[test]
fn rotation_keeps_keep_files_and_loses_no_line() {
    let dir = workdir("rotate");
    let config = format!(
        "{}[spool]\nmax_bytes = 30000\nkeep = 3\nfsync = \"never\"\n",
        demo_config(0.1)
    );
    let mut agent = Agent::start(&dir, &config);
    agent.wait_until("four rotations", Duration::from_secs(30), |a| {
        a.status()["spool"]["rotations"].as_u64().unwrap() >= 4
    });
    assert!(agent.stop(Duration::from_secs(3)).success());
    assert!(!dir.join("diagnostics.ndjson.4").exists(), "keep = 3");
    let lines = agent.spool_lines();
    let seqs: Vec<u64> = kinds(&lines, "cycle")
        .iter()
        .map(|c| c["seq"].as_u64().unwrap())
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "continuous seq across files: {seqs:?}"
    );
    // Each kept cycle is complete: its 4 domain lines precede its cycle line.
    let domain_seqs: BTreeSet<u64> = kinds(&lines, "domain")
        .iter()
        .map(|d| d["seq"].as_u64().unwrap())
        .collect();
    for seq in &seqs[1..] {
        assert!(
            domain_seqs.contains(seq),
            "cycle {seq} has its domain lines"
        );
    }
    let per_file = std::fs::read_to_string(dir.join("diagnostics.ndjson.1")).unwrap();
    assert!(
        per_file.len() <= 30000 + 20000,
        "rotated files stay near max_bytes"
    );
}

#[test]
fn sighup_after_an_external_rename_reopens_a_new_file() {
    let dir = workdir("reopen");
    let mut agent = Agent::start(&dir, &demo_config(0.2));
    agent.wait_cycles(2);
    let moved = dir.join("moved.ndjson");
    std::fs::rename(&agent.spool, &moved).unwrap();
    agent.signal(1);
    agent.wait_until("a new spool file", Duration::from_secs(10), |a| {
        std::fs::read_to_string(&a.spool).is_ok_and(|t| t.contains("\"kind\":\"cycle\""))
    });
    let before = agent.cycles();
    agent.wait_cycles(before + 2);
    assert!(agent.stop(Duration::from_secs(3)).success());
    let old = common::parse_lines(&std::fs::read_to_string(&moved).unwrap());
    let new = common::parse_lines(&std::fs::read_to_string(&agent.spool).unwrap());
    let last_old = kinds(&old, "cycle").last().unwrap()["seq"]
        .as_u64()
        .unwrap();
    let first_new = kinds(&new, "cycle").first().unwrap()["seq"]
        .as_u64()
        .unwrap();
    assert_eq!(
        first_new,
        last_old + 1,
        "no cycle lost or repeated across the reopen"
    );
}

#[test]
fn a_torn_last_line_is_removed_at_start_and_seq_continues() {
    let dir = workdir("torn");
    let spool = dir.join("diagnostics.ndjson");
    std::fs::write(
        &spool,
        "{\"kind\":\"cycle\",\"seq\":41}\n{\"kind\":\"domain\",\"sch",
    )
    .unwrap();
    let mut agent = Agent::start(&dir, &demo_config(0.2));
    agent.wait_cycles(1);
    assert!(agent.stop(Duration::from_secs(3)).success());
    let text = std::fs::read_to_string(&spool).unwrap();
    let lines = common::parse_lines(&text);
    assert_eq!(lines[0]["seq"], 41);
    assert_eq!(
        kinds(&lines, "cycle")[1]["seq"],
        42,
        "the sequence continues"
    );
    assert!(agent.log().contains("removed a torn last line"));
}

#[test]
fn a_deleted_spool_is_recreated() {
    let dir = workdir("deleted");
    let mut agent = Agent::start(&dir, &demo_config(0.2));
    agent.wait_cycles(1);
    std::fs::remove_file(&agent.spool).unwrap();
    agent.wait_until("the spool to come back", Duration::from_secs(10), |a| {
        a.spool.exists()
    });
    let before = agent.cycles();
    agent.wait_cycles(before + 1);
    let lines = common::parse_lines(&std::fs::read_to_string(&agent.spool).unwrap());
    assert!(!kinds(&lines, "cycle").is_empty());
}

#[test]
fn a_full_disk_leaves_only_whole_lines_and_the_agent_alive() {
    // RLIMIT_FSIZE stands in for ENOSPC: writes beyond the limit fail with EFBIG after
    // a short write, exactly the partial-write path a full disk takes.
    let dir = workdir("full");
    let config = format!("{}[spool]\nfsync = \"never\"\n", demo_config(0.1));
    let mut agent = Agent::start_with(&dir, &config, &["prlimit", "--fsize=60000", "--"], &[]);
    agent.wait_until("lost lines", Duration::from_secs(30), |a| {
        a.status()["spool"]["lines_lost"].as_u64().unwrap() > 0
    });
    let status = agent.status();
    assert!(
        status["spool"]["last_error"]
            .as_str()
            .unwrap()
            .contains("diagnostics.ndjson"),
        "{status}"
    );
    let size = std::fs::metadata(&agent.spool).unwrap().len();
    assert!(size <= 60000);
    let text = std::fs::read_to_string(&agent.spool).unwrap();
    assert!(text.ends_with('\n'), "no torn line at the end");
    common::parse_lines(&text);
    // Still answering, and cycles go on.
    let cycles = agent.cycles();
    agent.wait_cycles(cycles + 2);
    assert!(agent.log().contains("spool: lost"), "the loss is logged");
    assert!(agent.stop(Duration::from_secs(3)).success());
}

#[test]
fn sigkill_during_heavy_writing_never_leaves_a_bad_line() {
    let dir = workdir("sigkill");
    let uri = common::fixture_uri(1000);
    let config = format!("uri = \"{uri}\"\nread_only = false\ninterval_seconds = 0.1\n[spool]\nmax_bytes = 1073741824\nfsync = \"never\"\n");
    for round in 0..20 {
        let mut agent = Agent::start(&dir, &config);
        // Kill at varying points of the write of a 2.7 MB cycle.
        std::thread::sleep(Duration::from_millis(150 + (round * 37) % 200));
        Command::new("kill")
            .arg("-9")
            .arg(agent.pid().to_string())
            .status()
            .unwrap();
        agent.child.wait().unwrap();
    }
    let mut agent = Agent::start(&dir, &config);
    agent.wait_cycles(1);
    assert!(agent.stop(Duration::from_secs(5)).success());
    let text = std::fs::read_to_string(&agent.spool).unwrap();
    let lines = common::parse_lines(&text);
    assert!(
        lines.len() > 1000,
        "heavy writing happened: {} lines",
        lines.len()
    );
    for line in lines.iter().filter(|l| l["kind"] != "domain").take(200) {
        common::assert_valid(line);
    }
}

#[test]
fn a_reload_that_moves_the_spool_loses_no_line() {
    let dir = workdir("spool-move");
    let (first, second) = (dir.join("first.ndjson"), dir.join("second.ndjson"));
    let config = dir.join("moving.toml");
    let config_for = |spool: &std::path::Path| {
        format!(
            "{}[spool]\npath = \"{}\"\n",
            demo_config(0.1),
            spool.display()
        )
    };
    std::fs::write(&config, config_for(&first)).unwrap();
    // The spool path comes from the file only: a --spool flag would pin it.
    let mut child = Running(
        Command::new(common::binary())
            .args(["run", "--config"])
            .arg(&config)
            .arg("--socket")
            .arg(dir.join("moving.sock"))
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Whole lines only: the agent may be writing the next one while this reads.
    let cycles_in = |path: &std::path::Path| {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let whole = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
        kinds(&common::parse_lines(whole), "cycle")
    };
    let wait_for = |what: &str, check: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !check() {
            assert!(std::time::Instant::now() < deadline, "waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for("cycles in the first spool", &|| {
        cycles_in(&first).len() >= 5
    });
    std::fs::write(&config, config_for(&second)).unwrap();
    let kill = |signal: &str| {
        Command::new("kill")
            .args([signal, &child.0.id().to_string()])
            .status()
            .unwrap()
    };
    assert!(kill("-HUP").success());
    wait_for("cycles in the second spool", &|| {
        cycles_in(&second).len() >= 5
    });
    assert!(kill("-TERM").success());
    assert!(child.0.wait().unwrap().success());

    let seqs: Vec<u64> = cycles_in(&first)
        .iter()
        .chain(cycles_in(&second).iter())
        .map(|c| c["seq"].as_u64().unwrap())
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "a cycle was lost or repeated across the move: {seqs:?}"
    );
    let moved = cycles_in(&second);
    assert_eq!(moved[0]["spool_lost_lines"], 0, "{}", moved[0]);
}

/// libvirt's test driver reports a domain's CPU time as the wall clock, so a running
/// domain reads 100 % in every steady cycle: the first cycle after a restart must read
/// the same within 1 %, its baseline taken from the spool with each value's read time.
#[test]
fn the_first_rates_after_a_restart_are_the_counters_own() {
    let running = restart_rates("restart-rates", &demo_config(1.0));
    assert!(running >= 2);
}

/// The same at 1000 domains, where a cycle's reads spread over tens of milliseconds
/// and the first cycle also fetches every domain's XML.
#[test]
fn the_first_rates_after_a_restart_hold_at_1000_domains() {
    let config = demo_config(1.0).replace(&common::demo_uri(), &common::fixture_uri(1000));
    let running = restart_rates("restart-rates-1000", &config);
    assert_eq!(running, 1000);
}

/// Runs an agent for three cycles, restarts it, and checks that the running domains
/// read 100 % (± 1) in the last cycle before and the first after; returns how many.
fn restart_rates(name: &str, config: &str) -> usize {
    let dir = workdir(name);
    let steady = |domains: &[&Value], when: &str| -> usize {
        let running: Vec<&&Value> = domains
            .iter()
            .filter(|d| d["domain"]["state"] == "running")
            .collect();
        for domain in &running {
            let pct = domain["cpu"]["utilisation_pct"].as_f64().expect("a rate");
            assert!(
                (pct - 100.0).abs() < 1.0,
                "{when}: {pct} % instead of 100 %: {domain}"
            );
        }
        running.len()
    };
    let cycle = |lines: &[Value], seq: u64| -> Vec<Value> {
        lines
            .iter()
            .filter(|l| l["kind"] == "domain" && l["seq"] == seq)
            .cloned()
            .collect()
    };
    let mut agent = Agent::start(&dir, config);
    agent.wait_cycles(3);
    assert!(agent.stop(Duration::from_secs(5)).success());
    let last_seq = *agent.cycle_seqs().last().unwrap();
    let last = cycle(&agent.spool_lines(), last_seq);
    steady(&last.iter().collect::<Vec<_>>(), "steady cycle");

    let mut agent = Agent::start(&dir, config);
    agent.wait_cycles(1);
    assert!(agent.stop(Duration::from_secs(5)).success());
    let first = cycle(&agent.spool_lines(), last_seq + 1);
    for domain in first.iter().take(10) {
        common::assert_valid(domain);
    }
    for domain in first.iter().filter(|d| d["domain"]["state"] == "running") {
        assert!(domain["cpu"]["read_ms"].as_f64().unwrap() >= 0.0);
        assert!(domain["collect"]["interval_s"].as_f64().unwrap() > 0.0);
    }
    steady(
        &first.iter().collect::<Vec<_>>(),
        "first cycle after the restart",
    )
}

/// A child process that is killed if the test ends early, so that a failed test leaves
/// no agent writing into the next run's directory.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
