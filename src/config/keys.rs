//! Every configuration key, stated once: its name in the file, its default, its flag of
//! `virtdiag run` (and `check-config`), its environment variable, its range, its help
//! and how a value is checked and stored. The file reader, the flags, `--help`, the
//! defaults and the tests that hold the man page and the shipped file to them all read
//! [`KEYS`]; a new key is one entry here and its field in [`super::Config`].

use super::error::Invalid;
use super::value::{Limit, MAX_DURATION_SECONDS};
use super::Fsync;
use crate::collect::stats::Group;

use super::entry::flag;
pub use super::entry::{Flag, FlagShape, Key, Reload};

/// `interval_seconds`: a tenth of a second to a day.
pub const INTERVAL: Limit = Limit {
    min: 0.1,
    max: 86_400.0,
    whole: false,
    unit: "seconds",
    zero: None,
};

/// `min_collect_interval_seconds`: 0 (not throttled) to an hour.
pub const MIN_COLLECT_INTERVAL: Limit = Limit {
    min: 0.0,
    max: 3_600.0,
    whole: false,
    unit: "seconds",
    zero: None,
};

/// `spool.max_bytes`: a page to 1 PiB (2^50), or 0 for no built-in rotation (logrotate
/// in charge). The top is far beyond any disk, yet small enough that sizes added to it
/// cannot overflow.
pub const SPOOL_MAX_BYTES: Limit = Limit {
    min: 4096.0,
    max: (1u64 << 50) as f64,
    whole: true,
    unit: "bytes",
    zero: Some("no built-in rotation"),
};

/// `spool.keep`: none to a thousand rotated files.
pub const SPOOL_KEEP: Limit = Limit {
    min: 0.0,
    max: 1_000.0,
    whole: true,
    unit: "files",
    zero: None,
};

/// `socket.max_clients`: one to ten thousand clients at once.
pub const MAX_CLIENTS: Limit = Limit {
    min: 1.0,
    max: 10_000.0,
    whole: true,
    unit: "clients",
    zero: None,
};

/// `socket.idle_timeout_seconds`: a second to a day.
pub const IDLE_TIMEOUT: Limit = Limit {
    min: 1.0,
    max: 86_400.0,
    whole: false,
    unit: "seconds",
    zero: None,
};

const _: () = assert!(
    INTERVAL.max <= MAX_DURATION_SECONDS
        && MIN_COLLECT_INTERVAL.max <= MAX_DURATION_SECONDS
        && IDLE_TIMEOUT.max <= MAX_DURATION_SECONDS
);

/// The URI when nothing names one: the system QEMU driver.
macro_rules! default_uri {
    () => {
        "qemu:///system"
    };
}
pub const DEFAULT_URI: &str = default_uri!();

/// The environment variable libvirt's own clients (virsh) read for the URI.
pub const LIBVIRT_URI_ENV: &str = "LIBVIRT_DEFAULT_URI";

