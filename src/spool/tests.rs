//! Spool writing, repair, rotation and reopening on a real filesystem.

use std::path::PathBuf;

use super::*;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("virtdiag-spool-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config(dir: &Path, max_bytes: u64, keep: u32) -> SpoolConfig {
    SpoolConfig {
        path: dir.join("d.ndjson"),
        max_bytes,
        keep,
        fsync: Fsync::Never,
    }
}

fn line(seq: u64) -> String {
    format!(
        "{{\"kind\":\"cycle\",\"seq\":{seq},\"pad\":\"{}\"}}\n",
        "x".repeat(40)
    )
}

#[test]
fn appends_whole_lines_with_mode_0640() {
    let dir = temp_dir("append");
    let (mut spool, recovered) = Spool::open(config(&dir, 1 << 20, 2)).unwrap();
    assert_eq!(recovered, Recovered::default());
    let outcome = spool.write_lines(&[format!("{}{}", line(1), line(2)).as_bytes()]);
    assert_eq!(
        outcome,
        WriteOutcome {
            lines_written: 2,
            lines_lost: 0
        }
    );
    let text = std::fs::read_to_string(spool.path()).unwrap();
    assert_eq!(text, format!("{}{}", line(1), line(2)));
    let mode = std::fs::metadata(spool.path()).unwrap().mode() & 0o777;
    assert_eq!(mode & !0o640, 0, "at most 0640, got {mode:o}");
    assert_eq!(spool.stats().bytes, text.len() as u64);
}

#[test]
fn a_torn_last_line_is_removed_at_open_and_the_seq_recovered() {
    let dir = temp_dir("torn");
    let path = dir.join("d.ndjson");
    std::fs::write(&path, format!("{}{}{{\"kind\":\"dom", line(7), line(8))).unwrap();
    let (spool, recovered) = Spool::open(config(&dir, 1 << 20, 2)).unwrap();
    assert_eq!(recovered.resume.after, 8);
    assert_eq!(recovered.torn_bytes, 12);
    assert_eq!(
        std::fs::read_to_string(spool.path()).unwrap(),
        format!("{}{}", line(7), line(8))
    );
    drop(spool);

    // A file that is one torn line and nothing else is emptied.
    std::fs::write(&path, "{\"half").unwrap();
    let (_, recovered) = Spool::open(config(&dir, 1 << 20, 2)).unwrap();
    assert_eq!(recovered.torn_bytes, 6);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
}

#[test]
fn repair_reads_back_across_chunk_boundaries() {
    let dir = temp_dir("long");
    let path = dir.join("d.ndjson");
    let long = format!(
        "{{\"kind\":\"domain\",\"seq\":3,\"x\":\"{}\"}}\n",
        "y".repeat(200_000)
    );
    std::fs::write(&path, format!("{}{long}{}", line(1), "z".repeat(100_000))).unwrap();
    let (_, recovered) = Spool::open(config(&dir, 1 << 30, 2)).unwrap();
    assert_eq!(recovered.resume.after, 3);
    assert_eq!(recovered.torn_bytes, 100_000);
}

#[test]
fn rotation_keeps_keep_files_and_loses_no_line() {
    let dir = temp_dir("rotate");
    let one = line(0).len() as u64;
    let (mut spool, _) = Spool::open(config(&dir, one * 3, 2)).unwrap();
    for seq in 1..=10 {
        spool.write_lines(&[line(seq).as_bytes()]);
    }
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let base = spool.path().to_path_buf();
    assert_eq!(
        read(&numbered(&base, 2)),
        format!("{}{}{}", line(4), line(5), line(6))
    );
    assert_eq!(
        read(&numbered(&base, 1)),
        format!("{}{}{}", line(7), line(8), line(9))
    );
    assert_eq!(read(&base), line(10));
    assert!(!numbered(&base, 3).exists());
    assert_eq!(spool.stats().rotations, 3);
}

