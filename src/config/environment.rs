//! What a valid configuration needs from the machine: the socket's group in the
//! system's group database (`getgrnam`, so groups from sssd or LDAP count), and the
//! spool's, the socket's and the textfile's directories present and writable.
//! `check-config` reports every finding; `run` looks the group up at start and names
//! the directory when it cannot create a file.

use std::path::{Path, PathBuf};

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
    pub warnings: Vec<Unusable>,
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
/// with --spool").
#[derive(Debug, thiserror::Error)]
#[error("{key} {}: {why}, or choose another with {flag}", .file.display())]
pub struct Unusable {
    pub key: &'static str,
    pub file: PathBuf,
    /// The key's flag.
    pub flag: String,
    pub why: Directory,
}

/// What is wrong with a directory the agent creates a file in.
#[derive(Debug, thiserror::Error)]
pub enum Directory {
    #[error("the directory {} does not exist: create it (install -d {})", .0.display(), .0.display())]
    Missing(PathBuf),
    #[error("cannot reach the directory {}: {source}", .dir.display())]
    Unreachable {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a directory", .0.display())]
    NotDirectory(PathBuf),
    #[error(
        "this user cannot create files in {}: run as the service's user, or give it the \
         directory (chown)",
        .0.display()
    )]
    NotWritable(PathBuf),
}

/// Why the file of `key` could not be created in its directory; None if it can.
pub fn unusable_directory(key: &'static str, file: &Path) -> Option<Unusable> {
    let flag = super::keys::key(key)
        .map(|k| k.flag_name())
        .unwrap_or_default();
    directory_problem(file).map(|why| Unusable {
        key,
        file: file.to_path_buf(),
        flag,
        why,
    })
}

fn directory_problem(file: &Path) -> Option<Directory> {
    let dir = file.parent().filter(|d| !d.as_os_str().is_empty())?;
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Some(Directory::Missing(dir.to_path_buf()))
        }
        Err(source) => Some(Directory::Unreachable {
            dir: dir.to_path_buf(),
            source,
        }),
        Ok(meta) if !meta.is_dir() => Some(Directory::NotDirectory(dir.to_path_buf())),
        Ok(_) => access(dir, AccessFlags::W_OK | AccessFlags::X_OK)
            .err()
            .map(|_| Directory::NotWritable(dir.to_path_buf())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_directory_is_named_with_how_to_create_it() {
        let file = Path::new("/nonexistent-virtdiag/virtdiag.sock");
        let unusable = unusable_directory("socket.path", file).expect("a missing directory");
        assert!(
            matches!(&unusable.why, Directory::Missing(dir) if dir == Path::new("/nonexistent-virtdiag")),
            "{unusable:?}"
        );
        // What the operator is told to do.
        assert_eq!(
            unusable.to_string(),
            "socket.path /nonexistent-virtdiag/virtdiag.sock: the directory \
             /nonexistent-virtdiag does not exist: create it (install -d \
             /nonexistent-virtdiag), or choose another with --socket"
        );
        let not_a_directory = Path::new("/dev/null/virtdiag.sock");
        assert!(matches!(
            unusable_directory("socket.path", not_a_directory).map(|u| u.why),
            Some(Directory::NotDirectory(_))
        ));
        assert!(unusable_directory("spool.path", &std::env::temp_dir().join("v")).is_none());
    }

    #[test]
    fn an_unknown_group_is_a_config_problem() {
        let err = group_id("no-such-group-virtdiag").unwrap_err();
        assert!(
            matches!(&err.problems[..], [Problem::NoSuchGroup(name)] if name == "no-such-group-virtdiag"),
            "{err}"
        );
        assert_eq!(group_id("").ok(), Some(None));
    }
}
