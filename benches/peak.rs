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

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::agent::{workdir, Agent};
use common::procfs;

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
    let (mut domains, mut clients, mut seconds, mut interval) = (5000, 16, 60, 2.0);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--domains" => domains = value().parse().unwrap(),
            "--clients" => clients = value().parse().unwrap(),
            "--seconds" => seconds = value().parse().unwrap(),
            "--interval" => interval = value().parse().unwrap(),
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    let mut agent = Agent::start(
        &workdir("bench-peak"),
        &format!(
            "uri = \"{}\"\ninterval_seconds = {interval}\n\
             [spool]\nmax_bytes = 268435456\nkeep = 1\n",
            common::fixture_uri(domains)
        ),
    );
    agent.wait_cycles(3);
    let pid = agent.child.id();
    let idle = procfs::rss_kib(pid);
    let idle_peak = procfs::peak_rss_kib(pid);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let handles: Vec<_> = (0..clients)
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
    println!(
        "virtdiag run, {domains} test-driver domains, interval {interval} s, {clients} clients \
         (all, metrics) for {seconds} s"
    );
    println!(
        "answers {answers} ({} MiB), cycles {}",
        bytes / (1 << 20),
        agent.cycles()
    );
    println!(
        "RSS idle {} MiB (peak before clients {} MiB); peak {} MiB; at the end {} MiB",
        idle / 1024,
        idle_peak / 1024,
        procfs::peak_rss_kib(pid) / 1024,
        procfs::rss_kib(pid) / 1024
    );
    agent.stop(Duration::from_secs(10));
}
