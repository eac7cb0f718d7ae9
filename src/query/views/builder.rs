//! The builder thread: the views a client found unbuilt are built here, one at a
//! time, off the event loop, and retired cycles are freed here too (dropping 5,000
//! records and their buffers takes milliseconds). Both queues are bounded.

use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use mio::Waker;

use super::{Latest, View};

/// Jobs waiting for the builder thread, at most. The loop asks for each (cycle, view)
/// once, and retires one cycle per cycle.
pub const BUILDS_IN_FLIGHT: usize = 8;

enum Job {
    Build(Latest, View),
    /// The views of a cycle no longer the latest: dropped here, since freeing a cycle's
    /// records and buffers one by one takes milliseconds at 5,000 domains.
    Retire(Latest),
}

/// The builder thread: builds the views the loop found missing, one at a time, and
/// reports each as `(seq, view)` with a wake-up of the loop; and frees retired cycles.
pub struct Builder {
    jobs: SyncSender<Job>,
    built: Receiver<(u64, View)>,
    handle: JoinHandle<()>,
}

impl Builder {
    pub fn spawn(waker: Arc<Waker>) -> std::io::Result<Builder> {
        let (job_tx, job_rx) = std::sync::mpsc::sync_channel::<Job>(BUILDS_IN_FLIGHT);
        let (built_tx, built_rx) = std::sync::mpsc::sync_channel(BUILDS_IN_FLIGHT);
        let handle = std::thread::Builder::new()
            .name("views".into())
            .spawn(move || {
                while let Ok(job) = job_rx.recv() {
                    let (latest, view) = match job {
                        Job::Build(latest, view) => (latest, view),
                        Job::Retire(latest) => {
                            drop(latest);
                            continue;
                        }
                    };
                    latest.build(view);
                    let seq = latest.seq();
                    drop(latest);
                    if built_tx.send((seq, view)).is_err() {
                        return;
                    }
                    let _ = waker.wake();
                }
            })?;
        Ok(Builder {
            jobs: job_tx,
            built: built_rx,
            handle,
        })
    }

    /// Asks for a view without waiting; false if [`BUILDS_IN_FLIGHT`] jobs are waiting.
    pub fn ask(&self, latest: Latest, view: View) -> bool {
        self.jobs.try_send(Job::Build(latest, view)).is_ok()
    }

    /// Hands a cycle's views over to be freed off the loop (or frees them here if the
    /// thread has [`BUILDS_IN_FLIGHT`] jobs waiting).
    pub fn retire(&self, latest: Latest) {
        let _ = self.jobs.try_send(Job::Retire(latest));
    }

    /// The views built since the last call.
    pub fn take_built(&self) -> Vec<(u64, View)> {
        self.built.try_iter().collect()
    }

    /// Whether the thread ended (it only does when the loop is gone, or on a panic).
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}
