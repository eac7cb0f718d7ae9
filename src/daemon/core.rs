//! The agent's decisions, without I/O: [`Core`] takes what reaches the loop (a finished
//! cycle, a client's request, domain events, a built view, a loaded configuration, a
//! tick) and returns [`Effect`]s for the loop to carry out (send to a client, broadcast,
//! write to the spool, publish the textfile, notify systemd, collect now, build a view,
//! log). It touches no socket, file, thread or libvirt, so every rule here is tested by
//! feeding inputs and reading effects (`core/tests.rs`).
//!
//! What the loop may not do is stated here once: it never builds a view (whole-cycle
//! answers are [`Latest`]'s shared buffers; a missing one is an [`Effect::Build`] and
//! the asking client waits for it), never reads the config file (an
//! [`Effect::LoadConfig`] goes to a thread; the result comes back as
//! [`Input::Loaded`]), and never waits for the spool, the textfile or journald.

mod answer;
mod cycle;
mod reload;
mod waiting;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::Token;

use super::events::EventLines;
use super::on_demand::{OnDemand, RequestId};
use super::status::{ClientStatus, Status};
use super::textfile::TextfileStats;
use super::worker::Cycle;
use super::writer::{Batch, Losses};
use crate::chunk::Chunk;
use crate::collect::events::ReceivedEvent;
use crate::collect::CollectorConfig;
use crate::config::{Config, SpoolConfig};
use crate::log::{Level, RateLimiter};
use crate::query::answers::{self, Payload};
use crate::query::protocol::{ErrorCode, Format, ProtocolError, Request};
use crate::query::server::Limits;
use crate::query::views::{Latest, View, Wanted};
use crate::record::AgentRecord;
use crate::spool::SpoolStats;

pub use self::reload::{plan, Loaded, Plan};

/// What the loop hands the core.
pub enum Input {
    /// A finished cycle, with the spool's losses not yet reported in a cycle line.
    Cycle(Box<Cycle>, Losses),
    Request(Token, Request),
    /// A line the protocol refused.
    Refused(Token, ProtocolError),
    /// Domain events since the last wake-up, with libvirt's counts so far (received,
    /// dropped).
    Events(Vec<ReceivedEvent>, u64, u64),
    /// The builder finished a view of cycle `seq`.
    Built(u64, View),
    /// SIGHUP.
    Reload,
    /// The configuration read after a SIGHUP (off the loop), or why it could not be.
    Loaded(Box<Result<Loaded, super::Error>>),
    /// SIGUSR1.
    CollectSignal,
    /// Time passed.
    Tick,
}

/// What the core asks the loop to do, in order.
pub enum Effect {
    /// Queue an answer for a client.
    Send(Token, Payload),
    /// The client gets every cycle from now on, in `format`.
    Watch(Token, Format),
    /// The client waits (a cycle or a view): read nothing more from it meanwhile.
    Hold(Token),
    /// The client's wait is over: read its requests again.
    Release(Token),
    /// Close the client once its answers are written.
    Close(Token),
    /// To every watcher in `format`: one cycle's lines.
    BroadcastCycle(Format, Payload),
    /// To every watcher: event lines.
    BroadcastEvents(Vec<u8>),
    /// Append to the spool.
    Spool(Batch),
    ReopenSpool,
    ConfigureSpool(SpoolConfig),
    /// Write the textfile at `path` (whole), or remove the one written (`None`).
    Textfile(Option<(PathBuf, Vec<Chunk>)>),
    /// An sd_notify state.
    Notify(String),
    Log(Level, String),
    /// Ask the collector for a cycle now.
    Collect(RequestId),
    /// New collector settings.
    Reconfigure(CollectorConfig, Duration),
    /// Build a view off the loop; [`Input::Built`] follows.
    Build(Latest, View),
    /// Free a cycle's views off the loop (they are no longer the latest).
    Retire(Latest),
    /// Read the configuration off the loop; [`Input::Loaded`] follows.
    LoadConfig,
    SocketLimits(Limits),
    /// Give the socket file this mode and group (None: leave the group).
    SocketAccess {
        mode: u32,
        gid: Option<u32>,
    },
}

