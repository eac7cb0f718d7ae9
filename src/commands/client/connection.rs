//! One connection to the agent, read line by line within its bounds: the answer's
//! deadline (time spent waiting for the agent), its size, a line's length, or for a
//! stream the silence allowed between two lines.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{seconds, Failure, Kind, Limits, MAX_LINE_BYTES, SILENT_INTERVALS};

/// One connection to the agent, read line by line within the bounds.
#[derive(Debug)]
pub struct Connection {
    stream: UnixStream,
    socket: PathBuf,
    limits: Limits,
    /// Received and not yet handed out: `buffer[start..]`.
    buffer: Vec<u8>,
    start: usize,
    /// Bytes of the answer so far, and the time spent waiting for them (for a
    /// stream: since its last line).
    received: u64,
    waited: Duration,
    /// A streamed answer: the silence allowed.
    silence: Option<Duration>,
    ended: bool,
}

impl Connection {
    pub fn new(stream: UnixStream, socket: &Path, limits: Limits) -> Connection {
        Connection {
            stream,
            socket: socket.to_path_buf(),
            limits,
            buffer: Vec::new(),
            start: 0,
            received: 0,
            waited: Duration::ZERO,
            silence: None,
            ended: false,
        }
    }

    /// Sends one request line; `done` closes our side after it (the agent then
    /// closes the connection after the answer).
    pub fn send(&mut self, request: &str, done: bool) -> Result<(), Failure> {
        self.stream
            .write_all(format!("{request}\n").as_bytes())
            .and_then(|()| {
                if done {
                    self.stream.shutdown(std::net::Shutdown::Write)
                } else {
                    Ok(())
                }
            })
            .map_err(|e| {
                Failure::answer(
                    &self.socket,
                    "cannot send the request to the agent",
                    format!(
                        "{e}; it accepted the connection and closed it: see its log \
                         (journalctl -u virtdiag)"
                    ),
                )
            })
    }

    /// From now on the answer is a stream: no size bound, no overall deadline, but
    /// at most `silence` of waiting between two lines (counted from the last line,
    /// when the answer is a stream already). Only the time spent waiting for the
    /// agent counts, as for an answer's deadline: a reader of our output that
    /// pauses does not make the agent late.
    pub fn streaming(&mut self, silence: Duration) {
        if self.silence.is_none() {
            self.waited = Duration::ZERO;
        }
        self.silence = Some(silence);
    }

    /// The silence a stream is allowed (see [`Connection::streaming`]).
    pub fn silence(&self) -> Option<Duration> {
        self.silence
    }

    /// The next line of the answer, without its newline; `None` when the agent has
    /// closed the connection (a last line without a newline is still a line).
    pub fn next_line(&mut self) -> Result<Option<&[u8]>, Failure> {
        let mut scanned = self.start;
        loop {
            if let Some(at) = self.buffer[scanned..].iter().position(|&b| b == b'\n') {
                let end = scanned + at;
                let line = self.start..end;
                self.start = end + 1;
                if self.silence.is_some() {
                    self.waited = Duration::ZERO;
                }
                return Ok(Some(&self.buffer[line]));
            }
            if self.ended {
                if self.start == self.buffer.len() {
                    return Ok(None);
                }
                let line = self.start..self.buffer.len();
                self.start = self.buffer.len();
                return Ok(Some(&self.buffer[line]));
            }
            if self.buffer.len() - self.start > MAX_LINE_BYTES {
                return Err(self.broken(format!(
                    "a line longer than {} MiB: this is not the agent's protocol; is \
                     --socket the agent's socket?",
                    MAX_LINE_BYTES >> 20
                )));
            }
            // Compact, then read more.
            self.buffer.drain(..self.start);
            scanned = self.buffer.len();
            self.start = 0;
            self.fill()?;
        }
    }

