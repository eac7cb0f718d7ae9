//! `virtdiag query`: the built-in client of the agent's socket. Raw JSON lines when
//! piped; on a terminal, the answer for a person ([`human::answer`]: tables with
//! units, the grouped view of one domain, the original Property | Value table for
//! legacy records, JSON indented in its own key order for the rest), and an error
//! said once.
//! `status --check` hands over to [`check`], the monitoring plugin.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use serde_json::Value;

use super::client::Failure;
use super::failure::{Answered, Usage};
use super::{check, client, human};
use crate::cli::{QueryArgs, QueryFormat};
use crate::error::{Error, Result};
use crate::query::protocol::{self, Kind, Line};

pub fn run(args: QueryArgs) -> Result<()> {
    if args.check {
        check(&args);
    }
    let request = with_format(&args.command, args.format)?;
    let table = args.format == Some(QueryFormat::Table);
    if request.contains('\n') {
        return Err(Usage::QueryLines.into());
    }
    // The agent answers a malformed request with an error line; only a well-formed
    // request can promise an end line.
    let parsed = protocol::parse(request.as_bytes()).ok().flatten();
    let needs_end = parsed
        .as_ref()
        .is_some_and(protocol::Request::answer_ends_with_end_line);
    // `metrics` (Prometheus text) ends with its trailer instead.
    let metrics = matches!(parsed, Some(protocol::Request::Metrics));
    let socket = &args.agent.socket;
    let mut limits = args.agent.limits();
    if let Some(protocol::Request::Collect { .. }) = parsed {
        // The answer waits for a cycle: the one running, then its own.
        limits.timeout += 2 * crate::collect::CALL_TIMEOUT;
    }
    // A stream may be silent between cycles, for three of the agent's intervals.
    let silence = match parsed {
        Some(protocol::Request::Watch { .. }) => Some(watch_silence(socket, limits)?),
        _ => None,
    };
    let mut connection = client::connect(socket, limits)?;
    connection.send(&request, true)?;
    if let Some(silence) = silence {
        connection.streaming(silence);
    }

    let terminal = std::io::stdout().is_terminal();
    let pretty = !args.raw && terminal;
    let mut answer = human::answer::Answer::new(parsed.as_ref());
    let mut stdout = std::io::stdout().lock();
    let mut failed = None;
    let mut ended = false;
    // What a person's view holds back until a cycle or the end closes it.
    let mut held = 0u64;
    loop {
        let line = match connection.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(failure) if failure.kind == client::Kind::Silent => {
                // The interval may have grown (a reload): ask again before giving up.
                match watch_silence(socket, limits) {
                    Ok(longer) if Some(longer) > connection.silence() => {
                        connection.streaming(longer);
                        continue;
                    }
                    _ => return Err(failure.into()),
                }
            }
            Err(failure) => return Err(failure.into()),
        };
        let line = String::from_utf8_lossy(line);
        let value: Option<Value> = serde_json::from_str(&line).ok();
        // A line of a kind the protocol describes must be one (a record is the
        // record's own reader's).
        let read = match value.as_ref().map(Line::from_value).transpose() {
            Ok(read) => read,
            Err(e) => {
                return Err(Failure::answer(
                    socket,
                    "a broken answer from the agent",
                    human::text_safe(&e.to_string()),
                )
                .into())
            }
        };
        if let Some(Line::Error(refusal)) = &read {
            failed = Some(refusal.message.clone());
            if pretty {
                // Said once, on stderr, by the caller.
                continue;
            }
        }
        ended = matches!(read, Some(Line::End(_)))
            || (metrics && line == protocol::METRICS_END.trim_end());
        held = if ended || read == Some(Line::Other(Kind::Cycle)) {
            0
        } else {
            held + line.len() as u64
        };
        if pretty && held > limits.max_answer_bytes {
            return Err(Failure::answer(
                socket,
                "records without end from the agent",
                format!(
                    "more than {} bytes (--max-answer-bytes) of records without a cycle or \
                     end line to close them: is --socket the agent's socket?",
                    limits.max_answer_bytes
                ),
            )
            .into());
        }
        let text = match (&value, pretty) {
            (Some(v), true) => answer.line(&line, v, read.as_ref().unwrap_or(&Line::Untagged)),
            (Some(v), false) if table && read == Some(Line::Untagged) => {
                human::answer::one_line(&line, v)
            }
            (None, true) => format!("{}\n", human::text_safe(&line)),
            // Raw on a terminal: the same JSON, with nothing a terminal obeys.
            (Some(_), false) if terminal => format!("{}\n", human::json_safe(&line)),
            (None, false) if terminal => format!("{}\n", human::text_safe(&line)),
            _ => format!("{line}\n"),
        };
        if !write(&mut stdout, &text)? {
            return Ok(());
        }
    }
    if pretty && !write(&mut stdout, &answer.finish())? {
        return Ok(());
    }
    if pretty && failed.is_none() {
        if let Some(note) = disconnected_note(&args) {
            let _ = stdout.write_all(note.as_bytes());
        }
    }
    match failed {
        Some(message) => Err(Answered::Refused(human::text_safe(&message)).into()),
        None if (needs_end || metrics) && !ended => Err(Failure::answer(
            socket,
            "the answer was cut short",
            format!(
                "no {}: the agent closed the connection early; see its log, and try again",
                if metrics {
                    protocol::METRICS_END.trim_end()
                } else {
                    "end line"
                }
            ),
        )
        .into()),
        None => Ok(()),
    }
}

