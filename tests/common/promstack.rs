//! The Prometheus stack of the tests, on loopback: processes stopped by their pid when
//! dropped, free ports, plain HTTP GETs and polling.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A process started by a test, stopped by its pid when dropped.
pub struct Process {
    child: Child,
    log: PathBuf,
}

impl Process {
    pub fn start(name: &'static str, dir: &Path, args: &[String]) -> Process {
        let log = dir.join(format!("{name}.log"));
        let child = Command::new(name)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: {e} (tests/run.sh installs it)"));
        Process { child, log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` from 127.0.0.1:port: the body of a 200 answer, or None.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let (code, body) = http_get_status(port, path)?;
    (code == 200).then_some(body)
}

/// Polls `probe` every 100 ms until it gives a value, or panics after `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `GET path` from 127.0.0.1:port: the status code and the body, or None when nothing
/// answers.
pub fn http_get_status(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    let code = head.split(' ').nth(1)?.parse().ok()?;
    Some((code, body.to_string()))
}

/// `text` percent-encoded for a URL's query string.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// node_exporter with the textfile collector only, reading `textdir`; and its port.
pub fn node_exporter(dir: &Path, textdir: &Path) -> (Process, u16) {
    let port = free_port();
    let process = Process::start(
        "prometheus-node-exporter",
        dir,
        &[
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--collector.disable-defaults".into(),
            "--collector.textfile".into(),
            format!("--collector.textfile.directory={}", textdir.display()),
        ],
    );
    (process, port)
}

/// A Prometheus server scraping node_exporter at `node_port` every second, with
/// `rule_files` (YAML list items, may be empty); and its port.
pub fn prometheus(dir: &Path, node_port: u16, rule_files: &[&Path]) -> (Process, u16) {
    let port = free_port();
    let config = dir.join("prometheus.yml");
    let rules: Vec<String> = rule_files
        .iter()
        .map(|r| format!("'{}'", r.display()))
        .collect();
    std::fs::write(
        &config,
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
             rule_files: [{}]\n\
             scrape_configs:\n  - job_name: node\n    static_configs:\n      \
             - targets: ['127.0.0.1:{node_port}']\n",
            rules.join(", ")
        ),
    )
    .unwrap();
    let process = Process::start(
        "prometheus",
        dir,
        &[
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", dir.join("tsdb").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ],
    );
    (process, port)
}
