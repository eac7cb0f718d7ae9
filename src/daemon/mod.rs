//! `virtdiag run`: the long-running agent, its start-up and its event loop.
//!
//! Three threads, and only the first answers anyone:
//! - the event loop (here): one mio poll for the socket, the signals and the
//!   collector's wake-up; it never touches libvirt or the disk;
//! - the collector ([`worker`]): every libvirt call, handing each finished cycle over a
//!   bounded channel;
//! - the spool writer ([`writer`]): every write, rotation and fdatasync, behind a
//!   bounded queue that drops whole cycles when the disk cannot keep up.
//!
//! Clients are served in bounded turns ([`crate::query::server`]); signals and the
//! collector's hand-over are polled between turns, so SIGTERM stops within 2 s under
//! any load, even with the collector stuck in libvirt or the writer stuck on a hung
//! filesystem (neither is waited for past its grace period). What to answer, when to
//! collect and whom to close are decided in [`handle`], [`on_demand`] and the server.

pub mod events;
mod handle;
mod metrics;
pub mod on_demand;
pub mod setup;
pub mod status;
pub mod textfile;
pub mod worker;
pub mod writer;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token, Waker};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGXFSZ};
use signal_hook_mio::v1_0::Signals;

use self::on_demand::{OnDemand, RequestId};
use self::status::Status;
use self::worker::{Command, Worker};
use self::writer::Writer;
use crate::config::{self, Config, Overrides, Source};
use crate::error::{Error, Result};
use crate::notify::{self, Notifier};
use crate::query::answers::Latest;
use crate::query::protocol::Format;
use crate::query::server::Server;
use crate::spool::Spool;
use crate::{log_info, log_warn};

const LISTENER: Token = Token(0);
const SIGNALS: Token = Token(1);
const WAKER: Token = Token(2);

/// How long shutdown waits for the collector thread before leaving it behind.
const COLLECTOR_GRACE: Duration = Duration::from_millis(1000);
/// How long shutdown waits for the spool writer to write what is queued.
const WRITER_GRACE: Duration = Duration::from_millis(500);
/// How often idle and stalled clients are looked for, at most.
const EXPIRY_PERIOD: Duration = Duration::from_millis(250);

struct Daemon {
    source: Source,
    overrides: Overrides,
    config: Config,
    host: Arc<str>,
    poll: Poll,
    server: Server,
    writer: Writer,
    worker: Worker,
    /// Domain events from libvirt's thread, and what turns them into lines.
    events: Arc<events::EventQueue>,
    event_lines: events::EventLines,
    notifier: Notifier,
    latest: Latest,
    status: Status,
    started_at: Instant,
    last_cycle_at: Option<Instant>,
    on_demand: OnDemand,
    /// Clients waiting for an on-demand cycle: (request, client, format). One entry per
    /// waiting client (its next requests are not read); entries of clients that left
    /// are pruned once there are `max_clients` of them.
    awaiting: Vec<(RequestId, Token, Format)>,
    log_limit: crate::log::RateLimiter,
}

