//! `virtdiag run`: the long-running agent, its start-up and its event loop.
//!
//! Only the event loop answers anyone; every other thread does one kind of work that
//! could block, behind a bounded hand-over:
//! - the event loop (here): one mio poll for the socket, the signals and the other
//!   threads' wake-ups; it never touches libvirt or the disk, and carries out what the
//!   daemon's core ([`core`], no I/O of its own) decides (`effects`);
//! - the collector ([`worker`]): every libvirt call, handing each finished cycle over a
//!   bounded channel, with the views asked for since the last cycle built;
//! - the view builder ([`crate::query::views`]): a view a client asked for that the
//!   collector did not build;
//! - the spool writer ([`writer`]) and the textfile writer ([`textfile`]), on one shape
//!   of background writer ([`background`]);
//! - the log thread ([`crate::log`]): log lines and sd_notify, behind a bounded queue;
//! - a reload thread per SIGHUP, reading the configuration.
//!
//! Clients are served in bounded turns ([`crate::query::server`]); signals and the
//! collector's hand-over are polled between turns, so SIGTERM stops within 2 s under
//! any load, even with the collector stuck in libvirt or a writer stuck on a hung
//! filesystem (none is waited for past its grace period).

pub mod background;
pub mod core;
mod effects;
pub mod error;
pub mod events;
pub mod on_demand;
pub mod setup;
pub mod status;
pub mod textfile;
pub mod worker;
pub mod writer;

use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token, Waker};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGXFSZ};
use signal_hook_mio::v1_0::Signals;

use self::core::{Core, Input, Loaded};
pub use self::error::Error;
use self::error::{At, Step};
use self::status::Status;
use self::textfile::Textfile;
use self::worker::{Command, Worker};
use self::writer::Writer;
use crate::config::{self, Overrides, Source};
use crate::notify::{self, Notifier};
use crate::query::protocol::Request;
use crate::query::server::{Incoming, Server, CLIENT_TURN, REQUESTS_PER_TURN};
use crate::query::views::Builder;
use crate::{log_info, log_warn};

/// A configuration read after SIGHUP, or why it could not be.
type LoadResult = Result<Loaded, Error>;

const LISTENER: Token = Token(0);
const SIGNALS: Token = Token(1);
const WAKER: Token = Token(2);

/// How long shutdown waits for the collector thread before leaving it behind.
const COLLECTOR_GRACE: Duration = Duration::from_millis(1000);
/// How long shutdown waits for the spool writer to write what is queued.
const WRITER_GRACE: Duration = Duration::from_millis(500);
/// How long shutdown waits for the log thread to write what is queued.
const LOG_GRACE: Duration = Duration::from_millis(200);
/// How long shutdown waits for the textfile writer to remove the textfile; it runs
/// beside the spool writer's, not after it.
const TEXTFILE_GRACE: Duration = Duration::from_millis(500);
/// How often idle and stalled clients are looked for, at most.
const EXPIRY_PERIOD: Duration = Duration::from_millis(250);

struct Daemon {
    source: Source,
    overrides: Overrides,
    poll: Poll,
    waker: Arc<Waker>,
    server: Server,
    writer: Writer,
    textfile: Textfile,
    worker: Worker,
    builder: Builder,
    /// Domain events from libvirt's thread.
    events: Arc<events::EventQueue>,
    /// Configurations read off the loop after SIGHUP.
    loaded: (SyncSender<LoadResult>, Receiver<LoadResult>),
    core: Core,
    log_limit: crate::log::RateLimiter,
}

