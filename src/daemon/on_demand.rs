//! On-demand cycles (the socket's `collect`, SIGUSR1), coalesced: at most one per
//! `min_collect_interval_seconds`, and at most one asked of the collector and not yet
//! answered. Every client that asks meanwhile waits for the same cycle. Pure: the
//! caller sends the collector what [`OnDemand::ask`] and [`OnDemand::due`] return.

use std::time::{Duration, Instant};

/// Identifies an on-demand cycle; a cycle that serves request `n` answers every
/// request up to `n`.
pub type RequestId = u64;

#[derive(Debug)]
pub struct OnDemand {
    min_interval: Duration,
    next_id: RequestId,
    /// The last request sent to the collector, and when.
    sent: Option<(RequestId, Instant)>,
    /// The highest request a finished cycle answered.
    served: RequestId,
    /// A request waiting for its turn: its id.
    deferred: Option<RequestId>,
}

impl OnDemand {
    pub fn new(min_interval: Duration) -> Self {
        Self {
            min_interval,
            next_id: 0,
            sent: None,
            served: 0,
            deferred: None,
        }
    }

    pub fn set_min_interval(&mut self, min_interval: Duration) {
        self.min_interval = min_interval;
    }

    /// A client (or a signal) asks for a cycle at `now`. Returns the id to wait for,
    /// and `Some(id)` if that request is to be sent to the collector now.
    pub fn ask(&mut self, now: Instant) -> (RequestId, Option<RequestId>) {
        if let Some(id) = self.deferred {
            return (id, None);
        }
        self.next_id += 1;
        let id = self.next_id;
        if self.may_send(now) {
            self.sent = Some((id, now));
            (id, Some(id))
        } else {
            self.deferred = Some(id);
            (id, None)
        }
    }

    /// A cycle finished that answered requests up to `served`.
    pub fn served(&mut self, served: RequestId) {
        self.served = self.served.max(served);
    }

    /// A deferred request whose turn has come, to send to the collector now.
    pub fn due(&mut self, now: Instant) -> Option<RequestId> {
        let id = self.deferred?;
        if !self.may_send(now) {
            return None;
        }
        self.deferred = None;
        self.sent = Some((id, now));
        Some(id)
    }

    /// When a deferred request may be sent (None: nothing deferred, or it waits for a
    /// cycle to finish rather than for time).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deferred?;
        let (_, at) = self.sent?;
        Some(at.checked_add(self.min_interval).unwrap_or(at))
    }

    /// A new request may go to the collector: the last one was answered and the
    /// minimum interval has passed since it was sent.
    fn may_send(&self, now: Instant) -> bool {
        match self.sent {
            None => true,
            Some((id, at)) => {
                self.served >= id && now.saturating_duration_since(at) >= self.min_interval
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_within_the_interval_share_one_deferred_cycle() {
        let t0 = Instant::now();
        let mut on_demand = OnDemand::new(Duration::from_secs(1));
        assert_eq!(on_demand.ask(t0), (1, Some(1)));
        // Before the first cycle is answered: deferred, and the next askers share it.
        assert_eq!(on_demand.ask(t0), (2, None));
        assert_eq!(on_demand.ask(t0 + Duration::from_millis(10)), (2, None));
        on_demand.served(1);
        assert_eq!(on_demand.next_deadline(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(on_demand.due(t0 + Duration::from_millis(999)), None);
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(on_demand.due(t1), Some(2));
        assert_eq!(on_demand.due(t1), None);
        on_demand.served(2);
        // After the interval, a request goes at once.
        assert_eq!(on_demand.ask(t1 + Duration::from_secs(1)), (3, Some(3)));
    }

    #[test]
    fn a_deferred_request_waits_for_the_cycle_in_flight() {
        let t0 = Instant::now();
        let mut on_demand = OnDemand::new(Duration::ZERO);
        assert_eq!(on_demand.ask(t0), (1, Some(1)));
        assert_eq!(on_demand.ask(t0), (2, None));
        assert_eq!(on_demand.due(t0 + Duration::from_secs(5)), None);
        on_demand.served(1);
        assert_eq!(on_demand.due(t0 + Duration::from_secs(5)), Some(2));
    }

    #[test]
    fn a_flood_of_requests_makes_at_most_one_cycle_per_interval() {
        let t0 = Instant::now();
        let mut on_demand = OnDemand::new(Duration::from_secs(1));
        let mut sent = 0;
        for ms in 0..10_000u64 {
            let now = t0 + Duration::from_millis(ms);
            // The collector answers what is sent at once.
            if let Some(id) = on_demand.ask(now).1 {
                sent += 1;
                on_demand.served(id);
            }
            if let Some(id) = on_demand.due(now) {
                sent += 1;
                on_demand.served(id);
            }
        }
        assert!(sent <= 11, "{sent} cycles in 10 s");
    }
}
