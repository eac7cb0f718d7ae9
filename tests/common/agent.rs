//! A running `virtdiag run` in a private directory, and clients for its socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A private directory under the target dir, emptied first.
pub fn workdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("agent-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub struct Agent {
    pub dir: PathBuf,
    pub child: Child,
    pub spool: PathBuf,
    pub socket: PathBuf,
    pub config: PathBuf,
}

impl Agent {
    /// Starts the agent with `config_text` (spool and socket paths are added) and waits
    /// for its socket to answer.
    pub fn start(dir: &Path, config_text: &str) -> Agent {
        Self::start_with(dir, config_text, &[], &[])
    }

    /// As [`Agent::start`], with leading command words (e.g. `prlimit ...`) and extra
    /// flags for `run`.
    pub fn start_with(dir: &Path, config_text: &str, wrapper: &[&str], flags: &[&str]) -> Agent {
        let spool = dir.join("diagnostics.ndjson");
        let socket = dir.join("virtdiag.sock");
        let config = dir.join("virtdiag.toml");
        std::fs::write(&config, config_text).unwrap();
        let log = std::fs::File::create(dir.join("agent.log")).unwrap();
        let binary = super::binary();
        let mut words: Vec<String> = wrapper.iter().map(|s| s.to_string()).collect();
        words.push(binary.display().to_string());
        words.extend(
            ["--log-level", "debug", "run", "--config"]
                .iter()
                .map(|s| s.to_string()),
        );
        words.push(config.display().to_string());
        words.extend(["--spool".to_string(), spool.display().to_string()]);
        words.extend(["--socket".to_string(), socket.display().to_string()]);
        words.extend(flags.iter().map(|s| s.to_string()));
        let child = Command::new(&words[0])
            .args(&words[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the agent starts");
        let mut agent = Agent {
            dir: dir.to_path_buf(),
            child,
            spool,
            socket,
            config,
        };
        agent.wait_until("the socket answers", Duration::from_secs(10), |a| {
            a.try_request("version").is_ok()
        });
        agent
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("agent.log")).unwrap_or_default()
    }

    /// Polls `check` until it holds, failing with what was seen after `limit`.
    pub fn wait_until(
        &mut self,
        what: &str,
        limit: Duration,
        mut check: impl FnMut(&mut Agent) -> bool,
    ) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if check(self) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the agent exited ({status}) while waiting for {what}; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "gave up after {limit:?} waiting for {what}; log:\n{}",
            self.log()
        );
    }

    /// One request, answered lines until the agent closes (after our EOF).
    pub fn try_request(&self, line: &str) -> std::io::Result<Vec<Value>> {
        Ok(super::parse_lines(&self.try_request_text(line)?))
    }

    /// One request, the answer as text until the agent closes (after our EOF).
    pub fn try_request_text(&self, line: &str) -> std::io::Result<String> {
        let mut stream = UnixStream::connect(&self.socket)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.write_all(format!("{line}\n").as_bytes())?;
        stream.shutdown(std::net::Shutdown::Write)?;
        let mut text = String::new();
        stream.read_to_string(&mut text)?;
        Ok(text)
    }

    pub fn request(&self, line: &str) -> Vec<Value> {
        self.try_request(line)
            .unwrap_or_else(|e| panic!("request {line:?}: {e}; log:\n{}", self.log()))
    }

    pub fn status(&self) -> Value {
        self.request("status").remove(0)
    }

    /// The number of cycles the agent has completed.
    pub fn cycles(&self) -> u64 {
        self.status()["cycles"].as_u64().unwrap()
    }

    pub fn wait_cycles(&mut self, count: u64) {
        let limit = Duration::from_secs(30);
        self.wait_until(&format!("{count} cycles"), limit, |a| a.cycles() >= count);
    }

    pub fn signal(&self, signal: i32) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGTERM, and the exit status within `limit`.
    pub fn stop(&mut self, limit: Duration) -> ExitStatus {
        self.signal(15);
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the agent did not stop within {limit:?}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Every line of the spool (and of its rotated files, oldest first), parsed.
    pub fn spool_lines(&self) -> Vec<Value> {
        let mut files: Vec<PathBuf> = (1..100)
            .rev()
            .map(|n| PathBuf::from(format!("{}.{n}", self.spool.display())))
            .filter(|p| p.exists())
            .collect();
        files.push(self.spool.clone());
        let mut lines = Vec::new();
        for file in files {
            lines.extend(super::parse_lines(
                &std::fs::read_to_string(file).unwrap_or_default(),
            ));
        }
        lines
    }

    /// `count` connections that each asked to `watch`.
    pub fn watchers(&self, count: usize) -> Vec<UnixStream> {
        (0..count)
            .map(|_| {
                let mut stream = UnixStream::connect(&self.socket).unwrap();
                stream.write_all(b"watch\n").unwrap();
                stream
            })
            .collect()
    }

    /// The `seq` of every `cycle` line in the spool, in order.
    pub fn cycle_seqs(&self) -> Vec<u64> {
        self.spool_lines()
            .iter()
            .filter(|l| l["kind"] == "cycle")
            .map(|l| l["seq"].as_u64().unwrap())
            .collect()
    }

    /// The `event` of every `agent` line in the spool, in order.
    pub fn events(&self) -> Vec<String> {
        self.spool_lines()
            .iter()
            .filter(|l| l["kind"] == "agent")
            .map(|l| l["event"].as_str().unwrap().to_string())
            .collect()
    }

    /// The agent's resident memory in KiB.
    pub fn rss_kib(&self) -> u64 {
        super::procfs::rss_kib(self.child.id())
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads lines from a stream until `count` lines arrived or `limit` passed.
pub fn read_lines(stream: &UnixStream, count: usize, limit: Duration) -> Vec<String> {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut reader = BufReader::new(stream);
    let mut lines = Vec::new();
    while lines.len() < count {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => lines.push(line.trim_end().to_string()),
        }
    }
    lines
}

/// A config for the demo host, collecting every `interval` seconds.
pub fn demo_config(interval: f64) -> String {
    format!(
        "uri = \"{}\"\nread_only = false\ninterval_seconds = {interval}\n",
        super::demo_uri()
    )
}
