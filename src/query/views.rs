//! One cycle's records and every view of them that clients read: the JSON lines (always
//! built: they are the spool's lines), and the legacy and Nova lines, the `list`
//! document and the domains' Prometheus families, each built at most once per cycle,
//! off the event loop, and only if someone asked for it.
//!
//! Who builds what:
//! - the collector thread builds the JSON lines with every cycle, and then the views
//!   that were [`Wanted`] since the last cycle (a client asked for one, a watcher
//!   streams one, the textfile needs the Prometheus text);
//! - a view the loop finds unbuilt when a client asks goes to the builder thread
//!   ([`Builder`]); the client waits, and is answered when the builder is done.
//!
//! Either way each view is a buffer built once ([`OnceLock`]) and shared by every
//! client as one reference-counted buffer: the loop only hands out references, or
//! copies one record's line.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

use super::answers::{end_line, line, Payload};
use super::protocol::{Format, List, METRICS_END};
use crate::record::{DomainIdentity, DomainRecord, NodeRecord};
use crate::views::{legacy, nova, prometheus};

mod builder;

pub use builder::{Builder, BUILDS_IN_FLIGHT};

/// A view built on demand (the JSON lines are always there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    Legacy,
    Nova,
    List,
    Metrics,
}

impl View {
    pub const ALL: [View; 4] = [View::Legacy, View::Nova, View::List, View::Metrics];

    fn bit(self) -> u8 {
        1 << self as u8
    }

    /// The view a record format is served from (`None`: the JSON lines).
    pub fn of_format(format: Format) -> Option<View> {
        match format {
            Format::Json => None,
            Format::Legacy => Some(View::Legacy),
            Format::Nova => Some(View::Nova),
        }
    }
}

/// The views asked for since the collector last looked: set by the loop, taken by the
/// collector thread after each cycle.
#[derive(Debug, Default)]
pub struct Wanted(AtomicU8);

impl Wanted {
    pub fn mark(&self, view: View) {
        self.0.fetch_or(view.bit(), Ordering::Relaxed);
    }

    /// The views marked since the last call, clearing them.
    pub fn take(&self) -> Vec<View> {
        let bits = self.0.swap(0, Ordering::Relaxed);
        View::ALL
            .into_iter()
            .filter(|v| bits & v.bit() != 0)
            .collect()
    }
}

/// Lines in one buffer, and where each record's line is (newline included).
#[derive(Default)]
struct Lines {
    bytes: Arc<Vec<u8>>,
    spans: Vec<Range<usize>>,
}

impl Lines {
    /// Each record's line by `write`, in one buffer; `line_hint` bytes per record are
    /// reserved up front.
    fn build(
        records: &[Arc<DomainRecord>],
        line_hint: usize,
        mut write: impl FnMut(&DomainRecord, &mut Vec<u8>),
    ) -> Self {
        let mut bytes = Vec::with_capacity(records.len() * line_hint);
        let mut spans = Vec::with_capacity(records.len());
        for record in records {
            let start = bytes.len();
            write(record, &mut bytes);
            spans.push(start..bytes.len());
        }
        Self {
            bytes: Arc::new(bytes),
            spans,
        }
    }

    fn line(&self, index: usize) -> &[u8] {
        &self.bytes[self.spans[index].clone()]
    }
}

/// One cycle's records and their views.
#[derive(Default)]
struct CycleViews {
    seq: u64,
    records: Vec<Arc<DomainRecord>>,
    json: Lines,
    /// Lowercase UUID to index: events find their domain's record here.
    by_uuid: HashMap<String, usize>,
    /// The host's totals at this cycle, for the Prometheus view.
    node: Option<NodeRecord>,
    legacy: OnceLock<Lines>,
    nova: OnceLock<Lines>,
    list: OnceLock<Arc<Vec<u8>>>,
    metrics: OnceLock<Arc<Vec<u8>>>,
}

/// The latest cycle's views: a cheap handle, cloned by whoever needs them to stay.
#[derive(Clone, Default)]
pub struct Latest(Arc<CycleViews>);

impl Latest {
    /// `lines` holds each record's JSON line; `spans[i]` is record i's line, newline
    /// included.
    pub fn new(
        seq: u64,
        records: Vec<Arc<DomainRecord>>,
        lines: Arc<Vec<u8>>,
        spans: Vec<Range<usize>>,
    ) -> Self {
        Self::from_lines(
            seq,
            records,
            Lines {
                bytes: lines,
                spans,
            },
            None,
        )
    }

    /// Serializes every record's JSON line (the collector thread, once a cycle); `node`
    /// is the host's totals, for the Prometheus view.
    pub fn serialize(seq: u64, records: Vec<Arc<DomainRecord>>, node: Option<NodeRecord>) -> Self {
        // A 4-vCPU, 2-disk, 2-NIC domain's line is about 2.7 KiB: one allocation.
        let json = Lines::build(&records, 3072, crate::record::json::write_domain_line);
        Self::from_lines(seq, records, json, node)
    }

    fn from_lines(
        seq: u64,
        records: Vec<Arc<DomainRecord>>,
        json: Lines,
        node: Option<NodeRecord>,
    ) -> Self {
        let by_uuid = records
            .iter()
            .enumerate()
            .map(|(i, record)| (record.domain.uuid.to_ascii_lowercase(), i))
            .collect();
        Self(Arc::new(CycleViews {
            seq,
            records,
            json,
            by_uuid,
            node,
            ..CycleViews::default()
        }))
    }

    pub fn seq(&self) -> u64 {
        self.0.seq
    }

    pub fn len(&self) -> usize {
        self.0.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.records.is_empty()
    }

    pub fn records(&self) -> &[Arc<DomainRecord>] {
        &self.0.records
    }

