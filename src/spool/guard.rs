//! Opening an untrusted path for appending, and the exclusive lock that keeps two
//! agents off one file.
//!
//! The spool's directory is shared with logrotate and shipper tooling, so whatever is at
//! the path is untrusted. A path is opened with `O_NOFOLLOW | O_NONBLOCK` (a symlink
//! fails, a FIFO cannot block the open), then the open file itself is checked: only a
//! regular file owned by the agent's user with a single link is accepted. Anything else
//! (symlink, FIFO, device, directory, another user's file, a hard link to a file
//! elsewhere) is refused and never written, repaired or truncated. A lock file (`.lock`
//! beside a socket) goes through the same checks.
//!
//! The lock is `flock(LOCK_EX | LOCK_NB)` on the open file: a second agent on the same
//! file is refused with the holder's pid, read from `/proc/locks`.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};

/// Why a path was not opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Something other than the agent's own regular file is at the path.
    #[error("{0}")]
    Refused(String),
    /// Another process holds the lock.
    #[error("{0}")]
    Locked(String),
    /// The open or a check failed (ENOENT of the directory, EACCES, EROFS, ENOSPC ...).
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// A verified regular file, locked exclusively for as long as it is open.
pub type LockedFile = Flock<File>;

/// Opens (creating with `mode` if absent) the regular file at `path` for reading and
/// appending, refusing anything else, and takes the exclusive lock.
pub fn open_locked(path: &Path, mode: u32) -> Result<LockedFile, OpenError> {
    let file = open_regular(path, mode)?;
    lock(file, path)
}

/// Opens the path without following a symlink or blocking on a FIFO, then checks what
/// was opened.
fn open_regular(path: &Path, mode: u32) -> Result<File, OpenError> {
    let shown = path.display();
    let flags = OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let file = match OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(mode)
        .custom_flags(flags.bits())
        .open(path)
    {
        Ok(file) => file,
        // O_NOFOLLOW: the last component is a symlink (dangling or not).
        Err(e) if e.raw_os_error() == Some(Errno::ELOOP as i32) => {
            return Err(OpenError::Refused(format!(
                "{shown} is a symbolic link; refusing to follow it (remove it, and the \
                 agent creates its own file)"
            )))
        }
        // O_NONBLOCK on a FIFO without a reader.
        Err(e) if e.raw_os_error() == Some(Errno::ENXIO as i32) => {
            return Err(OpenError::Refused(format!(
                "{shown} is a FIFO or a device; refusing to write to it"
            )))
        }
        Err(e) if e.raw_os_error() == Some(Errno::EISDIR as i32) => {
            return Err(OpenError::Refused(format!("{shown} is a directory")))
        }
        Err(e) => return Err(OpenError::Io(e)),
    };
    check_opened(&file, path)?;
    Ok(file)
}

/// The open file must be a regular file of ours with one link.
fn check_opened(file: &File, path: &Path) -> Result<(), OpenError> {
    let shown = path.display();
    let meta = file.metadata()?;
    let kind = meta.file_type();
    if !kind.is_file() {
        let what = if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(OpenError::Refused(format!(
            "{shown} is {what}; refusing to write to it"
        )));
    }
    let euid = nix::unistd::geteuid().as_raw();
    if meta.uid() != euid {
        return Err(OpenError::Refused(format!(
            "{shown} belongs to uid {}, not to the agent's uid {euid}; refusing to write to \
             it (remove it or chown it)",
            meta.uid()
        )));
    }
    if meta.nlink() != 1 {
        return Err(OpenError::Refused(format!(
            "{shown} has {} hard links; refusing to write to a file that is also elsewhere",
            meta.nlink()
        )));
    }
    Ok(())
}

/// Whether `path` still names the file with this (device, inode), without following a
/// symlink at the path (a symlink is a file of its own, so it never matches).
pub fn still_at(path: &Path, identity: (u64, u64)) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => (meta.dev(), meta.ino()) == identity,
        Err(_) => false,
    }
}

