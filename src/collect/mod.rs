//! The collector: one libvirt connection, one cycle at a time, a snapshot per cycle.
//!
//! Each cycle makes ONE bulk stats call for every domain, then per-domain calls only for
//! the groups the driver does not serve in bulk. Inventory (the domain XML) is fetched
//! when a domain is first seen or its definition changed. A failure costs only the
//! field it hit; a lost connection turns into a "disconnected" cycle and a reconnect
//! on the next one; a call into a hung guest is bounded ([`bounded`]). The collector
//! never fails its caller.

pub mod bounded;
pub mod build;
pub mod connection;
mod domains;
pub mod events;
pub mod filter;
pub mod inventory;
pub mod names;
pub mod per_domain;
pub mod stats;

use std::sync::Arc;
use std::time::{Duration, Instant};

use self::bounded::Bounded;
use self::build::missing;
use self::connection::Connection;
use self::domains::{CycleContext, Domains};
pub use self::filter::DomainFilter;
use self::stats::{Group, RawStats};
use crate::clock;
use crate::libvirt::bulk::BulkStats;
use crate::libvirt::{ErrorClass, LibvirtError};
use crate::record::{AgentRecord, CycleRecord, DomainRecord, GroupSources, Source, SCHEMA_VERSION};
use crate::spool::tail::LastCycle;
use crate::{log_info, log_warn};

/// How long connecting or the bulk call may take before it is left behind.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// What the collector needs to know.
#[derive(Debug, Clone)]
pub struct CollectorConfig {
    pub uri: String,
    pub read_only: bool,
    /// The `host` of every record.
    pub host: String,
    pub filter: DomainFilter,
}

/// The result of one cycle.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub seq: u64,
    pub records: Vec<Arc<DomainRecord>>,
    pub cycle: CycleRecord,
    /// Connection changes during this cycle, in order.
    pub events: Vec<AgentRecord>,
}

pub struct Collector {
    config: CollectorConfig,
    uri: Arc<str>,
    host: Arc<str>,
    connection: Option<Connection>,
    /// Whether the last cycle was connected (None before the first attempt).
    was_connected: Option<bool>,
    domains: Domains,
    seq: u64,
    /// Cycles in a row whose bulk call failed on a connection that seemed alive.
    failed_cycles: u32,
    /// Connecting and the bulk call run with a time bound (a hung guest holds them).
    bounded: Bounded,
    /// Domain events, when the owner asked for them.
    events: Option<Arc<events::EventRouter>>,
    /// Connections opened so far: after the first, events may have been missed.
    connections_opened: u64,
    /// A connection was replaced since the last cycle said so.
    reconnected: bool,
}

/// Time spent inside libvirt during one cycle.
#[derive(Default)]
struct Costs {
    bulk: Duration,
    /// virDomainGetUUID and virDomainGetID: each libvirt API call costs microseconds.
    identity: Duration,
    per_domain: Duration,
    inventory: Duration,
    inventory_fetches: usize,
    missing_fields: usize,
    churned: usize,
}

impl Collector {
    pub fn new(config: CollectorConfig) -> Self {
        crate::libvirt::errors::silence_default_handler();
        Self {
            uri: Arc::from(config.uri.as_str()),
            host: Arc::from(config.host.as_str()),
            config,
            connection: None,
            was_connected: None,
            domains: Domains::new(),
            seq: 0,
            failed_cycles: 0,
            bounded: Bounded::new(CALL_TIMEOUT),
            events: None,
            connections_opened: 0,
            reconnected: false,
        }
    }

    /// Takes the spool's last cycle (before a restart) as the previous sample of its
    /// domains, if it is this host's and no older than `max_age`. Returns how many
    /// domains got a baseline.
    pub fn seed_baselines(&mut self, last: LastCycle, max_age: Duration) -> usize {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let Some(age) = clock::parse_rfc3339(&last.ts)
            .map(|at| now - at)
            .filter(|age| (0.0..=max_age.as_secs_f64()).contains(age))
        else {
            return 0;
        };
        if last.host != *self.host {
            return 0;
        }
        let Some(sampled_at) = Instant::now().checked_sub(Duration::from_secs_f64(age)) else {
            return 0;
        };
        let count = last.records.len();
        for record in last.records {
            self.domains.seed(record, sampled_at);
        }
        count
    }

    /// Delivers domain events to `sink` from every connection opened from now on, and
    /// keeps the inventory current with them.
    pub fn enable_events(&mut self, sink: Arc<dyn crate::libvirt::domain_events::EventSink>) {
        self.events = Some(Arc::new(events::EventRouter::new(sink)));
        self.connection = None;
    }

