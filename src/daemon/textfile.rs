//! The Prometheus textfile writer thread: after each cycle the exposition goes to
//! `prometheus.textfile` for node_exporter's textfile collector, off the event loop.
//!
//! One slot, latest wins: the loop never waits, and a slow or hung filesystem costs
//! older expositions, never memory. Each write is whole: a temporary file
//! `.NAME.XXXXXXXXXXXX.tmp` in the same directory, its name unpredictable (twelve
//! random characters, from the `tempfile` crate, which tries a new name when one is
//! taken and reseeds from the system's randomness after three), created new
//! (`O_EXCL`, `O_NOFOLLOW`: never through a symlink someone left), mode 0644 whatever
//! the umask, written, fdatasync'ed, then renamed over the file, so a reader sees the
//! old exposition or the new one, never part of one. node_exporter's textfile
//! directory is often shared and sometimes sticky and world-writable: another user
//! can take any name there, but cannot guess this one.
//!
//! Failures are counted ([`TextfileStats`]): `status` shows them and the health
//! family `virtdiag_textfile_errors_total` counts them.
//!
//! The file written last is removed when the agent stops, and when
//! `prometheus.textfile` moves or is emptied: its series go absent rather than stale
//! (after a crash it stays; node_exporter's `node_textfile_mtime_seconds` shows its
//! age).

use std::fs::{File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::background::{self, lock, Background, Latest};
use crate::chunk::Chunk;
use crate::log::RateLimiter;
use crate::log_error;

/// The textfile's permissions: node_exporter reads it as another user.
pub const MODE: u32 = 0o644;

struct Job {
    path: PathBuf,
    chunks: Vec<Chunk>,
}

/// What the textfile writer has done since the agent started (`status`'s
/// `textfile`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct TextfileStats {
    /// The path of the latest exposition handed over; empty: no textfile.
    pub path: PathBuf,
    /// Expositions written whole.
    pub written: u64,
    /// Writes that failed.
    pub errors: u64,
    /// Failures since the last write that succeeded: above 0, Prometheus sees an old
    /// exposition (node_exporter's `node_textfile_mtime_seconds` shows its age).
    pub consecutive_errors: u64,
    /// The latest failure, kept after a success.
    #[serde(deserialize_with = "crate::query::protocol::required")]
    pub last_error: Option<String>,
}

/// The textfile writer: a thread with one latest-wins slot.
pub struct Textfile {
    thread: Background<Latest<Job>>,
    stats: Arc<Mutex<TextfileStats>>,
}

impl Textfile {
    pub fn spawn() -> std::io::Result<Textfile> {
        let stats = Arc::new(Mutex::new(TextfileStats::default()));
        let work = TextfileWork {
            written: None,
            stats: Arc::clone(&stats),
            log_limit: RateLimiter::new(Duration::from_secs(60)),
        };
        Ok(Textfile {
            thread: Background::spawn("textfile", Latest::default(), work)?,
            stats,
        })
    }

    /// The counters, as of now.
    pub fn stats(&self) -> TextfileStats {
        lock(&self.stats).clone()
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

/// The thread's side: the file written last, and the counters.
struct TextfileWork {
    written: Option<PathBuf>,
    stats: Arc<Mutex<TextfileStats>>,
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
        lock(&self.stats).path.clone_from(&job.path);
        if job.path.as_os_str().is_empty() {
            return;
        }
        let outcome = write_whole(&job.path, &job.chunks);
        let mut stats = lock(&self.stats);
        match outcome {
            Ok(()) => {
                self.written = Some(job.path);
                stats.written += 1;
                stats.consecutive_errors = 0;
            }
            Err(e) => {
                stats.errors += 1;
                stats.consecutive_errors += 1;
                stats.last_error = Some(e.to_string());
                if let Some(suppressed) = self.log_limit.check("textfile", Instant::now()) {
                    log_error!(
                        "prometheus.textfile {}: {e}; trying again after the next cycle \
                         ({} failures in a row, {suppressed} similar errors suppressed)",
                        job.path.display(),
                        stats.consecutive_errors
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

/// Writes `chunks` to `path` whole: a new temporary file with an unpredictable name
/// beside it, then rename. The temporary name is hidden and not `*.prom`, so
/// node_exporter skips it.
pub fn write_whole(path: &Path, chunks: &[Chunk]) -> std::io::Result<()> {
    let no_name = || std::io::Error::new(std::io::ErrorKind::InvalidInput, "no file name");
    let name = path.file_name().ok_or_else(no_name)?;
    let dir = path.parent().ok_or_else(no_name)?;
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    // On error the temporary file is removed when `temp` drops.
    let mut temp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .rand_bytes(12)
        .make_in(dir, |temp_path| {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(MODE)
                .custom_flags(libc_flags())
                .open(temp_path)
        })?;
    temp.as_file()
        .set_permissions(Permissions::from_mode(MODE))?;
    write_chunks(temp.as_file_mut(), chunks)?;
    temp.as_file().sync_data()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
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
    fn names_taken_beside_it_are_left_alone_and_never_followed() {
        let dir = dir("symlink");
        let path = dir.join("v.prom");
        let victim = dir.join("victim");
        std::fs::write(&victim, "keep").unwrap();
        // The names a predictable scheme would use, taken by a symlink, a file and a
        // directory.
        std::os::unix::fs::symlink(&victim, dir.join(".v.prom.tmp")).unwrap();
        std::fs::write(dir.join("v.prom.tmp"), "theirs").unwrap();
        std::fs::create_dir(dir.join(".v.prom.new")).unwrap();
        for n in 0..20 {
            write_whole(&path, &[Chunk::Owned(format!("a {n}\n").into_bytes())]).unwrap();
        }
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(
            std::fs::read_to_string(dir.join("v.prom.tmp")).unwrap(),
            "theirs"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a 19\n");
        assert!(!std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            5,
            "no temporary file left"
        );
    }

    #[test]
    fn failures_are_counted_until_a_write_succeeds() {
        let dir = dir("failures");
        let path = dir.join("v.prom");
        // A directory at the textfile's own name: the rename fails every time.
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("x"), "").unwrap();
        let mut textfile = Textfile::spawn().unwrap();
        let wait = |textfile: &Textfile, done: &dyn Fn(&TextfileStats) -> bool| {
            let deadline = Instant::now() + Duration::from_secs(5);
            while !done(&textfile.stats()) {
                assert!(Instant::now() < deadline, "{:?}", textfile.stats());
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        for n in 1..=3 {
            textfile.publish(path.clone(), vec![Chunk::Owned(b"a 1\n".to_vec())]);
            wait(&textfile, &|s| s.errors == n);
        }
        let stats = textfile.stats();
        assert_eq!((stats.written, stats.consecutive_errors), (0, 3));
        assert!(stats.last_error.is_some());
        assert_eq!(stats.path, path);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file left"
        );
        std::fs::remove_dir_all(&path).unwrap();
        textfile.publish(path.clone(), vec![Chunk::Owned(b"a 2\n".to_vec())]);
        wait(&textfile, &|s| s.written == 1);
        let stats = textfile.stats();
        assert_eq!((stats.errors, stats.consecutive_errors), (3, 0));
        assert!(textfile.stop(Instant::now() + Duration::from_secs(5)));
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
