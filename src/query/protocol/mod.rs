//! The socket protocol as types both ends share: the requests ([`request`]), the
//! answers' envelopes and small answers ([`answer`]), `status` ([`status`]) and the
//! error line with its codes ([`error`]). The agent writes these types and the
//! clients (`query`, its `--check`, `top`) read them back, so that the wire is
//! described once. One request per line; every answer is JSON, one document per line,
//! but `metrics` (Prometheus text). virtdiag-protocol(7) is the reference; a test
//! holds it to these types.

pub mod answer;
pub mod error;
pub mod request;
pub mod status;

#[cfg(test)]
mod manual;

use serde::{Deserialize, Deserializer, Serialize};

pub use self::answer::{End, Help, Kind, Line, List, ListedDomain, Version, METRICS_END};
pub use self::error::{ErrorCode, ErrorLine, ProtocolError, Refusal};
pub use self::request::{parse, Format, Request, COMMANDS};
pub use self::status::{ClientStatus, CycleSummary, SpoolStatus, Status};

/// The longest request line accepted, newline included.
pub const MAX_REQUEST_BYTES: usize = 4096;

/// Event lines `events` answers without a count, and at most.
pub const DEFAULT_EVENTS: usize = 100;
pub const MAX_EVENTS: usize = 1000;

/// Any answer as one line: its JSON and a newline.
pub fn write_line<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    let _ = serde_json::to_writer(&mut *out, value);
    out.push(b'\n');
}

/// For a nullable field that must be present: serde reads a missing `Option` as
/// `None` unless the field has its own deserializer, and a field renamed away must
/// fail the reading, not read as null.
pub fn required<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer)
}
