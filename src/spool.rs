//! The append-only NDJSON spool that log shippers tail.
//!
//! A cycle's lines go out as whole lines in one buffer. A short write or ENOSPC cuts the
//! file back to its last complete line and counts the loss; the next cycle tries again.
//! A torn last line left by a crash is removed at open. Rotation is rename-style
//! (`path.1`, `path.2`, ...) so shippers that follow by inode read every line; an
//! external rotation (logrotate + SIGHUP) is followed by [`Spool::reopen`]; a file
//! deleted or replaced behind the agent's back is noticed and recreated.
//!
//! The path is untrusted ([`guard`]): only the agent's own regular file is opened,
//! locked against a second agent, repaired or cut back; anything else at the path is
//! refused, counted, and tried again at the next write. The writes of one cycle are one
//! vectored write of its buffers, never copied into one.

pub mod guard;
mod recover;
pub mod resume;
pub mod scan;
pub mod state;
pub mod tail;

use std::fs::File;
use std::io::{self, IoSlice, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use self::guard::{LockedFile, OpenError};
pub use self::recover::Recovered;
use crate::config::{Fsync, SpoolConfig};

const FILE_MODE: u32 = 0o640;

/// Counters that `status` and the cycle line report.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SpoolStats {
    pub bytes: u64,
    pub lines_written: u64,
    pub lines_lost: u64,
    pub write_errors: u64,
    pub rotations: u64,
    pub reopens: u64,
    /// Opens refused because the path held something other than the agent's own
    /// regular file (symlink, FIFO, device, directory, another user's file, hard link).
    pub refused_paths: u64,
    /// Whole cycles dropped because the writer fell behind (see `daemon::writer`).
    pub dropped_cycles: u64,
    /// The last write error; cleared by the next successful write.
    #[serde(deserialize_with = "crate::query::protocol::required")]
    pub last_error: Option<String>,
}

/// The outcome of writing one cycle's lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteOutcome {
    pub lines_written: u64,
    pub lines_lost: u64,
}

pub struct Spool {
    config: SpoolConfig,
    file: Option<LockedFile>,
    /// (device, inode) of the open file, to notice deletion or replacement.
    identity: (u64, u64),
    size: u64,
    stats: SpoolStats,
    /// The last state file write failed (logged once).
    state_failing: bool,
}

impl Spool {
    /// Opens (creating if needed) the spool, removing a torn last line. Fails if the
    /// directory is missing or not writable, if the path holds anything but the agent's
    /// own regular file, or if another process holds its lock.
    pub fn open(config: SpoolConfig) -> Result<(Self, Recovered), OpenError> {
        let mut spool = Self {
            config,
            file: None,
            identity: (0, 0),
            size: 0,
            stats: SpoolStats::default(),
            state_failing: false,
        };
        let mut recovered = spool.open_file()?;
        let state = match state::read(&spool.config.path) {
            Ok(seq) => seq,
            Err(unusable) => {
                recovered.state_unusable = Some(unusable.to_string());
                None
            }
        };
        recovered.resume = resume::decide(recovered.tail.last_seq.as_ref(), state.as_ref());
        Ok((spool, recovered))
    }

    pub fn path(&self) -> &Path {
        &self.config.path
    }

    pub fn stats(&self) -> &SpoolStats {
        &self.stats
    }

    /// Applies a new configuration (reload); a new path is opened at the next write.
    pub fn set_config(&mut self, config: SpoolConfig) {
        let moved = config.path != self.config.path;
        self.config = config;
        if moved {
            self.file = None;
        }
    }

    /// Closes and reopens the path (after an external rotation).
    pub fn reopen(&mut self) -> Result<(), OpenError> {
        self.file = None;
        self.stats.reopens += 1;
        self.open_file().map(|_| ())
    }

    /// Opens the path through the guard; only then is the tail repaired.
    fn open_file(&mut self) -> Result<Recovered, OpenError> {
        let mut file = match guard::open_locked(&self.config.path, FILE_MODE) {
            Ok(file) => file,
            Err(e) => {
                if matches!(e, OpenError::Refused(_) | OpenError::Locked(_)) {
                    self.stats.refused_paths += 1;
                }
                return Err(e);
            }
        };
        let recovered = recover::repair_tail(&mut file)?;
        let meta = file.metadata()?;
        self.identity = (meta.dev(), meta.ino());
        self.size = meta.len();
        self.stats.bytes = self.size;
        self.file = Some(file);
        Ok(recovered)
    }