#[test]
fn a_deleted_file_is_recreated_and_an_external_rename_followed_by_reopen() {
    let dir = temp_dir("deleted");
    let (mut spool, _) = Spool::open(config(&dir, 1 << 20, 2)).unwrap();
    spool.write_lines(&[line(1).as_bytes()]);
    std::fs::remove_file(spool.path()).unwrap();
    spool.write_lines(&[line(2).as_bytes()]);
    assert_eq!(std::fs::read_to_string(spool.path()).unwrap(), line(2));

    let moved = dir.join("moved");
    std::fs::rename(spool.path(), &moved).unwrap();
    spool.reopen().unwrap();
    spool.write_lines(&[line(3).as_bytes()]);
    assert_eq!(std::fs::read_to_string(&moved).unwrap(), line(2));
    assert_eq!(std::fs::read_to_string(spool.path()).unwrap(), line(3));
}

#[test]
fn a_missing_directory_is_an_error() {
    let dir = temp_dir("missing").join("not-there");
    assert!(Spool::open(config(&dir, 1 << 20, 2)).is_err());
}

#[test]
fn numbered_paths() {
    assert_eq!(
        numbered(Path::new("/a/b.ndjson"), 3),
        PathBuf::from("/a/b.ndjson.3")
    );
}

#[test]
fn a_cycle_in_several_buffers_is_one_write_of_whole_lines() {
    let dir = temp_dir("vectored");
    let (mut spool, _) = Spool::open(config(&dir, 1 << 20, 2)).unwrap();
    let (a, b, c) = (line(1), line(2), line(3));
    let outcome = spool.write_lines(&[a.as_bytes(), b"", b.as_bytes(), c.as_bytes()]);
    assert_eq!(outcome.lines_written, 3);
    assert_eq!(
        std::fs::read_to_string(spool.path()).unwrap(),
        format!("{a}{b}{c}")
    );
}

#[test]
fn the_complete_prefix_of_a_short_write_ends_at_a_line_across_buffers() {
    let parts: [&[u8]; 3] = [b"ab\ncd", b"e\nf", b"g\n"];
    assert_eq!(complete_prefix(&parts, 0), (0, 0));
    assert_eq!(complete_prefix(&parts, 4), (3, 1));
    assert_eq!(complete_prefix(&parts, 7), (7, 2));
    assert_eq!(complete_prefix(&parts, 10), (10, 3));
}

#[test]
fn a_symlink_swapped_in_for_the_spool_is_refused_and_its_target_untouched() {
    let dir = temp_dir("swapped");
    let (mut spool, _) = Spool::open(config(&dir, 1 << 20, 2)).unwrap();
    spool.write_lines(&[line(1).as_bytes()]);

    let victim = dir.join("victim");
    std::fs::write(&victim, "no newline at the end").unwrap();
    std::fs::remove_file(spool.path()).unwrap();
    std::os::unix::fs::symlink(&victim, spool.path()).unwrap();

    let outcome = spool.write_lines(&[line(2).as_bytes()]);
    assert_eq!(outcome.lines_lost, 1);
    assert_eq!(spool.stats().refused_paths, 1);
    assert!(spool
        .stats()
        .last_error
        .as_deref()
        .unwrap()
        .contains("symbolic link"));
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "no newline at the end"
    );

    // Once the link is gone, the next write recreates the agent's own file and the error
    // clears.
    std::fs::remove_file(spool.path()).unwrap();
    let outcome = spool.write_lines(&[line(3).as_bytes()]);
    assert_eq!(outcome.lines_written, 1);
    assert_eq!(spool.stats().last_error, None);
    assert_eq!(std::fs::read_to_string(spool.path()).unwrap(), line(3));
}

#[test]
fn a_second_spool_on_the_same_file_is_refused() {
    let dir = temp_dir("second");
    let (_first, _) = Spool::open(config(&dir, 1 << 20, 2)).unwrap();
    match Spool::open(config(&dir, 1 << 20, 2)) {
        Err(guard::OpenError::Locked(why)) => assert!(why.contains("locked by pid"), "{why}"),
        Err(other) => panic!("expected a lock error, got {other}"),
        Ok(_) => panic!("expected a lock error, got a second spool"),
    }
}

#[test]
fn max_bytes_zero_never_rotates() {
    let dir = temp_dir("norotate");
    let (mut spool, _) = Spool::open(config(&dir, 0, 2)).unwrap();
    for seq in 0..200 {
        spool.write_lines(&[line(seq).as_bytes()]);
    }
    let text = std::fs::read_to_string(spool.path()).unwrap();
    assert_eq!(text.lines().count(), 200);
    assert!(!dir.join("d.ndjson.1").exists());
}
