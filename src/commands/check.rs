//! `virtdiag query status --check`: the agent's health as a monitoring plugin reports
//! it (Nagios, Icinga, monit, Sensu...): one line `VIRTDIAG STATE - text | perfdata`
//! and the plugin exit codes. The verdict is a pure function of the `status` answer.

use std::path::Path;

use super::client::{self, Failure, Limits};
use crate::query::protocol::{Line, Status};

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
        let text = crate::escape::printable(text);
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

/// Why an answer to `status` is not a status.
#[derive(Debug, Clone, PartialEq)]
pub enum NotStatus {
    /// Not JSON at all.
    NotJson,
    /// JSON, but not what the protocol says a line of its kind is: a field missing,
    /// renamed or of another type.
    Broken(String),
    /// The agent answered with an error line.
    Refused(String),
    /// Another answer than a status.
    Other,
}

impl std::fmt::Display for NotStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotStatus::NotJson => f.write_str("the agent's answer is not JSON"),
            NotStatus::Broken(why) => write!(f, "a broken answer from the agent: {why}"),
            NotStatus::Refused(message) => write!(f, "the agent answered: {message}"),
            NotStatus::Other => f.write_str("the answer is not a status"),
        }
    }
}

/// The `status` answer (its text, as received) read into the protocol's type.
pub fn read_status(answer: &str) -> Result<Status, NotStatus> {
    let first = answer.lines().next().unwrap_or("");
    match Line::parse(first.as_bytes()) {
        Ok(Line::Status(status)) => Ok(*status),
        Ok(Line::Error(refusal)) => Err(NotStatus::Refused(refusal.message)),
        Ok(_) => Err(NotStatus::Other),
        Err(e) if e.is_data() => Err(NotStatus::Broken(e.to_string())),
        Err(_) => Err(NotStatus::NotJson),
    }
}

/// The verdict on a `status` answer (its text, as received). An answer that is not a
/// whole status is UNKNOWN, whatever it holds.
pub fn judge(answer: &str) -> Verdict {
    let status = match read_status(answer) {
        Ok(status) => status,
        Err(why) => return Verdict::new(State::Unknown, &why.to_string(), ""),
    };
    let connected = status.connected;
    let interval = status.interval_seconds;
    let last = status.last_cycle.as_ref();
    let lost = status.spool.stats.lines_lost;
    let stale_after = STALE_INTERVALS * interval + STALE_GRACE_S;
    let age = last.map(|c| c.age_s);

    let mut perf = Vec::new();
    if let Some(last) = last {
        perf.push(format!("age={:.3}s;{stale_after};;0", last.age_s));
        perf.push(format!("duration={:.3}ms;;;0", last.duration_ms));
        perf.push(format!("domains={};;;0", last.domains));
        perf.push(format!("active={};;;0", last.active));
    }
    perf.push(format!("spool_lost_lines={lost}c;;;0"));
    perf.push(format!("cycles={}c;;;0", status.cycles));
    let perf = perf.join(" ");

    let mut problems: Vec<(State, String)> = Vec::new();
    if !connected {
        let reason = status
            .disconnect_reason
            .as_deref()
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
    if let Some(error) = last.and_then(|c| c.error.as_deref()).filter(|_| connected) {
        problems.push((State::Warning, format!("last cycle failed: {error}")));
    }
    if lost > 0 {
        let why = status
            .spool
            .stats
            .last_error
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        problems.push((
            State::Warning,
            format!("spool lost {lost} lines since start{why}"),
        ));
    }
    problems.sort_by_key(|p| std::cmp::Reverse(p.0));
    match (problems.first(), last) {
        (Some((state, _)), _) => {
            let text: Vec<&str> = problems.iter().map(|(_, t)| t.as_str()).collect();
            Verdict::new(*state, &text.join("; "), &perf)
        }
        (None, Some(last)) => Verdict::new(
            State::Ok,
            &format!(
                "libvirt connected, cycle {} {:.1} s ago, {} domains ({} active)",
                last.seq, last.age_s, last.domains, last.active
            ),
            &perf,
        ),
        (None, None) => unreachable!("no cycle is a problem"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::protocol::CycleSummary;

    fn status(connected: bool, age: Option<f64>, lost: u64) -> String {
        let mut status = crate::query::protocol::status::tests::example();
        status.connected = connected;
        status.disconnect_reason = (!connected).then(|| "no libvirtd".into());
        status.cycles = 42;
        status.last_cycle = age.map(|age| CycleSummary {
            seq: 42,
            ts: "t".into(),
            duration_ms: 1.5,
            domains: 4,
            active: 2,
            missing_fields: 0,
            abandoned_calls: 0,
            error: None,
            age_s: age,
        });
        status.spool.stats.lines_lost = lost;
        serde_json::to_string(&status).unwrap()
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

    #[test]
    fn a_status_with_a_field_renamed_or_gone_is_unknown_not_ok() {
        let healthy = status(true, Some(2.0), 0);
        assert_eq!(judge(&healthy).state, State::Ok);
        for (from, to) in [
            ("\"connected\":", "\"is_connected\":"),
            ("\"last_cycle\":", "\"latest_cycle\":"),
            ("\"lines_lost\":", "\"lost_lines\":"),
            ("\"age_s\":", "\"age\":"),
        ] {
            let renamed = healthy.replacen(from, to, 1);
            let verdict = judge(&renamed);
            assert_eq!(verdict.state, State::Unknown, "{from}: {}", verdict.line);
            let missing = from.trim_end_matches(':');
            assert!(
                verdict.line.starts_with(&format!(
                    "VIRTDIAG UNKNOWN - a broken answer from the agent: missing field `{}`",
                    missing.trim_matches('"')
                )),
                "{}",
                verdict.line
            );
        }
        let retyped = healthy.replacen("\"connected\":true", "\"connected\":\"yes\"", 1);
        assert_eq!(judge(&retyped).state, State::Unknown);
    }
}
