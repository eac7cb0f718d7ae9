//! The socket server: slots, fairness between clients, and the limits. It does not know
//! what requests mean: it hands parsed requests to its owner (the daemon) one turn at a
//! time and sends what it is given. Nothing here blocks.
//!
//! Fairness: clients with work wait in a round-robin queue; a turn gives each at most
//! [`REQUESTS_PER_TURN`] requests, [`CLIENT_TURN`] of the loop's time and one bounded
//! read, so one client can never starve another, and the owner serves signals and the
//! collector between turns. A client's next request is read only while it owes less
//! than [`OUTPUT_HIGH_WATER`] bytes: a client that sends without reading waits in its
//! own socket buffer. The answers in flight of all clients together are held to one
//! budget ([`crate::query::budget`]).
//!
//! Limits and what happens at each (docs/service.md, "Limits"):
//! - a request line over 4 KiB: an error line, then the connection closes;
//! - `max_clients` connections: peers that hung up are reaped, then the oldest idle
//!   client is evicted (with an `evicted` error line); only if every slot is busy is
//!   the newcomer refused (`too_many_clients`);
//! - idle (nothing owed, nothing sent) for `idle_timeout_seconds`: closed with an
//!   `idle_timeout` line;
//! - output that does not shrink for the stall timeout: dropped; a watcher more than
//!   [`MAX_CYCLES_BEHIND`] cycles behind: a `too_slow` line, then closed. One answer
//!   is never too big: only a reader that stops reading is dropped.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::time::{Duration, Instant};

use mio::{Interest, Registry, Token};

use super::answers::Payload;
use super::conn::{Client, Mode, Parsed};
use super::listener::{AccessError, BindError, Listener};
use super::protocol::{Format, ProtocolError, Request};
use crate::log::RateLimiter;

mod feed;
mod slots;

/// Tokens from this one up are clients.
pub const FIRST_CLIENT: usize = 16;
/// Requests answered for one client in one turn at most.
pub const REQUESTS_PER_TURN: usize = 16;
/// The loop's time one client's turn may take: no request is cut short, but once a
/// turn has taken this long, the client's next request waits for its next turn.
pub const CLIENT_TURN: Duration = Duration::from_millis(1);
/// Connections accepted in one turn at most.
pub const ACCEPTS_PER_TURN: usize = 64;
/// A client's next request is read only while it owes fewer bytes than this.
pub const OUTPUT_HIGH_WATER: usize = 256 * 1024;
/// A watcher further behind than this many cycles is closed.
pub const MAX_CYCLES_BEHIND: usize = 3;
/// Output that has not shrunk for this long (or the idle timeout, if shorter) drops
/// the client.
pub const MAX_STALL: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_clients: usize,
    pub idle_timeout: Duration,
}

impl Limits {
    fn stall_timeout(&self) -> Duration {
        self.idle_timeout.min(MAX_STALL)
    }
}

/// One parsed request, or an error to answer, from one client.
pub enum Incoming {
    Request(Token, Request),
    Error(Token, ProtocolError),
}

/// What happened to clients, for `status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClientCounters {
    /// Newcomers turned away: every slot busy.
    pub refused: u64,
    /// Dropped for output that did not shrink, or a watcher too far behind.
    pub dropped: u64,
    /// Idle clients closed to make room for a newcomer.
    pub evicted: u64,
    /// Clients that had hung up, cleared before a newcomer was turned away.
    pub reaped: u64,
    /// Closed by the idle timeout.
    pub expired: u64,
    /// Accepted and closed at once: the agent was out of file descriptors.
    pub shed: u64,
}

pub struct Server {
    listener: Listener,
    listener_token: Token,
    listener_ready: bool,
    clients: HashMap<Token, Client>,
    /// Clients with work, in turn order.
    queue: VecDeque<Token>,
    /// Clients sent to or changed since the last settle.
    touched: Vec<Token>,
    next_token: usize,
    limits: Limits,
    pub counters: ClientCounters,
    /// The latest cycle's buffers, which the answer budget does not count.
    current: Vec<usize>,
    /// Bytes in flight as last judged ([`crate::query::budget`]).
    pub in_flight: u64,
    log_limit: RateLimiter,
}

