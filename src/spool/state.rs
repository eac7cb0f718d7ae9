//! The state file beside the spool: the `seq` of the last cycle line written, so that
//! the sequence survives the spool being moved away or rotated by hand between runs.
//!
//! `DIR/.NAME.state` for a spool `DIR/NAME` (`/var/log/virtdiag/.diagnostics.ndjson.state`
//! in the package): in the spool's own directory, which the agent may already write
//! (`LogsDirectory=`), hidden and not matching `NAME*`, so that shippers that follow
//! `diagnostics.ndjson*` never read it. One line, `{"seq":N}`, replaced after every
//! cycle line that reaches the spool: written to a new file (`O_EXCL | O_NOFOLLOW`,
//! mode 0640) and renamed over the old one, so a reader sees the old or the new
//! content, never a mix. It is not fsynced: after a power loss it may be older than the
//! spool, and the larger of the two `seq`s wins ([`super::resume`]).
//!
//! Read at start as untrusted input: no symlink followed, no FIFO waited on, only a
//! regular file of the agent's user, at most [`MAX_BYTES`] read.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;

use super::resume::SeqRead;

/// The largest state file read; anything larger is not one the agent wrote.
pub const MAX_BYTES: u64 = 4096;

const MODE: u32 = 0o640;

/// `DIR/.NAME.state` beside the spool `DIR/NAME`.
pub fn path_for(spool: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(spool.file_name().unwrap_or_default());
    name.push(".state");
    spool.with_file_name(name)
}

/// Replaces the state file beside `spool` with `seq`: written to `.NAME.state.tmp`
/// (only one agent writes beside a spool: it holds the spool's lock), then renamed over
/// the state file. Whatever is left at the temporary name (a crash mid-write, or
/// something planted there) is removed, never followed, and the write tried once more.
pub fn write(spool: &Path, seq: u64) -> io::Result<()> {
    let target = path_for(spool);
    let mut temporary = target.clone().into_os_string();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let create = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(MODE)
            .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC).bits())
            .open(&temporary)
    };
    let mut file = match create() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(&temporary)?;
            create()?
        }
        opened => opened?,
    };
    let written = file
        .write_all(format!("{{\"seq\":{seq}}}\n").as_bytes())
        .and_then(|()| std::fs::rename(&temporary, &target));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// After a cycle's lines reached the spool, the `seq` of its cycle line (the last line
/// of a cycle's batch), if the last line is one.
pub fn cycle_seq(parts: &[&[u8]]) -> Option<u64> {
    let last = parts.iter().rev().find(|p| !p.is_empty())?;
    let body = last.strip_suffix(b"\n")?;
    let line = &body[body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)..];
    if !line.starts_with(b"{\"kind\":\"cycle\"") {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct Cycle {
        seq: u64,
    }
    serde_json::from_slice::<Cycle>(line).ok().map(|c| c.seq)
}

/// Why a state file was not used: it is ignored, with this warning.
#[derive(Debug, thiserror::Error)]
#[error("state file {}: {why}; ignored", .path.display())]
pub struct Unusable {
    pub path: PathBuf,
    pub why: Why,
}

/// What is wrong with a state file.
#[derive(Debug, thiserror::Error)]
pub enum Why {
    #[error("a symbolic link")]
    Symlink,
    #[error("{0}")]
    Io(io::Error),
    #[error("not a regular file")]
    NotRegular,
    #[error("belongs to uid {owner}, not to the agent's uid {euid}")]
    Owner { owner: u32, euid: u32 },
    #[error("longer than {MAX_BYTES} bytes")]
    TooLong,
    #[error("no seq")]
    NoSeq,
    #[error("not a JSON object ({0})")]
    NotJson(serde_json::Error),
}

