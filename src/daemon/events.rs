//! Domain events between cycles: from libvirt's event thread to the loop, and from the
//! loop to the spool, the watchers and the `events` ring.
//!
//! Bounds, and what happens at each:
//! - the hand-over from libvirt's thread ([`EventQueue`]) holds [`MAX_QUEUED`] events;
//!   past that, new events are dropped and counted (`status` `events.dropped`);
//! - each domain may write [`BURST`] events at once and [`PER_SECOND`] a second after
//!   that (a guest can trigger tray, watchdog or agent events at will); the excess is
//!   counted, and the domain's next event line says how many were left out
//!   (`suppressed`);
//! - the `events` ring keeps the last [`RING`] lines.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mio::Waker;
use serde::Serialize;

use crate::collect::events::{EventSink, ReceivedEvent};
use crate::query::answers::{self, Latest};
use crate::record::event::EventRecord;
use crate::record::{DomainIdentity, DomainState, StateReason};

/// Events waiting for the loop, at most.
pub const MAX_QUEUED: usize = 4096;
/// Events one domain may write at once.
pub const BURST: f64 = 20.0;
/// Events one domain may write per second after its burst.
pub const PER_SECOND: f64 = 5.0;
/// Event lines the `events` request can look back on.
pub const RING: usize = 1000;

/// Counters for `status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct EventCounters {
    /// Events libvirt delivered.
    pub received: u64,
    /// Lines written (spool, watchers, ring).
    pub written: u64,
    /// Dropped because the loop had [`MAX_QUEUED`] waiting.
    pub dropped: u64,
    /// Left out by the per-domain rate limit.
    pub suppressed: u64,
}

#[derive(Default)]
struct Queued {
    events: VecDeque<ReceivedEvent>,
    received: u64,
    dropped: u64,
}

/// The hand-over from libvirt's event thread: never blocks it.
pub struct EventQueue {
    queued: Mutex<Queued>,
    waker: Arc<Waker>,
}

impl EventQueue {
    pub fn new(waker: Arc<Waker>) -> Self {
        Self {
            queued: Mutex::new(Queued::default()),
            waker,
        }
    }

    /// Everything waiting, and the counts so far (received, dropped).
    pub fn take(&self) -> (VecDeque<ReceivedEvent>, u64, u64) {
        let mut queued = self.queued.lock().unwrap_or_else(|p| p.into_inner());
        let events = std::mem::take(&mut queued.events);
        (events, queued.received, queued.dropped)
    }
}

impl EventSink for EventQueue {
    fn deliver(&self, event: ReceivedEvent) {
        let mut queued = self.queued.lock().unwrap_or_else(|p| p.into_inner());
        queued.received += 1;
        if queued.events.len() >= MAX_QUEUED {
            queued.dropped += 1;
            return;
        }
        let was_empty = queued.events.is_empty();
        queued.events.push_back(event);
        drop(queued);
        if was_empty {
            let _ = self.waker.wake();
        }
    }
}

/// A token bucket per domain.
struct Bucket {
    tokens: f64,
    at: Instant,
    suppressed: u64,
}

/// Turns events into lines: the rate limit, the identity from the latest cycle, the ring.
pub struct EventLines {
    buckets: HashMap<String, Bucket>,
    ring: VecDeque<Arc<Vec<u8>>>,
    pub counters: EventCounters,
}

impl Default for EventLines {
    fn default() -> Self {
        Self {
            buckets: HashMap::new(),
            ring: VecDeque::with_capacity(RING),
            counters: EventCounters::default(),
        }
    }
}

impl EventLines {
    /// The line for one event, or None if the domain's rate limit holds it back.
    pub fn line(
        &mut self,
        event: ReceivedEvent,
        host: &Arc<str>,
        latest: &Latest,
        now: Instant,
    ) -> Option<Vec<u8>> {
        let suppressed = self.admit(&event.uuid, now)?;
        let known = latest.record_by_uuid(&event.uuid);
        let (state, reason) = event
            .event
            .lifecycle_state()
            .or_else(|| known.map(|r| (r.domain.state, r.domain.reason)))
            .unwrap_or((DomainState::Unknown, StateReason::Unknown));
        let record = EventRecord::new(
            Arc::from(event.ts),
            Arc::clone(host),
            DomainIdentity {
                name: Arc::from(event.name),
                uuid: Arc::from(event.uuid),
                id: event.id,
                state,
                reason,
                transitions: None,
                crashes: None,
            },
            known.and_then(|r| r.nova.clone()),
            event.event,
            suppressed,
        );
        let mut line = Vec::new();
        answers::line(&record, &mut line);
        let shared = Arc::new(line.clone());
        if self.ring.len() == RING {
            self.ring.pop_front();
        }
        self.ring.push_back(shared);
        self.counters.written += 1;
        Some(line)
    }

