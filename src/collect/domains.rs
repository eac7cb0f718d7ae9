//! What the collector remembers about each domain between cycles, and how one record of
//! the bulk call becomes a domain record: identity, inventory, the per-domain fallback,
//! and rates against the domain's previous record.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::bounded::Bounded;
use super::build::{build_record, missing, Previous, Sample};
use super::connection::Connection;
use super::events::{device_aliases, EventRouter};
use super::filter::Candidate;
use super::inventory::{self, Inventory};
use super::per_domain::{self, Stop};
use super::sources::{group_sources, inactive_sources};
use super::stats::{Group, RawStats};
use super::{ms, stuck, verdicts, Costs, DomainFilter};
use crate::libvirt::bulk::BulkRecord;
use crate::libvirt::{ErrorClass, LibvirtError};
use crate::log::RateLimiter;
use crate::record::{CollectInfo, DomainRecord, DomainState, GroupSources};
use crate::{log_debug, log_warn};

/// A domain's UUID as raw bytes: the key of everything remembered about it.
type UuidKey = [u8; 16];

/// The bytes of a UUID written as 32 hexadecimal digits, with or without dashes.
fn uuid_key(text: &str) -> Option<UuidKey> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|&b| b != b'-')
        .map(|b| (b as char).to_digit(16).map(|d| d as u8))
        .collect::<Option<_>>()?;
    let mut key = [0u8; 16];
    if digits.len() != 32 {
        return None;
    }
    for (byte, pair) in key.iter_mut().zip(digits.chunks(2)) {
        *byte = pair[0] << 4 | pair[1];
    }
    Some(key)
}

/// What the collector remembers about a domain between cycles.
struct Known {
    id: Option<u32>,
    name: Arc<str>,
    uuid: Arc<str>,
    inventory: Arc<Inventory>,
    /// (disks, NICs) counted by the bulk call last cycle: a change means a hot-plug.
    device_counts: Option<(usize, usize)>,
    /// An event said the XML changed: read it again.
    inventory_stale: bool,
    /// The per-domain calls it refuses, and whether they were left behind.
    calls: per_domain::Remembered,
    /// The last sample of the running domain, with the instant of its `ts` (its
    /// `read_ms` count from there).
    last: Option<(Instant, Arc<DomainRecord>)>,
    verdict: verdicts::Memory,
}

/// The facts of the cycle being collected.
pub(super) struct CycleContext<'a> {
    pub ts: &'a Arc<str>,
    pub ts_unix_s: u64,
    pub host: &'a Arc<str>,
    pub seq: u64,
    /// The instant `ts` stands for: each value's `read_ms` counts from here.
    pub base: Instant,
    /// When the bulk call returned: the read time of every value it gave.
    pub bulk_done: Instant,
    pub filter: &'a DomainFilter,
    /// `filter.needs_display_names()`, worked out once a cycle, not once a domain.
    pub filter_needs_inventory: bool,
    pub connection: &'a Connection,
    /// Where device aliases go, when events are on.
    pub events: Option<&'a EventRouter>,
    /// What the events said per domain since the previous cycle; None without events.
    pub tallies: Option<&'a HashMap<String, verdicts::EventTally>>,
}

pub(super) struct Domains {
    known: HashMap<UuidKey, Known>,
    seen: HashSet<UuidKey>,
    churn_log: RateLimiter,
}

impl Domains {
    pub fn new() -> Self {
        Self {
            known: HashMap::new(),
            seen: HashSet::new(),
            churn_log: RateLimiter::new(Duration::from_secs(300)),
        }
    }

    pub fn begin_cycle(&mut self) {
        self.seen.clear();
    }

    /// Takes a domain line from before a restart as the domain's previous sample, its
    /// `ts` standing for the instant `base`: the first cycle then has rates for every
    /// domain whose hypervisor id is unchanged. Its XML is read at the first sample.
    pub fn seed(&mut self, record: DomainRecord, base: Instant) {
        let Some(key) = uuid_key(&record.domain.uuid) else {
            return;
        };
        self.known.insert(
            key,
            Known {
                // No id: the name and UUID text cached for a running domain come from
                // libvirt at the first sample, never from the spool. The baseline's
                // own id is matched against the domain's when rates are computed.
                id: None,
                name: Arc::clone(&record.domain.name),
                uuid: Arc::clone(&record.domain.uuid),
                inventory: Arc::default(),
                device_counts: None,
                inventory_stale: true,
                calls: per_domain::Remembered::default(),
                last: Some((base, Arc::new(record))),
                verdict: verdicts::Memory::default(),
            },
        );
    }

