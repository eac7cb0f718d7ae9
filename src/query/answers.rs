//! Answers built from the latest snapshot. Pure: no I/O, no libvirt. Every answer
//! line is a serde type, so its keys keep their order on the wire (`kind` first).
//!
//! Domain lines are serialized once per cycle (they are also the spool's lines), so `get`
//! and `all` copy bytes instead of serializing again; so is the Prometheus exposition of
//! the domains, which `metrics` shares.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use serde::Serialize;

use super::protocol::{Format, ProtocolError, COMMANDS};
use crate::collect::filter::{Candidate, Selector};
use crate::record::{DomainIdentity, DomainRecord, SCHEMA_VERSION};
use crate::views::{legacy, nova};

/// An answer: a buffer shared with other clients (a cycle's serialized lines, never
/// copied per client), then bytes of its own.
#[derive(Default)]
pub struct Payload {
    pub shared: Option<Arc<Vec<u8>>>,
    pub owned: Vec<u8>,
}

impl Payload {
    /// The whole answer as one buffer (for tests and small answers).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut bytes = self.shared.as_deref().cloned().unwrap_or_default();
        bytes.extend_from_slice(&self.owned);
        bytes
    }
}

/// The latest cycle's records, their serialized lines and a lookup by UUID.
#[derive(Default)]
pub struct Latest {
    pub seq: u64,
    records: Vec<Arc<DomainRecord>>,
    lines: Arc<Vec<u8>>,
    spans: Vec<Range<usize>>,
    /// Lowercase UUID to index: events find their domain's record here.
    by_uuid: HashMap<String, usize>,
    /// The domains' Prometheus families (`views::prometheus::write_domains`).
    metrics: Arc<Vec<u8>>,
}

impl Latest {
    /// `lines` holds each record's JSON line; `spans[i]` is record i's line, newline
    /// included.
    pub fn new(
        seq: u64,
        records: Vec<Arc<DomainRecord>>,
        lines: Arc<Vec<u8>>,
        spans: Vec<Range<usize>>,
    ) -> Self {
        let by_uuid = records
            .iter()
            .enumerate()
            .map(|(i, record)| (record.domain.uuid.to_ascii_lowercase(), i))
            .collect();
        Self {
            seq,
            records,
            lines,
            spans,
            by_uuid,
            metrics: Arc::default(),
        }
    }

    /// Sets the domains' Prometheus exposition, built with the records.
    pub fn with_metrics(mut self, metrics: Vec<u8>) -> Self {
        self.metrics = Arc::new(metrics);
        self
    }

    /// The domains' Prometheus families (shared, not copied).
    pub fn metrics_arc(&self) -> Arc<Vec<u8>> {
        Arc::clone(&self.metrics)
    }

