//! Requests, pure: a request line in, a typed [`Request`] or a [`ProtocolError`] out,
//! and the commands as `help` lists them.

use super::{ErrorCode, ProtocolError, DEFAULT_EVENTS, MAX_EVENTS};
use crate::escape::printable;

/// How records are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The record itself (docs/record.md).
    Json,
    /// The flat dictionary of Nova's original get_diagnostics (2012):
    /// `{"domain","uuid","diagnostics"}`.
    Legacy,
    /// Nova's server diagnostics (API 2.48): `{"domain","uuid","diagnostics"}`.
    Nova,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Help,
    Version,
    Status,
    List,
    Get {
        target: String,
        format: Format,
    },
    All {
        format: Format,
    },
    Collect {
        format: Format,
    },
    Watch {
        format: Format,
    },
    Events {
        count: usize,
    },
    /// The Prometheus text exposition of the latest snapshot, then `# EOF`.
    Metrics,
    Quit,
}

impl Request {
    /// Whether the answer closes with `{"kind":"end",...}`: an answer of this request
    /// without it was cut short.
    pub fn answer_ends_with_end_line(&self) -> bool {
        matches!(
            self,
            Request::Help | Request::All { .. } | Request::Collect { .. } | Request::Events { .. }
        )
    }
}

/// The commands and their one-line descriptions, as `help` lists them.
pub const COMMANDS: [(&str, &str); 11] = [
    ("help", "list the commands"),
    ("version", "the agent's version and record schema"),
    (
        "status",
        "agent health: libvirt connection, last cycle, spool, clients",
    ),
    ("list", "name, uuid, id and state of every domain"),
    (
        "get DOMAIN [format=json|legacy|nova]",
        "the latest record of the one domain a UUID, id, name, glob or Nova display name names",
    ),
    (
        "all [format=json|legacy|nova]",
        "every latest record, one per line, then {\"kind\":\"end\",\"count\":N}",
    ),
    (
        "collect [format=json|legacy|nova]",
        "run a cycle now and answer with its records, then an end line",
    ),
    (
        "watch [format=json|legacy|nova]",
        "stream every new cycle's records and cycle line until the client goes away",
    ),
    (
        "events [N]",
        "the last N domain event lines (default 100, at most 1000), then an end line",
    ),
    (
        "metrics",
        "the latest snapshot in the Prometheus text exposition format 0.0.4, then # EOF",
    ),
    ("quit", "close the connection"),
];

/// Parses one request line (without its newline). `Ok(None)` for a blank line.
pub fn parse(line: &[u8]) -> Result<Option<Request>, ProtocolError> {
    let text = std::str::from_utf8(line)
        .map_err(|_| ProtocolError::new(ErrorCode::BadRequest, "the request is not UTF-8 text"))?;
    let text = text.trim_end_matches('\r').trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().any(char::is_control) {
        return Err(ProtocolError::new(
            ErrorCode::BadRequest,
            "the request contains control characters",
        ));
    }
    let mut words = text.split_whitespace();
    let command = words.next().unwrap_or_default();
    let args: Vec<&str> = words.collect();
    let request =
        match command.to_ascii_lowercase().as_str() {
            "help" => no_args(command, &args, Request::Help)?,
            "version" => no_args(command, &args, Request::Version)?,
            "status" => no_args(command, &args, Request::Status)?,
            "list" => no_args(command, &args, Request::List)?,
            "metrics" => no_args(command, &args, Request::Metrics)?,
            "quit" | "exit" => no_args(command, &args, Request::Quit)?,
            "get" => {
                let (positional, format) = split_format(&args)?;
                match positional.as_slice() {
                    [target] => Request::Get {
                        target: target.to_string(),
                        format,
                    },
                    [] => {
                        return Err(ProtocolError::new(
                            ErrorCode::BadArgument,
                            "get needs a domain: get UUID|ID|NAME|GLOB",
                        ))
                    }
                    _ => return Err(ProtocolError::new(
                        ErrorCode::BadArgument,
                        "get takes one domain (names with spaces are not supported: use the UUID)",
                    )),
                }
            }
            "all" => Request::All {
                format: only_format(command, &args)?,
            },
            "collect" => Request::Collect {
                format: only_format(command, &args)?,
            },
            "watch" => Request::Watch {
                format: only_format(command, &args)?,
            },
            "events" => Request::Events {
                count: match args.as_slice() {
                    [] => DEFAULT_EVENTS,
                    [count] => count
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=MAX_EVENTS).contains(n))
                        .ok_or_else(|| {
                            ProtocolError::new(
                                ErrorCode::BadArgument,
                                format!("events takes a count from 1 to {MAX_EVENTS}"),
                            )
                        })?,
                    _ => {
                        return Err(ProtocolError::new(
                            ErrorCode::BadArgument,
                            "events takes one count",
                        ))
                    }
                },
            },
            _ => {
                let shown = printable(&command.chars().take(64).collect::<String>());
                return Err(ProtocolError::new(
                    ErrorCode::UnknownCommand,
                    format!("unknown command '{shown}'; try 'help'"),
                ));
            }
        };
    Ok(Some(request))
}

fn no_args(command: &str, args: &[&str], request: Request) -> Result<Request, ProtocolError> {
    if args.is_empty() {
        Ok(request)
    } else {
        Err(ProtocolError::new(
            ErrorCode::BadArgument,
            format!("{command} takes no arguments"),
        ))
    }
}

