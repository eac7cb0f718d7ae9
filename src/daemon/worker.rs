//! The collector thread: runs cycles on a monotonic schedule or on demand, serializes
//! each cycle's domain lines and builds the views asked for since the last cycle
//! ([`crate::query::views`]), and hands the result to the event loop over a channel,
//! waking it with a `mio::Waker`. Only this thread talks to libvirt.
//!
//! The hand-over is bounded ([`CYCLES_IN_FLIGHT`]): if the loop has not taken the
//! cycles already handed over, the collector waits for it rather than piling up
//! snapshots; ticks missed meanwhile are counted as skipped. The loop never blocks, so
//! this wait is short. Commands are bounded by construction: the loop sends at most one
//! on-demand request unanswered ([`super::on_demand`]), new settings go to a
//! latest-wins slot with at most one wake-up queued, and one shutdown.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::Waker;

use crate::collect::events::EventSink;
use crate::collect::{Collector, CollectorConfig, Snapshot};
use crate::query::views::{Latest, Wanted};
use crate::spool::tail::LastCycle;

/// Commands waiting for the collector, at most: by construction there are never more
/// than three (one unanswered on-demand request, one settings wake-up, one shutdown).
pub const COMMANDS_IN_FLIGHT: usize = 4;

/// Finished cycles waiting for the loop, at most.
pub const CYCLES_IN_FLIGHT: usize = 2;

/// What the loop asks of the collector thread.
pub enum Command {
    /// Run a cycle now; `request` identifies the asking clients.
    CollectNow {
        request: u64,
    },
    /// New settings wait in the worker's slot ([`Worker::reconfigure`]).
    Reconfigure,
    Shutdown,
}

/// One finished cycle, ready for the spool and the socket.
pub struct Cycle {
    pub snapshot: Snapshot,
    /// The records as the socket answers them: serialized lines, lookups and the views
    /// wanted, built here so the event loop only swaps them in.
    pub latest: Latest,
    /// The highest on-demand request this cycle answers (0: none).
    pub served_request: u64,
}

/// Settings for the collector after a reload; a newer one replaces an older one not yet
/// taken.
type Settings = Arc<Mutex<Option<(CollectorConfig, Duration)>>>;

pub struct Worker {
    commands: SyncSender<Command>,
    pub cycles: Receiver<Cycle>,
    pub handle: JoinHandle<()>,
    settings: Settings,
}

impl Worker {
    /// Hands a command over without ever waiting: the loop must not block.
    pub fn command(&self, command: Command) {
        if let Err(TrySendError::Full(_)) = self.commands.try_send(command) {
            crate::log_warn!(
                "the collector has {COMMANDS_IN_FLIGHT} commands waiting; dropped one"
            );
        }
    }

    /// Hands new settings over; the thread takes the latest at its next command.
    pub fn reconfigure(&self, config: CollectorConfig, interval: Duration) {
        let mut slot = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        let wake = slot.is_none();
        *slot = Some((config, interval));
        drop(slot);
        if wake {
            self.command(Command::Reconfigure);
        }
    }
}

/// Starts the thread. The first cycle runs at once.
/// Cycles older than this many intervals (plus a minute) give no baseline: the
/// counters may have been reset meanwhile for reasons the id does not show.
const BASELINE_MAX_INTERVALS: u32 = 3;

pub fn spawn(
    config: CollectorConfig,
    first_seq: u64,
    baseline: Option<LastCycle>,
    interval: Duration,
    waker: Arc<Waker>,
    events: Arc<dyn EventSink>,
    wanted: Arc<Wanted>,
) -> std::io::Result<Worker> {
    let (command_tx, command_rx) = std::sync::mpsc::sync_channel(COMMANDS_IN_FLIGHT);
    let (cycle_tx, cycle_rx) = std::sync::mpsc::sync_channel(CYCLES_IN_FLIGHT);
    let settings = Settings::default();
    let thread_settings = Arc::clone(&settings);
    let handle = std::thread::Builder::new()
        .name("collector".into())
        .spawn(move || {
            let mut collector = Collector::new(config);
            collector.set_seq(first_seq);
            if let Some(last) = baseline {
                let max_age = interval * BASELINE_MAX_INTERVALS + Duration::from_secs(60);
                let seeded = collector.seed_baselines(last, max_age);
                if seeded > 0 {
                    crate::log_info!(
                        "rates continue from the spool's last cycle: {seeded} domains"
                    );
                }
            }
            collector.enable_events(Arc::clone(&events));
            let channels = Channels {
                commands: &command_rx,
                cycles: &cycle_tx,
                settings: &thread_settings,
                waker: &waker,
                events: &events,
                wanted: &wanted,
            };
            run(collector, interval, &channels);
        })?;
    Ok(Worker {
        commands: command_tx,
        cycles: cycle_rx,
        handle,
        settings,
    })
}

