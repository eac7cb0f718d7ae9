//! What a valid configuration needs from the machine: the socket's group in the
//! system's group database (`getgrnam`, so groups from sssd or LDAP count), and the
//! spool's, the socket's and the textfile's directories present and writable.
//! `check-config` reports every problem; `run` looks the group up at start.

use std::path::Path;

use nix::unistd::{access, AccessFlags, Group};

use super::Config;
use crate::error::Error;

/// The gid of `socket.group` (None for an empty name: the process's group).
pub fn group_id(name: &str) -> Result<Option<u32>, String> {
    if name.is_empty() {
        return Ok(None);
    }
    match Group::from_name(name) {
        Ok(Some(group)) => Ok(Some(group.gid.as_raw())),
        Ok(None) => Err(format!(
            "socket.group: no group named '{name}' in the system's group database: create \
             it (groupadd --system {name}) or set another"
        )),
        Err(e) => Err(format!("socket.group: cannot look up '{name}': {e}")),
    }
}

/// Every problem the machine has with `config`, each naming the fix: a missing group
/// is a configuration error (as at `run`'s start), an unusable directory one that
/// `run` would meet creating its files.
pub fn check(config: &Config) -> Vec<Error> {
    let mut problems = Vec::new();
    if let Err(why) = group_id(&config.socket.group) {
        problems.push(Error::Config(why));
    }
    let mut directory = |key: &str, file: &Path, flag: &str| {
        if let Some(why) = directory_problem(file) {
            problems.push(Error::CantCreate(format!(
                "{key} {}: {why}, or choose another with {flag}",
                file.display()
            )));
        }
    };
    directory("spool.path", &config.spool.path, "--spool");
    directory("socket.path", &config.socket.path, "--socket");
    if !config.prometheus.textfile.as_os_str().is_empty() {
        directory(
            "prometheus.textfile",
            &config.prometheus.textfile,
            "--prometheus-textfile",
        );
    }
    problems
}

/// Why a file could not be created in its directory, with what to do; None if it can.
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