fn lock(file: File, path: &Path) -> Result<LockedFile, OpenError> {
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(locked) => Ok(locked),
        Err((file, Errno::EWOULDBLOCK)) => {
            let holder = file
                .metadata()
                .ok()
                .and_then(|meta| lock_holder(meta.dev(), meta.ino()));
            let holder =
                holder.map_or_else(|| "another process".to_string(), |p| format!("pid {p}"));
            Err(OpenError::Locked(format!(
                "{} is locked by {holder}: is another virtdiag agent using it? Stop it or give \
                 this one another path",
                path.display()
            )))
        }
        Err((_, errno)) => Err(OpenError::Io(io::Error::from(errno))),
    }
}

/// The pid holding a `flock` on the file (device, inode), from `/proc/locks`.
pub fn lock_holder(dev: u64, ino: u64) -> Option<u32> {
    let text = std::fs::read_to_string("/proc/locks").ok()?;
    holder_in(&text, dev, ino)
}

/// Parses `/proc/locks` lines: `1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF`, the
/// device as hexadecimal major:minor.
fn holder_in(text: &str, dev: u64, ino: u64) -> Option<u32> {
    let major = nix::sys::stat::major(dev);
    let minor = nix::sys::stat::minor(dev);
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // Blocked waiters have a "->" field; their lines do not describe the holder.
        if fields.get(1) != Some(&"FLOCK") || fields.contains(&"->") {
            return None;
        }
        let pid: u32 = fields.get(4)?.parse().ok()?;
        let mut id = fields.get(5)?.split(':');
        let (ma, mi, i) = (id.next()?, id.next()?, id.next()?);
        let matches = u64::from_str_radix(ma, 16).ok()? == major
            && u64::from_str_radix(mi, 16).ok()? == minor
            && i.parse::<u64>().ok()? == ino;
        matches.then_some(pid)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("virtdiag-guard-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn proc_locks_lines_name_the_holder() {
        let dev = nix::sys::stat::makedev(0xfd, 0x01);
        let text = "1: POSIX  ADVISORY  WRITE 99 fd:01:42 0 EOF\n\
                    2: FLOCK  ADVISORY  WRITE 1234 fd:01:42 0 EOF\n\
                    2: -> FLOCK  ADVISORY  WRITE 777 fd:01:42 0 EOF\n";
        assert_eq!(holder_in(text, dev, 42), Some(1234));
        assert_eq!(holder_in(text, dev, 43), None);
    }

    #[test]
    fn symlinks_fifos_directories_and_hard_links_are_refused() {
        let dir = temp_dir("refuse");
        let target = dir.join("target");
        std::fs::write(&target, "precious\n").unwrap();

        let link = dir.join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(matches!(
            open_locked(&link, 0o640),
            Err(OpenError::Refused(_))
        ));
        let dangling = dir.join("dangling");
        std::os::unix::fs::symlink(dir.join("nowhere"), &dangling).unwrap();
        assert!(matches!(
            open_locked(&dangling, 0o640),
            Err(OpenError::Refused(_))
        ));
        assert!(
            !dir.join("nowhere").exists(),
            "the link's target was created"
        );

        let fifo = dir.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert!(matches!(
            open_locked(&fifo, 0o640),
            Err(OpenError::Refused(_))
        ));

        assert!(matches!(
            open_locked(&dir, 0o640),
            Err(OpenError::Refused(_))
        ));

        let hard = dir.join("hard");
        std::fs::hard_link(&target, &hard).unwrap();
        assert!(matches!(
            open_locked(&hard, 0o640),
            Err(OpenError::Refused(_))
        ));

        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");
    }

    #[test]
    fn a_second_lock_names_the_holder() {
        let dir = temp_dir("lock");
        let path = dir.join("spool");
        let first = open_locked(&path, 0o640).unwrap();
        match open_locked(&path, 0o640) {
            Err(OpenError::Locked(why)) => {
                assert!(
                    why.contains(&format!("pid {}", std::process::id())),
                    "{why}"
                )
            }
            other => panic!("expected a lock error, got {other:?}"),
        }
        drop(first);
        open_locked(&path, 0o640).unwrap();
    }
}