    pub fn config(&self) -> &CollectorConfig {
        &self.config
    }

    /// Replaces the domain filter (config reload); the connection is kept.
    pub fn set_filter(&mut self, filter: DomainFilter) {
        self.config.filter = filter;
    }

    /// The sequence number of the last cycle.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Continues the sequence after `seq` (a daemon resuming its spool).
    pub fn set_seq(&mut self, seq: u64) {
        self.seq = seq;
    }

    /// The open libvirt connection, if any: for tools and tests that act on the same
    /// connection (the test driver keeps state per connection).
    pub fn libvirt(&self) -> Option<&virt::connect::Connect> {
        self.connection.as_ref().map(|c| &c.conn)
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
    fn abandon_connection(&mut self) {
        if let Some(connection) = self.connection.take() {
            connection.abandon();
        }
    }

    /// Opens and probes a connection, within the time bound.
    fn open(&mut self) -> Result<Connection, LibvirtError> {
        let (uri, read_only) = (self.config.uri.clone(), self.config.read_only);
        let events = self
            .events
            .as_ref()
            .map(|router| Arc::clone(router) as Arc<dyn crate::libvirt::domain_events::EventSink>);
        let connection = self
            .bounded
            .run("connect", move || Connection::open(&uri, read_only, events))??;
        self.connections_opened += 1;
        if self.connections_opened > 1 && self.events.is_some() {
            self.reconnected = true;
        }
        Ok(connection)
    }

    /// The bulk call on the current connection, within the time bound. On a timeout the
    /// connection is given up (the abandoned call keeps its own reference) and the call
    /// is made once more on a fresh one, where NOWAIT skips the hung domain.
    fn bulk(&mut self) -> Result<BulkStats, LibvirtError> {
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

    /// Runs one cycle. Never fails: problems are in the snapshot.
    pub fn collect(&mut self) -> Snapshot {
        self.seq += 1;
        let started = Instant::now();
        let ts: Arc<str> = Arc::from(clock::now_rfc3339());
        let mut events = Vec::new();

        if self.connection.is_none() {
            match self.open() {
                Ok(connection) => self.connection = Some(connection),
                Err(error) => {
                    self.note_connection(false, &ts, error.to_string(), &mut events);
                    return self.disconnected_snapshot(ts, started, error.to_string(), events);
                }
            }
        }
        self.note_connection(true, &ts, String::new(), &mut events);
        self.note_events(&ts, &mut events);

        let mut costs = Costs::default();
        match self.collect_domains(&ts, &mut costs) {
            Ok(records) => {
                self.failed_cycles = 0;
                let cycle = self.cycle_record(&ts, started, &costs, &records, None);
                Snapshot {
                    seq: self.seq,
                    records,
                    cycle,
                    events,
                }
            }
            Err(error) => {
                let reason = error.to_string();
                let alive = self.connection.as_ref().is_some_and(Connection::is_alive);
                self.failed_cycles += 1;
                // A remote connection whose socket closed can fail with a generic error
                // ("client socket is closed") and still claim to be alive: a second
                // failed cycle in a row reconnects whatever the error says.
                // libvirt raises SYSTEM_ERROR for a broken socket and for host-side
                // failures alike (a cgroup read): only a dead connection is reconnected.
                let lost = error.class() == ErrorClass::Connection
                    && (error.code != virt::sys::VIR_ERR_SYSTEM_ERROR as i32 || !alive);
                if lost || !alive || self.failed_cycles >= 2 {
                    self.failed_cycles = 0;
                    // A failing connection may still hold a call: never wait to close it.
                    self.abandon_connection();
                    self.note_connection(false, &ts, reason.clone(), &mut events);
                    self.disconnected_snapshot(ts, started, reason, events)
                } else {
                    log_warn!("cycle {} failed: {reason}", self.seq);
                    let cycle = self.cycle_record(&ts, started, &costs, &[], Some(reason));
                    Snapshot {
                        seq: self.seq,
                        records: Vec::new(),
                        cycle,
                        events,
                    }
                }
            }
        }
    }

    /// After a reconnect: says that events may have been missed and re-reads every
    /// inventory; otherwise marks the domains that events changed.
    fn note_events(&mut self, ts: &Arc<str>, events: &mut Vec<AgentRecord>) {
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
    fn note_connection(
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

    fn disconnected_snapshot(
        &mut self,
        ts: Arc<str>,
        started: Instant,
        reason: String,
        events: Vec<AgentRecord>,
    ) -> Snapshot {
        let mut cycle = self.cycle_record(&ts, started, &Costs::default(), &[], Some(reason));
        cycle.connected = false;
        Snapshot {
            seq: self.seq,
            records: Vec::new(),
            cycle,
            events,
        }
    }

    /// The bulk call, inventory, per-domain fallback and record assembly.
    fn collect_domains(
        &mut self,
        ts: &Arc<str>,
        costs: &mut Costs,
    ) -> Result<Vec<Arc<DomainRecord>>, LibvirtError> {
        let call_started = Instant::now();
        let bulk = self.bulk()?;
        let connection = self.connection.as_ref().expect("connected");
        let bulk_done = Instant::now();
        costs.bulk = bulk_done - call_started;

        let context = CycleContext {
            ts,
            ts_unix_s: clock::unix_seconds_now(),
            host: &self.host,
            seq: self.seq,
            bulk_done,
            filter: &self.config.filter,
            connection,
        };
        let mut records = Vec::with_capacity(bulk.len());
        self.domains.begin_cycle();
        for record in bulk.records() {
            if let Some(record) = self.domains.sample(&record, &context, costs)? {
                records.push(record);
            }
        }
        // Freeing the list releases every record and domain inside libvirt: libvirt time.
        let free_started = Instant::now();
        drop(bulk);
        costs.bulk += free_started.elapsed();
        records.sort_unstable_by(|a, b| a.domain.name.cmp(&b.domain.name));
        costs.churned += self.domains.end_cycle();
        Ok(records)
    }

    fn cycle_record(
        &mut self,
        ts: &Arc<str>,
        started: Instant,
        costs: &Costs,
        records: &[Arc<DomainRecord>],
        error: Option<String>,
    ) -> CycleRecord {
        let duration = started.elapsed();
        let libvirt = costs.bulk + costs.identity + costs.per_domain + costs.inventory;
        let paths = match &self.connection {
            Some(c) => GroupSources {
                state: path_of(c, Group::State),
                cpu: path_of(c, Group::CpuTotal),
                vcpus: path_of(c, Group::Vcpu),
                balloon: path_of(c, Group::Balloon),
                disks: path_of(c, Group::Block),
                nics: path_of(c, Group::Interface),
            },
            None => GroupSources::default(),
        };
        CycleRecord {
            kind: "cycle",
            schema: SCHEMA_VERSION,
            ts: Arc::clone(ts),
            host: Arc::clone(&self.host),
            seq: self.seq,
            uri: Arc::clone(&self.uri),
            connected: self.connection.is_some(),
            error,
            domains: records.len(),
            active: records.iter().filter(|r| r.domain.id.is_some()).count(),
            duration_ms: ms(duration),
            libvirt_ms: ms(libvirt),
            own_ms: ms(duration.saturating_sub(libvirt)),
            bulk_ms: ms(costs.bulk),
            per_domain_ms: ms(costs.per_domain),
            inventory_ms: ms(costs.inventory),
            paths,
            inventory_fetches: costs.inventory_fetches,
            missing_fields: costs.missing_fields,
            churned_domains: costs.churned,
            abandoned_calls: self.bounded.abandoned(),
            skipped_ticks: 0,
            spool_lost_lines: 0,
            spool_dropped_cycles: 0,
        }
    }
}

fn path_of(connection: &Connection, group: Group) -> Source {
    if connection.in_bulk(group) {
        Source::Bulk
    } else {
        Source::PerDomain
    }
}

fn source_of(connection: &Connection, group: Group, raw: &RawStats) -> Source {
    if raw.has(group) {
        path_of(connection, group)
    } else {
        Source::None
    }
}

/// Each group's source for an active domain; a bulk group that came back empty was
/// skipped by NOWAIT (the domain was busy with a job) and is reported missing.
fn group_sources(
    connection: &Connection,
    raw: &RawStats,
    missing_fields: &mut Vec<crate::record::Missing>,
) -> GroupSources {
    let mut source = |group: Group, field: &str| {
        let source = source_of(connection, group, raw);
        if source == Source::None && connection.in_bulk(group) {
            missing_fields.push(missing(
                field,
                "not returned by the bulk call (domain busy with a job)",
            ));
        }
        source
    };
    GroupSources {
        state: source(Group::State, "state"),
        cpu: source(Group::CpuTotal, "cpu"),
        vcpus: source(Group::Vcpu, "cpu.vcpus"),
        balloon: source(Group::Balloon, "memory.balloon"),
        disks: source(Group::Block, "disks"),
        nics: source(Group::Interface, "nics"),
    }
}

fn ms(duration: Duration) -> f64 {
    crate::rates::round3(duration.as_secs_f64() * 1000.0)
}
