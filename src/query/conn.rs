//! One client of the socket: its framing, its state, and the bytes owed to it.
//!
//! Reads are bounded per turn ([`READ_BUDGET`] bytes at most, and only while the input
//! holds no complete request), so the input buffer never grows past one request line
//! plus one read. Requests are parsed one at a time as the server asks for them; a
//! client that sends faster than it reads waits in its own socket buffer. Output is a
//! queue of chunks (shared cycle buffers are never copied), with the offsets that tell
//! how far a watcher is behind and whether the stream is at a line boundary.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::time::Instant;

use mio::net::UnixStream;

use super::answers::Payload;
use super::budget::Holding;
use super::protocol::{self, ErrorCode, Format, ProtocolError, Request, MAX_REQUEST_BYTES};
use crate::chunk::Chunk;

/// Bytes read from one client in one turn at most.
pub const READ_BUDGET: usize = 8192;
/// Bytes written to one client at once at most: a fast reader of a large answer gets
/// it in slices, one per turn, so copying it never holds up the other clients.
pub const WRITE_BUDGET: usize = 64 * 1024;

/// What a client is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Sending requests and reading answers.
    Requests,
    /// Receiving every cycle; may still send requests.
    Watching(Format),
    /// Closes once its output is written; reads nothing more.
    Closing,
}

/// One parsed line of a client.
pub enum Parsed {
    Request(Request),
    Error(ProtocolError),
}

/// The bytes owed to a client, in order.
#[derive(Default)]
pub struct Output {
    chunks: VecDeque<Chunk>,
    /// How much of the front chunk is written.
    offset: usize,
    pending: usize,
    /// Of `pending`, the bytes of owned chunks (the rest is shared buffers).
    owned_pending: usize,
    /// Bytes ever queued and ever written: their difference is `pending`.
    queued_total: u64,
    written_total: u64,
    /// `queued_total` at the end of each broadcast cycle not fully written yet.
    cycle_ends: VecDeque<u64>,
}

impl Output {
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// What this output holds, as the answer budget counts it.
    pub fn holding(&self, token: mio::Token) -> Holding {
        let mut holding = Holding {
            token,
            owned: self.owned_pending as u64,
            shared: Vec::new(),
        };
        for chunk in &self.chunks {
            if let Chunk::Shared(buffer) = chunk {
                holding.hold(buffer);
            }
        }
        holding
    }

    /// No line is half written: an error line may go out now without tearing one.
    pub fn at_line_boundary(&self) -> bool {
        self.offset == 0
    }

    fn push_chunk(&mut self, chunk: Chunk) {
        if chunk.is_empty() {
            return;
        }
        self.pending += chunk.len();
        if let Chunk::Owned(bytes) = &chunk {
            self.owned_pending += bytes.len();
        }
        self.queued_total += chunk.len() as u64;
        match (self.chunks.back_mut(), chunk) {
            // Small owned answers join the last owned chunk.
            (Some(Chunk::Owned(last)), Chunk::Owned(bytes)) => last.extend_from_slice(&bytes),
            (_, chunk) => self.chunks.push_back(chunk),
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.push_chunk(Chunk::Owned(bytes.to_vec()));
        }
    }

    pub fn push_payload(&mut self, payload: &Payload) {
        if let Some(shared) = &payload.shared {
            self.push_chunk(Chunk::Shared(std::sync::Arc::clone(shared)));
        }
        self.push(&payload.owned);
    }

    /// Queues one broadcast cycle; returns how many earlier cycles are still unwritten.
    pub fn push_cycle(&mut self, payload: &Payload) -> usize {
        let behind = self.cycles_behind();
        self.push_payload(payload);
        self.cycle_ends.push_back(self.queued_total);
        behind
    }

    /// Broadcast cycles queued and not yet fully written.
    pub fn cycles_behind(&mut self) -> usize {
        while self
            .cycle_ends
            .front()
            .is_some_and(|&end| end <= self.written_total)
        {
            self.cycle_ends.pop_front();
        }
        self.cycle_ends.len()
    }