    /// `metrics`: the domains' families (shared, not copied), then the agent's
    /// (`health`), then `# EOF`: a comment to the format, the end of the answer to a
    /// client.
    pub fn metrics(&self, health: &[u8]) -> Payload {
        let mut owned = Vec::with_capacity(health.len() + 6);
        owned.extend_from_slice(health);
        owned.extend_from_slice(b"# EOF\n");
        Payload {
            shared: Some(Arc::clone(&self.metrics)),
            owned,
        }
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Every record's JSON line, in order (shared, not copied).
    pub fn lines_arc(&self) -> Arc<Vec<u8>> {
        Arc::clone(&self.lines)
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The domains `target` names, by the selection rule (`collect::filter`); a
    /// string past the patterns' length limit is a `bad_argument`.
    pub fn find(&self, target: &str) -> Result<(Selector, Vec<usize>), ProtocolError> {
        let selector = Selector::parse(target)
            .map_err(|e| ProtocolError::new("bad_argument", format!("get: {e}")))?;
        let found = selector.resolve(self.records.iter().map(|r| candidate(r)));
        Ok((selector, found))
    }

    /// Appends record `index` in `format`, newline included.
    pub fn write_record(&self, index: usize, format: Format, out: &mut Vec<u8>) {
        match format {
            Format::Json => out.extend_from_slice(&self.lines[self.spans[index].clone()]),
            Format::Legacy => {
                let record = &self.records[index];
                line(
                    &legacy::Envelope::new(record, legacy::diagnostics(record)),
                    out,
                );
            }
            Format::Nova => {
                let record = &self.records[index];
                line(
                    &legacy::Envelope::new(record, nova::diagnostics(record)),
                    out,
                );
            }
        }
    }

    /// `get`: the one record `target` names, or an `unknown_domain`,
    /// `ambiguous_domain` or `bad_argument` (too long) error.
    pub fn get(
        &self,
        target: &str,
        format: Format,
        out: &mut Vec<u8>,
    ) -> Result<(), ProtocolError> {
        let (selector, found) = self.find(target)?;
        match found.as_slice() {
            [index] => {
                self.write_record(*index, format, out);
                Ok(())
            }
            [] => Err(ProtocolError::new(
                "unknown_domain",
                format!(
                    "no domain matches '{target}' (read as {}) in cycle {}",
                    selector.reading(),
                    self.seq
                ),
            )),
            several => Err(ProtocolError::new(
                "ambiguous_domain",
                format!(
                    "'{target}' (read as {}) matches {} domains in cycle {}: {}; name one \
                     by its name or UUID",
                    selector.reading(),
                    several.len(),
                    self.seq,
                    names_of(several.iter().map(|&i| &*self.records[i].domain.name))
                ),
            )),
        }
    }

    /// Every record in `format`, then `tail`: the JSON lines are shared, not copied.
    pub fn records_then(&self, format: Format, tail: impl FnOnce(&mut Vec<u8>)) -> Payload {
        let mut payload = Payload::default();
        match format {
            Format::Json => payload.shared = Some(Arc::clone(&self.lines)),
            Format::Legacy | Format::Nova => {
                for index in 0..self.records.len() {
                    self.write_record(index, format, &mut payload.owned);
                }
            }
        }
        tail(&mut payload.owned);
        payload
    }

    /// `all`: every record, then the end line.
    pub fn all(&self, format: Format) -> Payload {
        self.records_then(format, |out| end_line(self.records.len(), self.seq, out))
    }

    /// The latest record of the domain with this UUID.
    pub fn record_by_uuid(&self, uuid: &str) -> Option<&Arc<DomainRecord>> {
        self.by_uuid
            .get(&uuid.to_ascii_lowercase())
            .and_then(|&i| self.records.get(i))
            .filter(|r| r.domain.uuid.eq_ignore_ascii_case(uuid))
    }

    /// `list`: one document with every domain's identity.
    pub fn list(&self, out: &mut Vec<u8>) {
        #[derive(Serialize)]
        struct List<'a> {
            kind: &'static str,
            seq: u64,
            count: usize,
            domains: Vec<&'a DomainIdentity>,
        }
        let domains: Vec<_> = self.records.iter().map(|r| &r.domain).collect();
        line(
            &List {
                kind: "list",
                seq: self.seq,
                count: domains.len(),
                domains,
            },
            out,
        );
    }
}

/// What the selection rule knows of a record's domain.
pub fn candidate(record: &DomainRecord) -> Candidate<'_> {
    Candidate {
        name: &record.domain.name,
        uuid: &record.domain.uuid,
        id: record.domain.id,
        display_name: record.nova.as_ref().and_then(|n| n.instance.as_deref()),
    }
}

/// Names for a message: the first few, quoted, and how many more.
pub fn names_of<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    const SHOWN: usize = 8;
    let total = names.len();
    let mut text = names
        .take(SHOWN)
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ");
    if total > SHOWN {
        text.push_str(&format!(" and {} more", total - SHOWN));
    }
    text
}

/// `{"kind":"end","count":N,"seq":S}`.
pub fn end_line(count: usize, seq: u64, out: &mut Vec<u8>) {
    #[derive(Serialize)]
    struct End {
        kind: &'static str,
        count: usize,
        seq: u64,
    }
    line(
        &End {
            kind: "end",
            count,
            seq,
        },
        out,
    );
}

/// `help`: one line per command, then the end line.
pub fn help(out: &mut Vec<u8>) {
    #[derive(Serialize)]
    struct Help {
        kind: &'static str,
        command: &'static str,
        description: &'static str,
    }
    for (command, description) in COMMANDS {
        line(
            &Help {
                kind: "help",
                command,
                description,
            },
            out,
        );
    }
    end_line(COMMANDS.len(), 0, out);
}

/// `version`.
pub fn version(out: &mut Vec<u8>) {
    #[derive(Serialize)]
    struct Version {
        kind: &'static str,
        version: &'static str,
        schema: u32,
    }
    line(
        &Version {
            kind: "version",
            version: env!("CARGO_PKG_VERSION"),
            schema: SCHEMA_VERSION,
        },
        out,
    );
}

/// Any serializable answer as one line.
pub fn line<T: Serialize>(value: &T, out: &mut Vec<u8>) {
    let _ = serde_json::to_writer(&mut *out, value);
    out.push(b'\n');
}

#[cfg(test)]
mod tests;
