//! What a valid configuration needs from the machine: the socket's group in the
//! system's group database (`getgrnam`, so groups from sssd or LDAP count), and the
//! spool's, the socket's and the textfile's directories present and writable.
//! `check-config` reports every finding; `run` looks the group up at start and names
//! the directory when it cannot create a file.

use std::path::Path;

use nix::unistd::{access, AccessFlags, Group};

use super::{Config, Error, Problem};

/// The gid of `socket.group` (None for an empty name: the process's group).
pub fn group_id(name: &str) -> Result<Option<u32>, Error> {
    if name.is_empty() {
        return Ok(None);
    }
    match Group::from_name(name) {
        Ok(Some(group)) => Ok(Some(group.gid.as_raw())),
        Ok(None) => Err(Problem::NoSuchGroup(name.to_string()).into()),
        Err(source) => Err(Problem::GroupLookup {
            name: name.to_string(),
            source,
        }
        .into()),
    }
}

/// What the machine lacks for `config`, each naming the fix.
#[derive(Debug, Default)]
pub struct Findings {
    /// Faults `run` stops at: the socket's group is unknown.
    pub errors: Vec<Problem>,
    /// Directories `run` could not create its files in now. Not errors: the packaged
    /// service's own directories (/run/virtdiag, /var/log/virtdiag) appear only when
    /// systemd starts it, and `check-config` may run as another user.
    pub warnings: Vec<String>,
}

pub fn check(config: &Config) -> Findings {
    let mut findings = Findings::default();
    if let Err(e) = group_id(&config.socket.group) {
        findings.errors.extend(e.problems);
    }
    let mut files = vec![
        ("spool.path", &config.spool.path),
        ("socket.path", &config.socket.path),
    ];
    if !config.prometheus.textfile.as_os_str().is_empty() {
        files.push(("prometheus.textfile", &config.prometheus.textfile));
    }
    findings.warnings = files
        .into_iter()
        .filter_map(|(key, file)| unusable_directory(key, file))
        .collect();
    findings
}

/// Why the file of `key` could not be created in its directory, with what to do
/// ("spool.path P: the directory D does not exist: create it (...), or choose another
/// with --spool"); None if it can.
pub fn unusable_directory(key: &str, file: &Path) -> Option<String> {
    let flag = super::keys::key(key)
        .map(|k| k.flag_name())
        .unwrap_or_default();
    directory_problem(file).map(|why| {
        format!(
            "{key} {}: {why}, or choose another with {flag}",
            file.display()
        )
    })
}

fn directory_problem(file: &Path) -> Option<String> {
    let dir = file.parent().filter(|d| !d.as_os_str().is_empty())?;
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(format!(
            "the directory {} does not exist: create it (install -d {})",
            dir.display(),
            dir.display()
        )),
        Err(e) => Some(format!("cannot reach the directory {}: {e}", dir.display())),
        Ok(meta) if !meta.is_dir() => Some(format!("{} is not a directory", dir.display())),
        Ok(_) => access(dir, AccessFlags::W_OK | AccessFlags::X_OK)
            .err()
            .map(|_| {
                format!(
                    "this user cannot create files in {}: run as the service's user, or \
                     give it the directory (chown)",
                    dir.display()
                )
            }),
    }
}