    /// Takes a token from the domain's bucket: Some(events suppressed before this
    /// one), or None when the bucket is empty.
    fn admit(&mut self, uuid: &str, now: Instant) -> Option<u64> {
        if self.buckets.len() > 100_000 {
            self.buckets.clear(); // bounded whatever the UUIDs
        }
        let bucket = self.buckets.entry(uuid.to_string()).or_insert(Bucket {
            tokens: BURST,
            at: now,
            suppressed: 0,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * PER_SECOND).min(BURST);
        bucket.at = now;
        if bucket.tokens < 1.0 {
            bucket.suppressed += 1;
            self.counters.suppressed += 1;
            return None;
        }
        bucket.tokens -= 1.0;
        Some(std::mem::take(&mut bucket.suppressed))
    }

    /// The last `count` lines, oldest first.
    pub fn last(&self, count: usize) -> impl Iterator<Item = &Arc<Vec<u8>>> {
        self.ring.iter().skip(self.ring.len().saturating_sub(count))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::Value;

    use super::*;
    use crate::collect::events::decode::lifecycle;
    use crate::record::event::DomainEvent;

    /// A lifecycle event by libvirt's numbers (`virDomainEventType`, its detail).
    fn event(uuid: &str, kind: i32, detail: i32) -> ReceivedEvent {
        ReceivedEvent {
            ts: "2026-11-29T00:00:00.000Z".into(),
            name: "vm".into(),
            uuid: uuid.into(),
            id: Some(3),
            event: DomainEvent::Lifecycle(lifecycle(kind, detail)),
        }
    }

    #[test]
    fn a_lifecycle_line_carries_the_state_the_event_leaves() {
        let mut lines = EventLines::default();
        let host: Arc<str> = Arc::from("h");
        let line = lines
            .line(event("u1", 3, 2), &host, &Latest::default(), Instant::now())
            .unwrap();
        let value: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(value["kind"], "event");
        assert_eq!(value["event"], "lifecycle");
        assert_eq!(value["domain"]["state"], "paused");
        assert_eq!(value["domain"]["reason"], "ioerror");
        assert_eq!(value["detail"], "ioerror");
        assert_eq!(lines.last(10).count(), 1);
    }

    #[test]
    fn a_chatty_domain_is_held_to_its_rate_and_told_how_many_it_lost() {
        let mut lines = EventLines::default();
        let host: Arc<str> = Arc::from("h");
        let latest = Latest::default();
        let t0 = Instant::now();
        let passed = (0..100)
            .filter(|_| {
                lines
                    .line(event("loud", 4, 0), &host, &latest, t0)
                    .is_some()
            })
            .count();
        assert_eq!(passed, BURST as usize);
        assert_eq!(lines.counters.suppressed, 100 - BURST as u64);
        // Another domain is not held back by the loud one.
        assert!(lines
            .line(event("quiet", 4, 0), &host, &latest, t0)
            .is_some());
        // A second later, the loud one may write again and says what it lost.
        let line = lines
            .line(
                event("loud", 4, 0),
                &host,
                &latest,
                t0 + Duration::from_secs(1),
            )
            .unwrap();
        let value: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(value["suppressed"], 100 - BURST as u64);
    }

    #[test]
    fn the_ring_keeps_the_last_lines() {
        let mut lines = EventLines::default();
        let host: Arc<str> = Arc::from("h");
        let latest = Latest::default();
        let t0 = Instant::now();
        for i in 0..(RING + 10) {
            let uuid = format!("u{i}");
            lines.line(event(&uuid, 2, 0), &host, &latest, t0);
        }
        assert_eq!(lines.last(usize::MAX).count(), RING);
        let newest: Value = serde_json::from_slice(lines.last(1).next().unwrap()).unwrap();
        assert_eq!(newest["domain"]["uuid"], format!("u{}", RING + 9));
    }
}