fn only_format(command: &str, args: &[&str]) -> Result<Format, ProtocolError> {
    let (positional, format) = split_format(args)?;
    if positional.is_empty() {
        Ok(format)
    } else {
        Err(ProtocolError::new(
            ErrorCode::BadArgument,
            format!("{command} takes only format=json|legacy|nova"),
        ))
    }
}

fn split_format<'a>(args: &[&'a str]) -> Result<(Vec<&'a str>, Format), ProtocolError> {
    let mut format = Format::Json;
    let mut positional = Vec::new();
    for arg in args {
        match arg.split_once('=') {
            Some(("format", "json")) => format = Format::Json,
            Some(("format", "legacy")) => format = Format::Legacy,
            Some(("format", "nova")) => format = Format::Nova,
            Some(("format", other)) => {
                return Err(ProtocolError::new(
                    ErrorCode::BadArgument,
                    format!(
                        "unknown format '{}': json, legacy or nova",
                        printable(other)
                    ),
                ))
            }
            Some((key, _)) => {
                return Err(ProtocolError::new(
                    ErrorCode::BadArgument,
                    format!("unknown option '{}'", printable(key)),
                ))
            }
            None => positional.push(*arg),
        }
    }
    Ok((positional, format))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::protocol::ErrorLine;

    fn ok(line: &str) -> Request {
        parse(line.as_bytes()).unwrap().unwrap()
    }

    fn err(line: &[u8]) -> ProtocolError {
        parse(line).unwrap_err()
    }

    /// A word of the request echoed in an error reaches whatever shows the error raw
    /// (socat on a terminal): bidi overrides in it are written escaped.
    #[test]
    fn echoed_words_are_escaped() {
        let override_ = "\u{202e}";
        for (line, word) in [
            (format!("frob{override_}"), "frob\\u202e"),
            (format!("all format=x{override_}"), "x\\u202e"),
            (format!("all o{override_}=1"), "o\\u202e"),
        ] {
            let error = err(line.as_bytes());
            assert!(!error.message.contains(override_), "{:?}", error.message);
            assert!(error.message.contains(word), "{:?}", error.message);
        }
    }

    #[test]
    fn parses_every_command() {
        assert_eq!(ok("help"), Request::Help);
        assert_eq!(ok("VERSION"), Request::Version);
        assert_eq!(ok("  status \r"), Request::Status);
        assert_eq!(ok("list"), Request::List);
        assert_eq!(ok("metrics"), Request::Metrics);
        assert_eq!(
            ok("all format=nova"),
            Request::All {
                format: Format::Nova
            }
        );
        assert_eq!(ok("quit"), Request::Quit);
        assert_eq!(
            ok("get web-1"),
            Request::Get {
                target: "web-1".into(),
                format: Format::Json
            }
        );
        assert_eq!(
            ok("get 7 format=legacy"),
            Request::Get {
                target: "7".into(),
                format: Format::Legacy
            }
        );
        assert_eq!(
            ok("all format=legacy"),
            Request::All {
                format: Format::Legacy
            }
        );
        assert_eq!(
            ok("collect"),
            Request::Collect {
                format: Format::Json
            }
        );
        assert_eq!(
            ok("watch"),
            Request::Watch {
                format: Format::Json
            }
        );
        assert_eq!(parse(b"   ").unwrap(), None);
    }

    #[test]
    fn errors_have_codes_and_say_what_was_wrong() {
        assert_eq!(err(b"frobnicate").code, ErrorCode::UnknownCommand);
        assert!(err(b"frobnicate").message.contains("frobnicate"));
        assert_eq!(err(b"get").code, ErrorCode::BadArgument);
        assert_eq!(err(b"get a b").code, ErrorCode::BadArgument);
        assert_eq!(err(b"get a format=xml").code, ErrorCode::BadArgument);
        assert_eq!(err(b"all verbose=1").code, ErrorCode::BadArgument);
        assert_eq!(err(b"status now").code, ErrorCode::BadArgument);
        assert_eq!(err(b"metrics format=nova").code, ErrorCode::BadArgument);
        assert_eq!(err(b"\xff\xfe").code, ErrorCode::BadRequest);
        assert_eq!(err(b"get \x01x").code, ErrorCode::BadRequest);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_errors_stay_one_line() {
        // A deterministic xorshift stream: the same inputs every run.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let words: [&[u8]; 6] = [
            b"get ",
            b"all ",
            b"format=",
            b"legacy",
            b"watch",
            b"\xc3\xa9",
        ];
        for _ in 0..20_000 {
            let len = (next() % 64) as usize;
            let mut line = Vec::with_capacity(len + 8);
            while line.len() < len {
                let r = next();
                if r % 4 == 0 {
                    line.extend_from_slice(words[(r >> 8) as usize % words.len()]);
                } else {
                    line.push((r >> 16) as u8);
                }
            }
            line.retain(|&b| b != b'\n');
            if let Err(e) = parse(&line) {
                let text = e.to_line();
                assert_eq!(text.iter().filter(|&&b| b == b'\n').count(), 1);
                let read: ErrorLine = serde_json::from_slice(&text).unwrap();
                assert_eq!(read.error, e);
            }
        }
    }

    #[test]
    fn an_unknown_command_is_shown_truncated() {
        let long = "x".repeat(1000);
        assert!(err(long.as_bytes()).message.len() < 200);
    }
}