/// What the core asks of the loop's side: facts it does not own.
pub trait World {
    /// The socket's clients and their counters, for `status`.
    fn clients(&self) -> ClientStatus;
    /// The spool writer's counters.
    fn spool(&self) -> SpoolStats;
    /// The textfile writer's counters.
    fn textfile(&self) -> TextfileStats;
    fn has_client(&self, token: Token) -> bool;
    /// Whether any client watches in `format`.
    fn watching(&self, format: Format) -> bool;
}

/// A client or a consumer waiting for something that is not there yet.
enum Waiting {
    /// `collect`: the on-demand cycle `request`, answered in `format`.
    Cycle {
        request: RequestId,
        token: Token,
        format: Format,
    },
    /// A view of `latest` that the builder is making.
    View {
        latest: Latest,
        view: View,
        then: Then,
    },
}

/// What to do once a view is built.
enum Then {
    /// Answer a client's `all` or `collect` in this format.
    All(Token, Format),
    List(Token),
    Metrics(Token),
    /// Send this cycle to the watchers in `format`, with its cycle line.
    Watchers(Format, Vec<u8>),
    /// Write the textfile.
    Textfile,
}

/// Consecutive disconnected cycles after which the domains' Prometheus series are no
/// longer published (the textfile and `metrics` keep only the agent's health): the
/// convention of node_exporter and the libvirt exporters, where a failed collection
/// publishes no stale samples.
pub const STALE_AFTER_DISCONNECTED_CYCLES: u64 = 1;

pub struct Core {
    config: Config,
    /// The configuration the agent started with: what keys that apply only at restart
    /// still run with.
    started: Config,
    /// Where the configuration is read from (for messages).
    source_path: PathBuf,
    host: Arc<str>,
    latest: Latest,
    status: Status,
    started_at: Instant,
    now: Instant,
    last_cycle_at: Option<Instant>,
    on_demand: OnDemand,
    waiting: Vec<Waiting>,
    /// Views asked of the builder and not reported yet: (seq, view).
    building: Vec<(u64, View)>,
    wanted: Arc<Wanted>,
    events: EventLines,
    /// Cycles in a row that could not reach libvirt.
    disconnected_cycles: u64,
    /// When the latest cycle that reached libvirt started (Unix time).
    last_good_cycle_ts: Option<f64>,
    /// A configuration is being read off the loop; `again`: SIGHUP came meanwhile.
    loading: bool,
    load_again: bool,
    log_limit: RateLimiter,
    effects: Vec<Effect>,
}

impl Core {
    pub fn new(
        config: Config,
        host: Arc<str>,
        source_path: PathBuf,
        status: Status,
        now: Instant,
    ) -> Self {
        let wanted = Arc::new(Wanted::default());
        let core = Self {
            on_demand: OnDemand::new(config.min_collect_interval()),
            started: config.clone(),
            source_path,
            config,
            host,
            latest: Latest::default(),
            status,
            started_at: now,
            now,
            last_cycle_at: None,
            waiting: Vec::new(),
            building: Vec::new(),
            wanted,
            events: EventLines::default(),
            disconnected_cycles: 0,
            last_good_cycle_ts: None,
            loading: false,
            load_again: false,
            log_limit: RateLimiter::new(Duration::from_secs(60)),
            effects: Vec::new(),
        };
        core.want_textfile();
        core
    }

    /// The views the collector builds with its next cycle (shared with its thread).
    pub fn wanted(&self) -> Arc<Wanted> {
        Arc::clone(&self.wanted)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn host(&self) -> &Arc<str> {
        &self.host
    }

    /// The latest cycle's views (what clients are answered from).
    pub fn latest(&self) -> &Latest {
        &self.latest
    }

    /// When the core wants a [`Input::Tick`] at the latest (a deferred on-demand cycle).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.on_demand.next_deadline()
    }