    /// Appends one cycle's lines: `parts` hold whole lines, each ending in `\n`, and go
    /// out in one vectored write where the file takes them at once.
    pub fn write_lines(&mut self, parts: &[&[u8]]) -> WriteOutcome {
        let lines = parts.iter().map(|p| count_lines(p)).sum::<u64>();
        let total: usize = parts.iter().map(|p| p.len()).sum();
        if total == 0 {
            return WriteOutcome::default();
        }
        if let Err(e) = self.prepare(total as u64) {
            return self.fail(
                lines,
                format!("cannot open {}: {e}", self.config.path.display()),
            );
        }
        let file = self.file.as_mut().expect("opened by prepare");
        let start = self.size;
        let (written, error) = write_all_vectored(file, parts);
        let Some(error) = error else {
            self.size += written as u64;
            self.stats.bytes = self.size;
            self.stats.lines_written += lines;
            self.stats.last_error = None;
            if self.config.fsync == Fsync::Cycle {
                if let Err(e) = file.sync_data() {
                    self.stats.write_errors += 1;
                    self.stats.last_error =
                        Some(format!("fdatasync {}: {e}", self.config.path.display()));
                }
            }
            if let Some(seq) = state::cycle_seq(parts) {
                self.remember(seq);
            }
            return WriteOutcome {
                lines_written: lines,
                lines_lost: 0,
            };
        };
        // Keep the complete lines that made it; cut the torn rest.
        let (complete, kept_lines) = complete_prefix(parts, written);
        let message = format!("writing {}: {error}", self.config.path.display());
        match file.set_len(start + complete as u64) {
            Ok(()) => self.size = start + complete as u64,
            Err(e) => {
                // Cannot cut back: reopen next time, which repairs the tail.
                self.file = None;
                self.stats.last_error = Some(format!("{message}; cutting back failed: {e}"));
            }
        }
        self.stats.bytes = self.size;
        self.stats.lines_written += kept_lines;
        let mut outcome = self.fail(lines - kept_lines, message);
        outcome.lines_written = kept_lines;
        outcome
    }

    /// Writes the state file: the sequence survives the spool being moved away. A
    /// failure costs only that, and is logged once until the next success.
    fn remember(&mut self, seq: u64) {
        match state::write(&self.config.path, seq) {
            Ok(()) => self.state_failing = false,
            Err(e) if !self.state_failing => {
                self.state_failing = true;
                crate::log_warn!(
                    "cannot write {}: {e}; the spool itself is not affected, but seq may \
                     restart at 1 if the spool is moved away before the agent restarts",
                    state::path_for(&self.config.path).display()
                );
            }
            Err(_) => {}
        }
    }

    fn fail(&mut self, lost: u64, message: String) -> WriteOutcome {
        self.stats.write_errors += 1;
        self.stats.lines_lost += lost;
        self.stats.last_error = Some(message);
        WriteOutcome {
            lines_written: 0,
            lines_lost: lost,
        }
    }

    /// Makes sure a file is open at the path and rotates it if `incoming` bytes would
    /// take it past `max_bytes` (0: never; logrotate is in charge).
    fn prepare(&mut self, incoming: u64) -> Result<(), OpenError> {
        if self.file.is_some() && !guard::still_at(&self.config.path, self.identity) {
            self.file = None;
            self.stats.reopens += 1;
        }
        if self.file.is_none() {
            self.open_file()?;
        }
        let rotating = self.config.max_bytes > 0;
        if rotating && self.size > 0 && self.size + incoming > self.config.max_bytes {
            self.rotate()?;
        }
        Ok(())
    }

    /// `path.(keep-1)` -> `path.keep`, ..., `path` -> `path.1`, then a new `path`.
    fn rotate(&mut self) -> Result<(), OpenError> {
        let keep = self.config.keep;
        let path = self.config.path.clone();
        if keep == 0 {
            std::fs::remove_file(&path)?;
        } else {
            let _ = std::fs::remove_file(numbered(&path, keep));
            for n in (1..keep).rev() {
                let from = numbered(&path, n);
                if from.exists() {
                    std::fs::rename(&from, numbered(&path, n + 1))?;
                }
            }
            std::fs::rename(&path, numbered(&path, 1))?;
        }
        self.file = None;
        self.stats.rotations += 1;
        self.open_file().map(|_| ())
    }
}

fn count_lines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Writes every part, retrying short writes; returns the bytes written and the error
/// that stopped it, if any.
fn write_all_vectored(file: &mut File, parts: &[&[u8]]) -> (usize, Option<io::Error>) {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let mut written = 0;
    while written < total {
        // The parts from `written` on.
        let mut skip = written;
        let slices: Vec<IoSlice<'_>> = parts
            .iter()
            .filter_map(|part| {
                if skip >= part.len() {
                    skip -= part.len();
                    None
                } else {
                    let slice = IoSlice::new(&part[skip..]);
                    skip = 0;
                    Some(slice)
                }
            })
            .collect();
        match file.write_vectored(&slices) {
            Ok(0) => return (written, Some(io::Error::from(io::ErrorKind::WriteZero))),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (written, Some(e)),
        }
    }
    (written, None)
}

/// Of the first `written` bytes of `parts`: the length that ends at the last complete
/// line, and the number of lines in it.
fn complete_prefix(parts: &[&[u8]], written: usize) -> (usize, u64) {
    let mut offset = 0;
    let mut complete = 0;
    let mut lines = 0;
    for part in parts {
        let take = part.len().min(written - offset);
        for (i, &b) in part[..take].iter().enumerate() {
            if b == b'\n' {
                complete = offset + i + 1;
                lines += 1;
            }
        }
        offset += take;
        if offset == written {
            break;
        }
    }
    (complete, lines)
}

/// `path.N`.
pub fn numbered(path: &Path, n: u32) -> PathBuf {
    with_suffix(path, &n.to_string())
}

/// `path.SUFFIX`.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests;
