//! Who keeps a slot: accepting within the limits, reaping peers that hung up, evicting
//! the longest idle client when every slot is taken, and closing idle and stalled
//! clients. The choice of whom to evict is [`oldest_idle`], pure and tested alone.

use std::os::fd::AsFd;
use std::time::Instant;

use mio::{Interest, Registry, Token};
use nix::poll::{PollFd, PollFlags, PollTimeout};

use super::{Server, ACCEPTS_PER_TURN};
use crate::query::conn::Client;
use crate::query::listener::Accepted;
use crate::query::protocol::{ErrorCode, ProtocolError};

impl Server {
    /// Closes idle clients and those whose output has stalled. Returns when the next
    /// one could expire.
    pub fn expire(&mut self, now: Instant, registry: &Registry) -> Option<Instant> {
        let idle = self.limits.idle_timeout;
        let stall = self.limits.stall_timeout();
        let mut expired = Vec::new();
        let mut stalled = Vec::new();
        let mut next: Option<Instant> = None;
        for (token, client) in &self.clients {
            let deadline = if client.output.pending() > 0 {
                let at = client.last_progress.checked_add(stall);
                if at.is_some_and(|at| at <= now) {
                    stalled.push(*token);
                }
                at
            } else if client.is_idle() {
                let at = client.last_activity.checked_add(idle);
                if at.is_some_and(|at| at <= now) {
                    expired.push(*token);
                }
                at
            } else {
                None
            };
            if let Some(at) = deadline.filter(|&at| at > now) {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        for token in &expired {
            if let Some(client) = self.clients.get_mut(token) {
                client.last_words(&ProtocolError::new(
                    ErrorCode::IdleTimeout,
                    format!("idle for {} s; closing", idle.as_secs_f64()),
                ));
            }
            self.remove(*token, registry);
        }
        for token in &stalled {
            if let Some(client) = self.clients.get_mut(token) {
                client.last_words(&ProtocolError::new(
                    ErrorCode::TooSlow,
                    format!(
                        "{} bytes unread for {} s; closing",
                        client.output.pending(),
                        stall.as_secs_f64()
                    ),
                ));
            }
            self.remove(*token, registry);
        }
        self.counters.expired += expired.len() as u64;
        if !stalled.is_empty() {
            self.counters.dropped += stalled.len() as u64;
            self.warn(
                "stalled",
                format_args!("dropped {} clients whose output stalled", stalled.len()),
            );
        }
        next
    }

    /// Accepts waiting connections, at most [`ACCEPTS_PER_TURN`].
    pub(super) fn accept(&mut self, registry: &Registry, now: Instant) {
        for _ in 0..ACCEPTS_PER_TURN {
            let stream = match self.listener.accept() {
                Ok(Accepted::Client(stream)) => stream,
                Ok(Accepted::None) => {
                    self.listener_ready = false;
                    return;
                }
                Ok(Accepted::Shed) => {
                    self.counters.shed += 1;
                    self.warn(
                        "shed",
                        format_args!("out of file descriptors: closed a new client at once"),
                    );
                    continue;
                }
                Err(e) => {
                    self.warn("accept", format_args!("accepting a client: {e}"));
                    self.listener_ready = false;
                    return;
                }
            };
            let mut client = Client::new(stream, now);
            if !client.read_ahead(now) {
                // Connected and gone (a connect storm): no slot, no registration.
                self.counters.reaped += 1;
                continue;
            }
            if self.clients.len() >= self.limits.max_clients && !self.make_room(registry) {
                let error = ProtocolError::new(
                    ErrorCode::TooManyClients,
                    format!(
                        "the agent already serves {} clients, none idle; try again later",
                        self.clients.len()
                    ),
                );
                let _ = std::io::Write::write(&mut client.stream, &error.to_line());
                self.counters.refused += 1;
                continue;
            }
            let token = Token(self.next_token);
            self.next_token += 1;
            if registry
                .register(
                    &mut client.stream,
                    token,
                    Interest::READABLE | Interest::WRITABLE,
                )
                .is_err()
            {
                continue;
            }
            self.clients.insert(token, client);
            self.touched.push(token);
        }
    }

    /// Frees a slot: first every client whose peer hung up, else the oldest idle one.
    fn make_room(&mut self, registry: &Registry) -> bool {
        let tokens: Vec<Token> = self.clients.keys().copied().collect();
        let revents: Vec<PollFlags> = {
            let mut fds: Vec<PollFd<'_>> = tokens
                .iter()
                .map(|t| PollFd::new(self.clients[t].stream.as_fd(), PollFlags::POLLIN))
                .collect();
            if nix::poll::poll(&mut fds, PollTimeout::ZERO).is_err() {
                return false;
            }
            fds.iter()
                .map(|fd| fd.revents().unwrap_or(PollFlags::empty()))
                .collect()
        };
        let mut freed = false;
        let mut candidates = Vec::with_capacity(tokens.len());
        for (token, revents) in tokens.iter().zip(&revents) {
            if revents.intersects(PollFlags::POLLHUP | PollFlags::POLLERR) {
                self.remove(*token, registry);
                self.counters.reaped += 1;
                freed = true;
                continue;
            }
            let client = &self.clients[token];
            candidates.push(Candidate {
                token: *token,
                last_activity: client.last_activity,
                idle: client.is_idle() && !revents.contains(PollFlags::POLLIN),
            });
        }
        if freed {
            return true;
        }
        let Some(token) = oldest_idle(&candidates) else {
            return false;
        };
        if let Some(client) = self.clients.get_mut(&token) {
            client.last_words(&ProtocolError::new(
                ErrorCode::Evicted,
                "every slot is taken and this connection was the longest idle; reconnect \
                 when you have a request",
            ));
        }
        self.remove(token, registry);
        self.counters.evicted += 1;
        true
    }
}

/// A client as eviction sees it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    pub token: Token,
    pub last_activity: Instant,
    /// Nothing owed, no complete request buffered, nothing waiting in the socket.
    pub idle: bool,
}

/// The client to evict for a newcomer: the idle one quiet for longest. None if every
/// client is busy (watching, awaiting a cycle, owed an answer, or mid-request).
pub fn oldest_idle(candidates: &[Candidate]) -> Option<Token> {
    candidates
        .iter()
        .filter(|c| c.idle)
        .min_by_key(|c| c.last_activity)
        .map(|c| c.token)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_longest_idle_client_is_evicted_and_a_busy_one_never() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let candidates = [
            Candidate {
                token: Token(20),
                last_activity: at(0),
                idle: false,
            },
            Candidate {
                token: Token(21),
                last_activity: at(5),
                idle: true,
            },
            Candidate {
                token: Token(22),
                last_activity: at(3),
                idle: true,
            },
        ];
        assert_eq!(oldest_idle(&candidates), Some(Token(22)));
        assert_eq!(oldest_idle(&candidates[..1]), None);
        assert_eq!(oldest_idle(&[]), None);
    }
}
