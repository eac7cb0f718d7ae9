//! The socket server: accepts clients, reads request lines, buffers answers, enforces
//! the limits. It does not know what the requests mean: it hands parsed requests to its
//! owner (the daemon) and sends what it is given.
//!
//! Limits: a request line over 4 KiB gets an error and the connection closes; at most
//! `max_clients` connections (the next gets an error line and is closed); idle
//! connections close after the idle timeout (not while watching or waiting for a
//! collection); a client whose unread output exceeds 8 MiB is dropped. Nothing here
//! blocks: every socket is non-blocking and served from one poll loop.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};

use super::answers::Payload;
use super::protocol::{self, Format, ProtocolError, Request, MAX_REQUEST_BYTES};

/// Unread output beyond which a client is dropped.
pub const MAX_PENDING_OUTPUT: usize = 8 * 1024 * 1024;

/// Tokens from this one up are clients.
pub const FIRST_CLIENT: usize = 16;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_clients: usize,
    pub idle_timeout: Duration,
}

/// One parsed request, or an error to answer, from one client.
pub enum Incoming {
    Request(Token, Request),
    Error(Token, ProtocolError),
}

enum Chunk {
    Owned(Vec<u8>),
    Shared(Arc<Vec<u8>>),
}

impl Chunk {
    fn bytes(&self) -> &[u8] {
        match self {
            Chunk::Owned(bytes) => bytes,
            Chunk::Shared(bytes) => bytes,
        }
    }
}

/// The bytes owed to a client, in order.
#[derive(Default)]
struct Output {
    chunks: VecDeque<Chunk>,
    /// How much of the front chunk is written.
    offset: usize,
    pending: usize,
}

impl Output {
    fn push(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.pending += bytes.len();
        match self.chunks.back_mut() {
            Some(Chunk::Owned(last)) => last.extend_from_slice(bytes),
            _ => self.chunks.push_back(Chunk::Owned(bytes.to_vec())),
        }
    }

    fn push_payload(&mut self, payload: &Payload) {
        if let Some(shared) = payload.shared.as_ref().filter(|s| !s.is_empty()) {
            self.pending += shared.len();
            self.chunks.push_back(Chunk::Shared(Arc::clone(shared)));
        }
        self.push(&payload.owned);
    }

