//! The spool writer thread: every write, rotation, reopen and fdatasync of the spool
//! happens here, never on the event loop.
//!
//! The loop hands over batches (one cycle's lines, or an agent line) through a bounded
//! queue and never waits for the disk: when [`MAX_QUEUED_WRITES`] batches are already
//! waiting (a slow, full or hung filesystem), the new batch is dropped whole, and its
//! lines and the cycle are counted. The counts reach `status` at once and the next cycle
//! line that the writer manages to write (`spool_lost_lines`, `spool_dropped_cycles`).
//! Reopen (SIGHUP) and a new spool configuration (reload) are queued in order with the
//! writes, so lines handed over before a reload go to the old path; repeated ones
//! coalesce, so the queue stays bounded.
//!
//! The Prometheus textfile goes through the writer too, to a thread of its own
//! ([`super::textfile`]) with a latest-wins slot, so that neither file's filesystem
//! can hold up the other.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::textfile::Textfile;
use crate::chunk::Chunk;
use crate::config::SpoolConfig;
use crate::log::RateLimiter;
use crate::spool::{Spool, SpoolStats};
use crate::{log_error, log_warn};

/// Batches that may wait for the writer; one more is dropped.
pub const MAX_QUEUED_WRITES: usize = 4;

/// Lines to append, in order.
pub struct Batch {
    pub chunks: Vec<Chunk>,
    /// A cycle's lines (counted in `dropped_cycles` when dropped) or an agent line.
    pub is_cycle: bool,
    /// The losses this batch's cycle line reports: counted again if it never lands.
    pub reports_lost: Losses,
}

impl Batch {
    fn lines(&self) -> u64 {
        self.chunks
            .iter()
            .map(|c| c.bytes().iter().filter(|&&b| b == b'\n').count() as u64)
            .sum()
    }
}

/// Lost lines and dropped cycles not yet reported in a cycle line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Losses {
    pub lines: u64,
    pub dropped_cycles: u64,
}

impl Losses {
    fn add(&mut self, other: Losses) {
        self.lines += other.lines;
        self.dropped_cycles += other.dropped_cycles;
    }
}

enum Job {
    Write(Batch),
    Reopen,
    Configure(SpoolConfig),
}

/// The queue and its policy, apart from the thread (tested alone).
#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    writes: usize,
    stopping: bool,
}

impl Queue {
    /// Queues a batch, or gives it back when [`MAX_QUEUED_WRITES`] are waiting.
    fn push_write(&mut self, batch: Batch) -> Result<(), Batch> {
        if self.writes >= MAX_QUEUED_WRITES {
            return Err(batch);
        }
        self.writes += 1;
        self.jobs.push_back(Job::Write(batch));
        Ok(())
    }

    /// Queues a reopen or a configuration; one just like it at the tail absorbs it.
    fn push_control(&mut self, job: Job) {
        match (self.jobs.back_mut(), job) {
            (Some(Job::Reopen), Job::Reopen) => {}
            (Some(Job::Configure(last)), Job::Configure(config)) => *last = config,
            (_, job) => self.jobs.push_back(job),
        }
    }

    fn pop(&mut self) -> Option<Job> {
        let job = self.jobs.pop_front()?;
        if matches!(job, Job::Write(_)) {
            self.writes -= 1;
        }
        Some(job)
    }
}

/// What the loop reads back: the spool's counters and the losses to report.
#[derive(Default)]
struct Accounts {
    spool: SpoolStats,
    /// Lines of batches dropped at the queue (not counted by the spool itself).
    dropped_lines: u64,
    dropped_cycles: u64,
    unreported: Losses,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    accounts: Mutex<Accounts>,
}

pub struct Writer {
    shared: Arc<Shared>,
    /// None once stopped.
    handle: Option<JoinHandle<()>>,
    textfile: Textfile,
}

