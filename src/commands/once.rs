//! `virtdiag once`: two samples a short interval apart, printed in the chosen format.

use std::io::Write;
use std::time::Duration;

use crate::cli::{Format, OnceArgs};
use crate::collect::{Collector, CollectorConfig, DomainFilter};
use crate::error::{Error, Result};
use crate::views::{legacy, table};

pub fn run(args: OnceArgs) -> Result<()> {
    let mut collector = Collector::new(CollectorConfig {
        uri: args.uri.clone(),
        read_only: !args.read_write,
        host: args
            .host
            .clone()
            .unwrap_or_else(crate::host::local_hostname),
        filter: DomainFilter {
            include: args.domains.clone(),
            exclude: Vec::new(),
        },
    });
    collector.connect().map_err(|e| {
        Error::Unavailable(format!("cannot connect to libvirt at {}: {e}", args.uri))
    })?;
    collector.collect();
    std::thread::sleep(Duration::from_secs_f64(args.sample_interval));
    let snapshot = collector.collect();
    if let Some(error) = &snapshot.cycle.error {
        return Err(Error::Unavailable(format!(
            "collection from {} failed: {error}",
            args.uri
        )));
    }
    for wanted in &args.domains {
        let found = snapshot
            .records
            .iter()
            .any(|r| &*r.domain.name == wanted || r.domain.uuid.eq_ignore_ascii_case(wanted));
        if !found {
            return Err(Error::Usage(format!(
                "no domain named or with UUID '{wanted}' at {}",
                args.uri
            )));
        }
    }

    let mut out = String::new();
    for record in &snapshot.records {
        match args.format {
            Format::Json => {
                out.push_str(
                    &serde_json::to_string(&**record)
                        .map_err(|e| Error::Software(e.to_string()))?,
                );
                out.push('\n');
            }
            Format::Legacy => {
                out.push_str(&legacy::line(record).to_string());
                out.push('\n');
            }
            Format::Table => {
                out.push_str(&format!("Domain: {}\n", record.domain.name));
                out.push_str(&table::render(&legacy::diagnostics(record)));
                out.push('\n');
            }
        }
    }
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Io(format!("cannot write to stdout: {e}"))),
    }
}
