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
//! The thread plumbing is [`super::background`]'s; the Prometheus textfile has a thread
//! of its own beside this one ([`super::textfile`]), so that neither file's filesystem
//! can hold up the other.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::background::{self, lock, Background};
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

/// The queue and its policy, apart from the thread (tested alone): a bounded FIFO
/// of writes that refuses when full, with control jobs in order between them.
#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    writes: usize,
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
}

impl background::Queue for Queue {
    type Job = Job;
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

pub struct Writer {
    thread: Background<Queue>,
    accounts: Arc<Mutex<Accounts>>,
}

impl Writer {
    /// Starts the thread with an open spool.
    pub fn spawn(spool: Spool) -> std::io::Result<Writer> {
        let accounts = Arc::new(Mutex::new(Accounts {
            spool: spool.stats().clone(),
            ..Accounts::default()
        }));
        let work = SpoolWork {
            spool,
            accounts: Arc::clone(&accounts),
            log_limit: RateLimiter::new(Duration::from_secs(60)),
        };
        Ok(Writer {
            thread: Background::spawn("spool-writer", Queue::default(), work)?,
            accounts,
        })
    }

    /// Hands a batch over without waiting; drops and counts it when the queue is full.
    /// Returns whether it was queued.
    pub fn write(&self, batch: Batch) -> bool {
        match self.thread.with_queue(|queue| queue.push_write(batch)) {
            Ok(()) => true,
            Err(batch) => {
                let lines = batch.lines();
                let mut accounts = lock(&self.accounts);
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

    /// Closes and reopens the spool path, after what is queued.
    pub fn reopen(&self) {
        self.thread
            .with_queue(|queue| queue.push_control(Job::Reopen));
    }

    /// Applies a new spool configuration, after what is queued.
    pub fn configure(&self, config: SpoolConfig) {
        self.thread
            .with_queue(|queue| queue.push_control(Job::Configure(config)));
    }

    /// The spool's counters, with the writes dropped at the queue.
    pub fn stats(&self) -> SpoolStats {
        let accounts = lock(&self.accounts);
        let mut stats = accounts.spool.clone();
        stats.lines_lost += accounts.dropped_lines;
        stats.dropped_cycles = accounts.dropped_cycles;
        stats
    }

    /// Takes the losses that no cycle line has reported yet.
    pub fn take_unreported(&self) -> Losses {
        std::mem::take(&mut lock(&self.accounts).unreported)
    }

    /// Writes what is queued, then stops; gives up at `deadline` (a hung filesystem)
    /// and leaves the thread behind. Returns whether everything was written.
    pub fn stop(&mut self, deadline: Instant) -> bool {
        self.thread.stop(deadline)
    }
}

/// The thread's side: the spool, and the counters the loop reads back.
struct SpoolWork {
    spool: Spool,
    accounts: Arc<Mutex<Accounts>>,
    log_limit: RateLimiter,
}

impl background::Work<Job> for SpoolWork {
    fn run(&mut self, job: Job) {
        let spool = &mut self.spool;
        let mut lost = Losses::default();
        match job {
            Job::Write(batch) => {
                let parts: Vec<&[u8]> = batch.chunks.iter().map(Chunk::bytes).collect();
                let outcome = spool.write_lines(&parts);
                if outcome.lines_lost > 0 {
                    lost.lines = outcome.lines_lost;
                    lost.add(batch.reports_lost);
                    if let Some(suppressed) = self.log_limit.check("write", Instant::now()) {
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
        let mut accounts = lock(&self.accounts);
        accounts.spool = spool.stats().clone();
        accounts.unreported.add(lost);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::background::Queue as _;

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
            thread: Background::stuck(Queue::default()),
            accounts: Arc::default(),
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
