//! The `metrics` answer and the Prometheus textfile: the domains' families, built on
//! the collector thread with the cycle, then the agent's health as the loop knows it
//! now (a few lines).

use std::path::PathBuf;

use super::Daemon;
use crate::chunk::Chunk;
use crate::query::answers::Payload;
use crate::views::prometheus::{self, Health};

impl Daemon {
    /// The agent's health families, as of now.
    fn health(&mut self) -> Vec<u8> {
        let status = self.refresh_status();
        let cycle = status.last_cycle.as_ref();
        let health = Health {
            up: status.connected,
            cycles: Some(status.cycles),
            cycle_duration_seconds: cycle.map(|c| c.duration_ms / 1000.0),
            last_cycle_timestamp_seconds: cycle.and_then(|c| crate::clock::parse_rfc3339(&c.ts)),
            domains: cycle.map(|c| c.domains as u64),
            abandoned_calls: cycle.map(|c| c.abandoned_calls as u64),
            skipped_ticks: Some(status.skipped_ticks),
            spool_lost_lines: Some(status.spool.stats.lines_lost),
            textfile_errors: Some(status.textfile.errors),
            snapshot_age_seconds: cycle.map(|c| c.age_s),
        };
        let mut out = Vec::with_capacity(2048);
        prometheus::write_health(&health, &mut out);
        out
    }

    /// `metrics`: the latest exposition, then `# EOF`.
    pub(super) fn metrics(&mut self) -> Payload {
        let health = self.health();
        self.latest.metrics(&health)
    }

    /// After a cycle: hands the exposition to the textfile writer for
    /// `prometheus.textfile`; with the key empty, it removes the file it wrote before,
    /// if any.
    pub(super) fn publish_textfile(&mut self) {
        if self.config.prometheus.textfile.as_os_str().is_empty() {
            self.textfile.publish(PathBuf::new(), Vec::new());
            return;
        }
        let chunks = vec![
            Chunk::Shared(self.latest.metrics_arc()),
            Chunk::Owned(self.health()),
        ];
        let path = self.config.prometheus.textfile.clone();
        self.textfile.publish(path, chunks);
    }
}
