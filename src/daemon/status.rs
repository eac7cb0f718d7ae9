//! The agent's health as `status` answers it and as systemd's STATUS= shows it: the
//! answer's types are the protocol's ([`crate::query::protocol::status`]); here they
//! are built from the configuration and the last cycle, and said in one line.

pub use crate::query::protocol::status::{ClientStatus, CycleSummary, SpoolStatus, Status};

use crate::config::Config;
use crate::record::CycleRecord;
use crate::spool::SpoolStats;

impl CycleSummary {
    pub fn from_cycle(cycle: &CycleRecord) -> Self {
        Self {
            seq: cycle.seq,
            ts: cycle.ts.to_string(),
            duration_ms: cycle.duration_ms,
            domains: cycle.domains,
            active: cycle.active,
            missing_fields: cycle.missing_fields,
            abandoned_calls: cycle.abandoned_calls,
            error: cycle.error.clone(),
            age_s: 0.0,
        }
    }
}

impl Status {
    /// The status of an agent that has just started.
    pub fn new(config: &Config, spool: SpoolStats) -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION").into(),
            pid: std::process::id(),
            started: crate::clock::now_rfc3339(),
            uptime_s: 0,
            uri: config.uri.clone(),
            connected: false,
            disconnect_reason: None,
            interval_seconds: config.interval_seconds,
            cycles: 0,
            last_cycle: None,
            skipped_ticks: 0,
            spool: SpoolStatus {
                path: config.spool.path.clone(),
                stats: spool,
            },
            clients: ClientStatus::default(),
            events: Default::default(),
            log: Default::default(),
            restart_needed: Vec::new(),
            textfile: Default::default(),
        }
    }

    /// One line for systemd's STATUS=.
    pub fn summary(&self) -> String {
        let libvirt = if self.connected {
            "connected".to_string()
        } else {
            format!(
                "disconnected: {}",
                self.disconnect_reason
                    .as_deref()
                    .unwrap_or("not yet connected")
            )
        };
        match &self.last_cycle {
            Some(c) => format!(
                "cycle {}: {} domains in {:.1} ms; libvirt {libvirt}; spool lost {} lines",
                c.seq, c.domains, c.duration_ms, self.spool.stats.lines_lost
            ),
            None => format!("waiting for the first cycle; libvirt {libvirt}"),
        }
    }
}
