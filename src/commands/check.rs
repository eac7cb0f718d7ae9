//! `virtdiag query status --check`: the agent's health as a monitoring plugin reports
//! it (Nagios, Icinga, monit, Sensu...): one line `VIRTDIAG STATE - text | perfdata`
//! and the plugin exit codes. The verdict is a pure function of the `status` answer.

use std::path::Path;

use serde_json::Value;

use super::client::{self, Failure, Limits};

/// The plugin states, with their exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl State {
    fn word(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        }
    }
}

/// A verdict: the state and its one line of output.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub state: State,
    pub line: String,
}

impl Verdict {
    fn new(state: State, text: &str, perfdata: &str) -> Verdict {
        let text = super::escape::printable(text);
        let line = if perfdata.is_empty() {
            format!("VIRTDIAG {} - {text}", state.word())
        } else {
            format!("VIRTDIAG {} - {text} | {perfdata}", state.word())
        };
        Verdict { state, line }
    }
}

/// The last cycle is stale when older than this many intervals, plus [`STALE_GRACE_S`]
/// (a cycle may take seconds when libvirt is slow).
pub const STALE_INTERVALS: f64 = 3.0;
pub const STALE_GRACE_S: f64 = 10.0;

/// Asks the agent at `socket` for `status` and judges it.
pub fn check(socket: &Path, limits: Limits) -> Verdict {
    match ask_status(socket, limits) {
        Ok(status) => judge(&status),
        Err(failure) => Verdict::new(
            State::Critical,
            &format!("agent unreachable: {failure}"),
            "",
        ),
    }
}

/// The agent's `status` answer, as text, within `limits`.
pub fn ask_status(socket: &Path, limits: Limits) -> Result<String, Failure> {
    let mut text = String::new();
    client::ask(socket, "status", limits, |line| {
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
        Ok(())
    })?;
    Ok(text)
}

/// The verdict on a `status` answer (its text, as received).
pub fn judge(answer: &str) -> Verdict {
    let status: Value = match serde_json::from_str(answer.lines().next().unwrap_or("")) {
        Ok(value) => value,
        Err(_) => return Verdict::new(State::Unknown, "the agent's answer is not JSON", ""),
    };
    if let Some(message) = status["error"]["message"].as_str() {
        return Verdict::new(
            State::Unknown,
            &format!("the agent answered: {message}"),
            "",
        );
    }
    let (Some(connected), Some(interval)) = (
        status["connected"].as_bool(),
        status["interval_seconds"].as_f64(),
    ) else {
        return Verdict::new(State::Unknown, "the answer is not a status", "");
    };
    let last = &status["last_cycle"];
    let lost = status["spool"]["lines_lost"].as_u64().unwrap_or(0);
    let stale_after = STALE_INTERVALS * interval + STALE_GRACE_S;
    let age = last["age_s"].as_f64();

    let mut perf = Vec::new();
    if let Some(age) = age {
        perf.push(format!("age={age:.3}s;{stale_after};;0"));
    }
    if let Some(ms) = last["duration_ms"].as_f64() {
        perf.push(format!("duration={ms:.3}ms;;;0"));
    }
    for (label, value) in [("domains", &last["domains"]), ("active", &last["active"])] {
        if let Some(n) = value.as_u64() {
            perf.push(format!("{label}={n};;;0"));
        }
    }
    perf.push(format!("spool_lost_lines={lost}c;;;0"));
    perf.push(format!(
        "cycles={}c;;;0",
        status["cycles"].as_u64().unwrap_or(0)
    ));
    let perf = perf.join(" ");

    let mut problems: Vec<(State, String)> = Vec::new();
    if !connected {
        let reason = status["disconnect_reason"]
            .as_str()
            .unwrap_or("not yet connected");
        problems.push((State::Critical, format!("libvirt disconnected: {reason}")));
    }
    match age {
        None => problems.push((State::Warning, "no cycle yet".into())),
        Some(age) if age > stale_after => problems.push((
            State::Warning,
            format!("last cycle is stale: {age:.0} s old (interval {interval} s)"),
        )),
        Some(_) => {}
    }
    if let Some(error) = last["error"].as_str().filter(|_| connected) {
        problems.push((State::Warning, format!("last cycle failed: {error}")));
    }
    if lost > 0 {
        let why = status["spool"]["last_error"]
            .as_str()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        problems.push((
            State::Warning,
            format!("spool lost {lost} lines since start{why}"),
        ));
    }
    problems.sort_by_key(|p| std::cmp::Reverse(p.0));
    match problems.first() {
        Some((state, _)) => {
            let text: Vec<&str> = problems.iter().map(|(_, t)| t.as_str()).collect();
            Verdict::new(*state, &text.join("; "), &perf)
        }
        None => Verdict::new(
            State::Ok,
            &format!(
                "libvirt connected, cycle {} {:.1} s ago, {} domains ({} active)",
                last["seq"],
                age.unwrap_or(0.0),
                last["domains"],
                last["active"]
            ),
            &perf,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status(connected: bool, age: Option<f64>, lost: u64) -> String {
        let last = age.map(|age| {
            json!({"seq": 42, "ts": "t", "duration_ms": 1.5, "domains": 4, "active": 2,
                "missing_fields": 0, "abandoned_calls": 0, "error": null, "age_s": age})
        });
        json!({"kind": "status", "connected": connected, "interval_seconds": 10.0,
            "disconnect_reason": if connected { None } else { Some("no libvirtd") },
            "cycles": 42, "last_cycle": last,
            "spool": {"lines_lost": lost, "last_error": null}})
        .to_string()
    }

    #[test]
    fn healthy_is_ok_with_perfdata() {
        let v = judge(&status(true, Some(2.04), 0));
        assert_eq!(v.state, State::Ok);
        assert_eq!(
            v.line,
            "VIRTDIAG OK - libvirt connected, cycle 42 2.0 s ago, 4 domains (2 active) \
             | age=2.040s;40;;0 duration=1.500ms;;;0 domains=4;;;0 active=2;;;0 \
             spool_lost_lines=0c;;;0 cycles=42c;;;0"
        );
    }

    #[test]
    fn each_fault_has_its_state_and_the_worst_wins() {
        assert_eq!(judge(&status(true, Some(40.5), 0)).state, State::Warning);
        assert_eq!(judge(&status(true, None, 0)).state, State::Warning);
        let lost = judge(&status(true, Some(1.0), 3));
        assert_eq!(lost.state, State::Warning);
        assert!(lost.line.contains("spool lost 3 lines"), "{}", lost.line);
        let down = judge(&status(false, Some(99.0), 3));
        assert_eq!(down.state, State::Critical);
        assert!(
            down.line.starts_with(
                "VIRTDIAG CRITICAL - libvirt disconnected: no libvirtd; last cycle is stale"
            ),
            "{}",
            down.line
        );
        assert_eq!(judge("not json").state, State::Unknown);
        assert_eq!(judge("{\"kind\":\"list\"}").state, State::Unknown);
        let refused = judge(r#"{"error":{"code":"bad_request","message":"no"}}"#);
        assert_eq!(refused.state, State::Unknown);
        assert_eq!(State::Critical as i32, 2);
    }
}