pub static KEYS: [Key; 18] = [
    Key {
        name: "uri",
        reload: Reload::Live,
        help: "libvirt connection URI, as virsh's",
        default: concat!("\"", default_uri!(), "\""),
        flag: Flag {
            long: "connect",
            short: Some('c'),
            alias: Some("uri"),
            value_name: "URI",
            shape: FlagShape::One,
        },
        env: Some(LIBVIRT_URI_ENV),
        limit: None,
        set: |c, v| {
            let uri = v.string()?;
            if uri.trim().is_empty() {
                return Err(Invalid::EmptyUri);
            }
            c.uri = uri;
            Ok(())
        },
    },
    Key {
        name: "read_only",
        reload: Reload::Live,
        help: "Open a read-write connection instead of a read-only one",
        default: "true",
        flag: Flag {
            long: "read-write",
            short: None,
            alias: None,
            value_name: "",
            shape: FlagShape::Switch("false"),
        },
        env: None,
        limit: None,
        set: |c, v| store(&mut c.read_only, v.boolean()),
    },
    Key {
        name: "interval_seconds",
        reload: Reload::Live,
        help: "Seconds between cycles",
        default: "10",
        flag: flag("interval", "SECONDS"),
        env: None,
        limit: Some(INTERVAL),
        set: |c, v| store(&mut c.interval_seconds, v.number(&INTERVAL)),
    },
    Key {
        name: "min_collect_interval_seconds",
        reload: Reload::Live,
        help: "At most one on-demand cycle (`collect`, SIGUSR1) per this many seconds; 0: \
               no limit",
        default: "1",
        flag: flag("min-collect-interval", "SECONDS"),
        env: None,
        limit: Some(MIN_COLLECT_INTERVAL),
        set: |c, v| {
            store(
                &mut c.min_collect_interval_seconds,
                v.number(&MIN_COLLECT_INTERVAL),
            )
        },
    },
    Key {
        name: "host",
        reload: Reload::Live,
        help: "Host name in records; empty: this machine's",
        default: r#""""#,
        flag: flag("host", "NAME"),
        env: None,
        limit: None,
        set: |c, v| store(&mut c.host, v.string()),
    },
    Key {
        name: "domains.include",
        reload: Reload::Live,
        help: "Collect only these domains (name, UUID, id, glob or Nova display name); \
               repeat for several",
        default: "[]",
        flag: Flag {
            shape: FlagShape::Repeated,
            ..flag("include", "PATTERN")
        },
        env: None,
        limit: None,
        set: |c, v| store(&mut c.domains.include, v.selectors()),
    },
    Key {
        name: "domains.exclude",
        reload: Reload::Live,
        help: "Skip these domains; repeat for several",
        default: "[]",
        flag: Flag {
            shape: FlagShape::Repeated,
            ..flag("exclude", "PATTERN")
        },
        env: None,
        limit: None,
        set: |c, v| store(&mut c.domains.exclude, v.selectors()),
    },
    Key {
        name: "spool.path",
        reload: Reload::Live,
        help: "The spool file",
        default: r#""/var/log/virtdiag/diagnostics.ndjson""#,
        flag: flag("spool", "PATH"),
        env: None,
        limit: None,
        set: |c, v| store(&mut c.spool.path, v.absolute_path()),
    },
    Key {
        name: "spool.max_bytes",
        reload: Reload::Live,
        help: "Rotate the spool before it grows past this size (bytes, or 64MiB, 1G); \
               0: no built-in rotation",
        default: r#""64MiB""#,
        flag: flag("max-bytes", "SIZE"),
        env: None,
        limit: Some(SPOOL_MAX_BYTES),
        set: |c, v| store(&mut c.spool.max_bytes, v.bytes(&SPOOL_MAX_BYTES)),
    },
    Key {
        name: "spool.keep",
        reload: Reload::Live,
        help: "Rotated spool files to keep",
        default: "5",
        flag: flag("keep", "FILES"),
        env: None,
        limit: Some(SPOOL_KEEP),
        set: |c, v| store(&mut c.spool.keep, v.count(&SPOOL_KEEP).map(|n| n as u32)),
    },
    Key {
        name: "spool.fsync",
        reload: Reload::Live,
        help: "When to fdatasync the spool: cycle or never",
        default: r#""cycle""#,
        flag: flag("fsync", "WHEN"),
        env: None,
        limit: None,
        set: |c, v| {
            c.spool.fsync = match v.string()?.as_str() {
                "cycle" => Fsync::Cycle,
                "never" => Fsync::Never,
                other => {
                    return Err(Invalid::NotOneOf {
                        given: other.to_string(),
                        choices: "cycle, never",
                    })
                }
            };
            Ok(())
        },
    },
    Key {
        name: "socket.path",
        reload: Reload::Restart,
        help: "The query socket",
        default: r#""/run/virtdiag/virtdiag.sock""#,
        flag: flag("socket", "PATH"),
        env: None,
        limit: None,
        set: |c, v| store(&mut c.socket.path, v.absolute_path()),
    },
    Key {
        name: "socket.mode",
        reload: Reload::Socket,
        help: "Octal mode of the socket file, e.g. 0660",
        default: r#""0660""#,
        flag: flag("socket-mode", "MODE"),
        env: None,
        limit: None,
        set: |c, v| store(&mut c.socket.mode, v.mode()),
    },
    Key {
        name: "socket.group",
        reload: Reload::Socket,
        help: "Group given the socket file; empty: the process's group",
        default: r#""""#,
        flag: flag("socket-group", "GROUP"),
        env: None,
        limit: None,
        set: |c, v| store(&mut c.socket.group, v.string()),
    },
    Key {
        name: "socket.max_clients",
        reload: Reload::Live,
        help: "Clients served at once",
        default: "64",
        flag: flag("max-clients", "N"),
        env: None,
        limit: Some(MAX_CLIENTS),
        set: |c, v| {
            store(
                &mut c.socket.max_clients,
                v.count(&MAX_CLIENTS).map(|n| n as usize),
            )
        },
    },
    Key {
        name: "socket.idle_timeout_seconds",
        reload: Reload::Live,
        help: "Seconds of silence before a client is disconnected",
        default: "300",
        flag: flag("idle-timeout", "SECONDS"),
        env: None,
        limit: Some(IDLE_TIMEOUT),
        set: |c, v| store(&mut c.socket.idle_timeout_seconds, v.number(&IDLE_TIMEOUT)),
    },
    Key {
        name: "prometheus.textfile",
        reload: Reload::Live,
        help: "Write the Prometheus exposition to this .prom file after each cycle, for \
               node_exporter's textfile collector; empty: off",
        default: r#""""#,
        flag: flag("prometheus-textfile", "PATH"),
        env: None,
        limit: None,
        set: |c, v| {
            let path = v.optional_path()?;
            check_textfile(&path)?;
            c.prometheus.textfile = path;
            Ok(())
        },
    },
    Key {
        name: "collect.groups",
        reload: Reload::Live,
        help: "Statistics groups to collect, by virsh domstats' names, comma-separated",
        default: r#"["state", "cpu-total", "balloon", "vcpu", "interface", "block"]"#,
        flag: Flag {
            shape: FlagShape::Commas,
            ..flag("groups", "GROUPS")
        },
        env: None,
        limit: None,
        set: |c, v| {
            store(
                &mut c.collect.groups,
                v.strings()
                    .and_then(|g| Group::parse_list(&g).map_err(Invalid::Group)),
            )
        },
    },
];

/// Stores a checked value in its field.
fn store<T>(field: &mut T, checked: Result<T, Invalid>) -> Result<(), Invalid> {
    *field = checked?;
    Ok(())
}

/// The key named `name` (`spool.max_bytes`).
pub fn key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// `prometheus.textfile`: empty (off), or a `.prom` file, the only files
/// node_exporter's textfile collector reads.
fn check_textfile(path: &std::path::Path) -> Result<(), Invalid> {
    if path.as_os_str().is_empty() {
        return Ok(());
    }
    match path.file_name().and_then(|n| n.to_str()) {
        Some(name) if name.len() > ".prom".len() && name.ends_with(".prom") => Ok(()),
        _ => Err(Invalid::NotProm(path.to_path_buf())),
    }
}
