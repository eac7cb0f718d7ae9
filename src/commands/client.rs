//! The agent's socket as its clients use it (`query`, `query status --check`, `top`):
//! a connect with a deadline (a full listen backlog must not hang it), every answer
//! under a deadline and bounded in size, every line bounded, and, when the agent
//! cannot be reached, what was at the path ([`super::advice`]).
//!
//! The deadline of an answer counts the time spent waiting for the agent, not the
//! time spent writing what came to a slow terminal or pipe. A streamed answer
//! (`watch`) has no size bound and no deadline of its own, but may not stay silent
//! longer than [`silence_limit`]: a line at least every three intervals, plus the
//! deadline as a grace for a slow cycle.

use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, UnixAddr};
use nix::sys::time::TimeVal;

pub use self::connection::Connection;
use crate::cli::FlagValue;

mod connection;

/// How long a connect or an answer may take unless `--timeout` says otherwise
/// (seconds).
pub const DEFAULT_TIMEOUT: &str = "5";
/// The largest answer to a request that is not streamed, unless
/// `--max-answer-bytes` says otherwise: six times the largest measured (`metrics`
/// of 5,000 domains, 44.1 MB; docs/terminal.md).
pub const DEFAULT_MAX_ANSWER: &str = "256M";
/// The longest line of any answer: a line is held whole before it is shown. The
/// longest the agent writes is one record or `list` (about 150 bytes a domain).
pub const MAX_LINE_BYTES: usize = 16 << 20;
/// A streamed answer may be silent for this many intervals (plus the deadline): as
/// many as make the last cycle stale for `--check`.
pub const SILENT_INTERVALS: f64 = super::check::STALE_INTERVALS;

/// The bounds of one client.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub timeout: Duration,
    pub max_answer_bytes: u64,
}

/// How long a stream of cycles every `interval_seconds` may be silent.
pub fn silence_limit(interval_seconds: f64, limits: &Limits) -> Duration {
    let intervals = Duration::try_from_secs_f64(SILENT_INTERVALS * interval_seconds)
        .unwrap_or(Duration::from_secs(3600));
    intervals.min(Duration::from_secs(3600)) + limits.timeout
}

/// Why a conversation with the agent failed: `HEADLINE at SOCKET: DETAIL`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{headline} at {}: {detail}", .socket.display())]
pub struct Failure {
    pub kind: Kind,
    pub socket: PathBuf,
    pub headline: &'static str,
    pub detail: String,
}

/// What failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// No connection (exit 69): nothing there, not a socket, refused, denied, not
    /// accepted in time.
    Unreachable,
    /// Connected, but the answer was not one: late, too large, cut (exit 74).
    Answer,
    /// A stream silent longer than it may be (exit 74).
    Silent,
}

impl Failure {
    /// A failure of the answer (74).
    pub fn answer(socket: &Path, headline: &'static str, detail: String) -> Failure {
        Failure {
            kind: Kind::Answer,
            socket: socket.to_path_buf(),
            headline,
            detail,
        }
    }

    /// `HEADLINE: DETAIL (SOCKET)`: the reason first, for a line that may be cut.
    pub fn path_last(&self) -> String {
        format!(
            "{}: {} ({})",
            self.headline,
            self.detail,
            self.socket.display()
        )
    }
}

/// Connects to the agent at `socket` within `limits.timeout`.
pub fn connect(socket: &Path, limits: Limits) -> Result<Connection, Failure> {
    let unreachable = |e: std::io::Error| Failure {
        kind: Kind::Unreachable,
        socket: socket.to_path_buf(),
        headline: "cannot connect to the agent",
        detail: super::advice::what_is_there(socket, &e, limits.timeout),
    };
    let fd = socket::socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| unreachable(e.into()))?;
    // Linux bounds a blocking connect to a listener whose backlog is full by the send
    // timeout: it fails with EAGAIN once it has passed.
    let timeout = TimeVal::new(
        limits.timeout.as_secs().try_into().unwrap_or(i64::MAX),
        limits.timeout.subsec_micros().into(),
    );
    socket::setsockopt(&fd, sockopt::SendTimeout, &timeout).map_err(|e| unreachable(e.into()))?;
    let address = UnixAddr::new(socket).map_err(|e| unreachable(e.into()))?;
    loop {
        match socket::connect(fd.as_raw_fd(), &address) {
            Ok(()) => break,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(unreachable(e.into())),
        }
    }
    Ok(Connection::new(UnixStream::from(fd), socket, limits))
}