/// What the thread talks to the loop through.
struct Channels<'a> {
    commands: &'a Receiver<Command>,
    cycles: &'a SyncSender<Cycle>,
    settings: &'a Settings,
    waker: &'a Waker,
    /// Where a new collector (another URI) delivers its domain events.
    events: &'a Arc<dyn EventSink>,
    /// The views to build with the next cycle.
    wanted: &'a Wanted,
}

impl Channels<'_> {
    fn take_settings(&self) -> Option<(CollectorConfig, Duration)> {
        self.settings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

fn run(mut collector: Collector, mut interval: Duration, channels: &Channels<'_>) {
    let commands = channels.commands;
    let mut next_tick = Instant::now();
    let mut skipped_ticks = 0u64;
    loop {
        let timeout = next_tick.saturating_duration_since(Instant::now());
        let mut served_request = 0;
        let scheduled = match commands.recv_timeout(timeout) {
            Ok(Command::Shutdown) | Err(RecvTimeoutError::Disconnected) => return,
            Ok(Command::CollectNow { request }) => {
                served_request = request;
                false
            }
            Ok(Command::Reconfigure) => {
                if let Some((config, new_interval)) = channels.take_settings() {
                    reconfigure(&mut collector, config, channels.events);
                    if new_interval != interval {
                        interval = new_interval;
                        next_tick = Instant::now();
                    }
                }
                continue;
            }
            Err(RecvTimeoutError::Timeout) => true,
        };
        // Requests that queued up meanwhile share this cycle.
        while let Ok(command) = commands.try_recv() {
            match command {
                Command::Shutdown => return,
                Command::CollectNow { request } => served_request = served_request.max(request),
                Command::Reconfigure => {
                    if let Some((config, new_interval)) = channels.take_settings() {
                        reconfigure(&mut collector, config, channels.events);
                        interval = new_interval;
                    }
                }
            }
        }

        let mut snapshot = collector.collect();
        if scheduled {
            // Next tick on the fixed grid; ticks that passed during an overrun are skipped.
            next_tick += interval;
            let now = Instant::now();
            if next_tick <= now {
                let behind = now.duration_since(next_tick);
                let missed = (behind.as_nanos() / interval.as_nanos().max(1)) as u32 + 1;
                skipped_ticks += u64::from(missed);
                next_tick += interval * missed;
            }
        }
        snapshot.cycle.skipped_ticks = skipped_ticks;
        let latest = Latest::serialize(
            snapshot.seq,
            snapshot.records.clone(),
            snapshot.cycle.node.clone(),
        );
        // The views asked for since the last cycle are built here, off the loop.
        for view in channels.wanted.take() {
            latest.build(view);
        }
        let cycle = Cycle {
            snapshot,
            latest,
            served_request,
        };
        if channels.cycles.send(cycle).is_err() {
            return;
        }
        let _ = channels.waker.wake();
    }
}

fn reconfigure(collector: &mut Collector, config: CollectorConfig, events: &Arc<dyn EventSink>) {
    let current = collector.config();
    if current.uri == config.uri
        && current.read_only == config.read_only
        && current.host == config.host
        && current.groups == config.groups
    {
        collector.set_filter(config.filter);
    } else {
        let seq = collector.seq();
        *collector = Collector::new(config);
        collector.set_seq(seq);
        collector.enable_events(Arc::clone(events));
    }
}
