//! What a person should do when a command cannot reach the agent: the same words for
//! `query`, `query status --check` and `top`. The message says what was at the
//! path (nothing, a file of another type, a socket nobody listens on, a socket this
//! user may not use, a socket whose agent does not accept) and what to check.

use std::fs::Metadata;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

const RUNNING: &str = "is the agent running (systemctl status virtdiag)?";

/// "WHAT IS THERE; WHAT TO DO" when a connect to `socket` failed with `error`.
/// `timeout` is the connect's deadline, named when it passed.
pub fn what_is_there(socket: &Path, error: &io::Error, timeout: Duration) -> String {
    let found = std::fs::metadata(socket);
    match (error.kind(), &found) {
        (io::ErrorKind::NotFound, _) => {
            let parent = socket.parent().filter(|p| !p.as_os_str().is_empty());
            let missing_dir = parent.filter(|p| !p.exists());
            match missing_dir {
                Some(dir) => format!(
                    "nothing there, and its directory {} does not exist either; {RUNNING} \
                     Does it listen elsewhere (--socket, {})?",
                    dir.display(),
                    crate::cli::SOCKET_ENV
                ),
                None => format!(
                    "nothing there (no such file); {RUNNING} Does it listen elsewhere \
                     (--socket, {})?",
                    crate::cli::SOCKET_ENV
                ),
            }
        }
        (io::ErrorKind::PermissionDenied, Ok(meta)) => denied(meta),
        (io::ErrorKind::PermissionDenied, Err(_)) => format!(
            "permission denied for {}: a directory on the way is not searchable for this \
             user; run as root or as a member of the socket's group",
            user()
        ),
        (io::ErrorKind::ConnectionRefused, Ok(meta)) if meta.file_type().is_socket() => {
            format!(
                "a socket nobody listens on (left by an agent that stopped or crashed); \
                 {RUNNING}"
            )
        }
        (io::ErrorKind::ConnectionRefused, Ok(meta)) => format!(
            "{}, not a socket; --socket (or {}) must name the agent's socket, its key \
             socket.path (default {})",
            kind(meta),
            crate::cli::SOCKET_ENV,
            crate::cli::DEFAULT_SOCKET
        ),
        (io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut, _) => format!(
            "a socket whose agent did not accept the connection within {} s (--timeout): \
             its queue of waiting connections is full, so the agent is stuck or its host \
             overloaded; see systemctl status virtdiag and its log",
            super::client::seconds(timeout)
        ),
        _ => format!(
            "{error}; check the path (--socket, {}); {RUNNING}",
            crate::cli::SOCKET_ENV
        ),
    }
}

/// A socket this user may not use: whose it is and how to be let in.
fn denied(meta: &Metadata) -> String {
    let group = nix::unistd::Group::from_gid(meta.gid().into())
        .ok()
        .flatten()
        .map_or_else(|| meta.gid().to_string(), |g| g.name);
    let owner = nix::unistd::User::from_uid(meta.uid().into())
        .ok()
        .flatten()
        .map_or_else(|| meta.uid().to_string(), |u| u.name);
    format!(
        "permission denied for {}: the socket is {owner}:{group}, mode {:04o}; join its \
         group (usermod -aG {group} $USER, then log in again) or run as root",
        user(),
        meta.permissions().mode() & 0o7777
    )
}

/// This user, as `name (uid N)`.
fn user() -> String {
    let uid = nix::unistd::geteuid();
    match nix::unistd::User::from_uid(uid).ok().flatten() {
        Some(user) => format!("user {} (uid {uid})", user.name),
        None => format!("uid {uid}"),
    }
}

/// "a regular file", "a directory", ...
fn kind(meta: &Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_file() {
        "a regular file"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "a file of another type"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_is_there_and_the_fix() {
        let timeout = Duration::from_secs(5);
        let said = |path: &Path, kind| what_is_there(path, &io::Error::from(kind), timeout);
        let missing = said(Path::new("/nonexistent/v.sock"), io::ErrorKind::NotFound);
        assert!(
            missing.contains("directory /nonexistent does not exist"),
            "{missing}"
        );
        assert!(missing.contains("systemctl status virtdiag"), "{missing}");
        assert!(missing.contains("VIRTDIAG_SOCKET"), "{missing}");
        let file = said(Path::new("/etc/passwd"), io::ErrorKind::ConnectionRefused);
        assert!(file.contains("a regular file, not a socket"), "{file}");
        let stuck = said(Path::new("/run"), io::ErrorKind::WouldBlock);
        assert!(
            stuck.contains("did not accept the connection within 5 s"),
            "{stuck}"
        );
        let denied = said(Path::new("/etc/shadow"), io::ErrorKind::PermissionDenied);
        assert!(denied.contains("permission denied for "), "{denied}");
        assert!(denied.contains("usermod -aG"), "{denied}");
    }
}
