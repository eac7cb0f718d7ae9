//! What the agent does with each thing that reaches the loop: a finished cycle (to the
//! spool writer, the status, the waiting clients and the watchers), a client's request,
//! a reload. No I/O of its own: bytes go to the server's queues and the writer's.

use std::sync::Arc;
use std::time::Instant;

use super::setup;
use super::status::{ClientStatus, CycleSummary, Status};
use super::worker::Cycle;
use super::writer::Batch;
use super::Daemon;
use crate::chunk::Chunk;
use crate::clock;
use crate::config::{self, Config};
use crate::query::answers::{self, Payload};
use crate::query::protocol::{ProtocolError, Request};
use crate::query::server::Incoming;
use crate::record::AgentRecord;
use crate::{log_error, log_info, log_warn};

impl Daemon {
    pub(super) fn ingest(&mut self, cycle: Cycle) {
        let Cycle {
            mut snapshot,
            latest,
            served_request,
        } = cycle;
        let now = Instant::now();

        // To the spool: the events, the shared domain lines, the cycle line reporting
        // what was lost since the last one.
        let losses = self.writer.take_unreported();
        snapshot.cycle.spool_lost_lines = losses.lines;
        snapshot.cycle.spool_dropped_cycles = losses.dropped_cycles;
        let mut head = Vec::new();
        for event in &snapshot.events {
            answers::line(event, &mut head);
        }
        let mut tail = Vec::new();
        answers::line(&snapshot.cycle, &mut tail);
        let queued = self.writer.write(Batch {
            chunks: vec![
                Chunk::Owned(head),
                Chunk::Shared(latest.lines_arc()),
                Chunk::Owned(tail),
            ],
            is_cycle: true,
            reports_lost: losses,
        });
        if !queued {
            if let Some(suppressed) = self.log_limit.check("writer-behind", now) {
                log_warn!(
                    "spool: the writer is behind (slow or hung filesystem at {}); dropped \
                     cycle {} ({suppressed} similar suppressed)",
                    self.config.spool.path.display(),
                    snapshot.seq
                );
            }
        }

        let c = &snapshot.cycle;
        self.status.cycles += 1;
        self.status.connected = c.connected;
        self.status.disconnect_reason = if c.connected { None } else { c.error.clone() };
        self.status.skipped_ticks = c.skipped_ticks;
        self.status.last_cycle = Some(CycleSummary::from_cycle(c));
        self.last_cycle_at = Some(now);
        // The latest records: a disconnected cycle keeps the last known ones.
        if c.connected {
            self.latest = latest;
        }
        self.publish_textfile();

        // Clients waiting for this cycle.
        self.on_demand.served(served_request);
        let waiting = std::mem::take(&mut self.awaiting);
        for (request, token, format) in waiting {
            if request > served_request {
                self.awaiting.push((request, token, format));
                continue;
            }
            let answer = match &snapshot.cycle.error {
                Some(error) => Payload {
                    shared: None,
                    owned: ProtocolError::new("cycle_failed", error.clone()).to_line(),
                },
                None => self.latest.all(format),
            };
            self.server.send_payload(token, &answer, now);
            self.server.set_awaiting(token, false);
        }
        // Watchers get the new records (none after a disconnected cycle) and the cycle line.
        let latest = &self.latest;
        let cycle_line = &snapshot.cycle;
        let fresh = c.connected;
        self.server.broadcast(
            |format| {
                let cycle = |out: &mut Vec<u8>| answers::line(cycle_line, out);
                if fresh {
                    latest.records_then(format, cycle)
                } else {
                    let mut payload = Payload::default();
                    cycle(&mut payload.owned);
                    payload
                }
            },
            now,
        );
        self.server.settle(self.poll.registry());
        let summary = self.refresh_status().summary();
        self.notifier.notify(&format!("STATUS={summary}"));
    }

    /// Domain events that arrived since the last wake-up: to the spool, the ring and
    /// the watchers.
    pub(super) fn take_events(&mut self, now: Instant) {
        let (events, received, dropped) = self.events.take();
        self.event_lines.counters.received = received;
        self.event_lines.counters.dropped = dropped;
        if events.is_empty() {
            return;
        }
        let mut lines = Vec::new();
        for event in events {
            if let Some(line) = self.event_lines.line(event, &self.host, &self.latest, now) {
                lines.extend_from_slice(&line);
            }
        }
        if lines.is_empty() {
            return;
        }
        self.server.broadcast_events(&lines, now);
        self.server.settle(self.poll.registry());
        self.writer.write(Batch {
            chunks: vec![Chunk::Owned(lines)],
            is_cycle: false,
            reports_lost: Default::default(),
        });
    }