    /// Writes until done, the socket would block, or `budget` bytes are written;
    /// returns the bytes written and whether the socket would block.
    pub fn write_to(
        &mut self,
        stream: &mut impl Write,
        budget: usize,
    ) -> io::Result<(usize, bool)> {
        let mut total = 0;
        while let Some(front) = self.chunks.front() {
            if total >= budget {
                return Ok((total, false));
            }
            let end = front.len().min(self.offset.saturating_add(budget - total));
            let bytes = &front.bytes()[self.offset..end];
            let owned = matches!(front, Chunk::Owned(_));
            match stream.write(bytes) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => {
                    total += n;
                    self.offset += n;
                    self.pending -= n;
                    if owned {
                        self.owned_pending -= n;
                    }
                    self.written_total += n as u64;
                    if self.offset == front.len() {
                        self.chunks.pop_front();
                        self.offset = 0;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok((total, true)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok((total, false))
    }
}

pub struct Client {
    pub stream: UnixStream,
    pub mode: Mode,
    pub output: Output,
    input: Vec<u8>,
    /// The last read did not end in WouldBlock: the socket may hold more.
    pub maybe_readable: bool,
    /// The last write did not end in WouldBlock: the socket may take more.
    pub maybe_writable: bool,
    /// The client sent EOF.
    pub read_closed: bool,
    /// Bytes arrived or left (idle timeout).
    pub last_activity: Instant,
    /// Output was last written, or became due (stall timeout).
    pub last_progress: Instant,
    pub connected_at: Instant,
    /// In the server's queue of clients with work.
    pub scheduled: bool,
    /// Waiting for something the agent does not have yet (an on-demand cycle, a view
    /// being built): its next requests wait too, to keep answers in order.
    pub held: bool,
    /// Not read while the answer budget is exceeded and it holds a fair share of it.
    pub throttled: bool,
}

impl Client {
    pub fn new(stream: UnixStream, now: Instant) -> Self {
        Self {
            stream,
            mode: Mode::Requests,
            output: Output::default(),
            input: Vec::new(),
            maybe_readable: true,
            maybe_writable: true,
            read_closed: false,
            last_activity: now,
            last_progress: now,
            connected_at: now,
            scheduled: false,
            held: false,
            throttled: false,
        }
    }

    /// Whether the client may have its requests read now.
    fn takes_requests(&self, high_water: usize) -> bool {
        matches!(self.mode, Mode::Requests | Mode::Watching(_))
            && !self.held
            && !self.throttled
            && self.output.pending() < high_water
    }

    fn has_complete_line(&self) -> bool {
        self.input.contains(&b'\n')
    }

    /// Whether a turn would do something for this client: write what it is owed (the
    /// socket may take it), or read its next request.
    pub fn has_work(&self, high_water: usize) -> bool {
        self.wants_to_write() || self.has_requests(high_water)
    }

    /// Owed bytes that its socket may take now.
    pub fn wants_to_write(&self) -> bool {
        self.maybe_writable && self.output.pending() > 0
    }

    /// Whether its next request may be read now.
    pub fn has_requests(&self, high_water: usize) -> bool {
        self.takes_requests(high_water)
            && (self.has_complete_line() || (self.maybe_readable && !self.read_closed))
    }

    /// Nothing owed and no complete request waiting (a half-sent line may be): may be
    /// closed or evicted without losing an answer.
    pub fn is_idle(&self) -> bool {
        self.mode == Mode::Requests
            && !self.held
            && self.output.pending() == 0
            && !self.has_complete_line()
    }

    /// Finished: the client closed its side, every request is answered, and nothing
    /// more will come (a watcher keeps streaming after EOF, as `socat` readers expect).
    pub fn is_done(&self) -> bool {
        let owed = self.output.pending() > 0;
        match self.mode {
            Mode::Closing => !owed,
            Mode::Requests => self.read_closed && !self.held && !self.has_complete_line() && !owed,
            Mode::Watching(_) => false,
        }
    }

    /// The next request of this turn: reads at most once (bounded) if no complete line
    /// is buffered. `Ok(None)`: nothing more now.
    pub fn next_request(&mut self, now: Instant) -> io::Result<Option<Parsed>> {
        loop {
            if let Some(end) = self.input.iter().position(|&b| b == b'\n') {
                if end + 1 > MAX_REQUEST_BYTES {
                    return Ok(Some(self.too_long()));
                }
                let parsed = protocol::parse(&self.input[..end]);
                self.input.drain(..=end);
                match parsed {
                    Ok(Some(request)) => return Ok(Some(Parsed::Request(request))),
                    Ok(None) => continue,
                    Err(e) => return Ok(Some(Parsed::Error(e))),
                }
            }
            if self.input.len() >= MAX_REQUEST_BYTES {
                return Ok(Some(self.too_long()));
            }
            if self.read_closed || !self.maybe_readable {
                return Ok(None);
            }
            if !self.read_once(now)? {
                return Ok(None);
            }
        }
    }

    /// At accept, before the client costs a slot or a poll registration: reads what
    /// is already there. False if the peer already left without asking anything.
    pub fn read_ahead(&mut self, now: Instant) -> bool {
        match self.read_once(now) {
            Ok(_) => !(self.read_closed && self.input.is_empty()),
            Err(_) => false,
        }
    }

    /// One read of at most [`READ_BUDGET`] bytes; false when nothing arrived.
    fn read_once(&mut self, now: Instant) -> io::Result<bool> {
        let mut chunk = [0u8; READ_BUDGET];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    self.read_closed = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.input.extend_from_slice(&chunk[..n]);
                    self.last_activity = now;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.maybe_readable = false;
                    return Ok(false);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn too_long(&mut self) -> Parsed {
        self.input.clear();
        self.mode = Mode::Closing;
        Parsed::Error(ProtocolError::new(
            ErrorCode::RequestTooLong,
            format!("a request line is at most {MAX_REQUEST_BYTES} bytes; closing"),
        ))
    }

    /// Writes what the socket takes now, at most [`WRITE_BUDGET`], noting progress.
    pub fn flush(&mut self, now: Instant) -> io::Result<()> {
        let (written, blocked) = self.output.write_to(&mut self.stream, WRITE_BUDGET)?;
        self.maybe_writable = !blocked;
        if written > 0 {
            self.last_progress = now;
            self.last_activity = now;
        }
        Ok(())
    }

    /// Sends a last error line if it can go out whole without tearing a line, then
    /// marks the client for closing.
    pub fn last_words(&mut self, error: &ProtocolError) {
        if self.output.at_line_boundary() {
            let _ = self.stream.write(&error.to_line());
        }
        self.mode = Mode::Closing;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(bytes: &[u8]) -> Payload {
        Payload {
            shared: Some(std::sync::Arc::new(bytes.to_vec())),
            owned: b"end\n".to_vec(),
        }
    }

    #[test]
    fn a_watcher_is_behind_by_the_cycles_it_has_not_read() {
        let (mut ours, mut theirs) = {
            let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
            a.set_nonblocking(true).unwrap();
            (UnixStream::from_std(a), b)
        };
        let mut output = Output::default();
        assert_eq!(output.push_cycle(&payload(b"one\n")), 0);
        assert_eq!(output.push_cycle(&payload(b"two\n")), 1);
        output.write_to(&mut ours, usize::MAX).unwrap();
        assert_eq!(output.cycles_behind(), 0);
        assert_eq!(output.pending(), 0);
        let mut text = vec![0u8; 64];
        let n = theirs.read(&mut text).unwrap();
        assert_eq!(&text[..n], b"one\nend\ntwo\nend\n");
    }

    #[test]
    fn small_answers_join_the_last_owned_chunk() {
        let mut output = Output::default();
        output.push(b"a\n");
        output.push(b"b\n");
        assert_eq!(output.chunks.len(), 1);
        output.push_payload(&payload(b"x\n"));
        output.push(b"c\n");
        assert_eq!(output.chunks.len(), 3);
        assert_eq!(output.pending(), 2 + 2 + 2 + 4 + 2);
        assert!(output.at_line_boundary());
    }
}