/// Runs the agent until SIGTERM or SIGINT.
pub fn run(source: Source, overrides: Overrides) -> Result<()> {
    let config = config::load(&source, &overrides).map_err(Error::Config)?;
    setup::reserve_descriptors(&config).map_err(Error::Config)?;
    let gid = config::environment::group_id(&config.socket.group).map_err(Error::Config)?;
    let host = setup::record_host(&config);

    let (spool, mut recovered) = Spool::open(config.spool.clone()).map_err(|e| {
        Error::CantCreate(
            config::environment::unusable_directory("spool.path", &config.spool.path)
                .unwrap_or_else(|| {
                    format!(
                        "spool.path {}: cannot open for appending: {e}",
                        config.spool.path.display()
                    )
                }),
        )
    })?;
    if recovered.torn_bytes > 0 {
        log_warn!(
            "removed a torn last line ({} bytes) from {}",
            recovered.torn_bytes,
            config.spool.path.display()
        );
    }
    for warning in recovered.warnings(&config.spool.path) {
        log_warn!("{warning}");
    }

    let poll =
        Poll::new().map_err(|e| Error::Software(format!("cannot create the event loop: {e}")))?;
    let server = Server::bind(
        &config.socket.path,
        config.socket.mode,
        gid,
        setup::limits(&config),
        poll.registry(),
        LISTENER,
    )
    .map_err(|e| {
        Error::CantCreate(
            config::environment::unusable_directory("socket.path", &config.socket.path)
                .unwrap_or(e),
        )
    })?;

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
    let status = Status::new(&config, spool.stats().clone());
    let writer = Writer::spawn(spool)
        .map_err(|e| Error::Software(format!("cannot start the spool writer thread: {e}")))?;
    let events = Arc::new(events::EventQueue::new(Arc::clone(&waker)));
    let worker = worker::spawn(
        setup::collector_config(&config, &host),
        recovered.resume.after,
        recovered.tail.last_cycle.take(),
        config.interval(),
        waker,
        Arc::clone(&events) as Arc<dyn crate::libvirt::domain_events::EventSink>,
    )
    .map_err(|e| Error::Software(format!("cannot start the collector thread: {e}")))?;

    let mut daemon = Daemon {
        source,
        overrides,
        on_demand: OnDemand::new(config.min_collect_interval()),
        config,
        host,
        poll,
        server,
        writer,
        worker,
        events,
        event_lines: events::EventLines::default(),
        notifier: Notifier::from_env(),
        latest: Latest::default(),
        status,
        started_at: Instant::now(),
        last_cycle_at: None,
        awaiting: Vec::new(),
        log_limit: crate::log::RateLimiter::new(Duration::from_secs(60)),
    };
    daemon.agent_line(
        "started",
        format!(
            "virtdiag {} started, pid {}",
            env!("CARGO_PKG_VERSION"),
            std::process::id()
        ),
    );
    if let Some(why) = recovered.resume.new_sequence {
        log_warn!("{why}");
        daemon.agent_line("new_sequence", why);
    }
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
        let mut events = Events::with_capacity(1024);
        let watchdog = notify::watchdog_interval().map(|w| w / 2);
        let mut last_ping = Instant::now();
        let mut next_expiry = Instant::now();
        loop {
            let now = Instant::now();
            if now >= next_expiry {
                let next = self.server.expire(now, self.poll.registry());
                next_expiry = next.map_or(now + EXPIRY_PERIOD, |at| {
                    at.clamp(now + Duration::from_millis(10), now + EXPIRY_PERIOD)
                });
            }
            if let Some(request) = self.on_demand.due(now) {
                self.collect_now(request);
            }
            let timeout = if self.server.has_work() {
                Duration::ZERO
            } else {
                let mut until = next_expiry;
                if let Some(at) = self.on_demand.next_deadline() {
                    until = until.min(at);
                }
                until.saturating_duration_since(now)
            };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::Software(format!("event loop: {e}")));
            }
            let now = Instant::now();
            for event in events.iter() {
                match event.token() {
                    SIGNALS => {
                        for signal in signals.pending() {
                            match signal {
                                SIGTERM | SIGINT => return self.shutdown(signal),
                                SIGHUP => self.reload(),
                                SIGUSR1 => {
                                    self.ask_cycle(now);
                                }
                                _ => {}
                            }
                        }
                    }
                    WAKER => {
                        self.take_cycles();
                        self.take_events(now);
                    }
                    token => {
                        self.server
                            .event(token, event.is_readable(), event.is_writable(), now)
                    }
                }
            }
            // One turn for every client with work; signals and cycles come first again
            // at the next poll.
            for incoming in self.server.turn(self.poll.registry(), now) {
                self.answer(incoming, now);
            }
            self.server.settle(self.poll.registry());

            if self.worker.handle.is_finished() {
                // Only a panic ends the collector thread before shutdown: without it the
                // agent would answer stale data forever. Exit, so the service manager
                // restarts it.
                self.take_cycles();
                self.agent_line("stopping", "the collector thread ended unexpectedly".into());
                self.stop_writer();
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
                        at.elapsed() < self.config.interval() * 3 + Duration::from_secs(60)
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

    /// A client or SIGUSR1 asks for a cycle; returns the request to wait for.
    fn ask_cycle(&mut self, now: Instant) -> RequestId {
        let (request, send_now) = self.on_demand.ask(now);
        if let Some(request) = send_now {
            self.collect_now(request);
        }
        request
    }

    fn collect_now(&mut self, request: RequestId) {
        self.worker.command(Command::CollectNow { request });
    }

    /// Writes what the writer has queued, leaving it behind after its grace period.
    fn stop_writer(&mut self) {
        if !self.writer.stop(Instant::now() + WRITER_GRACE) {
            log_warn!("the spool writer is stuck in a write; leaving it behind");
        }
    }

    fn shutdown(&mut self, signal: i32) -> Result<()> {
        log_info!("signal {signal}: stopping");
        self.notifier.notify("STOPPING=1");
        self.worker.command(Command::Shutdown);
        // A cycle that finishes within the grace period still reaches the spool.
        let deadline = Instant::now() + COLLECTOR_GRACE;
        // Taking cycles meanwhile unblocks a collector waiting to hand one over.
        while !self.worker.handle.is_finished() && Instant::now() < deadline {
            self.take_cycles();
            std::thread::sleep(Duration::from_millis(10));
        }
        self.take_cycles();
        if !self.worker.handle.is_finished() {
            log_warn!("the collector is still inside a libvirt call; leaving it behind");
        }
        self.agent_line("stopping", format!("stopping on signal {signal}"));
        self.stop_writer();
        self.server.close(self.poll.registry());
        Ok(())
    }
}
