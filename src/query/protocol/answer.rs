//! The answers' envelopes: the `kind` every answer line carries, the small answers
//! (`help`, `version`, `list`, the end line), and [`Line`], how a client reads any line
//! of an answer. Records, cycle lines and event lines are read by their own types.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{ErrorLine, Refusal};
use super::status::Status;

/// The last line of a `metrics` answer: a comment to the Prometheus text format, the
/// end of the answer to a client.
pub const METRICS_END: &str = "# EOF\n";

/// The `kind` of an answer line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Help,
    Version,
    Status,
    List,
    End,
    /// A domain record (docs/record.md).
    Domain,
    /// A cycle line, after each cycle's records.
    Cycle,
    /// A domain event line.
    Event,
    /// A kind this client does not know (a newer agent).
    #[serde(other)]
    Unknown,
}

/// One command of `help`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename = "help")]
pub struct Help {
    pub command: Cow<'static, str>,
    pub description: Cow<'static, str>,
}

/// `version`: the agent's version and the record schema's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename = "version")]
pub struct Version {
    pub version: Cow<'static, str>,
    pub schema: u32,
}

/// The end line of `help`, `all`, `collect` and `events`: how many lines came, and
/// the cycle they are of (0 for `help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename = "end")]
pub struct End {
    pub count: usize,
    pub seq: u64,
}

/// `list`: every domain's identity in the latest cycle. The agent writes it from the
/// records' identities; a client reads [`ListedDomain`]s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename = "list")]
pub struct List<D = ListedDomain> {
    pub seq: u64,
    pub count: usize,
    pub domains: Vec<D>,
}

/// One domain of `list`, as a record's `domain` object writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedDomain {
    pub name: String,
    pub uuid: String,
    /// The hypervisor's id while running; null when inactive.
    #[serde(deserialize_with = "super::required")]
    pub id: Option<u32>,
    pub state: String,
    pub reason: String,
    /// Lifecycle events since the previous cycle; absent without events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transitions: Option<u32>,
    /// `crashed` events since the agent started; absent without events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crashes: Option<u64>,
}

/// One line of an answer as a client reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// `{"error":{...}}`.
    Error(Refusal),
    Help(Help),
    Version(Version),
    Status(Box<Status>),
    List(List),
    End(End),
    /// A line of another kind: a record, a cycle line, an event line, or a kind this
    /// client does not know.
    Other(Kind),
    /// A line without a kind: a record in the legacy or Nova format.
    Untagged,
}

/// What a line says it is, before it is read whole.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    kind: Option<Kind>,
    /// Only error lines have an `error` and no `kind` (a cycle line's is its own).
    #[serde(default)]
    error: Option<IgnoredAny>,
}

impl Line {
    /// Reads one line (without its newline). An error says what is wrong: not JSON,
    /// or the field missing or mistyped in a line whose kind this client knows.
    pub fn parse(bytes: &[u8]) -> Result<Line, serde_json::Error> {
        Line::from_value(&serde_json::from_slice(bytes)?)
    }

    /// Reads a line already parsed as JSON.
    pub fn from_value(value: &Value) -> Result<Line, serde_json::Error> {
        let envelope = Envelope::deserialize(value)?;
        Ok(match envelope.kind {
            None if envelope.error.is_some() => {
                Line::Error(ErrorLine::<Refusal>::deserialize(value)?.error)
            }
            None => Line::Untagged,
            Some(Kind::Help) => Line::Help(Help::deserialize(value)?),
            Some(Kind::Version) => Line::Version(Version::deserialize(value)?),
            Some(Kind::Status) => Line::Status(Box::new(Status::deserialize(value)?)),
            Some(Kind::List) => Line::List(List::deserialize(value)?),
            Some(Kind::End) => Line::End(End::deserialize(value)?),
            Some(kind) => Line::Other(kind),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::protocol::ErrorCode;

    fn wire<T: Serialize>(value: &T) -> String {
        let mut out = Vec::new();
        crate::query::protocol::write_line(value, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn each_answer_is_written_kind_first_and_read_back() {
        let help = Help {
            command: "list".into(),
            description: "every domain".into(),
        };
        let text = wire(&help);
        assert_eq!(
            text,
            "{\"kind\":\"help\",\"command\":\"list\",\"description\":\"every domain\"}\n"
        );
        assert_eq!(
            Line::parse(text.trim_end().as_bytes()).unwrap(),
            Line::Help(help)
        );

        let end = End { count: 2, seq: 7 };
        assert_eq!(wire(&end), "{\"kind\":\"end\",\"count\":2,\"seq\":7}\n");
        assert_eq!(Line::parse(wire(&end).as_bytes()).unwrap(), Line::End(end));

        let version = Version {
            version: "1.2.3".into(),
            schema: 4,
        };
        assert_eq!(
            wire(&version),
            "{\"kind\":\"version\",\"version\":\"1.2.3\",\"schema\":4}\n"
        );
        assert_eq!(
            Line::parse(wire(&version).as_bytes()).unwrap(),
            Line::Version(version)
        );

        let list = List {
            seq: 3,
            count: 1,
            domains: vec![ListedDomain {
                name: "a".into(),
                uuid: "u".into(),
                id: None,
                state: "shutoff".into(),
                reason: "unknown".into(),
                transitions: Some(0),
                crashes: Some(0),
            }],
        };
        let text = wire(&list);
        assert!(
            text.starts_with(
                "{\"kind\":\"list\",\"seq\":3,\"count\":1,\"domains\":[{\"name\":\"a\""
            ),
            "{text}"
        );
        assert_eq!(Line::parse(text.as_bytes()).unwrap(), Line::List(list));
    }

    #[test]
    fn records_errors_and_untagged_lines_are_told_apart() {
        let read = |text: &str| Line::parse(text.as_bytes());
        assert_eq!(
            read(r#"{"kind":"cycle","seq":1,"error":"disconnected"}"#).unwrap(),
            Line::Other(Kind::Cycle)
        );
        assert_eq!(
            read(r#"{"kind":"domain","domain":{}}"#).unwrap(),
            Line::Other(Kind::Domain)
        );
        assert_eq!(
            read(r#"{"kind":"galaxy"}"#).unwrap(),
            Line::Other(Kind::Unknown)
        );
        assert_eq!(
            read(r#"{"domain":"a","uuid":"u","diagnostics":{}}"#).unwrap(),
            Line::Untagged
        );
        assert_eq!(
            read(r#"{"error":{"code":"too_slow","message":"m"}}"#).unwrap(),
            Line::Error(Refusal {
                code: Some(ErrorCode::TooSlow),
                message: "m".into()
            })
        );
        assert!(read("not json").unwrap_err().is_syntax());
    }

    #[test]
    fn a_field_missing_from_a_known_kind_is_an_error_naming_it() {
        let error = Line::parse(br#"{"kind":"end","seq":1}"#).unwrap_err();
        assert!(error.is_data());
        assert!(
            error.to_string().contains("missing field `count`"),
            "{error}"
        );
        let error = Line::parse(
            br#"{"kind":"list","seq":1,"count":1,"domains":[{"name":"a","uuid":"u","state":"s","reason":"r"}]}"#,
        )
        .unwrap_err();
        assert!(error.to_string().contains("missing field `id`"), "{error}");
    }
}
