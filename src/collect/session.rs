//! The collector's libvirt session: connecting within the time bound, the domain events
//! that ride on each connection, giving up a connection without waiting for it, what
//! the agent lines say when the connection comes and goes, and the rate baselines a
//! restarted agent takes from its spool.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::connection::Connection;
use super::stats::Group;
use super::{events, Collector};
use crate::clock;
use crate::collect::events::EventSink;
use crate::libvirt::bulk::BulkStats;
use crate::libvirt::domain_events::RawEventSink;
use crate::libvirt::LibvirtError;
use crate::record::{AgentRecord, Source};
use crate::spool::tail::LastCycle;
use crate::{log_info, log_warn};

impl Collector {
    /// Takes the spool's last cycle (before a restart) as the previous sample of its
    /// domains, if it passes every check: this host's, no older than `max_age` and not
    /// from the future. Each domain line must be of that cycle (its `ts` and `host`);
    /// the domain's UUID and hypervisor id are matched at its first sample
    /// ([`super::build`]), and each counter is checked there against going backwards
    /// and against its physical bound. Returns how many domains got a baseline.
    pub fn seed_baselines(&mut self, last: LastCycle, max_age: Duration) -> usize {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let Some(base) = baseline_base(&last, &self.host, now, max_age, Instant::now()) else {
            return 0;
        };
        let mut count = 0;
        for record in last.records {
            if *record.ts == *last.ts && *record.host == *self.host {
                self.domains.seed(record, base);
                count += 1;
            }
        }
        count
    }

    /// Delivers domain events to `sink` from every connection opened from now on, and
    /// keeps the inventory current with them.
    pub fn enable_events(&mut self, sink: Arc<dyn EventSink>) {
        self.events = Some(Arc::new(events::EventRouter::new(sink)));
        self.connection = None;
    }

    /// Connects now if not connected. The daemon does not need this (cycles connect by
    /// themselves); one-shot commands use it to fail fast.
    pub fn connect(&mut self) -> Result<(), LibvirtError> {
        if self.connection.is_none() {
            self.connection = Some(self.open()?);
        }
        Ok(())
    }

    /// Gives up the current connection without waiting for it (see
    /// [`Connection::abandon`]).
    pub(super) fn abandon_connection(&mut self) {
        if let Some(connection) = self.connection.take() {
            connection.abandon();
        }
    }

    /// Opens and probes a connection, within the time bound.
    pub(super) fn open(&mut self) -> Result<Connection, LibvirtError> {
        let (uri, read_only) = (self.config.uri.clone(), self.config.read_only);
        let groups = self.config.groups;
        let events = self
            .events
            .as_ref()
            .map(|router| Arc::clone(router) as Arc<dyn RawEventSink>);
        let connection = self.bounded.run("connect", move || {
            Connection::open(&uri, read_only, events, groups)
        })??;
        self.connections_opened += 1;
        if self.connections_opened > 1 && self.events.is_some() {
            self.reconnected = true;
        }
        self.note_refused_groups(&connection);
        Ok(connection)
    }

    /// Logs, once per group for the collector's life, each chosen group the driver
    /// refuses in bulk and that has no per-domain equivalent: the cycle line says
    /// `unsupported` for it from then on.
    fn note_refused_groups(&mut self, connection: &Connection) {
        for group in self.newly_refused(connection) {
            log_warn!(
                "statistics group '{}' is not supported by the driver at {}: its fields \
                 stay null and the cycle line's paths say unsupported",
                group.name(),
                self.uri
            );
        }
    }

    /// The refused groups not logged yet, now marked as logged.
    fn newly_refused(&mut self, connection: &Connection) -> Vec<Group> {
        let refused: Vec<Group> = Group::OPT_IN
            .into_iter()
            .filter(|g| super::sources::path_of(connection, *g) == Source::Unsupported)
            .filter(|g| self.refusals_logged & g.bit() == 0)
            .collect();
        for group in &refused {
            self.refusals_logged |= group.bit();
        }
        refused
    }

    /// The bulk call on the current connection, within the time bound. On a timeout the
    /// connection is given up (the abandoned call keeps its own reference) and the call
    /// is made once more on a fresh one, where NOWAIT skips the hung domain.
    pub(super) fn bulk(&mut self) -> Result<BulkStats, LibvirtError> {
        let mut retried = false;
        loop {
            let connection = self.connection.as_ref().expect("connected");
            let conn = connection.conn.clone();
            let (groups, flags) = (connection.bulk_groups, connection.bulk_flags);
            match self.bounded.run("the bulk stats call", move || {
                BulkStats::get_all(&conn, groups, flags)
            }) {
                Ok(result) => return result,
                Err(timeout) if !retried => {
                    log_warn!("{timeout}; reconnecting");
                    self.abandon_connection();
                    self.connection = Some(self.open()?);
                    retried = true;
                }
                Err(timeout) => {
                    self.abandon_connection();
                    return Err(timeout);
                }
            }
        }
    }