impl Writer {
    /// Starts the thread with an open spool.
    pub fn spawn(spool: Spool) -> std::io::Result<Writer> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            accounts: Mutex::new(Accounts {
                spool: spool.stats().clone(),
                ..Accounts::default()
            }),
        });
        let thread_shared = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("spool-writer".into())
            .spawn(move || run(spool, &thread_shared))?;
        Ok(Writer {
            shared,
            handle: Some(handle),
            textfile: Textfile::spawn()?,
        })
    }

    /// Hands a batch over without waiting; drops and counts it when the queue is full.
    /// Returns whether it was queued.
    pub fn write(&self, batch: Batch) -> bool {
        let rejected = lock(&self.shared.queue).push_write(batch);
        match rejected {
            Ok(()) => {
                self.shared.wake.notify_one();
                true
            }
            Err(batch) => {
                let lines = batch.lines();
                let mut accounts = lock(&self.shared.accounts);
                accounts.dropped_lines += lines;
                let mut lost = Losses {
                    lines,
                    dropped_cycles: 0,
                };
                if batch.is_cycle {
                    accounts.dropped_cycles += 1;
                    lost.dropped_cycles = 1;
                }
                lost.add(batch.reports_lost);
                accounts.unreported.add(lost);
                false
            }
        }
    }

    /// Hands a Prometheus exposition over for `path`, without waiting; it replaces one
    /// not written yet.
    pub fn textfile(&self, path: PathBuf, chunks: Vec<Chunk>) {
        self.textfile.publish(path, chunks);
    }

    /// Closes and reopens the spool path, after what is queued.
    pub fn reopen(&self) {
        lock(&self.shared.queue).push_control(Job::Reopen);
        self.shared.wake.notify_one();
    }

    /// Applies a new spool configuration, after what is queued.
    pub fn configure(&self, config: SpoolConfig) {
        lock(&self.shared.queue).push_control(Job::Configure(config));
        self.shared.wake.notify_one();
    }

    /// The spool's counters, with the writes dropped at the queue.
    pub fn stats(&self) -> SpoolStats {
        let accounts = lock(&self.shared.accounts);
        let mut stats = accounts.spool.clone();
        stats.lines_lost += accounts.dropped_lines;
        stats.dropped_cycles = accounts.dropped_cycles;
        stats
    }

    /// Takes the losses that no cycle line has reported yet.
    pub fn take_unreported(&self) -> Losses {
        std::mem::take(&mut lock(&self.shared.accounts).unreported)
    }

    /// Writes what is queued (the spool's lines, then the textfile), then stops; gives
    /// up at `deadline` (a hung filesystem) and leaves the threads behind. Returns
    /// whether everything was written.
    pub fn stop(&mut self, deadline: Instant) -> bool {
        let spool_done = self.stop_spool(deadline);
        self.textfile.stop(deadline) && spool_done
    }

    fn stop_spool(&mut self, deadline: Instant) -> bool {
        lock(&self.shared.queue).stopping = true;
        self.shared.wake.notify_one();
        self.handle
            .take()
            .is_none_or(|handle| join_until(handle, deadline))
    }
}

/// Joins a thread that was told to stop, or gives up at `deadline` (a write stuck on a
/// hung filesystem) and leaves it behind. Returns whether it ended.
pub(super) fn join_until(handle: JoinHandle<()>, deadline: Instant) -> bool {
    while !handle.is_finished() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = handle.join();
    true
}

