//! What the agent derives from its configuration and its environment at start and at
//! reload: the records' host name, the collector's settings, the socket limits, the
//! socket's group, the file descriptors its clients need, and the spool and socket it
//! opens at start (naming their directory's problem when they cannot be).

use std::sync::Arc;

use mio::{Registry, Token};
use nix::sys::resource::{getrlimit, setrlimit, Resource};

use super::error::Error;
use crate::collect::CollectorConfig;
use crate::config::{environment, Config};
use crate::query::server::{Limits, Server};
use crate::spool::{Recovered, Spool};

/// Descriptors the agent needs besides one per client: libvirt's connections, the
/// spool, the listener, the lock files, the poll, the spare, logging.
pub const RESERVED_FDS: u64 = 64;

/// The `host` of records: the configured one, or this machine's name.
pub fn record_host(config: &Config) -> Arc<str> {
    if config.host.is_empty() {
        Arc::from(crate::host::local_hostname())
    } else {
        Arc::from(config.host.as_str())
    }
}

pub fn collector_config(config: &Config, host: &Arc<str>) -> CollectorConfig {
    CollectorConfig {
        uri: config.uri.clone(),
        read_only: config.read_only,
        host: host.to_string(),
        filter: config.filter(),
        groups: config.collect.group_bits(),
    }
}

pub fn limits(config: &Config) -> Limits {
    Limits {
        max_clients: config.socket.max_clients,
        idle_timeout: config.idle_timeout(),
    }
}

/// Opens the spool for appending; when it cannot be, what is wrong with its directory,
/// if anything, else why the open failed.
pub fn open_spool(config: &Config) -> Result<(Spool, Recovered), Error> {
    let path = &config.spool.path;
    Spool::open(config.spool.clone()).map_err(|why| {
        environment::unusable_directory("spool.path", path).map_or_else(
            || Error::Spool {
                path: path.clone(),
                why,
            },
            Error::Directory,
        )
    })
}

/// Binds the socket and registers it with the event loop; when it cannot be bound,
/// what is wrong with its directory, if anything, else why the bind failed.
pub fn bind(
    config: &Config,
    gid: Option<u32>,
    registry: &Registry,
    token: Token,
) -> Result<Server, Error> {
    let socket = &config.socket;
    Server::bind(
        &socket.path,
        socket.mode,
        gid,
        limits(config),
        registry,
        token,
    )
    .map_err(|e| {
        environment::unusable_directory("socket.path", &socket.path)
            .map_or_else(|| e.into(), Error::Directory)
    })
}

/// Makes sure `socket.max_clients` clients fit under the open-file limit, raising the
/// soft limit up to the hard one if needed.
pub fn reserve_descriptors(config: &Config) -> Result<(), DescriptorError> {
    let needed = config.socket.max_clients as u64 + RESERVED_FDS;
    let (soft, hard) = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok(limits) => limits,
        Err(e) => {
            // A seccomp filter may deny it: the accept path sheds clients at EMFILE.
            crate::log_warn!("cannot read the open-file limit ({e}); not checking it");
            return Ok(());
        }
    };
    if soft >= needed {
        return Ok(());
    }
    if hard < needed {
        return Err(DescriptorError::TooFew {
            clients: config.socket.max_clients,
            needed,
            hard,
        });
    }
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
        .map_err(|source| DescriptorError::Raise { hard, source })
}

/// Why `socket.max_clients` clients do not fit under the open-file limit.
#[derive(Debug, thiserror::Error)]
pub enum DescriptorError {
    /// The hard limit is below what the clients need.
    #[error(
        "socket.max_clients = {clients} needs {needed} file descriptors, but the open-file \
         limit is {hard}: lower socket.max_clients to {} or less, or raise the limit \
         (LimitNOFILE= in the unit)",
        .hard.saturating_sub(RESERVED_FDS)
    )]
    TooFew {
        clients: usize,
        needed: u64,
        hard: u64,
    },
    /// The soft limit could not be raised to the hard one.
    #[error("cannot raise the open-file limit to {hard}: {source}")]
    Raise { hard: u64, source: nix::Error },
}
