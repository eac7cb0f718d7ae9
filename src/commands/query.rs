//! `virtdiag query`: the built-in client of the agent's socket. Raw JSON lines when
//! piped; on a terminal, `list` and `status` in words and units (`human`), the seed's
//! table for legacy records, pretty JSON for the rest, and an error said once.
//! `status --check` hands over to [`check`], the monitoring plugin.

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;

use serde_json::Value;

use super::{check, human};
use crate::cli::{QueryArgs, QueryFormat};
use crate::error::{Error, Result};
use crate::query::protocol;
use crate::views::table;

pub fn run(args: QueryArgs) -> Result<()> {
    if args.check {
        check(&args);
    }
    let request = with_format(&args.command, args.format)?;
    let table = args.format == Some(QueryFormat::Table);
    if request.contains('\n') {
        return Err(Error::Usage("a query is one line".into()));
    }
    // The agent answers a malformed request with an error line; only a well-formed
    // request can promise an end line.
    let needs_end = matches!(
        protocol::parse(request.as_bytes()),
        Ok(Some(parsed)) if parsed.answer_ends_with_end_line()
    );
    let socket = args.socket.display();
    let mut stream = UnixStream::connect(&args.socket)
        .map_err(|e| Error::Unavailable(format!("cannot connect to the agent at {socket}: {e}")))?;
    stream
        .write_all(format!("{request}\n").as_bytes())
        .and_then(|()| stream.shutdown(Shutdown::Write))
        .map_err(|e| Error::Unavailable(format!("cannot send to the agent at {socket}: {e}")))?;

    let pretty = !args.raw && std::io::stdout().is_terminal();
    let mut stdout = std::io::stdout().lock();
    let mut failed = None;
    let mut ended = false;
    for line in BufReader::new(stream).split(b'\n') {
        let line =
            line.map_err(|e| Error::Io(format!("reading from the agent at {socket}: {e}")))?;
        let line = String::from_utf8_lossy(&line);
        let value: Option<Value> = serde_json::from_str(&line).ok();
        if let Some(error) = value.as_ref().and_then(|v| v.get("error")) {
            failed = Some(error["message"].as_str().unwrap_or("error").to_string());
            if pretty {
                // Said once, on stderr, by the caller.
                continue;
            }
        }
        ended = value.as_ref().and_then(|v| v.get("kind")) == Some(&Value::from("end"));
        let text = match (&value, pretty) {
            (Some(v), true) => render(v),
            (Some(v), false) if table && v.get("diagnostics").is_some() => render(v),
            (None, true) => format!("{}\n", human::text_safe(&line)),
            _ => format!("{line}\n"),
        };
        if let Err(e) = stdout.write_all(text.as_bytes()) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(());
            }
            return Err(Error::Io(format!("cannot write to stdout: {e}")));
        }
    }
    if pretty && failed.is_none() {
        if let Some(note) = disconnected_note(&args) {
            let _ = stdout.write_all(note.as_bytes());
        }
    }
    match failed {
        Some(message) => Err(Error::Data(format!(
            "the agent answered: {}",
            human::text_safe(&message)
        ))),
        None if needs_end && !ended => Err(Error::Io(format!(
            "the answer from {socket} was cut short (no end line): the agent closed the \
             connection early; see its log, and try again"
        ))),
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
    let text = check::ask_status(&args.socket).ok()?;
    let status: Value = serde_json::from_str(text.lines().next()?).ok()?;
    if status["connected"].as_bool()? {
        return None;
    }
    Some(format!(
        "libvirt DISCONNECTED at {}: {}; these are the domains of the last connected cycle, \
         if any\n",
        human::text_safe(status["uri"].as_str().unwrap_or("?")),
        human::text_safe(
            status["disconnect_reason"]
                .as_str()
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
        return Err(Error::Usage(format!(
            "--format goes with get, all, collect and watch, not '{}'",
            human::text_safe(&command)
        )));
    }
    if words
        .iter()
        .any(|w| w.to_ascii_lowercase().starts_with("format="))
    {
        return Err(Error::Usage(
            "give the format once: --format or format=, not both".into(),
        ));
    }
    let word = match format {
        QueryFormat::Json => "json",
        QueryFormat::Legacy | QueryFormat::Table => "legacy",
        QueryFormat::Nova => "nova",
    };
    Ok(format!("{} format={word}", words.join(" ")))
}

/// `status --check`: prints the verdict's line and exits with the plugin's code, which
/// the sysexits codes of [`Error`] cannot carry.
fn check(args: &QueryArgs) -> ! {
    let verdict = match args.command.as_slice() {
        [word] if word.eq_ignore_ascii_case("status") => check::check(&args.socket),
        _ => check::Verdict {
            state: check::State::Unknown,
            line: "VIRTDIAG UNKNOWN - --check goes with the status request only".into(),
        },
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", verdict.line).and_then(|()| stdout.flush());
    std::process::exit(verdict.state as i32)
}

/// A line for a person: `list` and `status` in words and units, legacy records as the
/// seed's table, everything else pretty JSON; never a raw control character.
fn render(value: &Value) -> String {
    if let Some(text) = human::render(value) {
        return text;
    }
    if let (Some(name), Some(diagnostics)) = (
        value.get("domain").and_then(Value::as_str),
        value.get("diagnostics").and_then(Value::as_object),
    ) {
        return human::text_safe(&format!("Domain: {name}\n{}", table::render(diagnostics)));
    }
    let mut text = human::json_safe(&serde_json::to_string_pretty(value).unwrap_or_default());
    text.push('\n');
    text
}