    pub(super) fn refresh_status(&mut self) -> &Status {
        self.status.uptime_s = self.started_at.elapsed().as_secs();
        if let (Some(summary), Some(at)) = (self.status.last_cycle.as_mut(), self.last_cycle_at) {
            summary.age_s = crate::rates::round3(at.elapsed().as_secs_f64());
        }
        self.status.spool.stats = self.writer.stats();
        self.status.textfile = self.textfile.stats();
        self.status.events = self.event_lines.counters;
        self.status.clients = ClientStatus {
            connected: self.server.client_count(),
            watching: self.server.watcher_count(),
            max: self.config.socket.max_clients,
            counters: self.server.counters,
        };
        &self.status
    }

    pub(super) fn answer(&mut self, incoming: Incoming, now: Instant) {
        let (token, request) = match incoming {
            Incoming::Request(token, request) => (token, request),
            Incoming::Error(token, error) => {
                self.server.send(token, &error.to_line(), now);
                return;
            }
        };
        let mut out = Vec::new();
        match request {
            Request::Help => answers::help(&mut out),
            Request::Version => answers::version(&mut out),
            Request::Status => {
                self.refresh_status();
                answers::line(&self.status, &mut out);
            }
            Request::List => self.latest.list(&mut out),
            Request::Metrics => {
                let answer = self.metrics();
                self.server.send_payload(token, &answer, now);
                return;
            }
            Request::Get { target, format } => {
                if let Err(e) = self.latest.get(&target, format, &mut out) {
                    e.to_line_into(&mut out);
                }
            }
            Request::All { format } => {
                let answer = self.latest.all(format);
                self.server.send_payload(token, &answer, now);
                return;
            }
            Request::Collect { format } => {
                let request = self.ask_cycle(now);
                if self.awaiting.len() >= self.config.socket.max_clients {
                    // Clients that left while waiting: bounded by the live ones.
                    let server = &self.server;
                    self.awaiting.retain(|(_, t, _)| server.has_client(*t));
                }
                self.awaiting.push((request, token, format));
                self.server.set_awaiting(token, true);
                return;
            }
            Request::Watch { format } => {
                self.server.set_watching(token, format);
                return;
            }
            Request::Events { count } => {
                let mut written = 0;
                for line in self.event_lines.last(count) {
                    out.extend_from_slice(line);
                    written += 1;
                }
                answers::end_line(
                    written,
                    self.status.last_cycle.as_ref().map_or(0, |c| c.seq),
                    &mut out,
                );
            }
            Request::Quit => {
                self.server.close_after_flush(token);
                return;
            }
        }
        self.server.send(token, &out, now);
    }

    /// SIGHUP: reopen the spool path and reload the config; a bad config is reported
    /// and the old one kept.
    pub(super) fn reload(&mut self) {
        self.notifier.notify("RELOADING=1");
        self.writer.reopen();
        let loaded = config::load(&self.source, &self.overrides)
            .and_then(|new| setup::reserve_descriptors(&new).map(|()| new));
        match loaded {
            Ok(new) => {
                self.apply(new);
                self.agent_line(
                    "reloaded",
                    format!(
                        "configuration reloaded from {}",
                        self.source.path().display()
                    ),
                );
                log_info!("reloaded the configuration; spool reopened");
            }
            Err(e) => {
                log_error!("configuration reload failed, keeping the old one: {e}");
                self.agent_line("reload_failed", e);
            }
        }
        self.notifier.notify("READY=1");
    }

    fn apply(&mut self, new: Config) {
        if new.socket.path != self.config.socket.path {
            log_warn!(
                "socket.path changed to {}: takes effect at restart; still serving {}",
                new.socket.path.display(),
                self.server.path().display()
            );
        }
        self.server.set_limits(setup::limits(&new));
        self.on_demand.set_min_interval(new.min_collect_interval());
        if new.host != self.config.host {
            self.host = setup::record_host(&new);
        }
        // Queued after the lines already handed over, which still go to the old path.
        self.writer.configure(new.spool.clone());
        self.worker
            .reconfigure(setup::collector_config(&new, &self.host), new.interval());
        self.status.uri = new.uri.clone();
        self.status.interval_seconds = new.interval_seconds;
        self.status.spool.path = new.spool.path.clone();
        self.config = new;
    }

    /// Hands an `agent` line to the spool writer.
    pub(super) fn agent_line(&mut self, event: &'static str, message: String) {
        let record = AgentRecord::new(
            Arc::from(clock::now_rfc3339()),
            Arc::clone(&self.host),
            event,
            Some(Arc::from(self.config.uri.as_str())),
            message,
        );
        let mut line = Vec::new();
        answers::line(&record, &mut line);
        self.writer.write(Batch {
            chunks: vec![Chunk::Owned(line)],
            is_cycle: false,
            reports_lost: Default::default(),
        });
    }
}
