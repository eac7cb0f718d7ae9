//! The plumbing of a background writer thread, shared by the spool writer
//! ([`super::writer`]) and the textfile writer ([`super::textfile`]): a queue behind a
//! mutex, a condition variable that wakes the thread, a stop flag, and a join that
//! gives up at a deadline.
//!
//! What differs between the two is the queue's policy ([`Queue`]: a bounded FIFO that
//! refuses when full, or one slot where the latest wins) and what a job does
//! ([`Work`]). The loop hands jobs over under the lock and never waits for the thread;
//! the thread takes one job at a time, and once told to stop it finishes what is
//! queued, runs [`Work::finish`], and ends. A thread stuck in a write (a hung
//! filesystem) is left behind at its deadline.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A queue policy: how jobs wait for the thread.
pub trait Queue: Send + 'static {
    type Job: Send + 'static;
    /// The next job to run, if any.
    fn pop(&mut self) -> Option<Self::Job>;
}

/// What the thread does with a job, and at the end.
pub trait Work<J>: Send + 'static {
    fn run(&mut self, job: J);
    /// After the last job, once told to stop.
    fn finish(&mut self) {}
}

/// One slot: a new job replaces the one not taken yet (latest wins).
pub struct Latest<J>(Option<J>);

impl<J> Default for Latest<J> {
    fn default() -> Self {
        Latest(None)
    }
}

impl<J> Latest<J> {
    /// Puts `job` in the slot; gives back the one it replaced.
    pub fn replace(&mut self, job: J) -> Option<J> {
        self.0.replace(job)
    }
}

impl<J: Send + 'static> Queue for Latest<J> {
    type Job = J;
    fn pop(&mut self) -> Option<J> {
        self.0.take()
    }
}

struct State<Q> {
    queue: Q,
    stopping: bool,
}

struct Shared<Q> {
    state: Mutex<State<Q>>,
    wake: Condvar,
}

/// A background thread with its queue.
pub struct Background<Q: Queue> {
    shared: Arc<Shared<Q>>,
    /// None once stopped.
    handle: Option<JoinHandle<()>>,
}

impl<Q: Queue> Background<Q> {
    /// Starts a thread named `name` that runs `work` on the jobs of `queue`.
    pub fn spawn(name: &str, queue: Q, mut work: impl Work<Q::Job>) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue,
                stopping: false,
            }),
            wake: Condvar::new(),
        });
        let thread_shared = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                while let Some(job) = next(&thread_shared) {
                    work.run(job);
                }
                work.finish();
            })?;
        Ok(Background {
            shared,
            handle: Some(handle),
        })
    }

    /// Changes the queue under its lock (a push), then wakes the thread.
    pub fn with_queue<R>(&self, change: impl FnOnce(&mut Q) -> R) -> R {
        let result = change(&mut lock(&self.shared.state).queue);
        self.shared.wake.notify_one();
        result
    }

    /// Tells the thread to stop once what is queued is done, without waiting.
    pub fn begin_stop(&self) {
        lock(&self.shared.state).stopping = true;
        self.shared.wake.notify_one();
    }

    /// Tells the thread to stop and waits for it until `deadline`; past it, leaves the
    /// thread behind. Returns whether it ended.
    pub fn stop(&mut self, deadline: Instant) -> bool {
        self.begin_stop();
        self.handle
            .take()
            .is_none_or(|handle| join_until(handle, deadline))
    }

    /// A queue that no thread drains: a writer stuck on a hung filesystem.
    #[cfg(test)]
    pub fn stuck(queue: Q) -> Self {
        Background {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    queue,
                    stopping: false,
                }),
                wake: Condvar::new(),
            }),
            handle: None,
        }
    }
}

/// The next job, waiting for one; `None` once stopping with nothing left.
fn next<Q: Queue>(shared: &Shared<Q>) -> Option<Q::Job> {
    let mut state = lock(&shared.state);
    loop {
        if let Some(job) = state.queue.pop() {
            return Some(job);
        }
        if state.stopping {
            return None;
        }
        state = shared
            .wake
            .wait(state)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
    }
}

/// Joins a thread that was told to stop, or gives up at `deadline` (a write stuck on a
/// hung filesystem) and leaves it behind. Returns whether it ended.
fn join_until(handle: JoinHandle<()>, deadline: Instant) -> bool {
    while !handle.is_finished() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = handle.join();
    true
}

/// Locks a mutex, taking the data even if a thread panicked while holding it (the data
/// are counters and queues, valid at every point).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// Sends every job it runs, then "finish".
    struct Record(mpsc::SyncSender<String>);

    impl Work<String> for Record {
        fn run(&mut self, job: String) {
            let _ = self.0.send(job);
        }
        fn finish(&mut self) {
            let _ = self.0.send("finish".into());
        }
    }

    #[test]
    fn the_latest_wins_and_stop_runs_what_waits_then_finish() {
        let (tx, rx) = mpsc::sync_channel(16);
        let mut background = Background::stuck(Latest::default());
        for n in 0..3 {
            background.with_queue(|q| q.replace(format!("job {n}")));
        }
        // Now a thread takes over the same queue.
        let queue = background.with_queue(std::mem::take);
        background = Background::spawn("test", queue, Record(tx)).unwrap();
        assert!(background.stop(Instant::now() + Duration::from_secs(5)));
        let seen: Vec<String> = rx.iter().collect();
        assert_eq!(seen, ["job 2", "finish"]);
    }

    /// Blocks in its first job until told to go on.
    struct Hung(mpsc::Receiver<()>);

    impl Work<()> for Hung {
        fn run(&mut self, (): ()) {
            let _ = self.0.recv();
        }
    }

    #[test]
    fn a_hung_thread_is_left_behind_at_its_deadline() {
        let (go, wait) = mpsc::sync_channel(1);
        let mut background = Background::spawn("hung", Latest::default(), Hung(wait)).unwrap();
        background.with_queue(|q| q.replace(()));
        let start = Instant::now();
        assert!(!background.stop(start + Duration::from_millis(100)));
        assert!(start.elapsed() < Duration::from_secs(2));
        go.send(()).unwrap();
    }
}