impl Server {
    /// Binds the socket at `path` (see [`Listener::bind`]).
    pub fn bind(
        path: &Path,
        mode: u32,
        gid: Option<u32>,
        limits: Limits,
        registry: &Registry,
        token: Token,
    ) -> Result<Self, BindError> {
        let mut listener = Listener::bind(path, mode, gid)?;
        registry
            .register(&mut listener.socket, token, Interest::READABLE)
            .map_err(|source| BindError::Poll {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            listener,
            listener_token: token,
            listener_ready: true,
            clients: HashMap::new(),
            queue: VecDeque::new(),
            touched: Vec::new(),
            next_token: FIRST_CLIENT,
            limits,
            counters: ClientCounters::default(),
            current: Vec::new(),
            in_flight: 0,
            log_limit: RateLimiter::new(Duration::from_secs(60)),
        })
    }

    pub fn path(&self) -> &Path {
        self.listener.path()
    }

    /// Gives the socket file a new mode and group (a reload).
    pub fn set_access(&self, mode: u32, gid: Option<u32>) -> Result<(), AccessError> {
        self.listener.set_access(mode, gid)
    }

    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The latest cycle's buffers: what clients hold of them costs the budget nothing.
    pub fn set_current(&mut self, buffers: &[std::sync::Arc<Vec<u8>>]) {
        self.current = buffers
            .iter()
            .map(|b| std::sync::Arc::as_ptr(b) as usize)
            .collect();
    }

    pub fn has_client(&self, token: Token) -> bool {
        self.clients.contains_key(&token)
    }

    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    pub fn watcher_count(&self) -> usize {
        self.clients
            .values()
            .filter(|c| matches!(c.mode, Mode::Watching(_)))
            .count()
    }

    /// Readiness from the poll.
    pub fn event(&mut self, token: Token, readable: bool, writable: bool) {
        if token == self.listener_token {
            self.listener_ready = true;
            return;
        }
        let Some(client) = self.clients.get_mut(&token) else {
            return;
        };
        if readable {
            client.maybe_readable = true;
        }
        if writable {
            // Written in its turn, at most a slice at a time.
            client.maybe_writable = true;
        }
        self.touched.push(token);
    }

    /// Whether a turn would do anything now.
    pub fn has_work(&self) -> bool {
        self.listener_ready || !self.queue.is_empty()
    }

    /// Starts a turn: accepts (bounded), judges the answer budget, and returns the
    /// clients with work, in turn order. Take each one's requests with
    /// [`Server::next_request`], answer them, then call [`Server::settle`].
    pub fn begin_turn(&mut self, registry: &Registry, now: Instant) -> Vec<Token> {
        if self.listener_ready {
            self.accept(registry, now);
        }
        self.enforce_budget(now);
        // Clients accepted now (their first request already read) take their turn in
        // this one.
        self.settle(registry);
        let tokens: Vec<Token> = self.queue.drain(..).collect();
        for token in &tokens {
            if let Some(client) = self.clients.get_mut(token) {
                client.scheduled = false;
                self.touched.push(*token);
            }
        }
        tokens
    }

    /// Writes what a client of this turn is owed, at most [`super::conn::WRITE_BUDGET`] bytes.
    pub fn write_some(&mut self, token: Token, now: Instant) {
        let Some(client) = self.clients.get_mut(&token) else {
            return;
        };
        if client.wants_to_write() {
            if let Err(e) = client.flush(now) {
                crate::log_debug!("client {}: {e}", token.0);
                client.mode = Mode::Closing;
                client.output = Default::default();
            }
        }
    }