    /// Reads what the agent sent next, waiting no longer than the bounds allow.
    fn fill(&mut self) -> Result<(), Failure> {
        let wait = self
            .silence
            .unwrap_or(self.limits.timeout)
            .checked_sub(self.waited)
            .filter(|d| !d.is_zero());
        let Some(wait) = wait else {
            return Err(self.late());
        };
        let _ = self.stream.set_read_timeout(Some(wait));
        let old = self.buffer.len();
        self.buffer.resize(old + 64 * 1024, 0);
        let began = Instant::now();
        let read = self.stream.read(&mut self.buffer[old..]);
        self.waited += began.elapsed();
        self.buffer.truncate(old + *read.as_ref().unwrap_or(&0));
        match read {
            Ok(0) => self.ended = true,
            Ok(n) => {
                self.received += n as u64;
                if self.silence.is_none() && self.received > self.limits.max_answer_bytes {
                    return Err(self.broken(format!(
                        "larger than {} bytes (--max-answer-bytes): no answer \
                         of the agent's is that large unless the host has tens of thousands \
                         of domains; is --socket the agent's socket?",
                        self.limits.max_answer_bytes
                    )));
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // The agent closed while our bytes sat unread on its side (it died, or was
            // restarted): the same as an end of stream, and judged the same way after.
            Err(e) if e.kind() == ErrorKind::ConnectionReset => self.ended = true,
            Err(e) => return Err(self.broken(format!("reading failed: {e}"))),
        }
        Ok(())
    }

    fn late(&self) -> Failure {
        let (kind, headline, detail) = match self.silence {
            Some(silence) => (
                Kind::Silent,
                "no more cycles from the agent",
                format!(
                    "nothing for {:.1} s, longer than {SILENT_INTERVALS} of its intervals \
                     plus --timeout: it is stuck or its host overloaded; see systemctl \
                     status virtdiag",
                    silence.as_secs_f64()
                ),
            ),
            None => (
                Kind::Answer,
                "no answer in time from the agent",
                format!(
                    "not complete within {} s (--timeout; {} bytes came): it is stuck or \
                     its host overloaded; see systemctl status virtdiag, or allow more \
                     time with --timeout",
                    seconds(self.limits.timeout),
                    self.received
                ),
            ),
        };
        Failure {
            kind,
            ..Failure::answer(&self.socket, headline, detail)
        }
    }

    fn broken(&self, detail: String) -> Failure {
        Failure::answer(&self.socket, "a broken answer from the agent", detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_come_whole_and_an_answer_stops_at_its_bound() {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let limits = Limits {
            timeout: Duration::from_secs(2),
            max_answer_bytes: 100,
        };
        let mut connection = Connection::new(ours, Path::new("/test.sock"), limits);
        theirs.write_all(b"one\ntw").unwrap();
        assert_eq!(connection.next_line().unwrap(), Some(&b"one"[..]));
        theirs.write_all(b"o\n").unwrap();
        assert_eq!(connection.next_line().unwrap(), Some(&b"two"[..]));
        theirs.write_all(&[b'x'; 101]).unwrap();
        let failure = connection.next_line().unwrap_err();
        assert_eq!(failure.kind, Kind::Answer);
        assert_eq!(
            failure.to_string(),
            "a broken answer from the agent at /test.sock: larger than 100 bytes \
             (--max-answer-bytes): no answer of the agent's is that large unless the host \
             has tens of thousands of domains; is --socket the agent's socket?"
        );
    }

    #[test]
    fn a_stream_counts_only_the_time_spent_waiting() {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let limits = Limits {
            timeout: Duration::from_secs(2),
            max_answer_bytes: 100,
        };
        let mut connection = Connection::new(ours, Path::new("/test.sock"), limits);
        connection.streaming(Duration::from_millis(200));
        // Our reader pauses longer than the silence allowed: the line is still there.
        theirs.write_all(b"cycle\n").unwrap();
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(connection.next_line().unwrap(), Some(&b"cycle"[..]));
        // Beyond the size bound of an answer: a stream has none.
        theirs.write_all(&[b'x'; 150]).unwrap();
        theirs.write_all(b"\n").unwrap();
        assert_eq!(connection.next_line().unwrap().map(<[u8]>::len), Some(150));
        let began = Instant::now();
        let failure = connection.next_line().unwrap_err();
        assert_eq!(failure.kind, Kind::Silent);
        assert!(began.elapsed() >= Duration::from_millis(190), "{failure}");
    }
}
