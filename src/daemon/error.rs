//! Why the agent could not start, could not go on, or could not reload: the
//! configuration, the files it must create (spool, socket), and the threads and
//! descriptors of its event loop. [`crate::error::Error::exit_code`] turns each into
//! its exit code.

use std::fmt;
use std::path::PathBuf;

use super::setup::DescriptorError;
use crate::config;
use crate::config::environment::Unusable;
use crate::query::listener::BindError;
use crate::spool::guard::OpenError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] config::Error),
    /// `socket.max_clients` does not fit under the open-file limit.
    #[error(transparent)]
    Descriptors(#[from] DescriptorError),
    /// The directory of the spool or the socket is missing or not writable: what to
    /// do about it.
    #[error(transparent)]
    Directory(#[from] Unusable),
    /// The spool cannot be opened for appending.
    #[error("spool.path {}: cannot open for appending: {why}", .path.display())]
    Spool { path: PathBuf, why: OpenError },
    /// The socket cannot be bound.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// The system refused the event loop something it needs.
    #[error("{step}: {source}")]
    Os { step: Step, source: std::io::Error },
    /// A worker thread panicked: the service manager restarts the agent.
    #[error("a worker thread ended unexpectedly")]
    WorkerEnded,
}

/// What the event loop was setting up or doing when the system refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    CreateLoop,
    Waker,
    SignalHandlers,
    PollSignals,
    Poll,
    SpoolWriter,
    TextfileWriter,
    ViewBuilder,
    Collector,
    LogThread,
    /// The thread that reads the configuration after SIGHUP.
    ReloadThread,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::CreateLoop => "cannot create the event loop",
            Step::Waker => "cannot create the event loop's waker",
            Step::SignalHandlers => "cannot install signal handlers",
            Step::PollSignals => "cannot poll signals",
            Step::Poll => "event loop",
            Step::SpoolWriter => "cannot start the spool writer thread",
            Step::TextfileWriter => "cannot start the textfile writer thread",
            Step::ViewBuilder => "cannot start the view builder thread",
            Step::Collector => "cannot start the collector thread",
            Step::LogThread => "cannot start the log thread",
            Step::ReloadThread => "cannot start a thread to read it",
        })
    }
}

/// `io::Result` into [`Error::Os`], naming the step: `Poll::new().at(Step::CreateLoop)?`.
pub trait At<T> {
    fn at(self, step: Step) -> Result<T, Error>;
}

impl<T> At<T> for std::io::Result<T> {
    fn at(self, step: Step) -> Result<T, Error> {
        self.map_err(|source| Error::Os { step, source })
    }
}
