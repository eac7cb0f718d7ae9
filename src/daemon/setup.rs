//! What the agent derives from its configuration and its environment at start and at
//! reload: the records' host name, the collector's settings, the socket limits, the
//! socket's group, and the file descriptors its clients need.

use std::sync::Arc;

use nix::sys::resource::{getrlimit, setrlimit, Resource};

use crate::collect::CollectorConfig;
use crate::config::Config;

use crate::query::server::Limits;

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

/// Makes sure `socket.max_clients` clients fit under the open-file limit, raising the
/// soft limit up to the hard one if needed.
pub fn reserve_descriptors(config: &Config) -> std::result::Result<(), String> {
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
        return Err(format!(
            "socket.max_clients = {} needs {needed} file descriptors, but the open-file limit \
             is {hard}: lower socket.max_clients to {} or less, or raise the limit \
             (LimitNOFILE= in the unit)",
            config.socket.max_clients,
            hard.saturating_sub(RESERVED_FDS)
        ));
    }
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
        .map_err(|e| format!("cannot raise the open-file limit to {hard}: {e}"))
}
