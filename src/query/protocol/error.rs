//! The error line, `{"error":{"code":"...","message":"..."}}`: what the agent answers
//! to a request it cannot serve, and every code it may carry. Each code's wire word
//! is its variant's name in snake_case, written nowhere else.

use serde::de::IntoDeserializer;
use serde::{Deserialize, Deserializer, Serialize};

/// Why a request was not answered, as the `code` of an error line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The line is not UTF-8 text or holds control characters.
    BadRequest,
    /// No such command.
    UnknownCommand,
    /// Missing, extra or unknown arguments, or a domain string past its limit.
    BadArgument,
    /// `get` found no domain the string names.
    UnknownDomain,
    /// `get` was given a glob or a display name that names several domains.
    AmbiguousDomain,
    /// `collect` could not collect.
    CycleFailed,
    /// A request line past [`super::MAX_REQUEST_BYTES`]; the connection is closed.
    RequestTooLong,
    /// Every slot is taken and none is idle; the connection is closed.
    TooManyClients,
    /// The longest idle connection, closed to make room.
    Evicted,
    /// Nothing sent or read for the idle timeout; the connection is closed.
    IdleTimeout,
    /// A client that does not read at the pace of the cycles; the connection is closed.
    TooSlow,
    /// A view of the cycle could not be built.
    Internal,
    /// The agent had no file descriptor left; the connection is closed.
    OutOfDescriptors,
}

impl ErrorCode {
    /// Every code, in the order the man page lists them (the tests' list).
    #[cfg(test)]
    pub const ALL: [ErrorCode; 13] = [
        ErrorCode::BadRequest,
        ErrorCode::UnknownCommand,
        ErrorCode::BadArgument,
        ErrorCode::UnknownDomain,
        ErrorCode::AmbiguousDomain,
        ErrorCode::CycleFailed,
        ErrorCode::RequestTooLong,
        ErrorCode::TooManyClients,
        ErrorCode::Evicted,
        ErrorCode::IdleTimeout,
        ErrorCode::TooSlow,
        ErrorCode::Internal,
        ErrorCode::OutOfDescriptors,
    ];

    /// The code its wire word names, if any.
    pub fn from_wire(word: &str) -> Option<ErrorCode> {
        let word: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
            word.into_deserializer();
        ErrorCode::deserialize(word).ok()
    }

    /// The code's wire word (the tests' view; the agent writes it through serde).
    #[cfg(test)]
    pub fn wire(self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(word)) => word,
            _ => unreachable!("a unit variant serializes as a string"),
        }
    }
}

/// A request that cannot be answered, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolError {
    pub code: ErrorCode,
    pub message: String,
}

/// The error line: `{"error":{...}}`. `E` is [`ProtocolError`] on the agent's side,
/// and [`Refusal`] for a client, which reads codes it does not know too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorLine<E = ProtocolError> {
    pub error: E,
}

impl ProtocolError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// `{"error":{"code":"...","message":"..."}}` and a newline.
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = Vec::new();
        self.to_line_into(&mut line);
        line
    }

    /// Appends the error line to `out`.
    pub fn to_line_into(&self, out: &mut Vec<u8>) {
        super::write_line(&ErrorLine { error: self }, out);
    }
}

/// An error line as a client reads it: the code `None` when this client does not
/// know it (a newer agent), the message always.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    #[serde(deserialize_with = "known_code")]
    pub code: Option<ErrorCode>,
    pub message: String,
}

fn known_code<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<ErrorCode>, D::Error> {
    let word = String::deserialize(deserializer)?;
    Ok(ErrorCode::from_wire(&word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_snake_case_words_both_ways() {
        for code in ErrorCode::ALL {
            let word = code.wire();
            assert!(
                word.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{word}"
            );
            assert_eq!(ErrorCode::from_wire(&word), Some(code));
        }
        assert_eq!(ErrorCode::from_wire("no_such_code"), None);
        assert_eq!(ErrorCode::UnknownDomain.wire(), "unknown_domain");
    }

    #[test]
    fn error_lines_are_one_json_document_read_back_whole() {
        let error = ProtocolError::new(ErrorCode::UnknownDomain, "no domain \"x\"");
        let line = error.to_line();
        assert_eq!(
            line,
            b"{\"error\":{\"code\":\"unknown_domain\",\"message\":\"no domain \\\"x\\\"\"}}\n"
        );
        let read: ErrorLine = serde_json::from_slice(&line).unwrap();
        assert_eq!(read.error, error);
        let newer = br#"{"error":{"code":"from_the_future","message":"m"}}"#;
        let read: ErrorLine<Refusal> = serde_json::from_slice(newer).unwrap();
        assert_eq!((read.error.code, read.error.message.as_str()), (None, "m"));
        let broken = br#"{"error":{"message":"m"}}"#;
        assert!(serde_json::from_slice::<ErrorLine<Refusal>>(broken).is_err());
    }
}
