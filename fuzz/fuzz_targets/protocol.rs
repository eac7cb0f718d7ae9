//! Socket requests: `virtdiag::query::protocol::parse` on arbitrary bytes.
//!
//! Checks, for every input line:
//! - `parse` never panics, whatever the bytes (not UTF-8, control characters, any
//!   length: the server caps lines at `MAX_REQUEST_BYTES`, the parser must not rely
//!   on it);
//! - blank lines and only blank lines are `Ok(None)`;
//! - whitespace and a `\r` around the line change nothing;
//! - a parsed request is well formed: a `get` target is one non-empty word without
//!   control characters or `=`, and the request written back in canonical form
//!   (`get TARGET format=legacy`) parses to the same request;
//! - an error has one of the documented codes, an unknown command is shown truncated,
//!   and its answer line is one JSON document ending in one newline that carries the
//!   same code and message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use virtdiag::query::protocol::{parse, ErrorCode, ErrorLine, Format, ProtocolError, Request};

fuzz_target!(|line: &[u8]| {
    let parsed = parse(line);

    let mut padded = b" \t".to_vec();
    padded.extend_from_slice(line);
    padded.extend_from_slice(b" \r");
    assert_eq!(
        parse(&padded),
        parsed,
        "surrounding whitespace changed the answer"
    );

    match parsed {
        Ok(None) => {
            let text = std::str::from_utf8(line).expect("a blank line is text");
            assert!(text.trim().is_empty(), "Ok(None) for a non-blank line");
        }
        Ok(Some(request)) => {
            let text = std::str::from_utf8(line).expect("a request is text");
            assert!(!text.trim().chars().any(char::is_control));
            if let Request::Get { target, .. } = &request {
                assert!(!target.is_empty());
                assert!(!target.contains('='));
                assert!(!target.chars().any(|c| c.is_whitespace() || c.is_control()));
                assert!(text.contains(target.as_str()));
            }
            let canonical = canonical(&request);
            assert_eq!(
                parse(canonical.as_bytes()),
                Ok(Some(request)),
                "the canonical line {canonical:?} parses differently"
            );
        }
        Err(error) => check_error(&error),
    }
});

/// The request as a client would write it, every option spelled out.
fn canonical(request: &Request) -> String {
    let format = |f: &Format| match f {
        Format::Json => "json",
        Format::Legacy => "legacy",
        Format::Nova => "nova",
    };
    match request {
        Request::Help => "help".into(),
        Request::Version => "version".into(),
        Request::Status => "status".into(),
        Request::List => "list".into(),
        Request::Metrics => "metrics".into(),
        Request::Events { count } => format!("events {count}"),
        Request::Quit => "quit".into(),
        Request::Get { target, format: f } => format!("get {target} format={}", format(f)),
        Request::All { format: f } => format!("all format={}", format(f)),
        Request::Collect { format: f } => format!("collect format={}", format(f)),
        Request::Watch { format: f } => format!("watch format={}", format(f)),
    }
}

fn check_error(error: &ProtocolError) {
    assert!(
        [
            ErrorCode::BadRequest,
            ErrorCode::BadArgument,
            ErrorCode::UnknownCommand
        ]
        .contains(&error.code),
        "a request's error with the code {:?}",
        error.code
    );
    if error.code == ErrorCode::UnknownCommand {
        // 64 characters of the command, each written escaped in at most 6 (`\u202e`),
        // and the fixed text around them.
        assert!(
            error.message.chars().count() <= 64 * 6 + 40,
            "{}",
            error.message
        );
    }
    let answer = error.to_line();
    assert_eq!(answer.last(), Some(&b'\n'));
    assert_eq!(answer.iter().filter(|&&b| b == b'\n').count(), 1);
    let read: ErrorLine = serde_json::from_slice(&answer).expect("one JSON document");
    assert_eq!(&read.error, error);
}