/// After `list` or `all` on a terminal, a line saying that libvirt is disconnected,
/// when it is: without it an empty list reads as a host without guests.
fn disconnected_note(args: &QueryArgs) -> Option<String> {
    let command = args.command.first()?.to_ascii_lowercase();
    if !matches!(command.as_str(), "list" | "all") {
        return None;
    }
    let text = check::ask_status(&args.agent.socket, args.agent.limits()).ok()?;
    let status = check::read_status(&text).ok()?;
    if status.connected {
        return None;
    }
    Some(format!(
        "libvirt DISCONNECTED at {}: {}; these are the domains of the last connected cycle, \
         if any\n",
        human::text_safe(&status.uri),
        human::text_safe(
            status
                .disconnect_reason
                .as_deref()
                .unwrap_or("not yet connected")
        )
    ))
}

/// The request line: the words, and `format=...` when `--format` asks for one.
fn with_format(words: &[String], format: Option<QueryFormat>) -> Result<String> {
    let Some(format) = format else {
        return Ok(words.join(" "));
    };
    let command = words
        .first()
        .map(|w| w.to_ascii_lowercase())
        .unwrap_or_default();
    if !matches!(command.as_str(), "get" | "all" | "collect" | "watch") {
        return Err(Usage::FormatWith(human::text_safe(&command)).into());
    }
    if words
        .iter()
        .any(|w| w.to_ascii_lowercase().starts_with("format="))
    {
        return Err(Usage::FormatTwice.into());
    }
    let word = match format {
        QueryFormat::Json => "json",
        QueryFormat::Legacy | QueryFormat::Table => "legacy",
        QueryFormat::Nova => "nova",
    };
    Ok(format!("{} format={word}", words.join(" ")))
}

/// How long `watch` may be silent: learnt from the agent's `status`.
fn watch_silence(socket: &std::path::Path, limits: client::Limits) -> Result<Duration> {
    let text = check::ask_status(socket, limits)?;
    let status = check::read_status(&text).map_err(|why| {
        Failure::answer(
            socket,
            "no status in the agent's answer to status",
            format!(
                "{}; is --socket the agent's socket?",
                human::text_safe(&why.to_string())
            ),
        )
    })?;
    Ok(client::silence_limit(status.interval_seconds, &limits))
}

/// `status --check`: prints the verdict's line and exits with the plugin's code, which
/// the sysexits codes of [`Error`] cannot carry.
fn check(args: &QueryArgs) -> ! {
    let verdict = match args.command.as_slice() {
        [word] if word.eq_ignore_ascii_case("status") => {
            check::check(&args.agent.socket, args.agent.limits())
        }
        _ => check::Verdict {
            state: check::State::Unknown,
            line: "VIRTDIAG UNKNOWN - --check goes with the status request only".into(),
        },
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", verdict.line).and_then(|()| stdout.flush());
    std::process::exit(verdict.state as i32)
}

/// Writes `text`; `Ok(false)` when the reader went away (not an error).
fn write(stdout: &mut impl Write, text: &str) -> Result<bool> {
    match stdout.write_all(text.as_bytes()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(Error::Stdout(e)),
    }
}
