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

use super::protocol::{ErrorCode, ProtocolError};
use crate::spool::guard::{self, LockedFile, OpenError};

/// Why the socket could not be bound: each names the path and what to do.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// Another agent holds the socket's lock (with its pid).
    #[error("socket {}: {why}", .path.display())]
    Locked { path: PathBuf, why: String },
    /// The lock file beside the socket cannot be opened or locked.
    #[error("cannot lock {}: {why}", .path.display())]
    Lock { path: PathBuf, why: OpenError },
    #[error("cannot inspect socket path {}: {source}", .path.display())]
    Inspect { path: PathBuf, source: io::Error },
    /// A live socket at the path, from an agent that predates the lock.
    #[error("another process is answering on {}: is virtdiag already running?", .0.display())]
    Answering(PathBuf),
    #[error("cannot remove the stale socket {}: {source}", .path.display())]
    RemoveStale { path: PathBuf, source: io::Error },
    #[error("{} exists and is not a socket; refusing to replace it", .0.display())]
    NotSocket(PathBuf),
    #[error("cannot bind {}: {source}", .path.display())]
    Bind { path: PathBuf, source: Errno },
    #[error("cannot inspect the bound socket {}: {source}", .path.display())]
    InspectBound { path: PathBuf, source: io::Error },
    #[error("cannot give {} to group {gid}: {source}", .path.display())]
    Group {
        path: PathBuf,
        gid: u32,
        source: io::Error,
    },
    /// The event loop cannot watch the bound socket.
    #[error("cannot poll {}: {source}", .path.display())]
    Poll { path: PathBuf, source: io::Error },
}

/// Why a reload's `socket.mode` and `socket.group` were not applied.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("cannot open {}: {source}", .path.display())]
    Open { path: PathBuf, source: Errno },
    #[error("cannot inspect {}: {source}", .path.display())]
    Inspect { path: PathBuf, source: io::Error },
    /// Something else is at the path now: it is left alone.
    #[error("{} is no longer the socket this agent bound; leaving it", .0.display())]
    Replaced(PathBuf),
    #[error("cannot give {} mode {mode:04o}: {source}", .path.display())]
    Mode {
        path: PathBuf,
        mode: u32,
        source: io::Error,
    },
    #[error("cannot give {} to group {gid}: {source}", .path.display())]
    Group {
        path: PathBuf,
        gid: u32,
        source: Errno,
    },
}

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
    pub fn bind(path: &Path, mode: u32, gid: Option<u32>) -> Result<Self, BindError> {
        let at = || path.to_path_buf();
        let lock_path = crate::spool::with_suffix(path, "lock");
        let lock = guard::open_locked(&lock_path, 0o600).map_err(|e| match e {
            OpenError::Locked(why) => BindError::Locked { path: at(), why },
            why => BindError::Lock {
                path: lock_path.clone(),
                why,
            },
        })?;
        match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(BindError::Inspect { path: at(), source }),
            Ok(meta) if meta.file_type().is_socket() => {
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(BindError::Answering(at()));
                }
                std::fs::remove_file(path)
                    .map_err(|source| BindError::RemoveStale { path: at(), source })?;
            }
            Ok(_) => return Err(BindError::NotSocket(at())),
        }
        // The mode is set by the umask at bind: no window with a wider mode, and no
        // chmod of a path that could have been swapped meanwhile.
        let old_umask = umask(Mode::from_bits_truncate(!mode & 0o777));
        let bound = bind_with_backlog(path);
        umask(old_umask);
        let socket = bound.map_err(|source| BindError::Bind { path: at(), source })?;
        let meta = std::fs::symlink_metadata(path)
            .map_err(|source| BindError::InspectBound { path: at(), source })?;
        if let Some(gid) = gid {
            std::os::unix::fs::lchown(path, None, Some(gid)).map_err(|source| {
                BindError::Group {
                    path: at(),
                    gid,
                    source,
                }
            })?;
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
    pub fn set_access(&self, mode: u32, gid: Option<u32>) -> Result<(), AccessError> {
        use nix::fcntl::{open, OFlag};
        let at = || self.path.clone();
        let fd = open(
            &self.path,
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|source| AccessError::Open { path: at(), source })?;
        let file = File::from(fd);
        let meta = file
            .metadata()
            .map_err(|source| AccessError::Inspect { path: at(), source })?;
        if !meta.file_type().is_socket() || (meta.dev(), meta.ino()) != self.identity {
            return Err(AccessError::Replaced(at()));
        }
        let through = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
        std::fs::set_permissions(&through, std::fs::Permissions::from_mode(mode & 0o777)).map_err(
            |source| AccessError::Mode {
                path: at(),
                mode,
                source,
            },
        )?;
        if let Some(gid) = gid {
            nix::unistd::fchownat(
                &file,
                "",
                None,
                Some(nix::unistd::Gid::from_raw(gid)),
                nix::fcntl::AtFlags::AT_EMPTY_PATH,
            )
            .map_err(|source| AccessError::Group {
                path: at(),
                gid,
                source,
            })?;
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
                                ErrorCode::OutOfDescriptors,
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