    /// Reads these domains' XML again at their next sample.
    pub fn invalidate(&mut self, uuids: &HashSet<String>) {
        if uuids.is_empty() {
            return;
        }
        for known in self.known.values_mut() {
            if uuids.contains(&*known.uuid) {
                known.inventory_stale = true;
            }
        }
    }

    /// Reads every domain's XML again at its next sample.
    pub fn invalidate_all(&mut self) {
        for known in self.known.values_mut() {
            known.inventory_stale = true;
        }
    }

    /// Forgets the domains this cycle did not list (undefined between cycles); returns
    /// how many.
    pub fn end_cycle(&mut self) -> usize {
        let before = self.known.len();
        let seen = &self.seen;
        self.known.retain(|key, _| seen.contains(key));
        before - self.known.len()
    }

    /// One bulk record to a domain record; `None` when the domain is filtered out or
    /// vanished meanwhile. Fails only when the connection broke.
    pub fn sample(
        &mut self,
        record: &BulkRecord<'_>,
        cycle: &CycleContext<'_>,
        costs: &mut Costs,
        bounded: &mut Bounded,
    ) -> Result<Option<Arc<DomainRecord>>, LibvirtError> {
        let domain = record.domain();
        let identity_started = Instant::now();
        let key = domain.uuid().map(|u| *u.as_bytes());
        let id = domain.id();
        costs.identity += identity_started.elapsed();
        let Ok(key) = key else {
            return Ok(None);
        };
        // Names and UUID strings of running domains are cached: a rename needs the
        // domain shut off, and a restart changes the id.
        let cached = self
            .known
            .get(&key)
            .filter(|k| id.is_some() && k.id == id)
            .map(|k| (Arc::clone(&k.name), Arc::clone(&k.uuid)));
        let (name, uuid) = match cached {
            Some(names) => names,
            None => match (domain.name(), domain.uuid_string()) {
                (Ok(name), Ok(uuid)) => (Arc::from(name), Arc::from(uuid)),
                _ => return Ok(None),
            },
        };
        // The selection rule (docs/collection.md): a Nova display name is known only
        // from the inventory, so a filter that may match one decides after it is read.
        let candidate = |display_name| Candidate {
            name: &name,
            uuid: &uuid,
            id,
            display_name,
        };
        let needs_inventory = cycle.filter_needs_inventory;
        if !needs_inventory && !cycle.filter.selects(&candidate(None)) {
            return Ok(None);
        }
        let mut raw = RawStats::for_groups(cycle.connection.wanted_groups);
        for (param, value) in record.params() {
            raw.apply_param(param, value);
        }
        raw.stamp_bulk(cycle.bulk_done);
        let active = raw
            .state
            .map_or(id.is_some(), |s| DomainState::from_libvirt(s).is_active());
        let connection = cycle.connection;

        // Inventory: on first sight, a new id (restart) or a device count change.
        let counts = (connection.in_bulk(Group::Block) && connection.in_bulk(Group::Interface))
            .then_some((raw.disks.len(), raw.nics.len()));
        let stale = match self.known.get(&key) {
            None => true,
            Some(k) => {
                k.inventory_stale
                    || k.id != id
                    || (counts.is_some() && active && k.device_counts != counts)
            }
        };
        if stale {
            let fetch_started = Instant::now();
            let xml = domain.xml_desc(0);
            costs.inventory += fetch_started.elapsed();
            costs.inventory_fetches += 1;
            let inventory = match xml {
                Ok(xml) => inventory::parse(&xml).unwrap_or_else(|e| {
                    log_warn!("domain {name}: unparsable XML: {e}");
                    Inventory::default()
                }),
                Err(e) => {
                    let e = LibvirtError::from(e);
                    if e.class() == ErrorClass::Connection {
                        return Err(e);
                    }
                    self.churn(&name, &e.to_string(), costs);
                    return Ok(None);
                }
            };
            let entry = self.known.entry(key).or_insert_with(|| Known {
                id,
                name: Arc::clone(&name),
                uuid: Arc::clone(&uuid),
                inventory: Arc::default(),
                device_counts: None,
                inventory_stale: false,
                calls: per_domain::Remembered::default(),
                last: None,
                verdict: verdicts::Memory::default(),
            });
            entry.id = id;
            entry.name = Arc::clone(&name);
            if let Some(router) = cycle.events {
                router.set_aliases(&uuid, device_aliases(&inventory));
            }
            entry.inventory = Arc::new(inventory);
            entry.inventory_stale = false;
            entry.calls.unsupported.clear();
        }
        self.seen.insert(key);
        let known = self.known.get_mut(&key).expect("inserted above");
        if needs_inventory {
            let nova = known.inventory.nova.as_deref();
            let display_name = nova.and_then(|n| n.instance.as_deref());
            if !cycle.filter.selects(&candidate(display_name)) {
                // Kept as seen, so its inventory stays cached for the next cycle.
                return Ok(None);
            }
        }
        if active {
            known.device_counts = counts;
        }

        let sources: GroupSources;
        let mut missing_fields = Vec::new();
        let mut control = None;
        let mut duration = Duration::ZERO;
        if active {
            let per_domain_started = Instant::now();
            let outcome = per_domain::bounded_fill(
                &domain,
                connection.groups(),
                &known.inventory,
                &mut known.calls,
                &mut raw,
                &mut missing_fields,
                bounded,
            );
            duration = per_domain_started.elapsed();
            costs.per_domain += duration;
            match outcome {
                Ok(()) => {}
                Err(Stop::Connection(e)) => return Err(e),
                Err(Stop::Vanished) => {
                    self.seen.remove(&key);
                    self.known.remove(&key);
                    self.churn(&name, "undefined during the cycle", costs);
                    return Ok(None);
                }
                Err(Stop::Stopped) => {
                    self.churn(&name, "stopped during the cycle", costs);
                    missing_fields.push(missing("*", "domain stopped during the cycle"));
                }
            }
            sources = group_sources(connection, &raw, &mut missing_fields);
            let inventory = &self.known.get(&key).expect("still known").inventory;
            let dropped = stuck::dropped_groups(connection, &raw, inventory);
            if !dropped.is_empty() {
                control = stuck::name_the_monitor(&domain, &dropped, &mut missing_fields);
            }
        } else {
            sources = inactive_sources(connection, &raw);
        }
        costs.missing_fields += missing_fields.len();

        let known = self.known.get_mut(&key).expect("still known");
        let last_record = known.last.as_ref().map(|(_, record)| Arc::clone(record));
        let previous = known.last.as_ref().map(|(base, record)| Previous {
            record,
            since: cycle.base.saturating_duration_since(*base),
        });
        let sample = Sample {
            ts: cycle.ts,
            base: cycle.base,
            ts_unix_s: cycle.ts_unix_s,
            host: cycle.host,
            seq: cycle.seq,
            name,
            uuid,
            id,
            active,
            inventory: &known.inventory,
            collect: CollectInfo {
                sources,
                interval_s: None,
                duration_ms: ms(duration),
                missing: missing_fields,
                control,
            },
        };
        let mut record = build_record(sample, &raw, previous);
        let inputs = verdicts::Inputs {
            domain: &domain,
            inventory: &known.inventory,
            tallies: cycle.tallies,
            had_job: last_record.as_ref().is_some_and(|r| r.job.is_some()),
            // Only a previous sample the rates used (the same run of the domain).
            previous: last_record
                .as_deref()
                .filter(|_| record.collect.interval_s.is_some()),
            stuck: known.calls.stuck_since.is_some() && bounded.abandoned() > 0,
        };
        let missing_before = record.collect.missing.len();
        let spent = verdicts::complete(&mut record, inputs, &mut known.verdict, bounded)?;
        costs.per_domain += spent.libvirt;
        costs.missing_fields += record.collect.missing.len() - missing_before;
        if spent.timed_out {
            known.calls.stuck_since = Some(Instant::now());
        }
        let record = Arc::new(record);
        known.last = active.then(|| (cycle.base, Arc::clone(&record)));
        Ok(Some(record))
    }

    /// A domain vanishing or stopping mid-cycle: normal churn, logged at debug level,
    /// rate-limited per domain.
    fn churn(&mut self, name: &str, what: &str, costs: &mut Costs) {
        costs.churned += 1;
        if let Some(suppressed) = self.churn_log.check(name, Instant::now()) {
            log_debug!(
                "domain {name}: {what} (normal churn; {suppressed} similar lines suppressed)"
            );
        }
    }
}