/// Runs the agent until SIGTERM or SIGINT.
pub fn run(source: Source, overrides: Overrides) -> Result<(), Error> {
    let config = config::load(&source, &overrides)?;
    setup::reserve_descriptors(&config)?;
    let gid = config::environment::group_id(&config.socket.group)?;
    let host = setup::record_host(&config);

    let (spool, mut recovered) = setup::open_spool(&config)?;
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

    let poll = Poll::new().at(Step::CreateLoop)?;
    let server = setup::bind(&config, gid, poll.registry(), LISTENER)?;

    // SIGXFSZ would kill the process when the spool hits RLIMIT_FSIZE; the write error
    // is handled instead.
    let _ = signal_hook::flag::register(SIGXFSZ, Arc::new(AtomicBool::new(false)));
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP, SIGUSR1]).at(Step::SignalHandlers)?;
    poll.registry()
        .register(&mut signals, SIGNALS, mio::Interest::READABLE)
        .at(Step::PollSignals)?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER).at(Step::Waker)?);
    let status = Status::new(&config, spool.stats().clone());
    let writer = Writer::spawn(spool).at(Step::SpoolWriter)?;
    let textfile = Textfile::spawn().at(Step::TextfileWriter)?;
    let events = Arc::new(events::EventQueue::new(Arc::clone(&waker)));
    let mut core = Core::new(
        config,
        host,
        source.path().to_path_buf(),
        status,
        Instant::now(),
    );
    let builder = Builder::spawn(Arc::clone(&waker)).at(Step::ViewBuilder)?;
    let worker = worker::spawn(
        setup::collector_config(core.config(), core.host()),
        recovered.resume.after,
        recovered.tail.last_cycle.take(),
        core.config().interval(),
        Arc::clone(&waker),
        Arc::clone(&events) as Arc<dyn crate::collect::events::EventSink>,
        core.wanted(),
    )
    .at(Step::Collector)?;
    crate::log::start_thread(Notifier::from_env()).at(Step::LogThread)?;
    let started = core.agent_line(
        "started",
        format!(
            "virtdiag {} started, pid {}",
            env!("CARGO_PKG_VERSION"),
            std::process::id()
        ),
    );
    let mut announced = vec![started];
    if let Some(why) = recovered.resume.new_sequence {
        log_warn!("{why}");
        announced.push(core.agent_line("new_sequence", why));
    }
    let config = core.config();
    log_info!(
        "started: uri {}, every {} s, spool {}, socket {}",
        config.uri,
        config.interval_seconds,
        config.spool.path.display(),
        config.socket.path.display()
    );
    let mut daemon = Daemon {
        source,
        overrides,
        poll,
        waker,
        server,
        writer,
        textfile,
        worker,
        builder,
        events,
        loaded: std::sync::mpsc::sync_channel(1),
        core,
        log_limit: crate::log::RateLimiter::new(Duration::from_secs(60)),
    };
    daemon.carry_out(announced, Instant::now());
    crate::log::notify("READY=1\nSTATUS=waiting for the first cycle");
    let result = daemon.event_loop(&mut signals);
    // The process ends now: freeing every record and buffer one by one would only
    // delay the exit (seconds on a host whose CPUs are saturated).
    std::mem::forget(daemon);
    result
}

impl Daemon {
    fn event_loop(&mut self, signals: &mut Signals) -> Result<(), Error> {
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
            self.handle(Input::Tick, now);
            let timeout = if self.server.has_work() {
                Duration::ZERO
            } else {
                let mut until = next_expiry;
                if let Some(at) = self.core.next_deadline() {
                    until = until.min(at);
                }
                until.saturating_duration_since(now)
            };
            match self.poll.poll(&mut events, Some(timeout)) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                polled => polled.at(Step::Poll)?,
            }
            let now = Instant::now();
            for event in events.iter() {
                match event.token() {
                    SIGNALS => {
                        for signal in signals.pending() {
                            match signal {
                                SIGTERM | SIGINT => return self.shutdown(signal),
                                SIGHUP => self.handle(Input::Reload, now),
                                SIGUSR1 => self.handle(Input::CollectSignal, now),
                                _ => {}
                            }
                        }
                    }
                    WAKER => self.take_handovers(now),
                    token => self
                        .server
                        .event(token, event.is_readable(), event.is_writable()),
                }
            }
            self.turn(now);