    /// Whether both handles are the same cycle's views.
    pub fn same(&self, other: &Latest) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Every record's JSON line, in order (shared, not copied).
    pub fn lines_arc(&self) -> Arc<Vec<u8>> {
        Arc::clone(&self.0.json.bytes)
    }

    /// Builds `view` if nobody has yet (off the loop: it costs time in the number of
    /// domains), and returns its buffer.
    pub fn build(&self, view: View) -> Arc<Vec<u8>> {
        let cycle = &*self.0;
        match view {
            View::Legacy => Arc::clone(
                &cycle
                    .legacy
                    .get_or_init(|| Lines::build(&cycle.records, 1024, legacy_line))
                    .bytes,
            ),
            View::Nova => Arc::clone(
                &cycle
                    .nova
                    .get_or_init(|| Lines::build(&cycle.records, 1024, nova_line))
                    .bytes,
            ),
            View::List => Arc::clone(cycle.list.get_or_init(|| Arc::new(self.list_document()))),
            View::Metrics => Arc::clone(cycle.metrics.get_or_init(|| {
                let mut out = Vec::with_capacity(cycle.records.len() * 8192);
                prometheus::write_domains(&cycle.records, &mut out);
                prometheus::write_node(cycle.node.as_ref(), &mut out);
                Arc::new(out)
            })),
        }
    }

    /// `view`'s buffer if it is built.
    pub fn built(&self, view: View) -> Option<Arc<Vec<u8>>> {
        let cycle = &*self.0;
        match view {
            View::Legacy => cycle.legacy.get().map(|l| Arc::clone(&l.bytes)),
            View::Nova => cycle.nova.get().map(|l| Arc::clone(&l.bytes)),
            View::List => cycle.list.get().map(Arc::clone),
            View::Metrics => cycle.metrics.get().map(Arc::clone),
        }
    }

    /// Every buffer of this cycle that is built, with the JSON lines: what a client
    /// holding only these holds nothing beyond the latest cycle.
    pub fn buffers(&self) -> Vec<Arc<Vec<u8>>> {
        let mut buffers = vec![self.lines_arc()];
        buffers.extend(View::ALL.into_iter().filter_map(|v| self.built(v)));
        buffers
    }

    /// Every record in `format`, shared, then `tail`; `Err(view)` if that view is not
    /// built yet.
    pub fn records_then(
        &self,
        format: Format,
        tail: impl FnOnce(&mut Vec<u8>),
    ) -> Result<Payload, View> {
        let shared = match View::of_format(format) {
            None => self.lines_arc(),
            Some(view) => self.built(view).ok_or(view)?,
        };
        let mut payload = Payload {
            shared: Some(shared),
            owned: Vec::new(),
        };
        tail(&mut payload.owned);
        Ok(payload)
    }

    /// `all`: every record, then the end line.
    pub fn all(&self, format: Format) -> Result<Payload, View> {
        self.records_then(format, |out| end_line(self.len(), self.seq(), out))
    }

    /// `list`: one document with every domain's identity.
    pub fn list(&self) -> Result<Payload, View> {
        let list = self.built(View::List).ok_or(View::List)?;
        Ok(Payload {
            shared: Some(list),
            owned: Vec::new(),
        })
    }

    /// `metrics`: the domains' families (shared, not copied), then the agent's
    /// (`health`), then `# EOF`: a comment to the format, the end of the answer to a
    /// client. `include_domains` false leaves the domains out (libvirt unreachable).
    pub fn metrics(&self, health: &[u8], include_domains: bool) -> Result<Payload, View> {
        let shared = if include_domains {
            Some(self.built(View::Metrics).ok_or(View::Metrics)?)
        } else {
            None
        };
        let mut owned = Vec::with_capacity(health.len() + METRICS_END.len());
        owned.extend_from_slice(health);
        owned.extend_from_slice(METRICS_END.as_bytes());
        Ok(Payload { shared, owned })
    }

    /// Appends record `index` in `format`, newline included: a copy of its line if the
    /// view is built, else that one record's line built now.
    pub fn write_record(&self, index: usize, format: Format, out: &mut Vec<u8>) {
        let cycle = &*self.0;
        match format {
            Format::Json => out.extend_from_slice(cycle.json.line(index)),
            Format::Legacy => match cycle.legacy.get() {
                Some(lines) => out.extend_from_slice(lines.line(index)),
                None => legacy_line(&cycle.records[index], out),
            },
            Format::Nova => match cycle.nova.get() {
                Some(lines) => out.extend_from_slice(lines.line(index)),
                None => nova_line(&cycle.records[index], out),
            },
        }
    }

    /// The latest record of the domain with this UUID.
    pub fn record_by_uuid(&self, uuid: &str) -> Option<&Arc<DomainRecord>> {
        let cycle = &*self.0;
        cycle
            .by_uuid
            .get(&uuid.to_ascii_lowercase())
            .and_then(|&i| cycle.records.get(i))
            .filter(|r| r.domain.uuid.eq_ignore_ascii_case(uuid))
    }

    fn list_document(&self) -> Vec<u8> {
        let domains: Vec<&DomainIdentity> = self.0.records.iter().map(|r| &r.domain).collect();
        let mut out = Vec::with_capacity(domains.len() * 160);
        line(
            &List {
                seq: self.0.seq,
                count: domains.len(),
                domains,
            },
            &mut out,
        );
        out
    }
}

fn legacy_line(record: &DomainRecord, out: &mut Vec<u8>) {
    line(
        &legacy::Envelope::new(record, legacy::diagnostics(record)),
        out,
    );
}

fn nova_line(record: &DomainRecord, out: &mut Vec<u8>) {
    line(
        &legacy::Envelope::new(record, nova::diagnostics(record)),
        out,
    );
}
