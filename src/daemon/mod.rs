//! `virtdiag run`: the long-running agent.
//!
//! The main thread runs one mio event loop that owns the socket, the clients, the spool
//! writer and the signals. The collector runs on its own thread ([`worker`]) and hands
//! each finished cycle over a channel plus a `mio::Waker`; no libvirt call ever runs on
//! the loop, and no query waits for libvirt. SIGTERM/SIGINT stop within 2 s even if the
//! collector is stuck in a libvirt call (it is not joined forever).

pub mod status;
pub mod worker;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token, Waker};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGXFSZ};
use signal_hook_mio::v1_0::Signals;

use self::status::{ClientStatus, CycleSummary, Status};
use self::worker::{Command, Cycle, Worker};
use crate::clock;
use crate::collect::CollectorConfig;
use crate::config::{self, Config, Overrides, Source};
use crate::error::{Error, Result};
use crate::notify::{self, Notifier};
use crate::query::answers::{self, Latest, Payload};
use crate::query::protocol::{Format, ProtocolError, Request};
use crate::query::server::{Incoming, Limits, Server};
use crate::record::AgentRecord;
use crate::spool::Spool;
use crate::{log_error, log_info, log_warn};

const LISTENER: Token = Token(0);
const SIGNALS: Token = Token(1);
const WAKER: Token = Token(2);

/// How long shutdown waits for the collector thread before leaving it behind.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

struct Daemon {
    source: Source,
    overrides: Overrides,
    config: Config,
    host: Arc<str>,
    poll: Poll,
    server: Server,
    spool: Spool,
    worker: Worker,
    notifier: Notifier,
    latest: Latest,
    status: Status,
    started_at: Instant,
    last_cycle_at: Option<Instant>,
    /// Spool lines lost since the last cycle line that reported them.
    unreported_lost: u64,
    next_request: u64,
    /// Clients waiting for an on-demand cycle: (request id, client, format).
    awaiting: Vec<(u64, Token, Format)>,
    spool_error_log: crate::log::RateLimiter,
}

/// Runs the agent until SIGTERM or SIGINT.
pub fn run(source: Source, overrides: Overrides) -> Result<()> {
    let config = config::load(&source, &overrides).map_err(Error::Config)?;
    let host = record_host(&config);

    let (spool, recovered) = Spool::open(config.spool.clone()).map_err(|e| {
        Error::Config(format!(
            "spool.path {}: cannot open for appending: {e}",
            config.spool.path.display()
        ))
    })?;
    if recovered.torn_bytes > 0 {
        log_warn!(
            "removed a torn last line ({} bytes) from {}",
            recovered.torn_bytes,
            config.spool.path.display()
        );
    }

    let poll =
        Poll::new().map_err(|e| Error::Software(format!("cannot create the event loop: {e}")))?;
    let gid = group_id(&config.socket.group)?;
    let server = Server::bind(
        &config.socket.path,
        config.socket.mode,
        gid,
        limits(&config),
        poll.registry(),
        LISTENER,
    )
    .map_err(Error::CantCreate)?;

    // SIGXFSZ would kill the process when the spool hits RLIMIT_FSIZE; the write error
    // is handled instead.
    let _ = signal_hook::flag::register(SIGXFSZ, Arc::new(AtomicBool::new(false)));
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP, SIGUSR1])
        .map_err(|e| Error::Software(format!("cannot install signal handlers: {e}")))?;
    poll.registry()
        .register(&mut signals, SIGNALS, mio::Interest::READABLE)
        .map_err(|e| Error::Software(format!("cannot poll signals: {e}")))?;
    let waker =
        Arc::new(Waker::new(poll.registry(), WAKER).map_err(|e| Error::Software(e.to_string()))?);
    let worker = worker::spawn(
        collector_config(&config, &host),
        recovered.last_seq.unwrap_or(0),
        interval(&config),
        waker,
    )
    .map_err(|e| Error::Software(format!("cannot start the collector thread: {e}")))?;

    let status = Status::new(&config, spool.stats().clone());
    let mut daemon = Daemon {
        source,
        overrides,
        config,
        host,
        poll,
        server,
        spool,
        worker,
        notifier: Notifier::from_env(),
        latest: Latest::default(),
        status,
        started_at: Instant::now(),
        last_cycle_at: None,
        unreported_lost: 0,
        next_request: 0,
        awaiting: Vec::new(),
        spool_error_log: crate::log::RateLimiter::new(Duration::from_secs(60)),
    };
    daemon.agent_line(
        "started",
        format!(
            "virtdiag {} started, pid {}",
            env!("CARGO_PKG_VERSION"),
            std::process::id()
        ),
    );
    log_info!(
        "started: uri {}, every {} s, spool {}, socket {}",
        daemon.config.uri,
        daemon.config.interval_seconds,
        daemon.config.spool.path.display(),
        daemon.config.socket.path.display()
    );
    daemon
        .notifier
        .notify("READY=1\nSTATUS=waiting for the first cycle");
    daemon.event_loop(&mut signals)
}

