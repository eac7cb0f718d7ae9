//! Peak memory of `virtdiag run` on a big host: the figure the systemd unit's
//! `MemoryHigh` and `MemoryMax` are sized from (docs/service.md). The agent runs on a
//! test-driver host of `--domains` domains (4 vCPUs, 2 disks, 2 NICs each), cycles every
//! `--interval` seconds, and `--clients` clients on their own connections ask, in a
//! loop for `--seconds`, half of them `all` and half `metrics`, each reading every
//! answer whole. Prints the resident memory when idle (after three cycles, before any
//! client), the peak (VmHWM) and the resident memory at the end.
//!
//! cargo bench --bench peak
//! cargo bench --bench peak -- --domains 5000 --clients 16 --seconds 60 --interval 2

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
    interval: f64,
}

fn options() -> Options {
    let mut o = Options {
        domains: 5000,
        clients: 16,
        seconds: 60,
        interval: 2.0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--domains" => o.domains = value().parse().unwrap(),
            "--clients" => o.clients = value().parse().unwrap(),
            "--seconds" => o.seconds = value().parse().unwrap(),
            "--interval" => o.interval = value().parse().unwrap(),
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    o
}

/// The agent, killed by its pid when dropped.
struct Agent {
    child: Child,
    socket: PathBuf,
}

impl Agent {
    fn start(dir: &Path, uri: &str, interval: f64) -> Agent {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
        let socket = dir.join("v.sock");
        let config = dir.join("c.toml");
        std::fs::write(
            &config,
            format!(
                "uri = \"{uri}\"\nread_only = false\ninterval_seconds = {interval}\n\
                 [spool]\nmax_bytes = 268435456\nkeep = 1\n"
            ),
        )
        .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_virtdiag"))
            .args(["--log-level", "warning", "run", "--config"])
            .arg(&config)
            .arg("--socket")
            .arg(&socket)
            .arg("--spool")
            .arg(dir.join("d.ndjson"))
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let agent = Agent { child, socket };
        let deadline = Instant::now() + Duration::from_secs(60);
        while agent.cycles().is_none() {
            assert!(Instant::now() < deadline, "agent did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        agent
    }

    fn cycles(&self) -> Option<u64> {
        let mut s = UnixStream::connect(&self.socket).ok()?;
        s.write_all(b"status\n").ok()?;
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).ok()?;
        let status: serde_json::Value = serde_json::from_str(&line).ok()?;
        status["cycles"].as_u64()
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

/// Asks `request` in a loop until `deadline`, reading each answer up to `end`;
/// returns the answers read and their bytes.
fn client(
    socket: &Path,
    request: &'static str,
    end: &'static [u8],
    deadline: Instant,
) -> (u64, u64) {
    let mut stream = UnixStream::connect(socket).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let (mut answers, mut bytes) = (0, 0);
    while Instant::now() < deadline {
        stream.write_all(request.as_bytes()).unwrap();
        let mut tail: Vec<u8> = Vec::new();
        loop {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "agent closed the connection");
            bytes += n as u64;
            tail.extend_from_slice(&buf[n.saturating_sub(64)..n]);
            if tail.len() > 128 {
                tail.drain(..tail.len() - 128);
            }
            if buf[n - 1] == b'\n' && tail.windows(end.len()).any(|w| w == end) {
                break;
            }
        }
        answers += 1;
    }
    (answers, bytes)
}

fn main() {
    let o = options();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let uri = format!("test://{}", fixture::write(&dir, o.domains).display());
    let agent = Agent::start(&dir.join("bench-peak"), &uri, o.interval);
    while agent.cycles().unwrap_or(0) < 3 {
        std::thread::sleep(Duration::from_millis(100));
    }
    let pid = agent.child.id();
    let idle = procfs::rss_kib(pid);
    let idle_peak = procfs::peak_rss_kib(pid);
    let deadline = Instant::now() + Duration::from_secs(o.seconds);
    let handles: Vec<_> = (0..o.clients)
        .map(|c| {
            let socket = agent.socket.clone();
            std::thread::spawn(move || {
                if c % 2 == 0 {
                    client(&socket, "all\n", b"\"kind\":\"end\"", deadline)
                } else {
                    client(&socket, "metrics\n", b"# EOF", deadline)
                }
            })
        })
        .collect();
    let (mut answers, mut bytes) = (0, 0);
    for handle in handles {
        let (a, b) = handle.join().unwrap();
        answers += a;
        bytes += b;
    }
    let cycles = agent.cycles().unwrap_or(0);
    println!(
        "virtdiag run, {} test-driver domains, interval {} s, {} clients (all, metrics) for {} s",
        o.domains, o.interval, o.clients, o.seconds
    );
    println!(
        "answers {answers} ({} MiB), cycles {cycles}",
        bytes / (1 << 20)
    );
    println!(
        "RSS idle {} MiB (peak before clients {} MiB); peak {} MiB; at the end {} MiB",
        idle / 1024,
        idle_peak / 1024,
        procfs::peak_rss_kib(pid) / 1024,
        procfs::rss_kib(pid) / 1024
    );
}
