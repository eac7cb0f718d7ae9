//! The Prometheus textfile writer thread: after each cycle the exposition goes to
//! `prometheus.textfile` for node_exporter's textfile collector, off the event loop.
//!
//! One slot, latest wins: the loop never waits, and a slow or hung filesystem costs
//! older expositions, never memory. Each write is whole: a temporary file `.NAME.tmp`
//! in the same directory, created new (`O_EXCL`, `O_NOFOLLOW`: never through a
//! symlink someone left at that name), mode 0644 whatever the umask, written,
//! fdatasync'ed, then renamed over the file, so a reader sees the old exposition or
//! the new one, never part of one.
//!
//! The file written last is removed when the agent stops, and when
//! `prometheus.textfile` moves or is emptied: its series go absent rather than stale
//! (after a crash it stays; node_exporter's `node_textfile_mtime_seconds` shows its
//! age).

use std::fs::{File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::background::{self, Background, Latest};
use crate::chunk::Chunk;
use crate::log::RateLimiter;
use crate::log_error;

/// The textfile's permissions: node_exporter reads it as another user.
pub const MODE: u32 = 0o644;

struct Job {
    path: PathBuf,
    chunks: Vec<Chunk>,
}

/// The textfile writer: a thread with one latest-wins slot.
pub struct Textfile {
    thread: Background<Latest<Job>>,
}

impl Textfile {
    pub fn spawn() -> std::io::Result<Textfile> {
        let work = TextfileWork {
            written: None,
            log_limit: RateLimiter::new(Duration::from_secs(60)),
        };
        Ok(Textfile {
            thread: Background::spawn("textfile", Latest::default(), work)?,
        })
    }

    /// Hands an exposition over without waiting; it replaces one not written yet. An
    /// empty `path` removes the file written last.
    pub fn publish(&self, path: PathBuf, chunks: Vec<Chunk>) {
        self.thread
            .with_queue(|slot| slot.replace(Job { path, chunks }));
    }

    /// Tells the thread to write what waits, remove the file and stop, without
    /// waiting: its deadline runs beside other writers' ([`Self::stop`]).
    pub fn begin_stop(&self) {
        self.thread.begin_stop();
    }

    /// Writes what waits, removes the file, then stops; gives up at `deadline` and
    /// leaves the thread behind (a hung filesystem).
    pub fn stop(&mut self, deadline: Instant) -> bool {
        self.thread.stop(deadline)
    }
}

/// The thread's side: the file written last.
struct TextfileWork {
    written: Option<PathBuf>,
    log_limit: RateLimiter,
}

impl TextfileWork {
    fn forget(&mut self) {
        if let Some(old) = self.written.take() {
            let _ = std::fs::remove_file(old);
        }
    }
}

impl background::Work<Job> for TextfileWork {
    fn run(&mut self, job: Job) {
        if self.written.as_ref().is_some_and(|old| *old != job.path) {
            self.forget();
        }
        if job.path.as_os_str().is_empty() {
            return;
        }
        match write_whole(&job.path, &job.chunks) {
            Ok(()) => self.written = Some(job.path),
            Err(e) => {
                if let Some(suppressed) = self.log_limit.check("textfile", Instant::now()) {
                    log_error!(
                        "prometheus.textfile {}: {e}; trying again after the next cycle \
                         ({suppressed} similar errors suppressed)",
                        job.path.display()
                    );
                }
            }
        }
    }

    /// At shutdown the file goes: its series go absent rather than stale.
    fn finish(&mut self) {
        self.forget();
    }
}

/// The temporary file's name: hidden, and not `*.prom`, so node_exporter skips it.
fn temporary(path: &Path) -> std::io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no file name"))?;
    let mut temp = std::ffi::OsString::from(".");
    temp.push(name);
    temp.push(".tmp");
    Ok(path.with_file_name(temp))
}

/// Writes `chunks` to `path` whole: temporary file, then rename.
pub fn write_whole(path: &Path, chunks: &[Chunk]) -> std::io::Result<()> {
    let temp = temporary(path)?;
    // A temporary file left by a crash, or anything else at that name: unlink removes
    // a symlink itself, never its target.
    match std::fs::remove_file(&temp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(MODE)
            .custom_flags(libc_flags())
            .open(&temp)?;
        file.set_permissions(Permissions::from_mode(MODE))?;
        write_chunks(&mut file, chunks)?;
        file.sync_data()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

fn write_chunks(file: &mut File, chunks: &[Chunk]) -> std::io::Result<()> {
    for chunk in chunks {
        file.write_all(chunk.bytes())?;
    }
    Ok(())
}

/// `O_NOFOLLOW | O_CLOEXEC` (with `O_EXCL` from `create_new`).
fn libc_flags() -> i32 {
    (nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_CLOEXEC).bits()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;
    use std::sync::Arc;

    fn dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("virtdiag-textfile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn writes_whole_with_mode_0644_and_leaves_no_temporary_file() {
        let dir = dir("whole");
        let path = dir.join("v.prom");
        write_whole(
            &path,
            &[
                Chunk::Owned(b"a 1\n".to_vec()),
                Chunk::Shared(Arc::new(b"b 2\n".to_vec())),
            ],
        )
        .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a 1\nb 2\n");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, MODE);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    }

    #[test]
    fn a_symlink_at_the_temporary_name_is_not_followed() {
        let dir = dir("symlink");
        let path = dir.join("v.prom");
        let victim = dir.join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, temporary(&path).unwrap()).unwrap();
        write_whole(&path, &[Chunk::Owned(b"a 1\n".to_vec())]).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a 1\n");
        assert!(!std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn the_latest_wins_and_stop_removes_it() {
        let dir = dir("latest");
        let path = dir.join("v.prom");
        let mut textfile = Textfile::spawn().unwrap();
        for n in 0..50 {
            textfile.publish(
                path.clone(),
                vec![Chunk::Owned(format!("n {n}\n").into_bytes())],
            );
        }
        // Stopped with the last one written, then removed: no stale series.
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::fs::read_to_string(&path).ok().as_deref() != Some("n 49\n") {
            assert!(
                Instant::now() < deadline,
                "the latest exposition was never written"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(textfile.stop(Instant::now() + Duration::from_secs(5)));
        assert!(!path.exists());
    }

    #[test]
    fn a_moved_or_emptied_path_removes_the_old_file() {
        let dir = dir("moved");
        let (a, b) = (dir.join("a.prom"), dir.join("b.prom"));
        let mut textfile = Textfile::spawn().unwrap();
        let wait = |path: &Path, exists: bool| {
            let deadline = Instant::now() + Duration::from_secs(5);
            while path.exists() != exists {
                assert!(
                    Instant::now() < deadline,
                    "{} exists: {}",
                    path.display(),
                    !exists
                );
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        textfile.publish(a.clone(), vec![Chunk::Owned(b"x 1\n".to_vec())]);
        wait(&a, true);
        textfile.publish(b.clone(), vec![Chunk::Owned(b"x 2\n".to_vec())]);
        wait(&b, true);
        wait(&a, false);
        textfile.publish(PathBuf::new(), Vec::new());
        wait(&b, false);
        assert!(textfile.stop(Instant::now() + Duration::from_secs(5)));
    }
}
