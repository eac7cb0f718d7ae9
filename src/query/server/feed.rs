//! What goes to many clients at once: each cycle to its watchers, event lines, and the
//! answer budget that all clients' outputs share ([`crate::query::budget`]).

use std::time::Instant;

use super::{Server, MAX_CYCLES_BEHIND, OUTPUT_HIGH_WATER};
use crate::query::answers::Payload;
use crate::query::budget::{self, Holding, ANSWER_BUDGET};
use crate::query::conn::{Client, Mode};
use crate::query::protocol::{ErrorCode, Format, ProtocolError};

/// Why a watcher is closed as too slow: what its `too_slow` error line says.
#[derive(Debug, thiserror::Error)]
enum TooSlow {
    #[error(
        "this watcher is more than {MAX_CYCLES_BEHIND} cycles behind; closing \
         (read faster, or use `all` at your own pace)"
    )]
    CyclesBehind,
    #[error("this watcher owes too many event lines; closing")]
    EventLines,
}

impl Server {
    /// Whether any client watches in `format`.
    pub fn watching(&self, format: Format) -> bool {
        self.clients
            .values()
            .any(|c| c.mode == Mode::Watching(format))
    }

    /// Sends a cycle's lines to every watcher in `format`. A watcher already
    /// [`MAX_CYCLES_BEHIND`] cycles behind is closed instead.
    pub fn broadcast(&mut self, format: Format, payload: &Payload, now: Instant) {
        let slow = self.feed_watchers(now, Some(format), |client| {
            if client.output.cycles_behind() >= MAX_CYCLES_BEHIND {
                return Err(TooSlow::CyclesBehind);
            }
            client.output.push_cycle(payload);
            Ok(())
        });
        if slow > 0 {
            self.warn(
                "slow",
                format_args!("closed {slow} watchers too far behind"),
            );
        }
    }

    /// Sends event lines to every watcher. Events are small but a guest can make many:
    /// a watcher that already owes [`OUTPUT_HIGH_WATER`] bytes is closed as too slow.
    pub fn broadcast_events(&mut self, lines: &[u8], now: Instant) {
        let slow = self.feed_watchers(now, None, |client| {
            if client.output.pending() >= OUTPUT_HIGH_WATER {
                return Err(TooSlow::EventLines);
            }
            client.output.push(lines);
            Ok(())
        });
        if slow > 0 {
            self.warn(
                "slow-events",
                format_args!("closed {slow} watchers behind on events"),
            );
        }
    }

    /// Queues for every watcher (in `format`, or all) what `queue` gives it and writes
    /// what its socket takes; a watcher `queue` finds too slow (Err: why) gets
    /// `too_slow` and is closed. Returns how many were closed (counted in `dropped`).
    fn feed_watchers(
        &mut self,
        now: Instant,
        format: Option<Format>,
        mut queue: impl FnMut(&mut Client) -> Result<(), TooSlow>,
    ) -> u64 {
        let mut slow = 0;
        for (token, client) in &mut self.clients {
            let Mode::Watching(watched) = client.mode else {
                continue;
            };
            if format.is_some_and(|f| f != watched) {
                continue;
            }
            if client.output.pending() == 0 {
                client.last_progress = now;
            }
            match queue(client) {
                Err(why) => {
                    client.last_words(&ProtocolError::new(ErrorCode::TooSlow, why.to_string()));
                    client.output = Default::default();
                    slow += 1;
                }
                Ok(()) => {
                    if client.flush(now).is_err() {
                        client.mode = Mode::Closing;
                        client.output = Default::default();
                    }
                }
            }
            self.touched.push(*token);
        }
        self.counters.dropped += slow;
        slow
    }

    /// Judges the answer budget ([`budget`]): throttles the largest holders and closes
    /// the clients that pin older cycles past it.
    pub(super) fn enforce_budget(&mut self, now: Instant) {
        let holdings: Vec<Holding> = self
            .clients
            .iter()
            .filter(|(_, c)| c.output.pending() > 0 || c.throttled)
            .map(|(token, c)| c.output.holding(*token))
            .collect();
        let verdict = budget::judge(&holdings, &self.current, ANSWER_BUDGET);
        self.in_flight = verdict.in_flight;
        for holding in &holdings {
            if let Some(client) = self.clients.get_mut(&holding.token) {
                let throttled = verdict.throttled.contains(&holding.token);
                if client.throttled != throttled {
                    client.throttled = throttled;
                    self.touched.push(holding.token);
                }
            }
        }
        if verdict.close.is_empty() {
            return;
        }
        for token in &verdict.close {
            if let Some(client) = self.clients.get_mut(token) {
                client.last_words(&ProtocolError::new(
                    ErrorCode::TooSlow,
                    format!(
                        "this client holds {} bytes of older cycles while the agent's answers \
                         in flight exceed their budget of {ANSWER_BUDGET} bytes; closing (read \
                         faster)",
                        client.output.pending()
                    ),
                ));
                client.output = Default::default();
                client.last_progress = now;
                self.touched.push(*token);
            }
        }
        let closed = verdict.close.len() as u64;
        self.counters.dropped += closed;
        self.warn(
            "budget",
            format_args!("closed {closed} clients pinning older cycles past the answer budget"),
        );
    }
}
