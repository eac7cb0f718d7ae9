//! The socket side of `virtdiag top`: a thread that asks the agent for `status` and
//! `all` (so the first screen is full), then follows `watch`, and hands each complete
//! cycle to the screen. When the agent goes away it says why and reconnects every
//! second, so `top` outlives an agent restart.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use serde_json::Value;

/// What the feed hands the screen.
#[derive(Debug)]
pub enum Update {
    /// The agent's `status` answer.
    Status(Value),
    /// Every latest domain record (the `all` answer, or a cycle's), replacing the rows.
    Records(Vec<Value>),
    /// A cycle line: after a connected cycle, its records came just before it.
    Cycle(Value),
    /// The agent cannot be reached or closed the stream: why.
    Lost(String),
}

/// How long a `status` or `all` answer may take.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// Between attempts to reach an agent that went away.
const RETRY: Duration = Duration::from_secs(1);

/// Connects once, so that `top` can refuse to start without an agent.
pub fn probe(socket: &Path) -> std::io::Result<()> {
    ask(socket, "version").map(drop)
}

/// Runs the feed on its own thread until the screen hangs up.
/// Updates waiting for the screen, at most.
pub const UPDATES_IN_FLIGHT: usize = 8;

pub fn spawn(socket: PathBuf, updates: SyncSender<Update>) {
    std::thread::spawn(move || loop {
        let error = follow(&socket, &updates);
        let message = format!(
            "agent unreachable, retrying: {error} ({})",
            socket.display()
        );
        if updates.send(Update::Lost(message)).is_err() {
            return;
        }
        std::thread::sleep(RETRY);
    });
}

/// One session with the agent: the current state, then every cycle until the
/// stream ends. Returns why it ended.
fn follow(socket: &Path, updates: &SyncSender<Update>) -> String {
    let status = match ask(socket, "status") {
        Ok(mut lines) if !lines.is_empty() => lines.remove(0),
        Ok(_) => return "empty answer to status".into(),
        Err(e) => return e.to_string(),
    };
    let records = match ask(socket, "all") {
        Ok(lines) => lines,
        Err(e) => return e.to_string(),
    };
    if updates.send(Update::Status(status)).is_err()
        || updates.send(Update::Records(records)).is_err()
    {
        return "the screen has gone".into();
    }
    let stream = match UnixStream::connect(socket).and_then(|mut s| {
        s.write_all(b"watch\n")?;
        Ok(s)
    }) {
        Ok(stream) => stream,
        Err(e) => return e.to_string(),
    };
    let mut pending = Vec::new();
    for line in BufReader::new(stream).split(b'\n') {
        let Ok(line) = line else {
            break;
        };
        let Ok(value) = serde_json::from_slice::<Value>(&line) else {
            continue;
        };
        if let Some(message) = value["error"]["message"].as_str() {
            return format!("the agent answered: {message}");
        }
        let sent = match value["kind"].as_str() {
            Some("domain") => {
                pending.push(value);
                Ok(())
            }
            Some("cycle") => {
                let records = std::mem::take(&mut pending);
                let connected = value["connected"].as_bool() == Some(true);
                let sent = if connected {
                    updates.send(Update::Records(records))
                } else {
                    Ok(())
                };
                sent.and_then(|()| updates.send(Update::Cycle(value)))
            }
            _ => Ok(()),
        };
        if sent.is_err() {
            return "the screen has gone".into();
        }
    }
    "the agent closed the stream".into()
}

/// One request on its own connection; the domain lines and any first line, without
/// the end line. An error line becomes an error.
fn ask(socket: &Path, request: &str) -> std::io::Result<Vec<Value>> {
    let mut stream = UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(ANSWER_TIMEOUT))?;
    stream.write_all(format!("{request}\n").as_bytes())?;
    stream.shutdown(std::net::Shutdown::Write)?;
    let mut text = Vec::new();
    stream.read_to_end(&mut text)?;
    let mut lines = Vec::new();
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let value: Value = serde_json::from_slice(line)
            .map_err(|e| std::io::Error::other(format!("not JSON from the agent: {e}")))?;
        if let Some(message) = value["error"]["message"].as_str() {
            return Err(std::io::Error::other(format!(
                "the agent answered: {message}"
            )));
        }
        if value["kind"].as_str() != Some("end") {
            lines.push(value);
        }
    }
    Ok(lines)
}
