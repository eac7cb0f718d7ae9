//! What `virtdiag query` and `once` print for a person at a terminal: `list` and
//! `help` as tables, `status` as labelled lines with units, the domains of `all` and
//! `once` as a table ([`host_table`]), one domain of `get` as a grouped view
//! ([`domain_view`]), pretty JSON in the record's own key order ([`pretty_json`]),
//! and the guard that keeps control characters (escape sequences, C1 codes) from
//! reaching the terminal raw. Pure.

pub mod answer;
pub mod domain_view;
pub mod host_table;
pub mod pretty_json;

use serde_json::Value;

use crate::query::protocol::{Help, Line, List, Status};

use super::top::model::bytes;
pub use crate::escape::{json_safe, printable, text_safe};

/// The answer line for a person, or `None` when it has no human form here (or is not
/// what the protocol says a line of its kind is).
pub fn render(line: &Value) -> Option<String> {
    match Line::from_value(line).ok()? {
        Line::List(answer) => Some(list(&answer)),
        Line::Status(answer) => Some(status(&answer)),
        _ => None,
    }
}

/// The lines of a `help` answer as two columns, command and description.
pub fn help(lines: &[Help]) -> String {
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|help| vec![printable(&help.command), printable(&help.description)])
        .collect();
    columns(&["REQUEST", "WHAT IT ANSWERS"], &rows, &[])
}

