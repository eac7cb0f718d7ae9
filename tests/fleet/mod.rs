//! The harness shared by the shipper and fleet tests: agents that rotate fast, an
//! external logrotate run, the shippers' daemons (rsyslog, syslog-ng from its unpacked
//! .deb), the shipped configs pointed at a test's files, and the delivery check: every
//! line the agents wrote arrives exactly once, valid against the schema and equal to
//! the spool line.
#![allow(dead_code, reason = "each test binary uses a different subset")]

pub mod postgres;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common;
use crate::common::agent::Agent;

/// A config for an agent on `uri` that writes as `host` every `interval` seconds and
/// rotates every `max_bytes`, keeping every rotated file for the comparison.
pub fn rotating_config(uri: &str, host: &str, interval: f64, max_bytes: u64) -> String {
    format!(
        "uri = \"{uri}\"\nread_only = false\nhost = \"{host}\"\ninterval_seconds = {interval}\n\
         [spool]\nmax_bytes = {max_bytes}\nkeep = 1000\nfsync = \"never\"\n"
    )
}

/// Waits until the agent has rotated its spool `count` more times than now.
pub fn wait_rotations(agent: &mut Agent, count: u64, limit: Duration) {
    let rotations = |a: &Agent| a.status()["spool"]["rotations"].as_u64().unwrap();
    let target = rotations(agent) + count;
    agent.wait_until(&format!("{count} rotations by the agent"), limit, |a| {
        rotations(a) >= target
    });
}

/// An external rotation as packaging/logrotate/virtdiag does it (`nocreate`, then
/// SIGHUP: the agent creates the new file): the spool is moved to
/// `olddir/diagnostics.ndjson.1`, older moved files shift to `.2`, `.3`, ... (a
/// directory of their own, so that the agent's own `.N` files are left alone).
pub fn logrotate(agent: &Agent, olddir: &Path) {
    std::fs::create_dir_all(olddir).unwrap();
    let conf = agent.dir.join("logrotate.conf");
    std::fs::write(
        &conf,
        format!(
            "{} {{\n  olddir {}\n  nocreate\n  rotate 100\n  nocompress\n  postrotate\n    kill -HUP {}\n  endscript\n}}\n",
            agent.spool.display(),
            olddir.display(),
            agent.pid()
        ),
    )
    .unwrap();
    let out = Command::new("logrotate")
        .arg("-s")
        .arg(agent.dir.join("logrotate.state"))
        .arg("-f")
        .arg(&conf)
        .output()
        .expect("logrotate is installed (tests/run.sh installs it)");
    assert!(
        out.status.success(),
        "logrotate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(olddir.join("diagnostics.ndjson.1").exists());
}

/// One line the agent wrote, and where: `file:line`, for the failure messages.
pub struct SpoolLine {
    pub origin: String,
    pub text: String,
}

impl SpoolLine {
    /// The line as JSON; a line that is not JSON fails the test.
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| {
            panic!(
                "the agent wrote a line that is not JSON ({e}) at {}",
                self.origin
            )
        })
    }
}

/// Every line the agent wrote: the files logrotate moved to `olddir` (oldest first),
/// then the agent's own rotations and the live spool.
pub fn written_lines(agent: &Agent, olddir: &Path) -> Vec<SpoolLine> {
    let mut files: Vec<PathBuf> = (1..=100)
        .rev()
        .map(|n| olddir.join(format!("diagnostics.ndjson.{n}")))
        .filter(|p| p.exists())
        .collect();
    files.extend(
        (1..=1000)
            .rev()
            .map(|n| PathBuf::from(format!("{}.{n}", agent.spool.display())))
            .filter(|p| p.exists()),
    );
    files.push(agent.spool.clone());
    let mut lines = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        lines.extend(text.lines().enumerate().map(|(i, line)| SpoolLine {
            origin: format!("{}:{}", file.display(), i + 1),
            text: line.to_string(),
        }));
    }
    lines
}

/// What identifies a line across the fleet: host, kind, then seq and domain UUID for
/// the lines of a cycle; any other line (agent, event) is its own identity.
pub fn identity(line: &Value) -> String {
    let host = line["host"].as_str().unwrap_or("?");
    match line["kind"].as_str() {
        Some("domain") => format!("{host} domain {} {}", line["seq"], line["domain"]["uuid"]),
        Some("cycle") => format!("{host} cycle {}", line["seq"]),
        Some(kind) => format!("{host} {kind} {line}"),
        None => panic!("a line without kind: {line}"),
    }
}