    /// After a reconnect: says that events may have been missed and re-reads every
    /// inventory; otherwise marks the domains that events changed.
    pub(super) fn note_events(&mut self, ts: &Arc<str>, events: &mut Vec<AgentRecord>) {
        let Some(router) = &self.events else {
            return;
        };
        let stale = router.take_stale();
        if std::mem::take(&mut self.reconnected) {
            self.domains.invalidate_all();
            events.push(AgentRecord::new(
                Arc::clone(ts),
                Arc::clone(&self.host),
                "events_missed",
                Some(Arc::clone(&self.uri)),
                "a new libvirt connection: domain events since the last one may have been \
                 missed; every domain's XML is read again"
                    .into(),
            ));
        } else {
            self.domains.invalidate(&stale);
        }
    }

    /// Emits an agent event when the connection state changes.
    pub(super) fn note_connection(
        &mut self,
        connected: bool,
        ts: &Arc<str>,
        reason: String,
        events: &mut Vec<AgentRecord>,
    ) {
        if self.was_connected == Some(connected) {
            return;
        }
        let first = self.was_connected.is_none();
        self.was_connected = Some(connected);
        let (event, message) = if connected {
            log_info!("connected to {}", self.uri);
            ("libvirt_connected", format!("connected to {}", self.uri))
        } else {
            if first {
                log_warn!("cannot connect to {}: {reason}", self.uri);
            } else {
                log_warn!("lost the connection to {}: {reason}", self.uri);
            }
            ("libvirt_disconnected", reason)
        };
        events.push(AgentRecord::new(
            Arc::clone(ts),
            Arc::clone(&self.host),
            event,
            Some(Arc::clone(&self.uri)),
            message,
        ));
    }
}

/// The instant the last cycle's `ts` stands for, if it may be a baseline at all: this
/// host's, and `ts` between `max_age` ago and now (`now_unix_s`, at `now`).
fn baseline_base(
    last: &LastCycle,
    host: &str,
    now_unix_s: f64,
    max_age: Duration,
    now: Instant,
) -> Option<Instant> {
    if last.host != host {
        return None;
    }
    let age = now_unix_s - clock::parse_rfc3339(&last.ts)?;
    if !(0.0..=max_age.as_secs_f64()).contains(&age) {
        return None;
    }
    now.checked_sub(Duration::from_secs_f64(age))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_baseline_must_be_this_hosts_recent_and_not_from_the_future() {
        let last = |host: &str| LastCycle {
            seq: 1,
            ts: "2026-11-29T10:00:00.000Z".into(),
            host: host.into(),
            records: Vec::new(),
        };
        let ts = clock::parse_rfc3339("2026-11-29T10:00:00.000Z").unwrap();
        let now = Instant::now();
        let minute = Duration::from_secs(60);
        let base = baseline_base(&last("h"), "h", ts + 2.5, minute, now).unwrap();
        assert_eq!(now - base, Duration::from_millis(2500));
        assert_eq!(
            baseline_base(&last("other"), "h", ts + 2.5, minute, now),
            None
        );
        assert_eq!(
            baseline_base(&last("h"), "h", ts + 61.0, minute, now),
            None,
            "too old"
        );
        assert_eq!(
            baseline_base(&last("h"), "h", ts - 1.0, minute, now),
            None,
            "future"
        );
        let mut garbled = last("h");
        garbled.ts = "yesterday".into();
        assert_eq!(baseline_base(&garbled, "h", ts, minute, now), None);
    }
    use crate::collect::{CollectorConfig, DomainFilter};

    /// libvirt's test driver refuses four of the opt-in groups in bulk: each is reported
    /// on the first connection, and not again on the next.
    #[test]
    fn refused_groups_are_reported_once_across_connections() {
        let mut collector = Collector::new(CollectorConfig {
            uri: "test:///default".into(),
            read_only: false,
            host: "h".into(),
            filter: DomainFilter::default(),
            groups: Group::KNOWN.iter().map(|g| g.bit()).sum(),
        });
        let wanted = collector.config.groups;
        let connect = || Connection::open("test:///default", false, None, wanted).unwrap();
        let first = connect();
        let refused = collector.newly_refused(&first);
        assert_eq!(
            refused,
            [Group::Perf, Group::Memory, Group::Dirtyrate, Group::Vm],
            "iothread is served (empty) in bulk"
        );
        let second = connect();
        assert!(collector.newly_refused(&second).is_empty());
        assert_eq!(
            super::super::sources::path_of(&second, Group::Vm),
            Source::Unsupported
        );
    }
}
