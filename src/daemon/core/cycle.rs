//! A finished cycle through the core: to the spool, the status, the textfile, the
//! clients waiting for it and the watchers; and domain events between cycles.

use std::sync::Arc;

use super::{owned, Core, Effect, Then, Waiting, World};
use crate::chunk::Chunk;
use crate::collect::events::ReceivedEvent;
use crate::daemon::status::CycleSummary;
use crate::daemon::worker::Cycle;
use crate::daemon::writer::{Batch, Losses};
use crate::log::Level;
use crate::query::answers::{self, Payload};
use crate::query::protocol::{ErrorCode, Format, ProtocolError};
use crate::query::views::{Latest, View};
use crate::views::prometheus::{self, Health};

impl Core {
    pub(super) fn ingest(&mut self, cycle: Cycle, losses: Losses, world: &impl World) {
        let Cycle {
            mut snapshot,
            latest,
            served_request,
        } = cycle;

        // To the spool: the events, the shared domain lines, the cycle line reporting
        // what was lost since the last one.
        snapshot.cycle.spool_lost_lines = losses.lines;
        snapshot.cycle.spool_dropped_cycles = losses.dropped_cycles;
        let mut head = Vec::new();
        for event in &snapshot.events {
            answers::line(event, &mut head);
        }
        let mut cycle_line = Vec::new();
        answers::line(&snapshot.cycle, &mut cycle_line);
        self.effects.push(Effect::Spool(Batch {
            chunks: vec![
                Chunk::Owned(head),
                Chunk::Shared(latest.lines_arc()),
                Chunk::Owned(cycle_line.clone()),
            ],
            is_cycle: true,
            reports_lost: losses,
        }));

        let c = &snapshot.cycle;
        self.status.cycles += 1;
        self.status.connected = c.connected;
        self.status.disconnect_reason = if c.connected { None } else { c.error.clone() };
        self.status.skipped_ticks = c.skipped_ticks;
        self.status.last_cycle = Some(CycleSummary::from_cycle(c));
        self.last_cycle_at = Some(self.now);
        // The latest records: a disconnected cycle keeps the last known ones.
        let fresh = c.connected;
        if fresh {
            let retired = std::mem::replace(&mut self.latest, latest);
            self.effects.push(Effect::Retire(retired));
            self.disconnected_cycles = 0;
            self.last_good_cycle_ts = crate::clock::parse_rfc3339(&c.ts);
        } else {
            self.disconnected_cycles += 1;
            self.effects.push(Effect::Retire(latest));
        }
        let error = c.error.clone();
        self.want_textfile();
        if self.config.prometheus.textfile.as_os_str().is_empty() {
            self.effects.push(Effect::Textfile(None));
        } else if self.domains_published() {
            self.when_built(self.latest.clone(), View::Metrics, Then::Textfile, world);
        } else {
            let latest = self.latest.clone();
            self.publish_textfile(&latest, world);
        }

        // Clients waiting for this cycle.
        self.on_demand.served(served_request);
        let waiting = std::mem::take(&mut self.waiting);
        for entry in waiting {
            match entry {
                Waiting::Cycle {
                    request,
                    token,
                    format,
                } if request <= served_request => match &error {
                    Some(error) => {
                        let line =
                            ProtocolError::new(ErrorCode::CycleFailed, error.clone()).to_line();
                        self.effects.push(Effect::Send(token, owned(line)));
                        self.effects.push(Effect::Release(token));
                    }
                    None => self.answer_all(token, format, self.latest.clone(), world),
                },
                other => self.waiting.push(other),
            }
        }

        // Watchers get the new records (none after a disconnected cycle) and the cycle line.
        for format in [Format::Json, Format::Legacy, Format::Nova] {
            if !world.watching(format) {
                continue;
            }
            if !fresh {
                self.effects
                    .push(Effect::BroadcastCycle(format, owned(cycle_line.clone())));
                continue;
            }
            match View::of_format(format) {
                None => {
                    let payload = self
                        .latest
                        .records_then(format, |out| out.extend_from_slice(&cycle_line))
                        .unwrap_or_else(super::missing);
                    self.effects.push(Effect::BroadcastCycle(format, payload));
                }
                Some(view) => self.when_built(
                    self.latest.clone(),
                    view,
                    Then::Watchers(format, cycle_line.clone()),
                    world,
                ),
            }
        }
        let summary = self.status(world).summary();
        self.effects
            .push(Effect::Notify(format!("STATUS={summary}")));
    }

    /// `all` (or a `collect` whose cycle came): every record of `latest` in `format`.
    pub(super) fn answer_all(
        &mut self,
        token: mio::Token,
        format: Format,
        latest: Latest,
        world: &impl World,
    ) {
        match View::of_format(format) {
            None => {
                let payload = latest.all(format).unwrap_or_else(super::missing);
                self.effects.push(Effect::Send(token, payload));
                self.effects.push(Effect::Release(token));
            }
            Some(view) => self.when_built(latest, view, Then::All(token, format), world),
        }
    }

    /// Domain events that arrived since the last wake-up: to the spool, the ring and
    /// the watchers.
    pub(super) fn take_events(&mut self, events: Vec<ReceivedEvent>, received: u64, dropped: u64) {
        self.events.counters.received = received;
        self.events.counters.dropped = dropped;
        let mut lines = Vec::new();
        for event in events {
            if let Some(line) = self.events.line(event, &self.host, &self.latest, self.now) {
                lines.extend_from_slice(&line);
            }
        }
        if lines.is_empty() {
            return;
        }
        self.effects.push(Effect::BroadcastEvents(lines.clone()));
        self.effects.push(Effect::Spool(Batch {
            chunks: vec![Chunk::Owned(lines)],
            is_cycle: false,
            reports_lost: Losses::default(),
        }));
    }

    /// The agent's health families, as of now.
    fn health(&mut self, world: &impl World) -> Vec<u8> {
        let last_good = self.last_good_cycle_ts;
        let status = self.status(world);
        let cycle = status.last_cycle.as_ref();
        let health = Health {
            up: status.connected,
            cycles: Some(status.cycles),
            cycle_duration_seconds: cycle.map(|c| c.duration_ms / 1000.0),
            last_cycle_timestamp_seconds: cycle.and_then(|c| crate::clock::parse_rfc3339(&c.ts)),
            last_success_timestamp_seconds: last_good,
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

    /// `metrics`: the domains' families of `latest` (unless libvirt has been
    /// unreachable), the health families as of now, `# EOF`.
    pub(super) fn metrics(&mut self, latest: &Latest, world: &impl World) -> Payload {
        let health = self.health(world);
        latest
            .metrics(&health, self.domains_published())
            .unwrap_or_else(super::missing)
    }

    /// Hands the exposition to the textfile writer: the domains (while published),
    /// then the health families.
    pub(super) fn publish_textfile(&mut self, latest: &Latest, world: &impl World) {
        let path = self.config.prometheus.textfile.clone();
        if path.as_os_str().is_empty() {
            return;
        }
        let health = self.health(world);
        let mut chunks = Vec::with_capacity(2);
        if self.domains_published() {
            match latest.built(View::Metrics) {
                Some(domains) => chunks.push(Chunk::Shared(Arc::clone(&domains))),
                None => {
                    self.log_limited("textfile-view", Level::Warning, |n| {
                        format!("the Prometheus view was not built; textfile skipped ({n} similar suppressed)")
                    });
                    return;
                }
            }
        }
        chunks.push(Chunk::Owned(health));
        self.effects.push(Effect::Textfile(Some((path, chunks))));
    }
}