    /// The client's next request of this turn, if it may send one now (it is not
    /// waiting, owes less than [`OUTPUT_HIGH_WATER`], and has one). A request after
    /// which answers depend on what the owner does (`collect`, `quit`) ends its turn:
    /// the owner holds or closes it.
    pub fn next_request(&mut self, token: Token, now: Instant) -> Option<Incoming> {
        let client = self.clients.get_mut(&token)?;
        if !client.has_requests(OUTPUT_HIGH_WATER) {
            return None;
        }
        match client.next_request(now) {
            Ok(None) => None,
            Ok(Some(Parsed::Error(e))) => Some(Incoming::Error(token, e)),
            Ok(Some(Parsed::Request(request))) => Some(Incoming::Request(token, request)),
            Err(e) => {
                crate::log_debug!("client {}: {e}", token.0);
                client.mode = Mode::Closing;
                client.output = Default::default();
                None
            }
        }
    }

    /// Queues bytes for a client and writes what the socket takes now.
    pub fn send(&mut self, token: Token, bytes: &[u8], now: Instant) {
        self.push(token, now, |client| client.output.push(bytes));
    }

    /// Queues an answer with a shared part.
    pub fn send_payload(&mut self, token: Token, payload: &Payload, now: Instant) {
        self.push(token, now, |client| client.output.push_payload(payload));
    }

    fn push(&mut self, token: Token, now: Instant, queue: impl FnOnce(&mut Client)) {
        let Some(client) = self.clients.get_mut(&token) else {
            return;
        };
        if client.output.pending() == 0 {
            client.last_progress = now;
        }
        queue(client);
        if let Err(e) = client.flush(now) {
            crate::log_debug!("client {}: {e}", token.0);
            client.mode = Mode::Closing;
            client.output = Default::default();
        }
        self.touched.push(token);
    }

    /// The client gets every cycle's lines from now on.
    pub fn set_watching(&mut self, token: Token, format: Format) {
        self.set_mode(token, Mode::Watching(format));
    }

    /// The client waits (for a cycle or a view): its requests are not read meanwhile.
    pub fn hold(&mut self, token: Token) {
        if let Some(client) = self.clients.get_mut(&token) {
            client.held = true;
            self.touched.push(token);
        }
    }

    /// The client's wait is over.
    pub fn release(&mut self, token: Token) {
        if let Some(client) = self.clients.get_mut(&token) {
            client.held = false;
            self.touched.push(token);
        }
    }

    /// Closes the client once its output is written.
    pub fn close_after_flush(&mut self, token: Token) {
        self.set_mode(token, Mode::Closing);
    }

    fn set_mode(&mut self, token: Token, mode: Mode) {
        if let Some(client) = self.clients.get_mut(&token) {
            if client.mode != Mode::Closing {
                client.mode = mode;
            }
            self.touched.push(token);
        }
    }

    /// Closes the clients that finished or failed, and queues those with work.
    pub fn settle(&mut self, registry: &Registry) {
        let mut touched = std::mem::take(&mut self.touched);
        touched.sort_unstable();
        touched.dedup();
        for token in touched {
            let Some(client) = self.clients.get_mut(&token) else {
                continue;
            };
            if client.is_done() {
                self.remove(token, registry);
            } else if !client.scheduled && client.has_work(OUTPUT_HIGH_WATER) {
                client.scheduled = true;
                self.queue.push_back(token);
            }
        }
    }

    pub(super) fn remove(&mut self, token: Token, registry: &Registry) {
        if let Some(mut client) = self.clients.remove(&token) {
            let _ = registry.deregister(&mut client.stream);
        }
    }

    pub(super) fn warn(&mut self, key: &str, message: std::fmt::Arguments<'_>) {
        if let Some(suppressed) = self.log_limit.check(key, Instant::now()) {
            crate::log_warn!("socket: {message} ({suppressed} similar suppressed)");
        }
    }

    /// Writes what each client takes right now, then closes everything and removes
    /// the socket file if it is still this agent's (at shutdown).
    pub fn close(&mut self, registry: &Registry) {
        let now = Instant::now();
        let tokens: Vec<Token> = self.clients.keys().copied().collect();
        for token in tokens {
            if let Some(client) = self.clients.get_mut(&token) {
                let _ = client.flush(now);
            }
            self.remove(token, registry);
        }
        let _ = registry.deregister(&mut self.listener.socket);
        self.listener.remove();
    }
}
