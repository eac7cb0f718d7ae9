//! An agent's answer, line by line, as a person at a terminal reads it: domain
//! records are held until their end (the `end` line of `all` and `collect`, each
//! `cycle` line of `watch`, the end of `get`'s answer) and shown together, as the
//! host table or, for `get`, the grouped view of the one domain; `help` as two
//! columns; `list` and `status` in words; legacy records as the original Property |
//! Value table; anything else as JSON indented in its own key order. Pure.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{domain_view, help, host_table, pretty_json, render, text_safe};
use crate::commands::top::model::Row;
use crate::query::protocol::{Format, Help, Kind, Line, Request};
use crate::record::{CycleRecord, DomainRecord};
use crate::views::table;

/// What is held back until the answer says it is complete.
#[derive(Debug, Default)]
pub struct Answer {
    /// The request was `get`: its one record is shown as the grouped view.
    one_domain: bool,
    /// The records are Nova's diagnostics: indented JSON, not the legacy table.
    nova: bool,
    /// The rows of the domain records held (not the records: a host's worth of
    /// records takes tens of times the memory), and the first record whole, for
    /// `get`.
    domains: Vec<Row>,
    first: Option<DomainRecord>,
    help: Vec<Help>,
}

impl Answer {
    pub fn new(request: Option<&Request>) -> Self {
        let format = match request {
            Some(
                Request::Get { format, .. }
                | Request::All { format }
                | Request::Collect { format }
                | Request::Watch { format },
            ) => Some(*format),
            _ => None,
        };
        Answer {
            one_domain: matches!(request, Some(Request::Get { .. })),
            nova: format == Some(Format::Nova),
            ..Answer::default()
        }
    }

    /// The text for this line of the answer (`value` is `raw` parsed); empty while
    /// the line is held.
    pub fn line(&mut self, raw: &str, value: &Value, read: &Line) -> String {
        match read {
            Line::Other(Kind::Domain) => self.domain(raw, value),
            Line::Help(line) => {
                self.help.push(line.clone());
                String::new()
            }
            Line::End(_) if !self.help.is_empty() => help(&std::mem::take(&mut self.help)),
            Line::End(end) => self.domains(&format!(", cycle {}", end.seq)),
            Line::Other(Kind::Cycle) => match CycleRecord::deserialize(value) {
                Ok(cycle) => self.cycle(&cycle),
                Err(_) => one_line(raw, value),
            },
            _ if self.nova => pretty_json::render(raw),
            _ => one_line(raw, value),
        }
    }

    /// What is still held when the answer ends.
    pub fn finish(&mut self) -> String {
        if let (true, 1, Some(first)) = (self.one_domain, self.domains.len(), self.first.take()) {
            return domain_view::render(&first);
        }
        let mut text = String::new();
        if !self.help.is_empty() {
            text.push_str(&help(&std::mem::take(&mut self.help)));
        }
        if !self.domains.is_empty() {
            text.push_str(&self.domains(""));
        }
        text
    }

    /// Holds a domain record's row (and the record, for `get`); a record this client
    /// cannot read is shown as it came.
    fn domain(&mut self, raw: &str, value: &Value) -> String {
        let Ok(record) = DomainRecord::deserialize(value) else {
            return one_line(raw, value);
        };
        self.domains.push(Row::from_domain(&record));
        if self.one_domain && self.first.is_none() {
            self.first = Some(record);
        }
        String::new()
    }

    /// The table of the records held, closed by their cycle.
    fn cycle(&mut self, cycle: &CycleRecord) -> String {
        let failed = cycle
            .error
            .as_deref()
            .map(|e| format!("; FAILED: {e}"))
            .unwrap_or_default();
        let footer = format!(
            ", cycle {} on {} at {}, took {:.1} ms{failed}",
            cycle.seq, cycle.host, cycle.ts, cycle.duration_ms
        );
        let mut text = self.domains(&text_safe(&footer));
        text.push('\n');
        text
    }

    fn domains(&mut self, footer: &str) -> String {
        host_table::render(&std::mem::take(&mut self.domains), footer)
    }
}

