//! Answers built from the latest snapshot. Pure: no I/O, no libvirt. Every answer
//! line is a type of the protocol ([`super::protocol`]), so its keys keep their order
//! on the wire (`kind` first).
//!
//! Whole-cycle answers (`all`, `list`, `metrics`, what watchers get) are views built
//! once per cycle ([`super::views`]); what is built here costs the loop at most one
//! pass over the names and one record's line.

use std::sync::Arc;

use serde::Serialize;

use super::protocol::{End, ErrorCode, Format, Help, ProtocolError, Version, COMMANDS};
pub use super::views::Latest;
use crate::collect::filter::{Candidate, Selector};
use crate::escape::printable;
use crate::record::{DomainRecord, SCHEMA_VERSION};

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

/// The domains `target` names in `latest`, by the selection rule (`collect::filter`);
/// a string past the patterns' length limit is a `bad_argument`.
pub fn find(latest: &Latest, target: &str) -> Result<(Selector, Vec<usize>), ProtocolError> {
    let selector = Selector::parse(target)
        .map_err(|e| ProtocolError::new(ErrorCode::BadArgument, format!("get: {e}")))?;
    let found = selector.resolve(latest.records().iter().map(|r| candidate(r)));
    Ok((selector, found))
}

/// `get`: the one record `target` names, or an `unknown_domain`, `ambiguous_domain` or
/// `bad_argument` (too long) error. Costs the loop one pass over the names (the
/// pattern compiled once, matched in time linear in each name) and one record's line.
pub fn get(
    latest: &Latest,
    target: &str,
    format: Format,
    out: &mut Vec<u8>,
) -> Result<(), ProtocolError> {
    let (selector, found) = find(latest, target)?;
    match found.as_slice() {
        [index] => {
            latest.write_record(*index, format, out);
            Ok(())
        }
        [] => Err(ProtocolError::new(
            ErrorCode::UnknownDomain,
            format!(
                "no domain matches '{}' (read as {}) in cycle {}",
                printable(target),
                selector.reading(),
                latest.seq()
            ),
        )),
        several => Err(ProtocolError::new(
            ErrorCode::AmbiguousDomain,
            format!(
                "'{}' (read as {}) matches {} domains in cycle {}: {}; name one \
                 by its name or UUID",
                printable(target),
                selector.reading(),
                several.len(),
                latest.seq(),
                names_of(several.iter().map(|&i| &*latest.records()[i].domain.name))
            ),
        )),
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
        .map(|n| format!("'{}'", printable(n)))
        .collect::<Vec<_>>()
        .join(", ");
    if total > SHOWN {
        text.push_str(&format!(" and {} more", total - SHOWN));
    }
    text
}

/// `{"kind":"end","count":N,"seq":S}`.
pub fn end_line(count: usize, seq: u64, out: &mut Vec<u8>) {
    line(&End { count, seq }, out);
}

/// `help`: one line per command, then the end line.
pub fn help(out: &mut Vec<u8>) {
    for (command, description) in COMMANDS {
        line(
            &Help {
                command: command.into(),
                description: description.into(),
            },
            out,
        );
    }
    end_line(COMMANDS.len(), 0, out);
}

/// `version`.
pub fn version(out: &mut Vec<u8>) {
    line(
        &Version {
            version: env!("CARGO_PKG_VERSION").into(),
            schema: SCHEMA_VERSION,
        },
        out,
    );
}

/// Any serializable answer as one line.
pub fn line<T: Serialize>(value: &T, out: &mut Vec<u8>) {
    super::protocol::write_line(value, out);
}

#[cfg(test)]
pub(crate) mod tests;