    /// Whether cycles complete (for the systemd watchdog).
    pub fn healthy(&self, now: Instant) -> bool {
        match self.last_cycle_at {
            None => now.duration_since(self.started_at) < Duration::from_secs(60),
            Some(at) => {
                now.duration_since(at) < self.config.interval() * 3 + Duration::from_secs(60)
            }
        }
    }

    /// Handles one input at `now`; returns what the loop is to do, in order.
    pub fn handle(&mut self, input: Input, world: &impl World, now: Instant) -> Vec<Effect> {
        self.now = now;
        match input {
            Input::Cycle(cycle, losses) => self.ingest(*cycle, losses, world),
            Input::Request(token, request) => self.answer(token, request, world),
            Input::Refused(token, error) => {
                self.effects
                    .push(Effect::Send(token, owned(error.to_line())));
            }
            Input::Events(events, received, dropped) => self.take_events(events, received, dropped),
            Input::Built(seq, view) => self.built(seq, view, world),
            Input::Reload => self.reload(),
            Input::Loaded(loaded) => self.loaded(*loaded),
            Input::CollectSignal => {
                self.ask_cycle();
            }
            Input::Tick => {
                if let Some(request) = self.on_demand.due(now) {
                    self.effects.push(Effect::Collect(request));
                }
            }
        }
        std::mem::take(&mut self.effects)
    }

    /// An `agent` line for the spool (start, stop, reloads).
    pub fn agent_line(&mut self, event: &'static str, message: String) -> Effect {
        let record = AgentRecord::new(
            Arc::from(crate::clock::now_rfc3339()),
            Arc::clone(&self.host),
            event,
            Some(Arc::from(self.config.uri.as_str())),
            message,
        );
        let mut line = Vec::new();
        answers::line(&record, &mut line);
        Effect::Spool(Batch {
            chunks: vec![Chunk::Owned(line)],
            is_cycle: false,
            reports_lost: Losses::default(),
        })
    }

    /// `status` as of now.
    pub fn status(&mut self, world: &impl World) -> &Status {
        self.status.uptime_s = self.now.duration_since(self.started_at).as_secs();
        if let (Some(summary), Some(at)) = (self.status.last_cycle.as_mut(), self.last_cycle_at) {
            summary.age_s = crate::rates::round3(self.now.duration_since(at).as_secs_f64());
        }
        self.status.spool.stats = world.spool();
        self.status.textfile = world.textfile();
        self.status.events = self.events.counters;
        self.status.clients = world.clients();
        self.status.log = crate::log::counters();
        &self.status
    }

    /// A client or SIGUSR1 asks for a cycle; returns the request to wait for.
    fn ask_cycle(&mut self) -> RequestId {
        let (request, send_now) = self.on_demand.ask(self.now);
        if let Some(request) = send_now {
            self.effects.push(Effect::Collect(request));
        }
        request
    }

    /// The textfile needs the Prometheus view of every cycle.
    fn want_textfile(&self) {
        if !self.config.prometheus.textfile.as_os_str().is_empty() {
            self.wanted.mark(View::Metrics);
        }
    }

    /// Whether the domains' series are current enough to publish.
    fn domains_published(&self) -> bool {
        self.disconnected_cycles < STALE_AFTER_DISCONNECTED_CYCLES
    }

    fn log(&mut self, level: Level, message: String) {
        self.effects.push(Effect::Log(level, message));
    }

    /// Logs at most once a minute per `key`, with the count of lines held back.
    fn log_limited(&mut self, key: &str, level: Level, message: impl FnOnce(u64) -> String) {
        if let Some(suppressed) = self.log_limit.check(key, self.now) {
            self.log(level, message(suppressed));
        }
    }
}

/// An answer of owned bytes only.
fn owned(bytes: Vec<u8>) -> Payload {
    Payload {
        shared: None,
        owned: bytes,
    }
}

/// The error a client gets if a view it waited for is missing after all (the builder
/// thread failed): never expected, but never a hang.
fn missing(view: View) -> Payload {
    owned(
        ProtocolError::new(
            ErrorCode::Internal,
            format!("the {view:?} view could not be built; try again"),
        )
        .to_line(),
    )
}

#[cfg(test)]
mod tests;