    /// Writes until done or the socket would block.
    fn write_to(&mut self, stream: &mut UnixStream) -> io::Result<()> {
        while let Some(front) = self.chunks.front() {
            let bytes = &front.bytes()[self.offset..];
            match stream.write(bytes) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => {
                    self.offset += n;
                    self.pending -= n;
                    if n == bytes.len() {
                        self.chunks.pop_front();
                        self.offset = 0;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

struct Client {
    stream: UnixStream,
    input: Vec<u8>,
    output: Output,
    last_activity: Instant,
    watching: Option<Format>,
    /// Waiting for the answer of an on-demand collection.
    awaiting: bool,
    /// The client sent EOF: close once nothing more is owed.
    read_closed: bool,
    /// Close once the output is flushed.
    closing: bool,
    writable_interest: bool,
}

pub struct Server {
    listener: UnixListener,
    path: PathBuf,
    listener_token: Token,
    clients: HashMap<Token, Client>,
    next_token: usize,
    limits: Limits,
    pub refused_clients: u64,
    pub dropped_clients: u64,
}

impl Server {
    /// Binds the socket at `path`. An old file there is replaced only if it is a socket
    /// nobody answers on; a live agent there, or a file that is not a socket, is an error.
    pub fn bind(
        path: &Path,
        mode: u32,
        gid: Option<u32>,
        limits: Limits,
        registry: &Registry,
        token: Token,
    ) -> Result<Self, String> {
        let shown = path.display();
        match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot inspect socket path {shown}: {e}")),
            Ok(meta) if meta.file_type().is_socket() => {
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(format!(
                        "another process is answering on {shown}: is virtdiag already running?"
                    ));
                }
                std::fs::remove_file(path)
                    .map_err(|e| format!("cannot remove the stale socket {shown}: {e}"))?;
            }
            Ok(_) => {
                return Err(format!(
                    "{shown} exists and is not a socket; refusing to replace it"
                ))
            }
        }
        let mut listener =
            UnixListener::bind(path).map_err(|e| format!("cannot bind {shown}: {e}"))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("cannot set the mode of {shown}: {e}"))?;
        if let Some(gid) = gid {
            std::os::unix::fs::chown(path, None, Some(gid))
                .map_err(|e| format!("cannot give {shown} to group {gid}: {e}"))?;
        }
        registry
            .register(&mut listener, token, Interest::READABLE)
            .map_err(|e| format!("cannot poll {shown}: {e}"))?;
        Ok(Self {
            listener,
            path: path.to_path_buf(),
            listener_token: token,
            clients: HashMap::new(),
            next_token: FIRST_CLIENT,
            limits,
            refused_clients: 0,
            dropped_clients: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    pub fn watcher_count(&self) -> usize {
        self.clients
            .values()
            .filter(|c| c.watching.is_some())
            .count()
    }

    /// Accepts every pending connection.
    pub fn accept(&mut self, registry: &Registry) {
        loop {
            let (mut stream, _) = match self.listener.accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    crate::log_warn!("accepting a client on {}: {e}", self.path.display());
                    return;
                }
            };
            if self.clients.len() >= self.limits.max_clients {
                let error = ProtocolError::new(
                    "too_many_clients",
                    format!(
                        "the agent already serves {} clients; try again later",
                        self.clients.len()
                    ),
                );
                let _ = stream.write(&error.to_line());
                self.refused_clients += 1;
                continue;
            }
            let token = Token(self.next_token);
            self.next_token += 1;
            if registry
                .register(&mut stream, token, Interest::READABLE)
                .is_err()
            {
                continue;
            }
            self.clients.insert(
                token,
                Client {
                    stream,
                    input: Vec::new(),
                    output: Output::default(),
                    last_activity: Instant::now(),
                    watching: None,
                    awaiting: false,
                    read_closed: false,
                    closing: false,
                    writable_interest: false,
                },
            );
        }
    }

    /// Handles readiness of a client: reads and parses what arrived, writes what is
    /// owed. Returns the requests to answer.
    pub fn ready(
        &mut self,
        token: Token,
        readable: bool,
        writable: bool,
        registry: &Registry,
    ) -> Vec<Incoming> {
        let mut incoming = Vec::new();
        if token == self.listener_token {
            self.accept(registry);
            return incoming;
        }
        let Some(client) = self.clients.get_mut(&token) else {
            return incoming;
        };
        if readable && !client.read_closed {
            client.last_activity = Instant::now();
            if let Err(e) = read_requests(client, token, &mut incoming) {
                crate::log_debug!("client {}: {e}", token.0);
                self.remove(token, registry);
                return incoming;
            }
        }
        if writable {
            client.last_activity = Instant::now();
        }
        // With requests to answer, the answers settle the client (and close it after
        // an EOF); otherwise settle it now.
        if incoming.is_empty() {
            self.settle(token, registry, true);
        }
        incoming
    }

    /// Queues bytes for a client and writes what the socket takes now.
    pub fn send(&mut self, token: Token, bytes: &[u8], registry: &Registry) {
        if let Some(client) = self.clients.get_mut(&token) {
            client.output.push(bytes);
        }
        self.settle(token, registry, false);
    }

    /// Queues an answer with a shared part for a client.
    pub fn send_payload(&mut self, token: Token, payload: &Payload, registry: &Registry) {
        if let Some(client) = self.clients.get_mut(&token) {
            client.output.push_payload(payload);
        }
        self.settle(token, registry, false);
    }

    /// Marks a client as watching (it then gets every cycle's lines) or awaiting a
    /// collection.
    pub fn set_watching(&mut self, token: Token, format: Format) {
        if let Some(client) = self.clients.get_mut(&token) {
            client.watching = Some(format);
        }
    }

    pub fn set_awaiting(&mut self, token: Token, awaiting: bool, registry: &Registry) {
        if let Some(client) = self.clients.get_mut(&token) {
            client.awaiting = awaiting;
        }
        self.settle(token, registry, false);
    }

    /// Closes the client once its output is flushed.
    pub fn close_after_flush(&mut self, token: Token, registry: &Registry) {
        if let Some(client) = self.clients.get_mut(&token) {
            client.closing = true;
        }
        self.settle(token, registry, false);
    }

    /// Sends a cycle's lines to every watcher, `lines_for` giving them per format.
    pub fn broadcast(&mut self, lines_for: impl Fn(Format) -> Payload, registry: &Registry) {
        let watchers: Vec<(Token, Format)> = self
            .clients
            .iter()
            .filter_map(|(t, c)| c.watching.map(|f| (*t, f)))
            .collect();
        let mut cache: Vec<(Format, Payload)> = Vec::new();
        for (token, format) in watchers {
            if !cache.iter().any(|(f, _)| *f == format) {
                cache.push((format, lines_for(format)));
            }
            let payload = &cache.iter().find(|(f, _)| *f == format).expect("cached").1;
            if let Some(client) = self.clients.get_mut(&token) {
                client.output.push_payload(payload);
            }
            self.settle(token, registry, false);
        }
    }

    /// Closes clients idle longer than the timeout (not watchers, not those awaiting a
    /// collection). Returns when the next one could expire.
    pub fn expire_idle(&mut self, now: Instant, registry: &Registry) -> Option<Instant> {
        let timeout = self.limits.idle_timeout;
        let expired: Vec<Token> = self
            .clients
            .iter()
            .filter(|(_, c)| {
                c.watching.is_none()
                    && !c.awaiting
                    && now.duration_since(c.last_activity) >= timeout
            })
            .map(|(t, _)| *t)
            .collect();
        for token in expired {
            crate::log_debug!("client {}: idle for {:?}, closing", token.0, timeout);
            self.remove(token, registry);
        }
        self.clients
            .values()
            .filter(|c| c.watching.is_none() && !c.awaiting)
            .map(|c| c.last_activity + timeout)
            .min()
    }

    /// Flushes what each client can take right now, without blocking (at shutdown).
    pub fn flush_all(&mut self, registry: &Registry) {
        let tokens: Vec<Token> = self.clients.keys().copied().collect();
        for token in tokens {
            if let Some(client) = self.clients.get_mut(&token) {
                let _ = flush(client);
            }
            self.remove(token, registry);
        }
    }

    /// After the owner answered a batch of requests from `ready`: closes the client if
    /// it sent EOF and is owed nothing more.
    pub fn answered(&mut self, token: Token, registry: &Registry) {
        self.settle(token, registry, true);
    }

    /// Writes pending output, drops a client over the output limit, closes a finished
    /// one (after EOF only when `eof_closes`, i.e. no request is still being answered),
    /// and keeps the poll interest right.
    fn settle(&mut self, token: Token, registry: &Registry, eof_closes: bool) {
        let Some(client) = self.clients.get_mut(&token) else {
            return;
        };
        if let Err(e) = flush(client) {
            crate::log_debug!("client {}: {e}", token.0);
            self.remove(token, registry);
            return;
        }
        let pending = client.output.pending;
        if pending > MAX_PENDING_OUTPUT {
            crate::log_warn!("client {}: {pending} bytes unread, dropping it", token.0);
            self.dropped_clients += 1;
            self.remove(token, registry);
            return;
        }
        let done = pending == 0
            && (client.closing
                || (eof_closes
                    && client.read_closed
                    && client.watching.is_none()
                    && !client.awaiting));
        if done {
            self.remove(token, registry);
            return;
        }
        let want_write = pending > 0;
        if want_write != client.writable_interest {
            let interest = if want_write {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if registry
                .reregister(&mut client.stream, token, interest)
                .is_err()
            {
                self.remove(token, registry);
                return;
            }
            client.writable_interest = want_write;
        }
    }

    fn remove(&mut self, token: Token, registry: &Registry) {
        if let Some(mut client) = self.clients.remove(&token) {
            let _ = registry.deregister(&mut client.stream);
        }
    }

    /// Deregisters the listener and removes the socket file (at shutdown).
    pub fn close(&mut self, registry: &Registry) {
        self.flush_all(registry);
        let _ = registry.deregister(&mut self.listener);
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Reads until the socket would block, turning complete lines into requests.
fn read_requests(
    client: &mut Client,
    token: Token,
    incoming: &mut Vec<Incoming>,
) -> io::Result<()> {
    let mut chunk = [0u8; 8192];
    loop {
        match client.stream.read(&mut chunk) {
            Ok(0) => {
                client.read_closed = true;
                return Ok(());
            }
            Ok(n) => {
                client.input.extend_from_slice(&chunk[..n]);
                while let Some(end) = client.input.iter().position(|&b| b == b'\n') {
                    if end + 1 > MAX_REQUEST_BYTES {
                        return too_long(client, token, incoming);
                    }
                    let line: Vec<u8> = client.input.drain(..=end).collect();
                    match protocol::parse(&line[..end]) {
                        Ok(Some(request)) => incoming.push(Incoming::Request(token, request)),
                        Ok(None) => {}
                        Err(e) => incoming.push(Incoming::Error(token, e)),
                    }
                    if client.closing {
                        return Ok(());
                    }
                }
                if client.input.len() >= MAX_REQUEST_BYTES {
                    return too_long(client, token, incoming);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn too_long(client: &mut Client, token: Token, incoming: &mut Vec<Incoming>) -> io::Result<()> {
    client.input.clear();
    client.closing = true;
    client.read_closed = true;
    incoming.push(Incoming::Error(
        token,
        ProtocolError::new(
            "request_too_long",
            format!("a request line is at most {MAX_REQUEST_BYTES} bytes; closing"),
        ),
    ));
    Ok(())
}

/// Writes what the socket takes now.
fn flush(client: &mut Client) -> io::Result<()> {
    client.output.write_to(&mut client.stream)
}
