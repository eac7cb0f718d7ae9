//! Logging to stderr, one line per event, for a terminal or journald.
//!
//! Under systemd (`JOURNAL_STREAM` set) each line starts with a `<N>` syslog priority so
//! journald files it at the right level; on a terminal, with the level's name.
//! [`RateLimiter`] keeps a misbehaving guest or libvirt from flooding the log.
//!
//! In the agent ([`start_thread`]), lines and systemd notifications go through a
//! bounded queue ([`QUEUED_LINES`]) to a thread of their own, so a stalled journald
//! costs dropped, counted lines ([`counters`]), never a stalled event loop. Elsewhere
//! (the CLI, before the thread starts) a line is written at once.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error = 3,
    Warning = 4,
    Info = 6,
    Debug = 7,
}

impl Level {
    pub fn parse(text: &str) -> Option<Level> {
        match text {
            "error" => Some(Level::Error),
            "warning" | "warn" => Some(Level::Warning),
            "info" => Some(Level::Info),
            "debug" => Some(Level::Debug),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }
}

static MAX_LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);
static JOURNAL: AtomicBool = AtomicBool::new(false);
/// Standard error is a terminal: names and URIs in a line are shown escaped.
static TERMINAL: AtomicBool = AtomicBool::new(false);

/// Sets the most verbose level printed and detects journald.
pub fn init(max_level: Level) {
    MAX_LEVEL.store(max_level as u8, Ordering::Relaxed);
    JOURNAL.store(
        std::env::var_os("JOURNAL_STREAM").is_some(),
        Ordering::Relaxed,
    );
    TERMINAL.store(std::io::stderr().is_terminal(), Ordering::Relaxed);
}

pub fn enabled(level: Level) -> bool {
    level as u8 <= MAX_LEVEL.load(Ordering::Relaxed)
}

/// Writes one line at `level` (use the macros).
pub fn write(level: Level, args: std::fmt::Arguments<'_>) {
    if !enabled(level) {
        return;
    }
    let line = if JOURNAL.load(Ordering::Relaxed) {
        format!("<{}>{args}\n", level as u8)
    } else if TERMINAL.load(Ordering::Relaxed) {
        let text = crate::escape::printable(&args.to_string());
        format!("virtdiag: {}: {text}\n", level.name())
    } else {
        format!("virtdiag: {}: {args}\n", level.name())
    };
    match QUEUE.get() {
        Some(queue) => send(queue, Message::Line(line.into_bytes())),
        // One write per line, so concurrent threads never interleave within a line.
        None => {
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
    }
}

/// Lines and notifications that may wait for the log thread; one more is dropped.
pub const QUEUED_LINES: usize = 1024;

enum Message {
    Line(Vec<u8>),
    Notify(String),
    /// Answered once everything queued before it is written.
    Flush(SyncSender<()>),
}

static QUEUE: OnceLock<SyncSender<Message>> = OnceLock::new();
static WRITTEN: AtomicU64 = AtomicU64::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// What the log thread did, for `status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogCounters {
    /// Lines and notifications written.
    pub written: u64,
    /// Dropped because [`QUEUED_LINES`] were already waiting.
    pub dropped: u64,
}

pub fn counters() -> LogCounters {
    LogCounters {
        written: WRITTEN.load(Ordering::Relaxed),
        dropped: DROPPED.load(Ordering::Relaxed),
    }
}

fn send(queue: &SyncSender<Message>, message: Message) {
    if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = queue.try_send(message) {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

/// From now on, lines and `notifier`'s notifications go through the log thread. Once
/// per process; a second call changes nothing.
pub fn start_thread(notifier: crate::notify::Notifier) -> std::io::Result<()> {
    if QUEUE.get().is_some() {
        return Ok(());
    }
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Message>(QUEUED_LINES);
    std::thread::Builder::new()
        .name("log".into())
        .spawn(move || {
            for message in receiver {
                match message {
                    Message::Line(line) => {
                        let _ = std::io::stderr().lock().write_all(&line);
                    }
                    Message::Notify(state) => notifier.notify(&state),
                    Message::Flush(done) => {
                        let _ = done.send(());
                        continue;
                    }
                }
                WRITTEN.fetch_add(1, Ordering::Relaxed);
            }
        })?;
    let _ = QUEUE.set(sender);
    Ok(())
}

/// Sends a systemd notification through the log thread (nothing before it starts).
pub fn notify(state: &str) {
    if let Some(queue) = QUEUE.get() {
        send(queue, Message::Notify(state.to_string()));
    }
}

/// Waits until what is queued now is written, at most `timeout` (at exit).
pub fn flush(timeout: Duration) {
    if let Some(queue) = QUEUE.get() {
        let (done, wait) = std::sync::mpsc::sync_channel(1);
        if queue.try_send(Message::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(timeout);
        }
    }
}

#[macro_export]
macro_rules! log_error { ($($t:tt)*) => { $crate::log::write($crate::log::Level::Error, format_args!($($t)*)) } }
#[macro_export]
macro_rules! log_warn { ($($t:tt)*) => { $crate::log::write($crate::log::Level::Warning, format_args!($($t)*)) } }
#[macro_export]
macro_rules! log_info { ($($t:tt)*) => { $crate::log::write($crate::log::Level::Info, format_args!($($t)*)) } }
#[macro_export]
macro_rules! log_debug { ($($t:tt)*) => { $crate::log::write($crate::log::Level::Debug, format_args!($($t)*)) } }

/// Lets one line per key through per period; counts the rest and reports how many were
/// suppressed with the next line that passes.
pub struct RateLimiter {
    period: Duration,
    seen: HashMap<String, (Instant, u64)>,
}

impl RateLimiter {
    pub fn new(period: Duration) -> Self {
        Self {
            period,
            seen: HashMap::new(),
        }
    }

    /// `Some(suppressed_since_last)` if a line for `key` may be written now.
    pub fn check(&mut self, key: &str, now: Instant) -> Option<u64> {
        match self.seen.get_mut(key) {
            Some((last, suppressed)) if now.duration_since(*last) < self.period => {
                *suppressed += 1;
                None
            }
            Some((last, suppressed)) => {
                let count = *suppressed;
                *last = now;
                *suppressed = 0;
                Some(count)
            }
            None => {
                if self.seen.len() > 10_000 {
                    self.seen.clear(); // bounded memory whatever the keys
                }
                self.seen.insert(key.to_string(), (now, 0));
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limiter_passes_one_line_per_period_and_counts_the_rest() {
        let mut limiter = RateLimiter::new(Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(limiter.check("a", t0), Some(0));
        assert_eq!(limiter.check("a", t0 + Duration::from_secs(1)), None);
        assert_eq!(limiter.check("a", t0 + Duration::from_secs(2)), None);
        assert_eq!(limiter.check("b", t0 + Duration::from_secs(2)), Some(0));
        assert_eq!(limiter.check("a", t0 + Duration::from_secs(61)), Some(2));
    }

    #[test]
    fn levels_parse() {
        assert_eq!(Level::parse("debug"), Some(Level::Debug));
        assert_eq!(Level::parse("loud"), None);
    }
}