            if self.worker.handle.is_finished() || self.builder.is_finished() {
                // Only a panic ends these threads before shutdown: without them the
                // agent would answer stale data forever, or leave clients waiting.
                // Exit, so the service manager restarts it.
                self.take_cycles(now);
                let line = self
                    .core
                    .agent_line("stopping", "a worker thread ended unexpectedly".into());
                self.carry_out(vec![line], now);
                self.stop_writer();
                self.server.close(self.poll.registry());
                crate::log::flush(LOG_GRACE);
                return Err(Error::WorkerEnded);
            }
            if let Some(period) = watchdog {
                // Ping only while cycles complete: a wedged collector gets restarted.
                if self.core.healthy(Instant::now()) && last_ping.elapsed() >= period {
                    crate::log::notify("WATCHDOG=1");
                    last_ping = Instant::now();
                }
            }
        }
    }

    /// One turn for every client with work: at most [`REQUESTS_PER_TURN`] requests and
    /// [`CLIENT_TURN`] of the loop's time each. Signals and cycles come first again at
    /// the next poll.
    fn turn(&mut self, now: Instant) {
        for token in self.server.begin_turn(self.poll.registry(), now) {
            let started = Instant::now();
            self.server.write_some(token, now);
            for _ in 0..REQUESTS_PER_TURN {
                let Some(incoming) = self.server.next_request(token, now) else {
                    break;
                };
                let (input, pause) = match incoming {
                    Incoming::Request(token, request) => {
                        let pause = matches!(request, Request::Collect { .. } | Request::Quit);
                        (Input::Request(token, request), pause)
                    }
                    Incoming::Error(token, error) => (Input::Refused(token, error), false),
                };
                self.handle(input, now);
                if pause || started.elapsed() >= CLIENT_TURN {
                    break;
                }
            }
        }
        self.server.settle(self.poll.registry());
    }

    /// What the other threads handed over: cycles, domain events, built views, a
    /// configuration read after SIGHUP.
    fn take_handovers(&mut self, now: Instant) {
        self.take_cycles(now);
        let (events, received, dropped) = self.events.take();
        self.handle(Input::Events(events.into(), received, dropped), now);
        for (seq, view) in self.builder.take_built() {
            self.handle(Input::Built(seq, view), now);
        }
        while let Ok(loaded) = self.loaded.1.try_recv() {
            self.handle(Input::Loaded(Box::new(loaded)), now);
        }
        self.server.set_current(&self.core.latest().buffers());
        self.server.settle(self.poll.registry());
    }

    /// Takes every finished cycle from the collector thread.
    fn take_cycles(&mut self, now: Instant) {
        while let Ok(cycle) = self.worker.cycles.try_recv() {
            let losses = self.writer.take_unreported();
            self.handle(Input::Cycle(Box::new(cycle), losses), now);
        }
    }

    /// Writes what the writers have queued and removes the textfile, leaving each
    /// writer behind after its own grace period (both counted from now).
    fn stop_writer(&mut self) {
        let now = Instant::now();
        self.textfile.begin_stop();
        if !self.writer.stop(now + WRITER_GRACE) {
            log_warn!("the spool writer is stuck in a write; leaving it behind");
        }
        if !self.textfile.stop(now + TEXTFILE_GRACE) {
            log_warn!("the textfile writer is stuck; leaving it behind");
        }
    }

    fn shutdown(&mut self, signal: i32) -> Result<(), Error> {
        let started = Instant::now();
        log_info!("signal {signal}: stopping");
        crate::log::notify("STOPPING=1");
        self.worker.command(Command::Shutdown);
        // A cycle that finishes within the grace period still reaches the spool.
        let deadline = Instant::now() + COLLECTOR_GRACE;
        // Taking cycles meanwhile unblocks a collector waiting to hand one over.
        while !self.worker.handle.is_finished() && Instant::now() < deadline {
            self.take_cycles(Instant::now());
            std::thread::sleep(Duration::from_millis(10));
        }
        self.take_cycles(Instant::now());
        if !self.worker.handle.is_finished() {
            log_warn!("the collector is still inside a libvirt call; leaving it behind");
        }
        let line = self
            .core
            .agent_line("stopping", format!("stopping on signal {signal}"));
        self.carry_out(vec![line], Instant::now());
        self.stop_writer();
        self.server.close(self.poll.registry());
        log_info!("stopped in {} ms", started.elapsed().as_millis());
        crate::log::flush(LOG_GRACE);
        Ok(())
    }
}
