//! Sockets that misbehave as a stuck, overloaded or hostile agent would, for the
//! clients' tests: one that accepts and never answers, one that never accepts (its
//! listen backlog full), one that streams without end, and one that answers by a
//! script. Each serves on threads of its own until the test process ends.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::socket::{self, AddressFamily, Backlog, SockFlag, SockType, UnixAddr};

/// A fresh socket path in `dir`.
fn fresh(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

/// Accepts every connection and holds it open without a byte of answer.
pub fn silent(dir: &Path) -> PathBuf {
    script(dir, "silent.sock", |_request, _stream| {
        std::thread::sleep(Duration::from_secs(3600))
    })
}

/// Streams `chunk` again and again to every connection, until the client goes away.
pub fn endless(dir: &Path, name: &str, chunk: &'static [u8]) -> PathBuf {
    script(
        dir,
        name,
        move |_request, stream| {
            while stream.write_all(chunk).is_ok() {}
        },
    )
}

/// Reads each connection's first line and hands it and the connection to `answer`.
pub fn script(
    dir: &Path,
    name: &str,
    answer: impl Fn(&str, &mut UnixStream) + Send + Sync + Copy + 'static,
) -> PathBuf {
    let path = fresh(dir, name);
    let listener = UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut request = String::new();
                let _ = BufReader::new(&stream).read_line(&mut request);
                answer(request.trim_end(), &mut stream);
            });
        }
    });
    path
}

/// A listener that never accepts, with a backlog of 0, filled: a connect to it
/// waits for a place in the queue that never comes. The connections that fill it
/// are kept with the listener.
pub fn never_accepting(dir: &Path) -> (PathBuf, Vec<OwnedFd>) {
    let path = fresh(dir, "backlog.sock");
    let listener = socket::socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    let address = UnixAddr::new(&path).unwrap();
    socket::bind(listener.as_raw_fd(), &address).unwrap();
    socket::listen(&listener, Backlog::new(0).unwrap()).unwrap();
    let mut held = vec![listener];
    // Non-blocking connects until the queue refuses (EAGAIN): then it is full.
    for _ in 0..64 {
        let client = socket::socket(
            AddressFamily::Unix,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            None,
        )
        .unwrap();
        match socket::connect(client.as_raw_fd(), &address) {
            Ok(()) => held.push(client),
            Err(nix::errno::Errno::EAGAIN) => return (path, held),
            Err(e) => panic!("filling the backlog: {e}"),
        }
    }
    panic!("the backlog of 0 took 64 connections");
}

/// A whole `status` answer line of a connected agent cycling every `interval` s, as
/// the protocol's type writes it: what a scripted agent says to `status`.
pub fn status_line(interval: f64) -> String {
    use virtdiag::query::protocol::{ClientStatus, SpoolStatus, Status};
    let status = Status {
        version: "0.0.0".into(),
        pid: 1,
        started: "2026-01-01T00:00:00Z".into(),
        uptime_s: 1,
        uri: "test:///default".into(),
        connected: true,
        disconnect_reason: None,
        interval_seconds: interval,
        cycles: 0,
        last_cycle: None,
        skipped_ticks: 0,
        spool: SpoolStatus {
            path: "/dev/null".into(),
            stats: Default::default(),
        },
        clients: ClientStatus::default(),
        events: Default::default(),
        log: Default::default(),
        restart_needed: Vec::new(),
        textfile: Default::default(),
    };
    let mut line = serde_json::to_string(&status).unwrap();
    line.push('\n');
    line
}