impl Daemon {
    fn event_loop(&mut self, signals: &mut Signals) -> Result<()> {
        let mut events = Events::with_capacity(256);
        let watchdog = notify::watchdog_interval().map(|w| w / 2);
        let mut last_ping = Instant::now();
        loop {
            let now = Instant::now();
            let next_idle = self.server.expire_idle(now, self.poll.registry());
            let mut timeout = Duration::from_secs(1);
            if let Some(at) = next_idle {
                timeout = timeout.min(at.saturating_duration_since(now));
            }
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::Software(format!("event loop: {e}")));
            }
            for event in events.iter() {
                match event.token() {
                    SIGNALS => {
                        for signal in signals.pending() {
                            match signal {
                                SIGTERM | SIGINT => return self.shutdown(signal),
                                SIGHUP => self.reload(),
                                SIGUSR1 => {
                                    self.request_cycle();
                                }
                                _ => {}
                            }
                        }
                    }
                    WAKER => self.take_cycles(),
                    token => {
                        let incoming = self.server.ready(
                            token,
                            event.is_readable(),
                            event.is_writable(),
                            self.poll.registry(),
                        );
                        if !incoming.is_empty() {
                            for item in incoming {
                                self.answer(item);
                            }
                            self.server.answered(token, self.poll.registry());
                        }
                    }
                }
            }
            if self.worker.handle.is_finished() {
                // Only a panic ends the collector thread before shutdown: without it the
                // agent would answer stale data forever. Exit, so the service manager
                // restarts it.
                self.take_cycles();
                self.agent_line("stopping", "the collector thread ended unexpectedly".into());
                self.server.close(self.poll.registry());
                return Err(Error::Software(
                    "the collector thread ended unexpectedly".into(),
                ));
            }
            if let Some(period) = watchdog {
                // Ping only while cycles complete: a wedged collector gets restarted.
                let healthy = self
                    .last_cycle_at
                    .map_or(self.started_at.elapsed() < Duration::from_secs(60), |at| {
                        at.elapsed() < interval(&self.config) * 3 + Duration::from_secs(60)
                    });
                if healthy && last_ping.elapsed() >= period {
                    self.notifier.notify("WATCHDOG=1");
                    last_ping = Instant::now();
                }
            }
        }
    }

    /// Takes every finished cycle from the collector thread.
    fn take_cycles(&mut self) {
        while let Ok(cycle) = self.worker.cycles.try_recv() {
            self.ingest(cycle);
        }
    }

    fn ingest(&mut self, cycle: Cycle) {
        let Cycle {
            mut snapshot,
            latest,
            served_request,
        } = cycle;
        let lines = latest.lines_arc();
        snapshot.cycle.spool_lost_lines = self.unreported_lost;

        let mut buf = Vec::with_capacity(lines.len() + 1024);
        for event in &snapshot.events {
            answers::line(event, &mut buf);
        }
        buf.extend_from_slice(&lines);
        answers::line(&snapshot.cycle, &mut buf);
        let outcome = self.spool.write_lines(&buf);
        if outcome.lines_lost > 0 {
            self.unreported_lost += outcome.lines_lost;
            if let Some(suppressed) = self.spool_error_log.check("spool", Instant::now()) {
                log_error!(
                    "spool: lost {} lines of cycle {}: {} ({suppressed} similar errors suppressed)",
                    outcome.lines_lost,
                    snapshot.seq,
                    self.spool
                        .stats()
                        .last_error
                        .as_deref()
                        .unwrap_or("unknown error")
                );
            }
        } else {
            self.unreported_lost = 0;
        }

        // Status.
        let c = &snapshot.cycle;
        self.status.cycles += 1;
        self.status.connected = c.connected;
        self.status.disconnect_reason = if c.connected { None } else { c.error.clone() };
        self.status.skipped_ticks = c.skipped_ticks;
        self.status.last_cycle = Some(CycleSummary::from_cycle(c));
        self.last_cycle_at = Some(Instant::now());

        // The latest records: a disconnected cycle keeps the last known ones.
        if c.connected {
            self.latest = latest;
        }

        // On-demand answers and watchers.
        let registry = self.poll.registry();
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
            self.server.send_payload(token, &answer, registry);
            self.server.set_awaiting(token, false, registry);
            self.server.answered(token, registry);
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
            registry,
        );
        let summary = self.refresh_status().summary();
        self.notifier.notify(&format!("STATUS={summary}"));
    }

    fn refresh_status(&mut self) -> &Status {
        self.status.uptime_s = self.started_at.elapsed().as_secs();
        if let (Some(summary), Some(at)) = (self.status.last_cycle.as_mut(), self.last_cycle_at) {
            summary.age_s = crate::rates::round3(at.elapsed().as_secs_f64());
        }
        self.status.spool.stats = self.spool.stats().clone();
        self.status.clients = ClientStatus {
            connected: self.server.client_count(),
            watching: self.server.watcher_count(),
            max: self.config.socket.max_clients,
            refused: self.server.refused_clients,
            dropped: self.server.dropped_clients,
        };
        &self.status
    }

    fn answer(&mut self, incoming: Incoming) {
        let registry = self.poll.registry();
        let (token, request) = match incoming {
            Incoming::Request(token, request) => (token, request),
            Incoming::Error(token, error) => {
                self.server.send(token, &error.to_line(), registry);
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
            Request::Get { target, format } => {
                if let Err(e) = self.latest.get(&target, format, &mut out) {
                    e.to_line_into(&mut out);
                }
            }
            Request::All { format } => {
                let answer = self.latest.all(format);
                self.server.send_payload(token, &answer, registry);
                return;
            }
            Request::Collect { format } => {
                let request = self.request_cycle();
                self.awaiting.push((request, token, format));
                self.server.set_awaiting(token, true, self.poll.registry());
                return;
            }
            Request::Watch { format } => {
                self.server.set_watching(token, format);
                return;
            }
            Request::Quit => {
                self.server.close_after_flush(token, registry);
                return;
            }
        }
        self.server.send(token, &out, self.poll.registry());
    }

    /// Asks the collector thread for a cycle now; requests that arrive before it starts
    /// share it.
    fn request_cycle(&mut self) -> u64 {
        self.next_request += 1;
        let _ = self.worker.commands.send(Command::CollectNow {
            request: self.next_request,
        });
        self.next_request
    }

    /// SIGHUP: reopen the spool path and reload the config; a bad config is reported
    /// and the old one kept.
    fn reload(&mut self) {
        self.notifier.notify("RELOADING=1");
        if let Err(e) = self.spool.reopen() {
            log_error!(
                "cannot reopen the spool {}: {e}",
                self.spool.path().display()
            );
        }
        match config::load(&self.source, &self.overrides) {
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
        self.server.set_limits(limits(&new));
        if new.host != self.config.host {
            self.host = record_host(&new);
        }
        self.spool.set_config(new.spool.clone());
        let _ = self.worker.commands.send(Command::Reconfigure {
            config: collector_config(&new, &self.host),
            interval: interval(&new),
        });
        self.status.uri = new.uri.clone();
        self.status.interval_seconds = new.interval_seconds;
        self.status.spool.path = new.spool.path.clone();
        self.config = new;
    }

    /// Writes an `agent` line to the spool.
    fn agent_line(&mut self, event: &'static str, message: String) {
        let record = AgentRecord::new(
            Arc::from(clock::now_rfc3339()),
            Arc::clone(&self.host),
            event,
            Some(Arc::from(self.config.uri.as_str())),
            message,
        );
        let mut buf = Vec::new();
        answers::line(&record, &mut buf);
        self.spool.write_lines(&buf);
    }

    fn shutdown(&mut self, signal: i32) -> Result<()> {
        log_info!("signal {signal}: stopping");
        self.notifier.notify("STOPPING=1");
        let _ = self.worker.commands.send(Command::Shutdown);
        // A cycle that finishes within the grace period still reaches the spool.
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        while !self.worker.handle.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.take_cycles();
        if !self.worker.handle.is_finished() {
            log_warn!("the collector is still inside a libvirt call; leaving it behind");
        }
        self.agent_line("stopping", format!("stopping on signal {signal}"));
        self.server.close(self.poll.registry());
        Ok(())
    }
}

/// The `host` of records: the configured one, or this machine's name.
fn record_host(config: &Config) -> Arc<str> {
    if config.host.is_empty() {
        Arc::from(crate::host::local_hostname())
    } else {
        Arc::from(config.host.as_str())
    }
}

fn collector_config(config: &Config, host: &Arc<str>) -> CollectorConfig {
    CollectorConfig {
        uri: config.uri.clone(),
        read_only: config.read_only,
        host: host.to_string(),
        filter: config.filter(),
    }
}

fn interval(config: &Config) -> Duration {
    Duration::from_secs_f64(config.interval_seconds)
}

fn limits(config: &Config) -> Limits {
    Limits {
        max_clients: config.socket.max_clients,
        idle_timeout: Duration::from_secs_f64(config.socket.idle_timeout_seconds),
    }
}

/// The gid of a group name from /etc/group (None for an empty name).
fn group_id(name: &str) -> Result<Option<u32>> {
    if name.is_empty() {
        return Ok(None);
    }
    let groups = std::fs::read_to_string("/etc/group").unwrap_or_default();
    for line in groups.lines() {
        // name:password:gid:members
        let fields: Vec<&str> = line.split(':').collect();
        if fields.first() == Some(&name) {
            if let Some(gid) = fields.get(2).and_then(|gid| gid.parse().ok()) {
                return Ok(Some(gid));
            }
        }
    }
    Err(Error::Config(format!(
        "socket.group: no group named '{name}' in /etc/group"
    )))
}