/// Locks a mutex, taking the data even if a thread panicked while holding it (the
/// data are counters and a queue, valid at every point).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn run(mut spool: Spool, shared: &Shared) {
    let mut log_limit = RateLimiter::new(Duration::from_secs(60));
    loop {
        let job = {
            let mut queue = lock(&shared.queue);
            loop {
                if let Some(job) = queue.pop() {
                    break job;
                }
                if queue.stopping {
                    return;
                }
                queue = shared
                    .wake
                    .wait(queue)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
        };
        let mut lost = Losses::default();
        match job {
            Job::Write(batch) => {
                let parts: Vec<&[u8]> = batch.chunks.iter().map(Chunk::bytes).collect();
                let outcome = spool.write_lines(&parts);
                if outcome.lines_lost > 0 {
                    lost.lines = outcome.lines_lost;
                    lost.add(batch.reports_lost);
                    if let Some(suppressed) = log_limit.check("write", Instant::now()) {
                        log_error!(
                            "spool: lost {} lines: {} ({suppressed} similar errors suppressed)",
                            outcome.lines_lost,
                            spool
                                .stats()
                                .last_error
                                .as_deref()
                                .unwrap_or("unknown error")
                        );
                    }
                }
            }
            Job::Reopen => {
                if let Err(e) = spool.reopen() {
                    log_error!(
                        "cannot reopen the spool {}: {e}; trying again at the next write",
                        spool.path().display()
                    );
                }
            }
            Job::Configure(config) => {
                if config.path != *spool.path() {
                    log_warn!(
                        "spool moves from {} to {}",
                        spool.path().display(),
                        config.path.display()
                    );
                }
                spool.set_config(config);
            }
        }
        let mut accounts = lock(&shared.accounts);
        accounts.spool = spool.stats().clone();
        accounts.unreported.add(lost);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(lines: usize, is_cycle: bool) -> Batch {
        Batch {
            chunks: vec![Chunk::Owned(b"{}\n".repeat(lines))],
            is_cycle,
            reports_lost: Losses::default(),
        }
    }

    #[test]
    fn a_full_queue_gives_the_batch_back() {
        let mut queue = Queue::default();
        for _ in 0..MAX_QUEUED_WRITES {
            assert!(queue.push_write(batch(1, true)).is_ok());
        }
        assert!(queue.push_write(batch(1, true)).is_err());
        // Control jobs do not count against the bound, and do not grow without one.
        for _ in 0..100 {
            queue.push_control(Job::Reopen);
        }
        assert_eq!(queue.jobs.len(), MAX_QUEUED_WRITES + 1);
        assert!(queue.pop().is_some());
        assert!(queue.push_write(batch(1, true)).is_ok());
    }

    #[test]
    fn repeated_configurations_coalesce_to_the_last_in_order() {
        let mut queue = Queue::default();
        let config = |name: &str| SpoolConfig {
            path: name.into(),
            ..crate::config::Config::default().spool
        };
        queue.push_control(Job::Configure(config("/a")));
        queue.push_control(Job::Configure(config("/b")));
        assert!(queue.push_write(batch(1, true)).is_ok());
        queue.push_control(Job::Configure(config("/c")));
        let order: Vec<String> = std::iter::from_fn(|| queue.pop())
            .map(|job| match job {
                Job::Configure(c) => c.path.display().to_string(),
                Job::Write(_) => "write".into(),
                Job::Reopen => "reopen".into(),
            })
            .collect();
        assert_eq!(order, ["/b", "write", "/c"]);
    }

    /// A writer whose thread never drains the queue: a hung filesystem.
    fn stuck_writer() -> Writer {
        Writer {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue::default()),
                wake: Condvar::new(),
                accounts: Mutex::new(Accounts::default()),
            }),
            handle: Some(std::thread::spawn(|| {})),
            textfile: Textfile::spawn().unwrap(),
        }
    }

    #[test]
    fn dropped_batches_are_counted_with_the_losses_they_reported() {
        let writer = stuck_writer();
        for _ in 0..MAX_QUEUED_WRITES {
            assert!(writer.write(batch(2, true)));
        }
        let mut late = batch(3, true);
        late.reports_lost = Losses {
            lines: 5,
            dropped_cycles: 1,
        };
        assert!(!writer.write(late));
        assert!(!writer.write(batch(1, false)));
        assert_eq!(
            writer.take_unreported(),
            Losses {
                lines: 3 + 5 + 1,
                dropped_cycles: 1 + 1
            }
        );
        assert_eq!(writer.take_unreported(), Losses::default());
        let stats = writer.stats();
        assert_eq!((stats.dropped_cycles, stats.lines_lost), (1, 4));
    }

    #[test]
    fn the_thread_writes_in_order_and_drains_before_stopping() {
        let dir = std::env::temp_dir().join(format!("virtdiag-writer-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = SpoolConfig {
            path: dir.join("d.ndjson"),
            ..crate::config::Config::default().spool
        };
        let (spool, _) = Spool::open(config.clone()).unwrap();
        let mut writer = Writer::spawn(spool).unwrap();
        let mut written = 0;
        for n in 1..=3 {
            let queued = writer.write(Batch {
                chunks: vec![
                    Chunk::Owned(format!("{{\"n\":{n}}}\n").into_bytes()),
                    Chunk::Shared(Arc::new(b"{}\n".to_vec())),
                ],
                is_cycle: true,
                reports_lost: Losses::default(),
            });
            written += u64::from(queued) * 2;
        }
        assert!(writer.stop(Instant::now() + Duration::from_secs(5)));
        let text = std::fs::read_to_string(&config.path).unwrap();
        assert_eq!(text.lines().count() as u64, written);
        assert!(text.starts_with("{\"n\":1}\n{}\n"));
    }
}
