//! Agent benchmark: `virtdiag run` on a 1000-domain test-driver host. Prints socket
//! latency (p50/p99/max) of `get` and `all` with 32 concurrent clients while cycles run,
//! the agent's CPU per cycle, spool bytes per cycle, and RSS over many cycles.
//!
//! cargo bench --bench daemon
//! cargo bench --bench daemon -- --domains 1000 --seconds 20 --soak-cycles 3600

#[path = "../tests/common/fixture.rs"]
mod fixture;
#[path = "../tests/common/procfs.rs"]
mod procfs;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Options {
    domains: usize,
    clients: usize,
    seconds: u64,
    soak_cycles: u64,
}

fn options() -> Options {
    let mut o = Options {
        domains: 1000,
        clients: 32,
        seconds: 20,
        soak_cycles: 3600,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--domains" => o.domains = value().parse().unwrap(),
            "--clients" => o.clients = value().parse().unwrap(),
            "--seconds" => o.seconds = value().parse().unwrap(),
            "--soak-cycles" => o.soak_cycles = value().parse().unwrap(),
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    o
}

struct Agent {
    child: Child,
    socket: PathBuf,
    spool: PathBuf,
}

impl Agent {
    fn start(dir: &Path, uri: &str, interval: f64) -> Agent {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
        let socket = dir.join("v.sock");
        let spool = dir.join("d.ndjson");
        let config = dir.join("c.toml");
        std::fs::write(
            &config,
            format!("uri = \"{uri}\"\nread_only = false\ninterval_seconds = {interval}\n[spool]\nmax_bytes = 268435456\nkeep = 1\n[socket]\nmax_clients = 256\n"),
        )
        .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_virtdiag"))
            .args(["--log-level", "warning", "run", "--config"])
            .arg(&config)
            .arg("--socket")
            .arg(&socket)
            .arg("--spool")
            .arg(&spool)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let agent = Agent {
            child,
            socket,
            spool,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while agent.status().is_none() {
            assert!(Instant::now() < deadline, "agent did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        agent
    }

    fn status(&self) -> Option<serde_json::Value> {
        let mut s = UnixStream::connect(&self.socket).ok()?;
        s.write_all(b"status\n").ok()?;
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).ok()?;
        serde_json::from_str(&line).ok()
    }

    fn cycles(&self) -> u64 {
        self.status().map_or(0, |s| s["cycles"].as_u64().unwrap())
    }

    fn wait_cycles(&self, n: u64) {
        while self.cycles() < n {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn cpu_seconds(&self) -> f64 {
        procfs::cpu_seconds(self.child.id())
    }

    fn rss_kib(&self) -> u64 {
        procfs::rss_kib(self.child.id())
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// `clients` threads, each on its own connection, asking `request(client, i)` in a loop
/// for `seconds` and timing each answer: one line, or (`until_end`) everything up to the
/// `{"count":...,"kind":"end"}` line. Reading is raw bytes, so the client costs little.
fn latency(
    agent: &Agent,
    clients: usize,
    seconds: u64,
    request: fn(usize, usize) -> String,
    until_end: bool,
) -> Vec<Duration> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let end_marker: &[u8] = if until_end { b"\"kind\":\"end\"" } else { b"" };
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let socket = agent.socket.clone();
            std::thread::spawn(move || {
                let mut stream = UnixStream::connect(&socket).unwrap();
                let mut buf = vec![0u8; 1 << 20];
                let mut samples = Vec::new();
                let mut i = 0;
                while Instant::now() < deadline {
                    let started = Instant::now();
                    stream.write_all(request(c, i).as_bytes()).unwrap();
                    // The answer ends with a newline after the end marker (or the one line).
                    let mut tail: Vec<u8> = Vec::new();
                    loop {
                        let n = stream.read(&mut buf).unwrap();
                        assert!(n > 0, "agent closed the connection");
                        tail.extend_from_slice(&buf[n.saturating_sub(64)..n]);
                        if tail.len() > 128 {
                            tail.drain(..tail.len() - 128);
                        }
                        if buf[n - 1] == b'\n'
                            && (end_marker.is_empty()
                                || tail.windows(end_marker.len()).any(|w| w == end_marker))
                        {
                            break;
                        }
                    }
                    samples.push(started.elapsed());
                    i += 1;
                }
                samples
            })
        })
        .collect();
    let mut all: Vec<Duration> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort();
    all
}

fn report(name: &str, samples: &[Duration]) {
    println!(
        "{name:<5} requests {:>7}  p50 {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms",
        samples.len(),
        percentile(samples, 0.5).as_secs_f64() * 1000.0,
        percentile(samples, 0.99).as_secs_f64() * 1000.0,
        samples.last().unwrap().as_secs_f64() * 1000.0
    );
}

fn main() {
    let o = options();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let uri = format!("test://{}", fixture::write(&dir, o.domains).display());
    let workdir = dir.join("bench-daemon");

    println!(
        "virtdiag run, {} test-driver domains, interval 1 s; get and all: {} clients on their own \
         connections, back to back, for {} s each; all/1: one client",
        o.domains, o.clients, o.seconds
    );
    let agent = Agent::start(&workdir, &uri, 1.0);
    agent.wait_cycles(3);

    // Cost per cycle without clients.
    let (cpu0, cycles0, bytes0) = (
        agent.cpu_seconds(),
        agent.cycles(),
        std::fs::metadata(&agent.spool).unwrap().len(),
    );
    std::thread::sleep(Duration::from_secs(10));
    let (cpu1, cycles1, bytes1) = (
        agent.cpu_seconds(),
        agent.cycles(),
        std::fs::metadata(&agent.spool).unwrap().len(),
    );
    let status = agent.status().unwrap();
    let last = &status["last_cycle"];
    let n = (cycles1 - cycles0).max(1) as f64;
    println!(
        "per cycle ({} cycles): agent CPU {:.1} ms (in-process test driver included), cycle {:.1} ms, spool {} KiB; RSS {} KiB",
        n,
        (cpu1 - cpu0) * 1000.0 / n,
        last["duration_ms"].as_f64().unwrap(),
        ((bytes1 - bytes0) as f64 / n / 1024.0).round(),
        agent.rss_kib()
    );

    let get = latency(
        &agent,
        o.clients,
        o.seconds,
        |c, i| format!("get vm-{:05}\n", (c * 7919 + i * 31) % 1000),
        false,
    );
    report("get", &get);
    let all = latency(
        &agent,
        o.clients,
        o.seconds,
        |_, _| "all\n".to_string(),
        true,
    );
    report("all", &all);
    let all_alone = latency(&agent, 1, o.seconds, |_, _| "all\n".to_string(), true);
    report("all/1", &all_alone);
    drop(agent);

    if o.soak_cycles > 0 {
        let agent = Agent::start(&workdir, &uri, 0.1);
        agent.wait_cycles(20);
        let started = Instant::now();
        let rss_start = agent.rss_kib();
        let mut samples = Vec::new();
        let target = 20 + o.soak_cycles;
        let step = (o.soak_cycles / 6).max(1);
        let mut next = 20 + step;
        while agent.cycles() < target {
            if agent.cycles() >= next {
                samples.push(format!("{}:{}", next - 20, agent.rss_kib()));
                next += step;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        println!(
            "soak: {} cycles (an hour at 1 s) in {:.0} s; RSS {} -> {} KiB; samples cycle:KiB {}",
            o.soak_cycles,
            started.elapsed().as_secs_f64(),
            rss_start,
            agent.rss_kib(),
            samples.join(" ")
        );
    }
}
