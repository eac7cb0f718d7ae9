//! The agent's health as `status` answers it and as systemd's STATUS= shows it.

use std::path::PathBuf;

use serde::Serialize;

use super::events::EventCounters;
use super::textfile::TextfileStats;
use crate::config::Config;
use crate::log::LogCounters;
use crate::query::server::ClientCounters;
use crate::record::CycleRecord;
use crate::spool::SpoolStats;

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub kind: &'static str,
    pub version: &'static str,
    pub pid: u32,
    pub started: String,
    pub uptime_s: u64,
    pub uri: String,
    pub connected: bool,
    /// Why libvirt is not connected (null when connected).
    pub disconnect_reason: Option<String>,
    pub interval_seconds: f64,
    pub cycles: u64,
    pub last_cycle: Option<CycleSummary>,
    pub skipped_ticks: u64,
    pub spool: SpoolStatus,
    pub clients: ClientStatus,
    /// Domain events: received, written, dropped, suppressed.
    pub events: EventCounters,
    /// Log lines and systemd notifications: written, and dropped while journald
    /// (or whatever reads stderr) did not keep up.
    pub log: LogCounters,
    /// Keys changed by a reload that only a restart applies (`socket.path`).
    pub restart_needed: Vec<&'static str>,
    /// The Prometheus textfile's writes and failures.
    pub textfile: TextfileStats,
}

#[derive(Debug, Clone, Serialize)]
pub struct CycleSummary {
    pub seq: u64,
    pub ts: String,
    pub duration_ms: f64,
    pub domains: usize,
    pub active: usize,
    pub missing_fields: usize,
    pub abandoned_calls: usize,
    pub error: Option<String>,
    pub age_s: f64,
}

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

#[derive(Debug, Clone, Serialize)]
pub struct SpoolStatus {
    pub path: PathBuf,
    #[serde(flatten)]
    pub stats: SpoolStats,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct ClientStatus {
    pub connected: usize,
    pub watching: usize,
    pub max: usize,
    /// Bytes of answers queued for clients beyond the latest cycle's views: owned
    /// bytes, and older cycles' buffers that a client still holds.
    pub bytes_in_flight: u64,
    /// The bound on `bytes_in_flight` (docs/service.md, "Limits").
    pub budget_bytes: u64,
    #[serde(flatten)]
    pub counters: ClientCounters,
}

impl Status {
    /// The status of an agent that has just started.
    pub fn new(config: &Config, spool: SpoolStats) -> Self {
        Self {
            kind: "status",
            version: env!("CARGO_PKG_VERSION"),
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
            events: EventCounters::default(),
            log: LogCounters::default(),
            restart_needed: Vec::new(),
            textfile: TextfileStats::default(),
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
