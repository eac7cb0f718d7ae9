//! The program's error: every module's typed error, and the one place that turns an
//! error into the exit code the process ends with (sysexits):
//!
//! | code | class | errors |
//! |---|---|---|
//! | 64 | usage | a bad command line ([`Error::Cli`], [`Error::Usage`]) |
//! | 65 | data | no such domain, an error answer from the agent ([`Error::Answered`]) |
//! | 69 | unavailable | libvirt or the agent unreachable |
//! | 70 | software | the system refused the agent a thread or the event loop |
//! | 73 | cannot create | the spool or the socket cannot be opened |
//! | 74 | I/O | a broken or cut answer, a failed write |
//! | 78 | configuration | a bad configuration, or one the machine cannot satisfy |
//!
//! Call sites return their module's error with `?`; the class follows from the
//! variant here, not from the call site.

use crate::commands::client::{Failure, Kind};
use crate::commands::failure;
use crate::config;
use crate::daemon;

/// An error that ends a command; [`Error::exit_code`] is its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bad configuration (78).
    #[error(transparent)]
    Config(#[from] config::Error),
    /// The agent could not start or go on (78, 73 or 70: see [`Error::exit_code`]).
    #[error(transparent)]
    Daemon(#[from] daemon::Error),
    /// A conversation with the agent that failed: unreachable (69), or a broken, late or
    /// cut answer (74).
    #[error(transparent)]
    Agent(#[from] Failure),
    /// The command line, as clap refused it (64); help and version end with 0.
    #[error(transparent)]
    Cli(#[from] clap::Error),
    /// Standard output refused what was written (74); a closed pipe is not an error.
    #[error("cannot write to stdout: {0}")]
    Stdout(std::io::Error),
    /// A command line the command cannot run (64).
    #[error(transparent)]
    Usage(#[from] failure::Usage),
    /// The agent's error answer, or no such domain (65).
    #[error(transparent)]
    Answered(#[from] failure::Answered),
    /// libvirt cannot be read (69).
    #[error(transparent)]
    Libvirt(#[from] failure::Libvirt),
    /// `top`'s terminal failed it (70 for a signal handler, 74 for the terminal).
    #[error(transparent)]
    Terminal(#[from] failure::Terminal),
}

// The exit codes, as sysexits.h names them.
pub const EX_OK: u8 = 0;
pub const EX_USAGE: u8 = 64;
pub const EX_DATAERR: u8 = 65;
pub const EX_UNAVAILABLE: u8 = 69;
pub const EX_SOFTWARE: u8 = 70;
pub const EX_CANTCREAT: u8 = 73;
pub const EX_IOERR: u8 = 74;
pub const EX_CONFIG: u8 = 78;

impl Error {
    /// The exit code of the process that ends with this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) => EX_CONFIG,
            Error::Daemon(e) => match e {
                daemon::Error::Config(_) | daemon::Error::Descriptors(_) => EX_CONFIG,
                daemon::Error::Directory(_) | daemon::Error::Spool { .. } => EX_CANTCREAT,
                daemon::Error::Bind(_) => EX_CANTCREAT,
                daemon::Error::Os { .. } | daemon::Error::WorkerEnded => EX_SOFTWARE,
            },
            Error::Agent(failure) => match failure.kind {
                Kind::Unreachable => EX_UNAVAILABLE,
                Kind::Answer | Kind::Silent => EX_IOERR,
            },
            Error::Cli(e) => match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    EX_OK
                }
                _ => EX_USAGE,
            },
            Error::Stdout(_) => EX_IOERR,
            Error::Usage(_) => EX_USAGE,
            Error::Answered(_) => EX_DATAERR,
            Error::Libvirt(_) => EX_UNAVAILABLE,
            Error::Terminal(failure::Terminal::Signal { .. }) => EX_SOFTWARE,
            Error::Terminal(failure::Terminal::Io(_)) => EX_IOERR,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use clap::Parser;

    use super::*;
    use crate::daemon::error::Step;
    use crate::daemon::setup::DescriptorError;
    use crate::query::listener::BindError;

    fn daemon(e: daemon::Error) -> Error {
        e.into()
    }

    #[test]
    fn each_error_ends_with_its_class_exit_code() {
        let config = config::parse("interval_seconds = 0\n").unwrap_err();
        assert_eq!(Error::from(config).exit_code(), EX_CONFIG);
        let config = config::parse("bogus = 1\n").unwrap_err();
        assert_eq!(daemon(config.into()).exit_code(), EX_CONFIG, "at start");
        let descriptors = DescriptorError::TooFew {
            clients: 10_000,
            needed: 10_064,
            hard: 1024,
        };
        assert_eq!(daemon(descriptors.into()).exit_code(), EX_CONFIG);

        let socket = PathBuf::from("/run/virtdiag/virtdiag.sock");
        let bind = BindError::NotSocket(socket.clone());
        assert_eq!(daemon(bind.into()).exit_code(), EX_CANTCREAT);
        let directory = crate::config::environment::Unusable {
            key: "spool.path",
            file: "/nonexistent/v.ndjson".into(),
            flag: "--spool".into(),
            why: crate::config::environment::Directory::Missing("/nonexistent".into()),
        };
        assert_eq!(daemon(directory.into()).exit_code(), EX_CANTCREAT);
        let spool = daemon::Error::Spool {
            path: "/var/log/virtdiag/virtdiag.ndjson".into(),
            why: crate::spool::guard::OpenError::Refused("a symlink".into()),
        };
        assert_eq!(daemon(spool).exit_code(), EX_CANTCREAT);

        let os = daemon::Error::Os {
            step: Step::Collector,
            source: std::io::Error::other("EAGAIN"),
        };
        assert_eq!(daemon(os).exit_code(), EX_SOFTWARE);
        assert_eq!(daemon(daemon::Error::WorkerEnded).exit_code(), EX_SOFTWARE);

        let unreachable = Failure {
            kind: Kind::Unreachable,
            socket: socket.clone(),
            headline: "cannot connect to the agent",
            detail: "nothing there".into(),
        };
        assert_eq!(Error::from(unreachable).exit_code(), EX_UNAVAILABLE);
        let broken = Failure::answer(&socket, "a broken answer from the agent", "x".into());
        assert_eq!(Error::from(broken).exit_code(), EX_IOERR);
        let silent = Failure {
            kind: Kind::Silent,
            ..Failure::answer(&socket, "silent", String::new())
        };
        assert_eq!(Error::from(silent).exit_code(), EX_IOERR);

        let usage = crate::cli::Cli::try_parse_from(["virtdiag", "--no-such-flag"]).unwrap_err();
        assert_eq!(Error::from(usage).exit_code(), EX_USAGE);
        let help = crate::cli::Cli::try_parse_from(["virtdiag", "--help"]).unwrap_err();
        assert_eq!(
            Error::from(help).exit_code(),
            EX_OK,
            "help is not a failure"
        );
        let full = std::io::Error::from_raw_os_error(28);
        assert_eq!(Error::Stdout(full).exit_code(), EX_IOERR);

        let lines = Error::from(failure::Usage::QueryLines);
        assert_eq!(lines.exit_code(), EX_USAGE);
        let refused = failure::Answered::Refused("unknown_domain".into());
        assert_eq!(Error::from(refused).exit_code(), EX_DATAERR);
        let none = failure::Answered::NoDomain {
            pattern: "web-*".into(),
            reading: "a glob on the name and Nova display name",
            uri: "test:///default".into(),
        };
        assert_eq!(Error::from(none).exit_code(), EX_DATAERR);
        let libvirt = failure::Libvirt::Collection {
            uri: "qemu:///system".into(),
            error: "gone".into(),
        };
        assert_eq!(Error::from(libvirt).exit_code(), EX_UNAVAILABLE);
        let signal = failure::Terminal::Signal {
            signal: 15,
            source: std::io::Error::other("EINVAL"),
        };
        assert_eq!(Error::from(signal).exit_code(), EX_SOFTWARE);
        let terminal = failure::Terminal::Io(std::io::Error::other("EIO"));
        assert_eq!(Error::from(terminal).exit_code(), EX_IOERR);
    }

    /// The man page's EXIT STATUS lists exactly the codes this module gives.
    #[test]
    fn the_man_page_states_every_exit_code() {
        let page = include_str!("../packaging/man/virtdiag.8.scd");
        let section = page
            .split("# EXIT STATUS")
            .nth(1)
            .and_then(|rest| rest.split("\n# ").next())
            .expect("an EXIT STATUS section");
        let stated: Vec<u8> = section
            .lines()
            .filter_map(|line| line.strip_prefix('*')?.strip_suffix('*')?.parse().ok())
            .collect();
        assert_eq!(
            stated,
            [
                EX_OK,
                EX_USAGE,
                EX_DATAERR,
                EX_UNAVAILABLE,
                EX_SOFTWARE,
                EX_CANTCREAT,
                EX_IOERR,
                EX_CONFIG
            ]
        );
    }

    #[test]
    fn a_module_error_prints_as_its_module_says() {
        let failure = Failure::answer(
            std::path::Path::new("/run/s"),
            "a broken answer from the agent",
            "not JSON".into(),
        );
        assert_eq!(
            Error::from(failure).to_string(),
            "a broken answer from the agent at /run/s: not JSON"
        );
        let os = daemon::Error::Os {
            step: Step::CreateLoop,
            source: std::io::Error::other("EMFILE"),
        };
        assert_eq!(
            daemon(os).to_string(),
            "cannot create the event loop: EMFILE"
        );
    }
}
