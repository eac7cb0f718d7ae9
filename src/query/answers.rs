//! Answers built from the latest snapshot. Pure: no I/O, no libvirt.
//!
//! Domain lines are serialized once per cycle (they are also the spool's lines), so `get`
//! and `all` copy bytes instead of serializing again; so is the Prometheus exposition of
//! the domains, which `metrics` shares.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use serde::Serialize;
use serde_json::json;

use super::protocol::{Format, ProtocolError, COMMANDS};
use crate::record::{DomainRecord, SCHEMA_VERSION};
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

/// The latest cycle's records, their serialized lines and lookups by name, UUID and id.
#[derive(Default)]
pub struct Latest {
    pub seq: u64,
    records: Vec<Arc<DomainRecord>>,
    lines: Arc<Vec<u8>>,
    spans: Vec<Range<usize>>,
    by_key: HashMap<String, usize>,
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
        let mut by_key = HashMap::with_capacity(records.len() * 3);
        for (i, record) in records.iter().enumerate() {
            by_key.insert(record.domain.uuid.to_ascii_lowercase(), i);
            if let Some(id) = record.domain.id {
                by_key.entry(id.to_string()).or_insert(i);
            }
        }
        // Names win over ids that look like names.
        for (i, record) in records.iter().enumerate() {
            by_key.insert(record.domain.name.to_string(), i);
        }
        Self {
            seq,
            records,
            lines,
            spans,
            by_key,
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

    /// A domain by name, UUID (any case) or hypervisor id.
    pub fn find(&self, target: &str) -> Option<usize> {
        self.by_key
            .get(target)
            .or_else(|| self.by_key.get(&target.to_ascii_lowercase()))
            .copied()
    }

    /// Appends record `index` in `format`, newline included.
    pub fn write_record(&self, index: usize, format: Format, out: &mut Vec<u8>) {
        match format {
            Format::Json => out.extend_from_slice(&self.lines[self.spans[index].clone()]),
            Format::Legacy => {
                let _ = serde_json::to_writer(&mut *out, &legacy::line(&self.records[index]));
                out.push(b'\n');
            }
            Format::Nova => {
                let _ = serde_json::to_writer(&mut *out, &nova::line(&self.records[index]));
                out.push(b'\n');
            }
        }
    }

    /// `get`: the record, or an `unknown_domain` error.
    pub fn get(
        &self,
        target: &str,
        format: Format,
        out: &mut Vec<u8>,
    ) -> Result<(), ProtocolError> {
        match self.find(target) {
            Some(index) => {
                self.write_record(index, format, out);
                Ok(())
            }
            None => Err(ProtocolError::new(
                "unknown_domain",
                format!(
                    "no domain with name, UUID or id '{target}' in cycle {}",
                    self.seq
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
        self.by_key
            .get(&uuid.to_ascii_lowercase())
            .and_then(|&i| self.records.get(i))
            .filter(|r| r.domain.uuid.eq_ignore_ascii_case(uuid))
    }

    /// `list`: one document with every domain's identity.
    pub fn list(&self, out: &mut Vec<u8>) {
        let domains: Vec<_> = self.records.iter().map(|r| &r.domain).collect();
        let _ = serde_json::to_writer(
            &mut *out,
            &json!({"kind": "list", "seq": self.seq, "count": domains.len(), "domains": domains}),
        );
        out.push(b'\n');
    }
}

/// `{"kind":"end","count":N,"seq":S}`.
pub fn end_line(count: usize, seq: u64, out: &mut Vec<u8>) {
    let _ = serde_json::to_writer(
        &mut *out,
        &json!({"kind": "end", "count": count, "seq": seq}),
    );
    out.push(b'\n');
}

/// `help`: one line per command, then the end line.
pub fn help(out: &mut Vec<u8>) {
    for (usage, description) in COMMANDS {
        let _ = serde_json::to_writer(
            &mut *out,
            &json!({"kind": "help", "command": usage, "description": description}),
        );
        out.push(b'\n');
    }
    end_line(COMMANDS.len(), 0, out);
}

/// `version`.
pub fn version(out: &mut Vec<u8>) {
    let _ = serde_json::to_writer(
        &mut *out,
        &json!({"kind": "version", "version": env!("CARGO_PKG_VERSION"), "schema": SCHEMA_VERSION}),
    );
    out.push(b'\n');
}

/// Any serializable answer as one line.
pub fn line<T: Serialize>(value: &T, out: &mut Vec<u8>) {
    let _ = serde_json::to_writer(&mut *out, value);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::*;

    fn record(name: &str, uuid: &str, id: Option<u32>) -> Arc<DomainRecord> {
        Arc::new(DomainRecord {
            kind: "domain",
            schema: 1,
            ts: "t".into(),
            host: "h".into(),
            seq: 3,
            domain: DomainIdentity {
                name: name.into(),
                uuid: uuid.into(),
                id,
                state: "running",
                reason: "booted",
            },
            nova: None,
            cpu: None,
            memory: MemoryStats {
                max_kib: Some(1),
                current_kib: None,
                used_kib: None,
                balloon: None,
            },
            disks: vec![],
            nics: vec![],
            collect: CollectInfo {
                sources: GroupSources::default(),
                interval_s: None,
                duration_ms: 0.0,
                missing: vec![],
                control: None,
            },
        })
    }

    fn latest() -> Latest {
        let records = vec![
            record("web", "AAAA-1", Some(4)),
            record("4", "bbbb-2", Some(9)),
        ];
        let mut lines = Vec::new();
        let mut spans = Vec::new();
        for r in &records {
            let start = lines.len();
            serde_json::to_writer(&mut lines, &**r).unwrap();
            lines.push(b'\n');
            spans.push(start..lines.len());
        }
        Latest::new(3, records, Arc::new(lines), spans)
    }

    #[test]
    fn finds_by_name_uuid_and_id_with_names_first() {
        let l = latest();
        assert_eq!(l.find("web"), Some(0));
        assert_eq!(l.find("aaaa-1"), Some(0));
        assert_eq!(l.find("AAAA-1"), Some(0));
        assert_eq!(l.find("9"), Some(1));
        assert_eq!(l.find("4"), Some(1), "the domain named 4 wins over id 4");
        assert_eq!(l.find("nope"), None);
    }

    #[test]
    fn get_all_and_list_answer_whole_lines() {
        let l = latest();
        let mut out = Vec::new();
        l.get("web", Format::Json, &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["domain"]["name"], "web");

        let mut out = Vec::new();
        let e = l.get("nope", Format::Json, &mut out).unwrap_err();
        assert_eq!(e.code, "unknown_domain");
        assert!(out.is_empty());

        let text = String::from_utf8(l.all(Format::Legacy).to_vec()).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        let json = l.all(Format::Json);
        assert!(
            Arc::ptr_eq(json.shared.as_ref().unwrap(), &l.lines_arc()),
            "shared, not copied"
        );
        assert_eq!(String::from_utf8(json.to_vec()).unwrap().lines().count(), 3);
        assert!(lines[0].starts_with("{\"diagnostics\""));
        assert_eq!(lines[2], r#"{"count":2,"kind":"end","seq":3}"#);
        let nova = String::from_utf8(l.all(Format::Nova).to_vec()).unwrap();
        let v: serde_json::Value = serde_json::from_str(nova.lines().next().unwrap()).unwrap();
        assert_eq!(v["diagnostics"]["driver"], "libvirt");

        let mut out = Vec::new();
        l.list(&mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["count"], 2);
        assert_eq!(v["domains"][1]["name"], "4");
    }

    #[test]
    fn metrics_share_the_domains_and_end_with_eof() {
        let l = latest().with_metrics(b"virtdiag_domain_info_state 1\n".to_vec());
        let answer = l.metrics(b"virtdiag_up 1\n");
        assert_eq!(
            String::from_utf8(answer.to_vec()).unwrap(),
            "virtdiag_domain_info_state 1\nvirtdiag_up 1\n# EOF\n"
        );
        assert!(Arc::ptr_eq(
            answer.shared.as_ref().unwrap(),
            &l.metrics(b"").shared.unwrap()
        ));
    }

    #[test]
    fn help_lists_every_command() {
        let mut out = Vec::new();
        help(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap().lines().count(),
            COMMANDS.len() + 1
        );
    }
}
