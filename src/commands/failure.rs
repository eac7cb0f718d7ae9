//! Why a client command (`once`, `query`, `top`) ends without doing its job, beyond a
//! failed conversation with the agent ([`super::client::Failure`]): a command line it
//! cannot run, an error answered by the agent, a libvirt it cannot read, a domain that
//! is not there, a terminal it cannot use. The exit code of each is chosen in
//! [`crate::error`], nowhere else. Outside text in a message (a word of the command
//! line, a domain pattern, a message from the agent) is kept escaped.

use crate::collect::filter::Refused;

/// A command line the command cannot run, whatever it would ask (64).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Usage {
    #[error("a query is one line")]
    QueryLines,
    /// `--format` with a request that takes no format: the request's word.
    #[error("--format goes with get, all, collect and watch, not '{0}'")]
    FormatWith(String),
    #[error("give the format once: --format or format=, not both")]
    FormatTwice,
    /// A `--domain` string refused before libvirt is asked anything.
    #[error("--domain {0}")]
    Domain(Refused),
    #[error(
        "top reads keys from and draws on a terminal; for a stream of records use \
         `virtdiag query watch`"
    )]
    NotATerminal,
    #[error(
        "top is not in this build of virtdiag: it was built without the cargo feature \
         `top` (`cargo build --features top`); `virtdiag query watch` streams the records"
    )]
    TopNotBuilt,
}

/// What the command asked of the agent or of libvirt was answered with a no.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Answered {
    /// The agent's error line, its message escaped (65).
    #[error("the agent answered: {0}")]
    Refused(String),
    /// A `--domain` string of `once` that names no domain of the host (65).
    #[error("no domain matches '{pattern}' (read as {reading}) at {uri}")]
    NoDomain {
        pattern: String,
        reading: &'static str,
        uri: String,
    },
}

/// libvirt could not be read (69).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Libvirt {
    #[error("cannot connect to libvirt at {uri}: {error}; {advice}")]
    Connect {
        uri: String,
        error: String,
        advice: String,
    },
    #[error("collection from {uri} failed: {error}")]
    Collection { uri: String, error: String },
}

/// The terminal `top` draws on failed it.
#[derive(Debug, thiserror::Error)]
pub enum Terminal {
    /// A signal handler could not be installed (70).
    #[error("cannot handle signal {signal}: {source}")]
    Signal { signal: i32, source: std::io::Error },
    /// Raw mode, the alternate screen, or a read or draw failed (74).
    #[error("terminal: {0}")]
    Io(#[from] std::io::Error),
}
