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
pub mod host;
pub mod inventory;
pub mod per_domain;
mod session;
mod sources;
pub mod stats;
mod stuck;
pub mod verdicts;

use std::sync::Arc;
use std::time::{Duration, Instant};

use self::bounded::Bounded;
use self::connection::Connection;
use self::domains::{CycleContext, Domains};
pub use self::filter::DomainFilter;
use crate::clock;
use crate::libvirt::{ErrorClass, LibvirtError};
use crate::log_warn;
use crate::record::{AgentRecord, CycleRecord, DomainRecord, GroupSources, SCHEMA_VERSION};

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
    /// The statistics groups to collect (`VIR_DOMAIN_STATS_*` bits).
    pub groups: u32,
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
    /// Chosen groups the driver refused, already logged (`VIR_DOMAIN_STATS_*` bits).
    refusals_logged: u32,
    /// The host's totals between cycles (the cycle line's `node`).
    node: host::HostState,
}

/// Time spent inside libvirt during one cycle.
#[derive(Default)]
struct Costs {
    bulk: Duration,
    /// virDomainGetUUID and virDomainGetID: each libvirt API call costs microseconds.
    identity: Duration,
    per_domain: Duration,
    inventory: Duration,
    /// The three node calls.
    node: Duration,
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
            refusals_logged: 0,
            node: host::HostState::default(),
        }
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

    /// Runs one cycle. Never fails: problems are in the snapshot.
    pub fn collect(&mut self) -> Snapshot {
        self.seq += 1;
        let wall = std::time::SystemTime::now();
        let started = Instant::now();
        let ts: Arc<str> = Arc::from(clock::format_rfc3339(wall));
        // The instant `ts` stands for: `ts` drops what is below the millisecond.
        let base = started
            .checked_sub(clock::below_millis(wall))
            .unwrap_or(started);
        let mut events = Vec::new();

        if self.connection.is_none() {
            match self.open() {
                Ok(connection) => {
                    self.connection = Some(connection);
                    self.node.reconnected();
                }
                Err(error) => {
                    let advice = crate::libvirt::errors::connect_advice(&self.uri, &error);
                    let reason = format!("{error}; {advice}");
                    self.note_connection(false, &ts, reason, &mut events);
                    return self.disconnected_snapshot(ts, started, error.to_string(), events);
                }
            }
        }
        self.note_connection(true, &ts, String::new(), &mut events);
        self.note_events(&ts, &mut events);

        let mut costs = Costs::default();
        match self.collect_domains(&ts, base, &mut costs) {
            Ok((records, node)) => {
                self.failed_cycles = 0;
                let mut cycle = self.cycle_record(&ts, started, &costs, &records, None);
                cycle.node = Some(self.node.record(&node, &records));
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
        base: Instant,
        costs: &mut Costs,
    ) -> Result<(Vec<Arc<DomainRecord>>, host::NodeSample), LibvirtError> {
        let call_started = Instant::now();
        let bulk = self.bulk()?;
        let connection = self.connection.as_ref().expect("connected");
        let bulk_done = Instant::now();
        costs.bulk = bulk_done - call_started;

        let tallies = self.events.as_ref().map(|events| events.take_tallies());
        let context = CycleContext {
            ts,
            ts_unix_s: clock::unix_seconds_now(),
            host: &self.host,
            seq: self.seq,
            base,
            bulk_done,
            filter: &self.config.filter,
            filter_needs_inventory: self.config.filter.needs_display_names(),
            connection,
            events: self.events.as_deref(),
            tallies: tallies.as_ref(),
        };
        let mut records = Vec::with_capacity(bulk.len());
        self.domains.begin_cycle();
        for record in bulk.records() {
            if let Some(record) =
                self.domains
                    .sample(&record, &context, costs, &mut self.bounded)?
            {
                records.push(record);
            }
        }
        // Freeing the list releases every record and domain inside libvirt: libvirt time.
        let free_started = Instant::now();
        drop(bulk);
        costs.bulk += free_started.elapsed();
        records.sort_unstable_by(|a, b| a.domain.name.cmp(&b.domain.name));
        costs.churned += self.domains.end_cycle();
        let connection = self.connection.as_ref().expect("connected");
        let (node, spent) = self.node.sample(&connection.conn)?;
        costs.node = spent;
        Ok((records, node))
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
        let libvirt = costs.bulk + costs.identity + costs.per_domain + costs.inventory + costs.node;
        let paths = match &self.connection {
            Some(c) => sources::paths(c),
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
            stuck_domains: records
                .iter()
                .filter(|r| r.collect.control.is_some())
                .count(),
            skipped_ticks: 0,
            spool_lost_lines: 0,
            spool_dropped_cycles: 0,
            node: None,
        }
    }
}

fn ms(duration: Duration) -> f64 {
    crate::rates::round3(duration.as_secs_f64() * 1000.0)
}
