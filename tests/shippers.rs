//! The spool's real consumers: rsyslog tails it through the agent's own size rotations
//! and an external logrotate run; every record must arrive exactly once, parsed.

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::agent::{demo_config, workdir, Agent};
use serde_json::Value;

/// What identifies a line: kind, seq, domain UUID or agent event and time.
fn identity(line: &Value) -> String {
    match line["kind"].as_str() {
        Some("domain") => format!("domain {} {}", line["seq"], line["domain"]["uuid"]),
        Some("cycle") => format!("cycle {}", line["seq"]),
        Some(kind) => format!("{kind} {} {}", line["event"], line["ts"]),
        None => panic!("a line without kind: {line}"),
    }
}

fn count_by_identity(lines: &[Value]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in lines {
        *counts.entry(identity(line)).or_insert(0) += 1;
    }
    counts
}

struct Rsyslog(Child);

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn rsyslog_receives_every_record_exactly_once_across_rotations() {
    let dir = workdir("rsyslog");
    let config = format!(
        "{}[spool]\nmax_bytes = 40000\nkeep = 100\nfsync = \"never\"\n",
        demo_config(0.1)
    );
    let mut agent = Agent::start(&dir, &config);

    // The shipped snippet, pointed at this test's files.
    let snippet =
        std::fs::read_to_string(common::repo_root().join("contrib/rsyslog/virtdiag.conf")).unwrap();
    let parsed = dir.join("parsed.ndjson");
    let unparsed = dir.join("unparsed.log");
    let work = dir.join("rsyslog-work");
    std::fs::create_dir_all(&work).unwrap();
    let conf = dir.join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!("global(workDirectory=\"{}\")\n{}", work.display(), snippet)
            .replace(
                "/var/log/virtdiag/diagnostics.ndjson",
                &agent.spool.display().to_string(),
            )
            .replace(
                "/var/log/virtdiag/parsed.ndjson",
                &parsed.display().to_string(),
            )
            .replace(
                "/var/log/virtdiag/unparsed.log",
                &unparsed.display().to_string(),
            ),
    )
    .unwrap();
    let check = Command::new("rsyslogd")
        .arg("-N1")
        .arg("-f")
        .arg(&conf)
        .output()
        .expect("rsyslogd is installed (tests/run.sh installs it)");
    assert!(
        check.status.success(),
        "rsyslogd -N1: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let rsyslog = Rsyslog(
        Command::new("rsyslogd")
            .args(["-n", "-f"])
            .arg(&conf)
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("rsyslogd.log")).unwrap())
            .spawn()
            .unwrap(),
    );

    agent.wait_until(
        "three rotations by the agent",
        Duration::from_secs(60),
        |a| a.status()["spool"]["rotations"].as_u64().unwrap() >= 3,
    );

    // External rotation: logrotate moves the file away and signals the agent.
    let old = dir.join("old");
    std::fs::create_dir_all(&old).unwrap();
    let logrotate_conf = dir.join("logrotate.conf");
    std::fs::write(
        &logrotate_conf,
        format!(
            "{} {{\n  olddir {}\n  create 0640\n  rotate 5\n  nocompress\n  postrotate\n    kill -HUP {}\n  endscript\n}}\n",
            agent.spool.display(),
            old.display(),
            agent.pid()
        ),
    )
    .unwrap();
    let out = Command::new("logrotate")
        .arg("-s")
        .arg(dir.join("logrotate.state"))
        .arg("-f")
        .arg(&logrotate_conf)
        .output()
        .expect("logrotate is installed (tests/run.sh installs it)");
    assert!(
        out.status.success(),
        "logrotate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(old.join("diagnostics.ndjson.1").exists());

    let rotations = agent.status()["spool"]["rotations"].as_u64().unwrap();
    agent.wait_until(
        "another rotation by the agent",
        Duration::from_secs(60),
        |a| a.status()["spool"]["rotations"].as_u64().unwrap() > rotations,
    );
    assert!(agent.stop(Duration::from_secs(3)).success());

    let mut written = agent.spool_lines();
    written.extend(common::parse_lines(
        &std::fs::read_to_string(old.join("diagnostics.ndjson.1")).unwrap(),
    ));
    let expected = count_by_identity(&written);
    assert!(
        expected.values().all(|&n| n == 1),
        "the agent wrote each line once"
    );

    let deadline = Instant::now() + Duration::from_secs(30);
    let received = loop {
        let text = std::fs::read_to_string(&parsed).unwrap_or_default();
        let lines = common::parse_lines(&text);
        if lines.len() >= written.len() || Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    drop(rsyslog);
    let received_counts = count_by_identity(&received);
    let missing: Vec<_> = expected
        .keys()
        .filter(|k| !received_counts.contains_key(*k))
        .take(5)
        .collect();
    let duplicated: Vec<_> = received_counts
        .iter()
        .filter(|(_, &n)| n > 1)
        .take(5)
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} lines never arrived, e.g. {missing:?}",
        expected.len() - received_counts.len(),
        expected.len()
    );
    assert!(duplicated.is_empty(), "lines arrived twice: {duplicated:?}");
    assert_eq!(received.len(), written.len());
    assert_eq!(
        std::fs::read_to_string(&unparsed).unwrap_or_default(),
        "",
        "every line parsed as JSON"
    );
    // Parsed means the fields are there, not just the text.
    let domain = received.iter().find(|l| l["kind"] == "domain").unwrap();
    assert!(domain["domain"]["uuid"].is_string() && domain["disks"].is_array());
}