/// One line for a person, alone: `list` and `status` in words and units, a legacy
/// record as the original Property | Value table, anything else indented JSON in
/// its own key order; never a raw control character.
pub fn one_line(raw: &str, value: &Value) -> String {
    if let Some(text) = render(value) {
        return text;
    }
    if let Ok(legacy) = Legacy::deserialize(value) {
        let table = table::render(&legacy.diagnostics);
        return text_safe(&format!("Domain: {}\n{table}", legacy.domain));
    }
    pretty_json::render(raw)
}

/// A legacy record (`--format legacy`): the domain's name and its diagnostics by
/// property.
#[derive(Deserialize)]
struct Legacy {
    domain: String,
    diagnostics: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn feed(answer: &mut Answer, lines: &[Value]) -> String {
        let mut text = String::new();
        for line in lines {
            let read = Line::from_value(line).unwrap();
            text.push_str(&answer.line(&line.to_string(), line, &read));
        }
        text.push_str(&answer.finish());
        text
    }

    fn domain(name: &str) -> Value {
        let mut record = crate::views::fixture::record(name, "u");
        record.nova = None;
        serde_json::to_value(record).unwrap()
    }

    #[test]
    fn all_is_one_table_closed_by_its_end_line() {
        let mut answer = Answer::new(Some(&Request::All {
            format: Format::Json,
        }));
        assert_eq!(
            answer.line("", &domain("a"), &Line::Other(Kind::Domain)),
            ""
        );
        let text = feed(
            &mut answer,
            &[domain("b"), json!({"kind": "end", "count": 2, "seq": 5})],
        );
        assert!(text.starts_with("NAME  STATE"), "{text}");
        assert!(text.contains("\na     running"), "{text}");
        assert!(text.contains("\nb     running"), "{text}");
        assert!(text.ends_with("2 domains, 2 running, cycle 5\n"), "{text}");
    }

    #[test]
    fn get_is_the_grouped_view_and_watch_a_table_per_cycle() {
        let mut get = Answer::new(Some(&Request::Get {
            target: "a".into(),
            format: Format::Json,
        }));
        assert!(feed(&mut get, &[domain("a")]).starts_with("domain      a (running"));
        let mut watch = Answer::new(None);
        let cycle = serde_json::to_value(CycleRecord {
            kind: "cycle",
            seq: 8,
            host: "vm".into(),
            ts: "T".into(),
            duration_ms: 1.25,
            error: Some("disconnected".into()),
            ..CycleRecord::default()
        })
        .unwrap();
        let text = feed(&mut watch, &[domain("a"), cycle.clone(), cycle]);
        assert_eq!(
            text.matches("cycle 8 on vm at T, took 1.2 ms; FAILED: disconnected\n\n")
                .count(),
            2,
            "{text}"
        );
    }

    #[test]
    fn nova_records_are_json_and_legacy_ones_the_original_table() {
        let raw = r#"{"domain":"a","uuid":"u","diagnostics":{"driver":"libvirt"}}"#;
        let value: Value = serde_json::from_str(raw).unwrap();
        let request = |format| Request::Get {
            target: "a".into(),
            format,
        };
        let nova = Answer::new(Some(&request(Format::Nova))).line(raw, &value, &Line::Untagged);
        assert!(nova.starts_with("{\n  \"domain\": \"a\",\n"), "{nova}");
        let legacy = Answer::new(Some(&request(Format::Legacy))).line(raw, &value, &Line::Untagged);
        assert!(
            legacy.starts_with("Domain: a\n+----------+-----------+\n| Property |"),
            "{legacy}"
        );
    }

    #[test]
    fn help_as_two_columns_and_other_lines_as_ordered_json() {
        let mut answer = Answer::new(Some(&Request::Help));
        let text = feed(
            &mut answer,
            &[
                json!({"kind": "help", "command": "list", "description": "every domain"}),
                json!({"kind": "help", "command": "get DOMAIN", "description": "one"}),
                json!({"kind": "end", "count": 2, "seq": 0}),
            ],
        );
        assert_eq!(
            text,
            "REQUEST     WHAT IT ANSWERS\nlist        every domain\nget DOMAIN  one\n"
        );
        let raw = r#"{"kind":"version","version":"0.1.0","schema":1}"#;
        let text = one_line(raw, &serde_json::from_str(raw).unwrap());
        assert_eq!(
            text,
            "{\n  \"kind\": \"version\",\n  \"version\": \"0.1.0\",\n  \"schema\": 1\n}\n"
        );
    }
}