/// Connects, sends `request` and hands each line of the answer (without its
/// newline) to `each` as it comes, until the agent closes the connection.
pub fn ask(
    socket: &Path,
    request: &str,
    limits: Limits,
    mut each: impl FnMut(&[u8]) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let mut connection = connect(socket, limits)?;
    connection.send(request, true)?;
    while let Some(line) = connection.next_line()? {
        each(line)?;
    }
    Ok(())
}

/// A duration as `5` or `0.25` seconds.
pub fn seconds(duration: Duration) -> String {
    let text = format!("{:.3}", duration.as_secs_f64());
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `--timeout`: seconds, fractions allowed, more than 0 and at most a day.
pub fn parse_timeout(text: &str) -> Result<Duration, FlagValue> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| FlagValue::NotSeconds(text.to_string()))?;
    if !(value > 0.0 && value <= 86_400.0) {
        return Err(FlagValue::OutOfRange {
            value: text.to_string(),
            range: "0 (excluded) ..= 86400",
        });
    }
    Ok(Duration::from_secs_f64(value))
}

/// `--max-answer-bytes`: a size as the configuration's sizes are written (bytes, or
/// with a unit: `256M`, `1GiB`, `500MB`), at least 64 KiB.
pub fn parse_bytes(text: &str) -> Result<u64, FlagValue> {
    let bytes = crate::config::parse_size(text)?;
    if bytes < 64 << 10 {
        return Err(FlagValue::TooSmall(text.to_string()));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Invalid;

    #[test]
    fn flags_read_seconds_and_sizes() {
        assert_eq!(parse_timeout("5").ok(), Some(Duration::from_secs(5)));
        assert_eq!(parse_timeout("0.25").ok(), Some(Duration::from_millis(250)));
        assert!(matches!(
            parse_timeout("0"),
            Err(FlagValue::OutOfRange { .. })
        ));
        assert!(matches!(
            parse_timeout("-1"),
            Err(FlagValue::OutOfRange { .. })
        ));
        assert!(matches!(
            parse_timeout("NaN"),
            Err(FlagValue::OutOfRange { .. })
        ));
        assert!(matches!(
            parse_timeout("inf"),
            Err(FlagValue::OutOfRange { .. })
        ));
        assert!(matches!(
            parse_timeout("soon"),
            Err(FlagValue::NotSeconds(_))
        ));
        assert_eq!(parse_bytes("256M").ok(), Some(256 << 20));
        assert_eq!(parse_bytes("1GiB").ok(), Some(1 << 30));
        assert_eq!(parse_bytes("65536").ok(), Some(65536));
        assert!(matches!(parse_bytes("1000"), Err(FlagValue::TooSmall(_))));
        assert!(matches!(
            parse_bytes("12X"),
            Err(FlagValue::Size(Invalid::NotSize(_)))
        ));
        assert!(matches!(
            parse_bytes("99999999999P"),
            Err(FlagValue::Size(Invalid::TooLarge(_)))
        ));
        assert_eq!(seconds(Duration::from_millis(2500)), "2.5");
        assert_eq!(seconds(Duration::from_secs(5)), "5");
    }

    #[test]
    fn silence_is_three_intervals_and_the_deadline() {
        let limits = Limits {
            timeout: parse_timeout(DEFAULT_TIMEOUT).unwrap(),
            max_answer_bytes: parse_bytes(DEFAULT_MAX_ANSWER).unwrap(),
        };
        assert_eq!(limits.max_answer_bytes, 256 << 20);
        assert_eq!(silence_limit(10.0, &limits), Duration::from_secs(35));
        assert_eq!(silence_limit(0.5, &limits), Duration::from_millis(6500));
        assert_eq!(
            silence_limit(f64::INFINITY, &limits),
            Duration::from_secs(3605)
        );
    }
}
