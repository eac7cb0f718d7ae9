//! The listening socket: bound once per agent, under a lock, and removed at exit only if
//! it is still the one this agent bound.
//!
//! `PATH.lock` beside the socket is held (`flock`) for the agent's life, so two agents
//! never race for one socket path: the second is refused with the holder's pid. Under
//! the lock, an old socket nobody answers on is stale and replaced; a live one (an agent
//! that predates the lock) or anything that is not a socket is an error. The lock file
//! itself stays: removing it would let two agents lock two different files.
//!
//! The listen backlog is [`BACKLOG`], not the kernel's maximum (4096 here): under a
//! connect storm an honest client waits behind at most that many connections, each
//! accepted and let go in microseconds.
//!
//! Accepting survives running out of file descriptors: one spare descriptor is kept,
//! and on EMFILE it is freed to accept the waiting client and close it at once, so the
//! listener does not stay readable forever with nobody served.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use mio::net::{UnixListener, UnixStream};
use nix::errno::Errno;
use nix::sys::stat::{umask, Mode};

use super::protocol::ProtocolError;
use crate::spool::guard::{self, LockedFile, OpenError};

/// Connections waiting to be accepted, at most.
pub const BACKLOG: i32 = 64;

pub struct Listener {
    pub socket: UnixListener,
    path: PathBuf,
    /// (device, inode) of the socket file bound.
    identity: (u64, u64),
    _lock: LockedFile,
    spare: Option<File>,
}

/// What `accept` found.
pub enum Accepted {
    Client(UnixStream),
    /// Nothing more waiting.
    None,
    /// Out of descriptors: a client was accepted and closed with an error line.
    Shed,
}

impl Listener {
    /// Binds `path` with `mode` and (if given) group `gid`.
    pub fn bind(path: &Path, mode: u32, gid: Option<u32>) -> Result<Self, String> {
        let shown = path.display();
        let lock_path = crate::spool::with_suffix(path, "lock");
        let lock = guard::open_locked(&lock_path, 0o600).map_err(|e| match e {
            OpenError::Locked(why) => format!("socket {shown}: {why}"),
            other => format!("cannot lock {}: {other}", lock_path.display()),
        })?;
        match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot inspect socket path {shown}: {e}")),
            Ok(meta) if meta.file_type().is_socket() => {
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(format!(
                        "another process is answering on {shown}: is virtdiag already running?"
                    ));
                }
                std::fs::remove_file(path)
                    .map_err(|e| format!("cannot remove the stale socket {shown}: {e}"))?;
            }
            Ok(_) => {
                return Err(format!(
                    "{shown} exists and is not a socket; refusing to replace it"
                ))
            }
        }
        // The mode is set by the umask at bind: no window with a wider mode, and no
        // chmod of a path that could have been swapped meanwhile.
        let old_umask = umask(Mode::from_bits_truncate(!mode & 0o777));
        let bound = bind_with_backlog(path);
        umask(old_umask);
        let socket = bound.map_err(|e| format!("cannot bind {shown}: {e}"))?;
        let meta = std::fs::symlink_metadata(path)
            .map_err(|e| format!("cannot inspect the bound socket {shown}: {e}"))?;
        if let Some(gid) = gid {
            std::os::unix::fs::lchown(path, None, Some(gid))
                .map_err(|e| format!("cannot give {shown} to group {gid}: {e}"))?;
        }
        Ok(Self {
            socket,
            path: path.to_path_buf(),
            identity: (meta.dev(), meta.ino()),
            _lock: lock,
            spare: File::open("/dev/null").ok(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Gives the bound socket file `mode` and (if given) group `gid`, after a reload.
    /// Only the socket this agent bound, reached without following a symlink: it is
    /// opened `O_PATH|O_NOFOLLOW`, checked to be the same file, and changed through
    /// that descriptor.
    pub fn set_access(&self, mode: u32, gid: Option<u32>) -> Result<(), String> {
        use nix::fcntl::{open, OFlag};
        let shown = self.path.display();
        let fd = open(
            &self.path,
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| format!("cannot open {shown}: {e}"))?;
        let file = File::from(fd);
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot inspect {shown}: {e}"))?;
        if !meta.file_type().is_socket() || (meta.dev(), meta.ino()) != self.identity {
            return Err(format!(
                "{shown} is no longer the socket this agent bound; leaving it"
            ));
        }
        let through = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
        std::fs::set_permissions(&through, std::fs::Permissions::from_mode(mode & 0o777))
            .map_err(|e| format!("cannot give {shown} mode {mode:04o}: {e}"))?;
        if let Some(gid) = gid {
            nix::unistd::fchownat(
                &file,
                "",
                None,
                Some(nix::unistd::Gid::from_raw(gid)),
                nix::fcntl::AtFlags::AT_EMPTY_PATH,
            )
            .map_err(|e| format!("cannot give {shown} to group {gid}: {e}"))?;
        }
        Ok(())
    }

    pub fn accept(&mut self) -> io::Result<Accepted> {
        loop {
            match self.socket.accept() {
                Ok((stream, _)) => return Ok(Accepted::Client(stream)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Accepted::None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_out_of_descriptors(&e) && self.spare.is_some() => {
                    self.spare = None;
                    let shed = self.socket.accept();
                    self.spare = File::open("/dev/null").ok();
                    return match shed {
                        Ok((mut stream, _)) => {
                            let error = ProtocolError::new(
                                "out_of_descriptors",
                                "the agent has no file descriptor left for a client; try again \
                                 later, or raise LimitNOFILE",
                            );
                            let _ = stream.write(&error.to_line());
                            Ok(Accepted::Shed)
                        }
                        Err(_) => Err(e),
                    };
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Removes the socket file if it is still the one bound here.
    pub fn remove(&self) {
        if guard::still_at(&self.path, self.identity) {
            let _ = std::fs::remove_file(&self.path);
        } else {
            crate::log_warn!(
                "{} is no longer the socket this agent bound; leaving it",
                self.path.display()
            );
        }
    }
}

/// A non-blocking listening socket at `path` with a backlog of [`BACKLOG`].
fn bind_with_backlog(path: &Path) -> nix::Result<UnixListener> {
    use nix::sys::socket::{bind, listen, socket, AddressFamily, Backlog, SockFlag, SockType};
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    bind(fd.as_raw_fd(), &nix::sys::socket::UnixAddr::new(path)?)?;
    listen(&fd, Backlog::new(BACKLOG)?)?;
    Ok(UnixListener::from_std(
        std::os::unix::net::UnixListener::from(fd),
    ))
}

fn is_out_of_descriptors(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(code) if code == Errno::EMFILE as i32 || code == Errno::ENFILE as i32)
}