/// The `seq` in the state file beside `spool`: None when there is no state file.
pub fn read(spool: &Path) -> Result<Option<SeqRead>, Unusable> {
    let path = path_for(spool);
    let unusable = |why: Why| Unusable {
        path: path.clone(),
        why,
    };
    let flags = OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits())
        .open(&path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(Errno::ELOOP as i32) => {
            return Err(unusable(Why::Symlink))
        }
        Err(e) => return Err(unusable(Why::Io(e))),
    };
    let meta = file.metadata().map_err(|e| unusable(Why::Io(e)))?;
    let euid = nix::unistd::geteuid().as_raw();
    if !meta.is_file() {
        return Err(unusable(Why::NotRegular));
    }
    if meta.uid() != euid {
        return Err(unusable(Why::Owner {
            owner: meta.uid(),
            euid,
        }));
    }
    let mut text = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(|e| unusable(Why::Io(e)))?;
    if text.len() as u64 > MAX_BYTES {
        return Err(unusable(Why::TooLong));
    }
    #[derive(serde::Deserialize)]
    struct State {
        seq: Option<SeqRead>,
    }
    match serde_json::from_slice::<State>(&text) {
        Ok(State { seq: Some(seq) }) => Ok(Some(seq)),
        Ok(State { seq: None }) => Err(unusable(Why::NoSeq)),
        Err(e) => Err(unusable(Why::NotJson(e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spool_in(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("virtdiag-state-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("diagnostics.ndjson")
    }

    #[test]
    fn written_then_read_back_hidden_beside_the_spool() {
        let spool = spool_in("roundtrip");
        assert_eq!(read(&spool).ok(), Some(None));
        write(&spool, 41).unwrap();
        write(&spool, 42).unwrap();
        assert_eq!(read(&spool).ok(), Some(Some(SeqRead::Valid(42))));
        let names: Vec<String> = std::fs::read_dir(spool.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [".diagnostics.ndjson.state"], "no temporary left");
        let mode = std::fs::metadata(path_for(&spool)).unwrap().mode() & 0o777;
        assert_eq!(mode & !MODE, 0, "{mode:o}");
    }

    #[test]
    fn the_seq_of_a_batch_that_ends_with_a_cycle_line() {
        let domain = b"{\"kind\":\"domain\",\"seq\":7}\n".as_slice();
        let cycle = b"{\"kind\":\"cycle\",\"schema\":1,\"seq\":7,\"x\":1}\n".as_slice();
        assert_eq!(cycle_seq(&[b"", domain, cycle, b""]), Some(7));
        assert_eq!(cycle_seq(&[[domain, cycle].concat().as_slice()]), Some(7));
        assert_eq!(cycle_seq(&[cycle, domain]), None, "not the last line");
        assert_eq!(cycle_seq(&[b"{\"kind\":\"agent\",\"seq\":3}\n"]), None);
        assert_eq!(cycle_seq(&[b"{\"kind\":\"cycle\",\"seq\":-1}\n"]), None);
        assert_eq!(cycle_seq(&[]), None);
    }

    #[test]
    fn a_hostile_state_file_is_refused_with_a_reason() {
        let spool = spool_in("hostile");
        let path = path_for(&spool);
        let secret = spool.with_file_name("secret");
        std::fs::write(&secret, "{\"seq\":7}").unwrap();
        std::os::unix::fs::symlink(&secret, &path).unwrap();
        let why = |spool: &Path| read(spool).unwrap_err().why;
        assert!(matches!(why(&spool), Why::Symlink));
        // Writing replaces the link itself, never the file it points to.
        write(&spool, 9).unwrap();
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "{\"seq\":7}");
        assert_eq!(read(&spool).ok(), Some(Some(SeqRead::Valid(9))));

        // Something left at the temporary name is replaced, not followed.
        let temporary = spool.with_file_name(".diagnostics.ndjson.state.tmp");
        std::os::unix::fs::symlink(&secret, &temporary).unwrap();
        write(&spool, 10).unwrap();
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "{\"seq\":7}");
        assert!(!temporary.exists());
        assert_eq!(read(&spool).ok(), Some(Some(SeqRead::Valid(10))));

        std::fs::remove_file(&path).unwrap();
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert!(matches!(why(&spool), Why::NotRegular));

        std::fs::remove_file(&path).unwrap();
        std::fs::write(
            &path,
            format!("{{\"seq\":1,\"x\":\"{}\"}}", "y".repeat(5000)),
        )
        .unwrap();
        assert!(matches!(why(&spool), Why::TooLong));
        std::fs::write(&path, "").unwrap();
        assert!(matches!(why(&spool), Why::NotJson(_)));
        std::fs::write(&path, "{\"seq\":18446744073709551615}").unwrap();
        assert!(matches!(read(&spool), Ok(Some(SeqRead::Bad(_)))));
    }
}
