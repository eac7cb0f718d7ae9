//! `virtdiag once`: two samples a short interval apart, printed in the chosen format;
//! on a terminal, unless a format is named, as the host table with units
//! ([`human::host_table`]).

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use super::failure::{Answered, Libvirt, Usage};
use super::human;
use super::top::model::Row;
use crate::cli::{Format, OnceArgs};
use crate::collect::filter::Selector;
use crate::collect::{Collector, CollectorConfig, DomainFilter};
use crate::error::{Error, Result};
use crate::query::answers;
use crate::record::json::write_domain_line;
use crate::record::DomainRecord;
use crate::views::{legacy, nova, prometheus, table};

pub fn run(args: OnceArgs) -> Result<()> {
    // Refused before libvirt is asked anything.
    let wanted = Selector::parse_all(&args.domains).map_err(Usage::Domain)?;
    let mut collector = Collector::new(CollectorConfig {
        uri: args.uri.clone(),
        read_only: !args.read_write,
        host: args
            .host
            .clone()
            .unwrap_or_else(crate::host::local_hostname),
        // Every domain: a selection by Nova display name needs the inventory, and an
        // id or name needs the whole host to apply the rule's order.
        filter: DomainFilter::default(),
        groups: crate::collect::stats::Group::all_bits(),
    });
    collector.connect().map_err(|e| {
        let advice = crate::libvirt::errors::connect_advice(&args.uri, &e);
        Libvirt::Connect {
            uri: args.uri.clone(),
            error: e.to_string(),
            advice,
        }
    })?;
    collector.collect();
    std::thread::sleep(Duration::from_secs_f64(args.sample_interval));
    let snapshot = collector.collect();
    if let Some(error) = &snapshot.cycle.error {
        return Err(Libvirt::Collection {
            uri: args.uri.clone(),
            error: error.to_string(),
        }
        .into());
    }
    let records = selected(&snapshot.records, &wanted, &args.uri)?;
    let records = &records;
    let terminal = std::io::stdout().is_terminal();
    let for_a_person = args.format.is_none() && terminal;
    let format = args.format.unwrap_or(Format::Json);
    let out = match format {
        Format::Json if for_a_person => {
            let rows: Vec<Row> = records.iter().map(|r| Row::from_domain(r)).collect();
            let footer = format!(
                ", cycle {} on {}, {} s between the samples",
                snapshot.seq, snapshot.cycle.host, args.sample_interval
            );
            human::host_table::render(&rows, &human::text_safe(&footer)).into_bytes()
        }
        Format::Json => each(records, write_domain_line),
        Format::Legacy => each(records, |r, out| {
            answers::line(&legacy::Envelope::new(r, legacy::diagnostics(r)), out)
        }),
        Format::Nova => each(records, |r, out| {
            answers::line(&legacy::Envelope::new(r, nova::diagnostics(r)), out)
        }),
        Format::Table => each(records, |r, out| {
            let text = format!(
                "Domain: {}\n{}\n",
                r.domain.name,
                table::render(&legacy::diagnostics(r))
            );
            out.extend_from_slice(human::text_safe(&text).as_bytes());
        }),
        Format::Prometheus => {
            let health = prometheus::Health::from_cycle(&snapshot.cycle);
            prometheus::exposition(records, snapshot.cycle.node.as_ref(), &health)
        }
    };
    if terminal && !for_a_person {
        return print(&on_terminal(format, out));
    }
    print(&out)
}

/// A format's text as a terminal may show it: the same JSON with `\u009b`-style
/// escapes, text with `\x9b`-style ones (the table is escaped already).
fn on_terminal(format: Format, out: Vec<u8>) -> Vec<u8> {
    let text = String::from_utf8_lossy(&out);
    match format {
        Format::Json | Format::Legacy | Format::Nova => {
            human::json_safe(&text).into_owned().into_bytes()
        }
        Format::Prometheus => human::text_safe(&text).into_bytes(),
        Format::Table => out,
    }
}

/// The records `wanted` names by the selection rule (`collect::filter`), in the
/// host's order, each once; every record when nothing is wanted. A string that names
/// no domain is an error (65, as an unknown domain is for `query get`).
fn selected(
    records: &[Arc<DomainRecord>],
    wanted: &[Selector],
    uri: &str,
) -> Result<Vec<Arc<DomainRecord>>> {
    if wanted.is_empty() {
        return Ok(records.to_vec());
    }
    let mut chosen = vec![false; records.len()];
    for selector in wanted {
        let found = selector.resolve(records.iter().map(|r| answers::candidate(r)));
        if found.is_empty() {
            return Err(Answered::NoDomain {
                pattern: human::text_safe(selector.text()),
                reading: selector.reading(),
                uri: uri.to_string(),
            }
            .into());
        }
        for index in found {
            chosen[index] = true;
        }
    }
    Ok(records
        .iter()
        .zip(chosen)
        .filter(|(_, chosen)| *chosen)
        .map(|(record, _)| Arc::clone(record))
        .collect())
}

/// Every record, each written by `write`.
fn each(records: &[Arc<DomainRecord>], write: impl Fn(&DomainRecord, &mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    for record in records {
        write(record, &mut out);
    }
    out
}

/// Writes to stdout; a reader that went away is not an error.
fn print(out: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(out).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Stdout(e)),
    }
}