/// Asserts that `received` holds every line of `written` exactly once, each one valid
/// against docs/record.schema.json and equal (as JSON: same fields, types and values)
/// to the line the agent wrote; a failure names the spool file and line of the records
/// concerned. Returns the number of records checked.
pub fn assert_delivered_exactly_once(written: &[SpoolLine], received: &[Value]) -> usize {
    let mut expected: BTreeMap<String, (Value, &str)> = BTreeMap::new();
    for line in written {
        let value = line.value();
        let previous = expected.insert(identity(&value), (value, &line.origin));
        assert!(
            previous.is_none(),
            "the agent wrote a line twice: {}",
            line.origin
        );
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for line in received {
        common::assert_valid(line);
        let key = identity(line);
        let (original, origin) = expected
            .get(&key)
            .unwrap_or_else(|| panic!("a line arrived that the agent never wrote: {line}"));
        assert_eq!(line, original, "a record arrived changed ({origin})");
        *seen.entry(key).or_insert(0) += 1;
    }
    let missing: Vec<&str> = expected
        .iter()
        .filter(|(k, _)| !seen.contains_key(*k))
        .map(|(_, (_, origin))| *origin)
        .collect();
    let repeated: Vec<(&String, &usize)> = seen.iter().filter(|(_, &n)| n > 1).collect();
    assert!(
        missing.is_empty(),
        "{} of {} records never arrived, e.g. {:?}",
        missing.len(),
        expected.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(
        repeated.is_empty(),
        "{} records arrived more than once, e.g. {:?}",
        repeated.len(),
        &repeated[..repeated.len().min(5)]
    );
    assert_eq!(received.len(), written.len());
    expected.len()
}

/// The lines of `written` whose identity is in none of `received`.
pub fn missing<'a>(written: &'a [SpoolLine], received: &[Value]) -> Vec<&'a SpoolLine> {
    let arrived: HashSet<String> = received.iter().map(identity).collect();
    written
        .iter()
        .filter(|line| !arrived.contains(&identity(&line.value())))
        .collect()
}

/// Reads `file` as NDJSON until it holds `count` lines or `limit` passes.
pub fn wait_for_lines(file: &Path, count: usize, limit: Duration) -> Vec<Value> {
    let deadline = Instant::now() + limit;
    loop {
        let lines = common::parse_lines(&std::fs::read_to_string(file).unwrap_or_default());
        if lines.len() >= count || Instant::now() > deadline {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A shipped config from contrib/ with its paths replaced by a test's own.
pub fn shipped_config(relative: &str, replacements: &[(&str, &Path)]) -> String {
    let mut text = std::fs::read_to_string(common::repo_root().join(relative)).unwrap();
    for (from, to) in replacements {
        assert!(text.contains(from), "{relative} names {from}");
        text = text.replace(from, &to.display().to_string());
    }
    text
}

/// A daemon run in the foreground for a test; killed when dropped.
pub struct Daemon {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// Starts `command` with its output appended to `log` (a restart keeps the
    /// earlier run's output).
    pub fn spawn(name: &str, mut command: Command, log: &Path) -> Daemon {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("{name} starts: {e}"));
        Daemon {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Fails the test if the daemon has exited.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("{} exited ({status}); log:\n{}", self.name, self.log());
        }
    }

    /// SIGTERM, then waits for the exit within `limit`.
    pub fn terminate(&mut self, limit: Duration) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + limit;
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "{} did not stop within {limit:?}; log:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Checks `conf` with `rsyslogd -N1`, then runs rsyslogd in the foreground with it
/// (no imuxsock: it leaves /dev/log alone, so several run side by side).
pub fn rsyslog(name: &str, conf: &Path, dir: &Path) -> Daemon {
    let check = Command::new("rsyslogd")
        .arg("-N1")
        .arg("-f")
        .arg(conf)
        .output()
        .expect("rsyslogd is installed (tests/run.sh installs it)");
    assert!(
        check.status.success(),
        "rsyslogd -N1 -f {}: {}",
        conf.display(),
        String::from_utf8_lossy(&check.stderr)
    );
    let mut command = Command::new("rsyslogd");
    command
        .args(["-n", "-f"])
        .arg(conf)
        .arg("-i")
        .arg(dir.join(format!("{name}.pid")));
    Daemon::spawn(name, command, &dir.join(format!("{name}.log")))
}

/// A free TCP port on 127.0.0.1 (bound, then released for the daemon to take).
pub fn free_loopback_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
