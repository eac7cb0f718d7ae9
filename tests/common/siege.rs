//! The attack harness: attackers on threads of their own until told to stop, a probe
//! that measures how fast an honest client is answered meanwhile, and the checks every
//! attack ends with (memory, SIGTERM, whole spool lines).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::agent::Agent;

/// Attacks run one at a time: each measures latency and memory, which a neighbour's
/// load would distort.
pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Attacker threads, each looping until the siege ends; each returns a count (of
/// requests, connections, ...).
pub struct Siege {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<u64>>,
}

impl Siege {
    pub fn new() -> Self {
        Self {
            stop: Arc::new(AtomicBool::new(false)),
            threads: Vec::new(),
        }
    }

    /// Starts one attacker: `attack(stop)` loops until `stop` is set. Attackers run
    /// at the lowest CPU priority (nice 19): on a machine of two cores their own CPU
    /// use would otherwise decide the probe's latency, which would measure the
    /// kernel's scheduler rather than the agent's fairness. They still send as fast as
    /// the agent takes their requests whenever a core is free.
    pub fn spawn(&mut self, attack: impl FnOnce(&AtomicBool) -> u64 + Send + 'static) {
        let stop = Arc::clone(&self.stop);
        self.threads.push(std::thread::spawn(move || {
            lowest_priority();
            attack(&stop)
        }));
    }

    /// Stops every attacker; the sum of their counts.
    pub fn end(self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        self.threads.into_iter().map(|t| t.join().unwrap()).sum()
    }
}

/// Nice 19 for the calling thread (on Linux, setpriority of a thread id is that
/// thread's alone).
fn lowest_priority() {
    let tid = nix::unistd::gettid().to_string();
    let status = std::process::Command::new("renice")
        .args(["-n", "19", "-p", &tid])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("renice (util-linux's bsdutils)");
    assert!(status.success(), "renice -n 19 -p {tid}");
}

/// Latencies of an honest client's requests.
pub struct Latency {
    samples: Vec<Duration>,
    pub failures: usize,
}

impl Latency {
    pub fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.samples.clone();
        sorted.sort();
        if sorted.is_empty() {
            return Duration::MAX;
        }
        let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[index]
    }

    pub fn p99(&self) -> Duration {
        self.percentile(0.99)
    }
}

/// One request on a fresh connection, answered until the agent closes; the time it
/// took, or None if it failed or was not answered with a document of `kind`.
pub fn timed_request(socket: &Path, request: &str, kind: &str) -> Option<Duration> {
    let started = Instant::now();
    let mut stream = UnixStream::connect(socket).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(format!("{request}\n").as_bytes()).ok()?;
    stream.shutdown(std::net::Shutdown::Write).ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let elapsed = started.elapsed();
    text.contains(&format!("\"kind\":\"{kind}\""))
        .then_some(elapsed)
}

/// `samples` requests, `gap` apart, while the attack runs.
pub fn probe(agent: &Agent, request: &str, kind: &str, samples: usize, gap: Duration) -> Latency {
    let mut latency = Latency {
        samples: Vec::with_capacity(samples),
        failures: 0,
    };
    for _ in 0..samples {
        match timed_request(&agent.socket, request, kind) {
            Some(elapsed) => latency.samples.push(elapsed),
            None => latency.failures += 1,
        }
        std::thread::sleep(gap);
    }
    latency
}

/// What an attack left behind, checked and printed for docs/performance.md.
pub struct Verdict {
    pub name: &'static str,
    pub latency: Latency,
    pub rss_before_kib: u64,
    pub rss_during_kib: u64,
    pub stopped_in: Duration,
}

/// The agent's budget under any attack: honest clients answered with p99 < 10 ms, no
/// probe failed, memory within 64 MiB of the idle baseline, SIGTERM within 2 s.
pub const P99_LIMIT: Duration = Duration::from_millis(10);
pub const RSS_GROWTH_LIMIT_KIB: u64 = 64 * 1024;
pub const STOP_LIMIT: Duration = Duration::from_secs(2);

impl Verdict {
    /// Probes the agent under attack, reads its memory, then stops it with SIGTERM while
    /// the attack still runs.
    pub fn take(
        name: &'static str,
        agent: &mut Agent,
        rss_before_kib: u64,
        probe_request: (&str, &str),
    ) -> Verdict {
        // 600 probes: a p99 of 200 would be their second slowest, one stall of the
        // machine away from any verdict.
        let latency = probe(
            agent,
            probe_request.0,
            probe_request.1,
            600,
            Duration::from_millis(3),
        );
        let rss_during_kib = agent.rss_kib();
        let started = Instant::now();
        let status = agent.stop(Duration::from_secs(10));
        let stopped_in = started.elapsed();
        assert!(
            status.success(),
            "{name}: the agent exited with {status}; log:\n{}",
            agent.log()
        );
        Verdict {
            name,
            latency,
            rss_before_kib,
            rss_during_kib,
            stopped_in,
        }
    }

    /// Prints the figures and asserts the budget.
    pub fn assert_within_budget(&self) {
        let line = format!(
            "attack {}: p50 {:?} p99 {:?} max {:?} ({} probes, {} failed); RSS {} -> {} KiB; \
             SIGTERM exit in {:?}",
            self.name,
            self.latency.percentile(0.5),
            self.latency.p99(),
            self.latency.percentile(1.0),
            self.latency.samples.len(),
            self.latency.failures,
            self.rss_before_kib,
            self.rss_during_kib,
            self.stopped_in
        );
        println!("{line}");
        if let Ok(path) = std::env::var("VIRTDIAG_ATTACK_REPORT") {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .unwrap();
            writeln!(file, "{line}").unwrap();
        }
        assert_eq!(self.latency.failures, 0, "{line}");
        assert!(self.latency.p99() < P99_LIMIT, "{line}");
        assert!(
            self.rss_during_kib < self.rss_before_kib + RSS_GROWTH_LIMIT_KIB,
            "{line}"
        );
        assert!(self.stopped_in < STOP_LIMIT, "{line}");
    }
}

/// Every spool file (live and rotated) holds whole JSON lines only.
pub fn assert_spool_whole(spool: &Path) {
    let dir = spool.parent().unwrap();
    let name = spool.file_name().unwrap().to_string_lossy().to_string();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let file = entry.file_name().to_string_lossy().to_string();
        let is_spool = file == name
            || file
                .strip_prefix(&format!("{name}."))
                .is_some_and(|n| n.parse::<u32>().is_ok());
        if !is_spool || !entry.file_type().unwrap().is_file() {
            continue;
        }
        let bytes = std::fs::read(entry.path()).unwrap();
        assert!(
            bytes.is_empty() || bytes.ends_with(b"\n"),
            "{file} ends in a torn line"
        );
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            assert!(
                serde_json::from_slice::<serde_json::Value>(line).is_ok(),
                "{file} line {} is not whole JSON",
                i + 1
            );
        }
    }
}