/// Rows of cells as columns two spaces apart, each as wide as its widest cell (the
/// title included); the columns whose index is in `right` are aligned right. The
/// last column is not padded. Cells must already be printable.
pub fn columns(titles: &[&str], rows: &[Vec<String>], right: &[usize]) -> String {
    let width = |i: usize| {
        rows.iter()
            .filter_map(|r| r.get(i))
            .map(|c| c.chars().count())
            .chain([titles[i].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..titles.len()).map(width).collect();
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            if i > 0 {
                text.push_str("  ");
            }
            if right.contains(&i) {
                text.push_str(&" ".repeat(pad));
                text.push_str(cell);
            } else {
                text.push_str(cell);
                if i + 1 < titles.len() {
                    text.push_str(&" ".repeat(pad));
                }
            }
        }
        text.push('\n');
        text
    };
    let mut out = line(&mut titles.iter().copied());
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

fn list(answer: &List) -> String {
    let rows: Vec<Vec<String>> = answer
        .domains
        .iter()
        .map(|d| {
            vec![
                printable(&d.name),
                printable(&d.state),
                d.id.map_or_else(|| "-".into(), |id| id.to_string()),
                printable(&d.uuid),
            ]
        })
        .collect();
    let mut out = columns(&["NAME", "STATE", "ID", "UUID"], &rows, &[2]);
    out.push_str(&format!("{} domains, cycle {}\n", rows.len(), answer.seq));
    out
}

/// Bytes as `512 B`, `4.8 MiB`.
pub fn size(value: u64) -> String {
    let short = bytes(value as f64);
    match short.strip_suffix(|c: char| c.is_ascii_alphabetic()) {
        Some(number) => format!("{number} {}iB", &short[number.len()..]),
        None => format!("{short} B"),
    }
}

/// Seconds as `45 s`, `12 min 3 s`, `5 h 2 min`, `3 d 4 h`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    match s {
        0..=59 => format!("{seconds:.1} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

fn status(s: &Status) -> String {
    let mut out = Vec::new();
    out.push(format!(
        "agent       virtdiag {}, pid {}, up {}",
        s.version,
        s.pid,
        duration(s.uptime_s as f64)
    ));
    let libvirt = if s.connected {
        "connected".to_string()
    } else {
        format!(
            "DISCONNECTED: {}",
            s.disconnect_reason
                .as_deref()
                .unwrap_or("not yet connected")
        )
    };
    out.push(format!("libvirt     {} {libvirt}", s.uri));
    out.push(match &s.last_cycle {
        Some(last) => format!(
            "last cycle  {}: {} ago, took {:.1} ms; {} domains ({} active), {} missing \
             fields, {} abandoned calls{}",
            last.seq,
            duration(last.age_s),
            last.duration_ms,
            last.domains,
            last.active,
            last.missing_fields,
            last.abandoned_calls,
            last.error
                .as_deref()
                .map(|e| format!("; failed: {e}"))
                .unwrap_or_default()
        ),
        None => "last cycle  none yet".into(),
    });
    out.push(format!(
        "cycles      {} every {} s, {} ticks skipped",
        s.cycles, s.interval_seconds, s.skipped_ticks
    ));
    let spool = &s.spool.stats;
    out.push(format!(
        "spool       {}: {}, {} lines written, {} lost, {} rotations{}",
        s.spool.path.display(),
        size(spool.bytes),
        spool.lines_written,
        spool.lines_lost,
        spool.rotations,
        spool
            .last_error
            .as_deref()
            .map(|e| format!("; last error: {e}"))
            .unwrap_or_default()
    ));
    let clients = &s.clients;
    out.push(format!(
        "clients     {} connected of {}, {} watching; {} refused, {} dropped; answers in \
         flight {} of {}",
        clients.connected,
        clients.max,
        clients.watching,
        clients.counters.refused,
        clients.counters.dropped,
        size(clients.bytes_in_flight),
        size(clients.budget_bytes)
    ));
    let textfile = &s.textfile;
    if !textfile.path.as_os_str().is_empty() {
        out.push(format!(
            "textfile    {}: {} written, {} errors ({} in a row){}",
            textfile.path.display(),
            textfile.written,
            textfile.errors,
            textfile.consecutive_errors,
            textfile
                .last_error
                .as_deref()
                .map(|e| format!("; last error: {e}"))
                .unwrap_or_default()
        ));
    }
    if s.log.dropped > 0 {
        out.push(format!(
            "log         {} lines dropped while the log's reader did not keep up",
            s.log.dropped
        ));
    }
    if !s.restart_needed.is_empty() {
        out.push(format!(
            "restart     needed for {} (changed by a reload; the running values stay)",
            s.restart_needed.join(", ")
        ));
    }
    let events = &s.events;
    out.push(format!(
        "events      {} received, {} written, {} dropped, {} suppressed",
        events.received, events.written, events.dropped, events.suppressed
    ));
    let mut text = out
        .iter()
        .map(|l| printable(l))
        .collect::<Vec<_>>()
        .join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_is_a_table_with_state_and_id() {
        let line = json!({"kind": "list", "seq": 9, "count": 2, "domains": [
            {"name": "db-primary", "uuid": "u-1", "id": 2, "state": "running",
                "reason": "booted"},
            {"name": "spare\u{1b}]0;x", "uuid": "u-2", "id": null, "state": "shutoff",
                "reason": "unknown"}]});
        assert_eq!(
            render(&line).unwrap(),
            "NAME           STATE    ID  UUID\n\
             db-primary     running   2  u-1\n\
             spare\\x1b]0;x  shutoff   -  u-2\n\
             2 domains, cycle 9\n"
        );
    }

    #[test]
    fn status_in_words_and_units() {
        let line = serde_json::to_value(crate::query::protocol::status::tests::example()).unwrap();
        let text = render(&line).unwrap();
        assert!(
            text.starts_with("agent       virtdiag 0.1.0, pid 7, up 1 h 2 min\n"),
            "{text}"
        );
        assert!(
            text.contains("libvirt     qemu:///system DISCONNECTED: no libvirtd\n"),
            "{text}"
        );
        assert!(
            text.contains("last cycle  372: 2.5 s ago, took 12.3 ms; 4 domains (3 active)"),
            "{text}"
        );
        assert!(text.contains("; failed: disconnected\n"), "{text}");
        assert!(
            text.contains("answers in flight 1.0 MiB of 32 MiB\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "textfile    /var/lib/prometheus/node-exporter/virtdiag.prom: 5 written, 2 \
                 errors (2 in a row); last error: Operation not permitted\n"
            ),
            "{text}"
        );
        assert!(
            !text.contains("log  "),
            "nothing dropped, nothing said: {text}"
        );
        assert!(
            text.contains("restart     needed for socket.path"),
            "{text}"
        );
        assert!(
            text.contains("diagnostics.ndjson: 4.8 MiB, 1860 lines written, 0 lost"),
            "{text}"
        );
        assert_eq!(render(&json!({"kind": "version"})), None);
    }

    #[test]
    fn a_status_missing_a_field_has_no_human_form() {
        let mut line =
            serde_json::to_value(crate::query::protocol::status::tests::example()).unwrap();
        line.as_object_mut().unwrap().remove("uri");
        assert_eq!(render(&line), None);
    }
}
