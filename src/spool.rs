//! The append-only NDJSON spool that log shippers tail.
//!
//! A cycle's lines go out as whole lines in one buffer. A short write or ENOSPC cuts the
//! file back to its last complete line and counts the loss; the next cycle tries again.
//! A torn last line left by a crash is removed at open. Rotation is rename-style
//! (`path.1`, `path.2`, ...) so shippers that follow by inode read every line; an
//! external rotation (logrotate + SIGHUP) is followed by [`Spool::reopen`]; a file
//! deleted or replaced behind the agent's back is noticed and recreated.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::config::{Fsync, SpoolConfig};

const FILE_MODE: u32 = 0o640;

/// Counters that `status` and the cycle line report.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SpoolStats {
    pub bytes: u64,
    pub lines_written: u64,
    pub lines_lost: u64,
    pub write_errors: u64,
    pub rotations: u64,
    pub reopens: u64,
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
    file: Option<File>,
    /// (device, inode) of the open file, to notice deletion or replacement.
    identity: (u64, u64),
    size: u64,
    stats: SpoolStats,
}

/// What was found at the end of an existing spool when it was opened.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recovered {
    /// Bytes of a torn last line that were removed.
    pub torn_bytes: u64,
    /// The `seq` of the last complete line, to continue the sequence.
    pub last_seq: Option<u64>,
}

impl Spool {
    /// Opens (creating if needed) the spool, removing a torn last line. Fails if the
    /// directory is missing or not writable.
    pub fn open(config: SpoolConfig) -> io::Result<(Self, Recovered)> {
        let mut spool = Self {
            config,
            file: None,
            identity: (0, 0),
            size: 0,
            stats: SpoolStats::default(),
        };
        let recovered = spool.open_file()?;
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
    pub fn reopen(&mut self) -> io::Result<()> {
        self.file = None;
        self.stats.reopens += 1;
        self.open_file().map(|_| ())
    }

    fn open_file(&mut self) -> io::Result<Recovered> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(FILE_MODE)
            .open(&self.config.path)?;
        let recovered = repair_tail(&mut file)?;
        let meta = file.metadata()?;
        self.identity = (meta.dev(), meta.ino());
        self.size = meta.len();
        self.stats.bytes = self.size;
        self.file = Some(file);
        Ok(recovered)
    }

    /// Whether the open file is still the one at the path.
    fn still_at_path(&self) -> bool {
        match std::fs::metadata(&self.config.path) {
            Ok(meta) => (meta.dev(), meta.ino()) == self.identity,
            Err(_) => false,
        }
    }

    /// Appends one cycle's lines (`buf` holds whole lines, each ending in `\n`).
    pub fn write_lines(&mut self, buf: &[u8]) -> WriteOutcome {
        let lines = buf.iter().filter(|&&b| b == b'\n').count() as u64;
        if buf.is_empty() {
            return WriteOutcome::default();
        }
        if let Err(e) = self.prepare(buf.len() as u64) {
            return self.fail(
                lines,
                format!("cannot open {}: {e}", self.config.path.display()),
            );
        }
        let file = self.file.as_mut().expect("opened by prepare");
        let start = self.size;
        let mut written = 0;
        let error = loop {
            if written == buf.len() {
                break None;
            }
            match file.write(&buf[written..]) {
                Ok(0) => break Some(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Some(e),
            }
        };
        let Some(error) = error else {
            self.size += written as u64;
            self.stats.bytes = self.size;
            self.stats.lines_written += lines;
            if self.config.fsync == Fsync::Cycle {
                if let Err(e) = file.sync_data() {
                    self.stats.write_errors += 1;
                    self.stats.last_error =
                        Some(format!("fdatasync {}: {e}", self.config.path.display()));
                }
            }
            return WriteOutcome {
                lines_written: lines,
                lines_lost: 0,
            };
        };
        // Keep the complete lines that made it; cut the torn rest.
        let complete = buf[..written]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let kept_lines = buf[..complete].iter().filter(|&&b| b == b'\n').count() as u64;
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
    /// take it past `max_bytes`.
    fn prepare(&mut self, incoming: u64) -> io::Result<()> {
        if self.file.is_some() && !self.still_at_path() {
            self.file = None;
            self.stats.reopens += 1;
        }
        if self.file.is_none() {
            self.open_file()?;
        }
        if self.size > 0 && self.size + incoming > self.config.max_bytes {
            self.rotate()?;
        }
        Ok(())
    }

    /// `path.(keep-1)` -> `path.keep`, ..., `path` -> `path.1`, then a new `path`.
    fn rotate(&mut self) -> io::Result<()> {
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

/// `path.N`.
pub fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Removes a torn last line (no trailing newline) and finds the last line's `seq`.
fn repair_tail(file: &mut File) -> io::Result<Recovered> {
    let len = file.metadata()?.len();
    let mut recovered = Recovered::default();
    if len == 0 {
        return Ok(recovered);
    }
    // Read backwards in chunks until the last complete line is found.
    const CHUNK: u64 = 64 * 1024;
    let mut tail: Vec<u8> = Vec::new();
    let mut start = len;
    let last_newline = loop {
        let from = start.saturating_sub(CHUNK);
        let mut chunk = vec![0; (start - from) as usize];
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&tail);
        tail = chunk;
        start = from;
        // The newline that ends the last complete line, and the one before it.
        let ends = tail.iter().rposition(|&b| b == b'\n');
        let complete_line_found = match ends {
            Some(end) => start == 0 || tail[..end].contains(&b'\n'),
            None => false,
        };
        if complete_line_found || start == 0 {
            break ends.map(|i| start + i as u64);
        }
    };
    let keep = last_newline.map_or(0, |i| i + 1);
    if keep < len {
        file.set_len(keep)?;
        recovered.torn_bytes = len - keep;
    }
    recovered.last_seq = last_seq(file, keep)?;
    Ok(recovered)
}

/// The `seq` of the last line that has one (agent lines have none), looking at most
/// 1 MiB back from `end`.
fn last_seq(file: &mut File, end: u64) -> io::Result<Option<u64>> {
    let from = end.saturating_sub(1024 * 1024);
    let mut tail = vec![0; (end - from) as usize];
    file.seek(SeekFrom::Start(from))?;
    file.read_exact(&mut tail)?;
    Ok(tail
        .split(|&b| b == b'\n')
        .rev()
        .filter_map(|line| serde_json::from_slice::<serde_json::Value>(line).ok())
        .find_map(|v| v.get("seq").and_then(serde_json::Value::as_u64)))
}

#[cfg(test)]
mod tests;
