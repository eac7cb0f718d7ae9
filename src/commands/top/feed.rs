//! The socket side of `virtdiag top`: a thread that asks the agent for `status` and
//! `all` (so the first screen is full), then follows `watch`, and hands each complete
//! cycle to the screen. Every answer has the client's deadline and size bound
//! ([`client`]); the stream may be silent for three of the agent's intervals (from
//! `status`) plus the deadline. When the agent goes away or falls silent, it says why
//! and reconnects every second, so `top` outlives an agent restart.

use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::model::Row;
use crate::commands::client::{self, Failure, Limits};
use crate::error::Result;
use crate::query::protocol::{Kind, Line, Status};

/// What the feed hands the screen.
#[derive(Debug)]
pub enum Update {
    /// The agent's `status` answer.
    Status(Box<Status>),
    /// The rows of every latest domain record (the `all` answer, or a cycle's),
    /// replacing the rows, and the host the records name.
    Records(Vec<Row>, Option<String>),
    /// A cycle line: after a connected cycle, its records came just before it.
    Cycle(Value),
    /// The agent cannot be reached or closed the stream: why.
    Lost(String),
}

/// Between attempts to reach an agent that went away.
const RETRY: Duration = Duration::from_secs(1);

/// Connects once, so that `top` can refuse to start without an agent (69, or 74
/// for an agent that does not answer).
pub fn probe(socket: &Path, limits: Limits) -> Result<()> {
    ask(socket, "version", limits, |_, _| ())?;
    Ok(())
}

/// Updates waiting for the screen, at most.
pub const UPDATES_IN_FLIGHT: usize = 8;

/// Runs the feed on its own thread until the screen hangs up.
pub fn spawn(socket: PathBuf, limits: Limits, updates: SyncSender<Update>) {
    std::thread::spawn(move || loop {
        let error = follow(&socket, limits, &updates);
        let message = format!("agent unreachable, retrying: {error}");
        if updates.send(Update::Lost(message)).is_err() {
            return;
        }
        std::thread::sleep(RETRY);
    });
}

/// One session with the agent: the current state, then every cycle until the
/// stream ends. Returns why it ended.
fn follow(socket: &Path, limits: Limits, updates: &SyncSender<Update>) -> String {
    let status = match ask(socket, "status", limits, |_, line| line) {
        Ok(mut lines) if !lines.is_empty() => lines.remove(0),
        Ok(_) => return "empty answer to status".into(),
        Err(e) => return e.path_last(),
    };
    let status = match status {
        Line::Status(status) => status,
        _ => return "the answer to status is not a status".into(),
    };
    let interval = status.interval_seconds;
    // Each record becomes its row as it is parsed.
    let all = ask(socket, "all", limits, |value, _| {
        let host = Host::deserialize(&value).ok().map(|h| h.host);
        (Row::from_record(&value), host)
    });
    let (rows, hosts): (Vec<_>, Vec<_>) = match all {
        Ok(lines) => lines.into_iter().unzip(),
        Err(e) => return e.path_last(),
    };
    let host = hosts.into_iter().flatten().next();
    let rows = Update::Records(rows.into_iter().flatten().collect(), host);
    if updates.send(Update::Status(status)).is_err() || updates.send(rows).is_err() {
        return "the screen has gone".into();
    }
    let mut stream = match client::connect(socket, limits) {
        Ok(stream) => stream,
        Err(e) => return e.path_last(),
    };
    if let Err(e) = stream.send("watch", false) {
        return e.path_last();
    }
    stream.streaming(client::silence_limit(interval, &limits));
    // The rows of the records until their cycle line (rows: a host's worth of
    // records would take tens of times the memory).
    let mut pending = Vec::new();
    let mut host = None;
    // The bytes of the records held until their cycle line.
    let mut held = 0u64;
    loop {
        let line = match stream.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => return "the agent closed the stream".into(),
            Err(e) => return e.path_last(),
        };
        held += line.len() as u64;
        if held > limits.max_answer_bytes {
            return format!(
                "more than {} bytes of records without a cycle line (--max-answer-bytes)",
                limits.max_answer_bytes
            );
        }
        let Ok(value) = serde_json::from_slice::<Value>(line) else {
            continue;
        };
        let read = match Line::from_value(&value) {
            Ok(read) => read,
            Err(e) => return format!("a broken answer from the agent: {e}"),
        };
        let sent = match read {
            Line::Error(refusal) => return format!("the agent answered: {}", refusal.message),
            Line::Other(Kind::Domain) => {
                if host.is_none() {
                    host = Host::deserialize(&value).ok().map(|h| h.host);
                }
                pending.extend(Row::from_record(&value));
                Ok(())
            }
            Line::Other(Kind::Cycle) => {
                held = 0;
                let records = std::mem::take(&mut pending);
                let connected = match CycleHead::deserialize(&value) {
                    Ok(head) => head.connected,
                    Err(e) => return format!("a broken cycle line from the agent: {e}"),
                };
                let sent = if connected {
                    updates.send(Update::Records(records, host.take()))
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
}

/// One request on its own connection; `keep` of each line but the end line, with the
/// line as the protocol reads it. An error line becomes an error, and so does a line
/// that is not what the protocol says a line of its kind is.
fn ask<T>(
    socket: &Path,
    request: &str,
    limits: Limits,
    keep: impl Fn(Value, Line) -> T,
) -> Result<Vec<T>, Failure> {
    let mut lines = Vec::new();
    client::ask(socket, request, limits, |line| {
        let broken = |e: serde_json::Error| {
            let detail = if e.is_data() {
                e.to_string()
            } else {
                format!("not JSON: {e}")
            };
            Failure::answer(socket, "a broken answer from the agent", detail)
        };
        let value: Value = serde_json::from_slice(line).map_err(broken)?;
        match Line::from_value(&value).map_err(broken)? {
            Line::Error(refusal) => Err(Failure::answer(
                socket,
                "an error from the agent",
                refusal.message,
            )),
            Line::End(_) => Ok(()),
            read => {
                lines.push(keep(value, read));
                Ok(())
            }
        }
    })?;
    Ok(lines)
}

/// The host name every record and cycle line carries.
#[derive(Deserialize)]
struct Host {
    host: String,
}

/// What the feed reads of a cycle line: whether its records came before it.
#[derive(Deserialize)]
struct CycleHead {
    connected: bool,
}
