//! libvirt calls with a time bound.
//!
//! A call into a hung QEMU (stopped, or stuck in I/O) takes its domain's job and waits
//! for the monitor forever; NOWAIT only protects the calls that come after it. libvirt
//! calls cannot be cancelled, so a call that overruns is left behind on its own thread,
//! holding its own reference to the connection, and the collector goes on without it.
//! Later calls made with NOWAIT then skip the hung domain, whose job the abandoned call
//! still holds. When the guest wakes up, the abandoned call returns and its thread ends.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::libvirt::LibvirtError;

/// Abandoned calls still inside libvirt beyond which no new call is started: if libvirt
/// itself hangs, the collector must not pile up threads.
const MAX_ABANDONED: usize = 3;

type Job = Box<dyn FnOnce() + Send>;

/// The long-lived thread that makes the calls, one at a time.
struct Caller {
    jobs: mpsc::Sender<Job>,
    handle: JoinHandle<()>,
}

impl Caller {
    fn spawn() -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let handle = std::thread::Builder::new()
            .name("libvirt-caller".into())
            // Ends when the collector drops the sender: at once when idle, or when the
            // call it was left behind in returns.
            .spawn(move || {
                while let Ok(job) = queue.recv() {
                    job();
                }
            })?;
        Ok(Self { jobs, handle })
    }
}

pub struct Bounded {
    limit: Duration,
    caller: Option<Caller>,
    abandoned: Vec<(Instant, &'static str, JoinHandle<()>)>,
}

impl Bounded {
    pub fn new(limit: Duration) -> Self {
        Self {
            limit,
            caller: None,
            abandoned: Vec::new(),
        }
    }

    /// Calls still running that were left behind.
    pub fn abandoned(&mut self) -> usize {
        self.abandoned
            .retain(|(_, _, handle)| !handle.is_finished());
        self.abandoned.len()
    }

    /// Runs `call` on the caller thread and waits at most the limit for it. A call that
    /// overruns keeps that thread; the next call gets a new one.
    pub fn run<T: Send + 'static>(
        &mut self,
        what: &'static str,
        call: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, LibvirtError> {
        let stuck = self.abandoned();
        if stuck >= MAX_ABANDONED {
            let (since, name, _) = &self.abandoned[0];
            return Err(timeout_error(format!(
                "{stuck} libvirt calls have not returned (the oldest, {name}, for {:.0} s); not starting {what}",
                since.elapsed().as_secs_f64()
            )));
        }
        let caller = match self.caller.take() {
            Some(caller) if !caller.handle.is_finished() => caller,
            _ => Caller::spawn()
                .map_err(|e| timeout_error(format!("cannot start a thread for {what}: {e}")))?,
        };
        let (sender, receiver) = mpsc::sync_channel(1);
        let job: Job = Box::new(move || {
            let _ = sender.send(call());
        });
        if caller.jobs.send(job).is_err() {
            return Err(timeout_error(format!(
                "the libvirt caller thread is gone; not running {what}"
            )));
        }
        match receiver.recv_timeout(self.limit) {
            Ok(value) => {
                self.caller = Some(caller);
                Ok(value)
            }
            Err(_) => {
                // Dropping the sender lets the thread end once the call returns.
                let Caller { jobs, handle } = caller;
                drop(jobs);
                self.abandoned.push((Instant::now(), what, handle));
                Err(timeout_error(format!(
                    "libvirt did not answer {what} within {:.0} s (a hung guest or daemon); the call is left behind",
                    self.limit.as_secs_f64()
                )))
            }
        }
    }
}

/// Ends the caller thread and waits for it: it ends at once, idle between calls, and
/// its end runs libvirt's per-thread destructors. Left running, they raced the
/// process's exit (`once` returning) and crashed it with SIGSEGV in that thread. Calls
/// left behind are not waited for: they may never return.
impl Drop for Bounded {
    fn drop(&mut self) {
        if let Some(Caller { jobs, handle }) = self.caller.take() {
            drop(jobs);
            let _ = handle.join();
        }
    }
}

fn timeout_error(message: String) -> LibvirtError {
    LibvirtError {
        code: virt::sys::VIR_ERR_OPERATION_TIMEOUT as i32,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_it_waits_for_the_caller_thread_to_end() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        /// Set when the caller thread's thread-local destructors ran, as libvirt's do.
        struct Ended(Arc<AtomicBool>);
        impl Drop for Ended {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        thread_local! {
            static ENDED: std::cell::RefCell<Option<Ended>> = const { std::cell::RefCell::new(None) };
        }
        let ended = Arc::new(AtomicBool::new(false));
        let mut bounded = Bounded::new(Duration::from_secs(5));
        let flag = Arc::clone(&ended);
        bounded
            .run("mark", move || {
                ENDED.with(|e| *e.borrow_mut() = Some(Ended(flag)))
            })
            .unwrap();
        assert!(!ended.load(Ordering::SeqCst));
        drop(bounded);
        assert!(ended.load(Ordering::SeqCst), "the caller thread had ended");
    }

    #[test]
    fn quick_calls_return_their_value_from_one_thread() {
        let mut bounded = Bounded::new(Duration::from_secs(5));
        assert_eq!(bounded.run("add", || 2 + 2).unwrap(), 4);
        let first = bounded.run("id", || std::thread::current().id()).unwrap();
        let second = bounded.run("id", || std::thread::current().id()).unwrap();
        assert_eq!(first, second, "one long-lived caller thread");
        assert_ne!(first, std::thread::current().id());
        assert_eq!(bounded.abandoned(), 0);
    }

    #[test]
    fn a_slow_call_is_left_behind_and_the_pile_is_capped() {
        let mut bounded = Bounded::new(Duration::from_millis(20));
        let (release, wait) = mpsc::channel::<()>();
        let wait = std::sync::Arc::new(std::sync::Mutex::new(wait));
        for _ in 0..MAX_ABANDONED {
            let wait = std::sync::Arc::clone(&wait);
            let started = Instant::now();
            let err = bounded
                .run("hang", move || {
                    let _ = wait.lock().unwrap().recv();
                })
                .unwrap_err();
            assert!(started.elapsed() < Duration::from_secs(2));
            assert!(
                err.message.contains("did not answer hang within"),
                "{}",
                err.message
            );
        }
        let err = bounded.run("more", || ()).unwrap_err();
        assert!(
            err.message.contains("3 libvirt calls have not returned"),
            "{}",
            err.message
        );
        // The hung calls return: the collector can call again.
        drop(release);
        let deadline = Instant::now() + Duration::from_secs(5);
        while bounded.abandoned() > 0 {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(bounded.run("again", || 1).unwrap(), 1);
    }
}
