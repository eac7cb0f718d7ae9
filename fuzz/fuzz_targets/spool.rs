//! Spool tail recovery: `virtdiag::spool::Spool::open` on a file that holds the input.
//!
//! Each input is written to a spool file in a private directory under `$TMPDIR`
//! (`fuzz/run.sh` points it at a tmpfs), then the spool is opened there. Checks:
//! - opening never panics or fails on any content;
//! - the file afterwards is the input cut back to just after its last newline: a
//!   prefix of the input, empty or ending in `\n`, with no complete line lost;
//! - `torn_bytes` is exactly the number of bytes removed and the spool's size counter
//!   matches the file;
//! - what the start path read back (the last `seq`, the last cycle and its baseline) is
//!   what the same reader finds over the file's whole lines in memory, so the bounded
//!   backward scan in chunks loses and invents nothing;
//! - the sequence goes on after at most `MAX_RESUMED_SEQ`, and a new sequence is
//!   announced exactly when the last `seq` read back was corrupt or absurd;
//! - the baseline keeps only lines of the last cycle, within `MAX_BASELINE_BYTES`, and
//!   no array past `MAX_ITEMS`.
//!
//! The scan for the last line reads backwards in 64 KiB chunks. To cross a chunk
//! boundary with short inputs, an input that starts with a 0 byte is expanded:
//! `0, lo, hi, fill, rest...` becomes the first half of `rest`, then `fill` repeated
//! `u16::from_le_bytes([lo, hi])` times (up to 64 KiB), then the second half. Such
//! files cost far more than short ones, so `run.sh` favours fast inputs for this target.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use virtdiag::config::{Config, Fsync};
use virtdiag::record::baseline;
use virtdiag::spool::resume::{SeqRead, MAX_RESUMED_SEQ};
use virtdiag::spool::{state, tail, Spool};

fuzz_target!(|data: &[u8]| {
    let input = expand(data);
    let path = spool_path();
    std::fs::write(path, &input).expect("write the spool file");
    let _ = std::fs::remove_file(state::path_for(path));

    let mut config = Config::default().spool;
    config.path = path.clone();
    config.max_bytes = 4096;
    config.keep = 0;
    config.fsync = Fsync::Never;
    let (spool, recovered) = Spool::open(config).expect("open the spool");
    let after = std::fs::read(path).expect("read the spool file");

    assert!(
        input.starts_with(&after),
        "the file is not a prefix of the input"
    );
    assert!(after.is_empty() || after.ends_with(b"\n"));
    let complete = input.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    assert_eq!(
        after.len(),
        complete,
        "complete lines were cut or a torn one kept"
    );
    assert_eq!(recovered.torn_bytes, (input.len() - after.len()) as u64);
    assert_eq!(spool.stats().bytes, after.len() as u64);

    assert_eq!(
        recovered.tail,
        tail::parse(&after),
        "the backward scan and the whole lines disagree"
    );
    let resume = &recovered.resume;
    assert!(resume.after <= MAX_RESUMED_SEQ);
    let bad = matches!(recovered.tail.last_seq, Some(SeqRead::Bad(_)));
    assert_eq!(resume.new_sequence.is_some(), bad);
    if let Some(SeqRead::Valid(seq)) = recovered.tail.last_seq {
        assert_eq!(resume.after, seq);
    }
    if let Some(cycle) = &recovered.tail.last_cycle {
        assert!(cycle.seq <= MAX_RESUMED_SEQ);
        let size: usize = cycle.records.iter().map(baseline::size).sum();
        assert!(size <= tail::MAX_BASELINE_BYTES);
        for record in &cycle.records {
            assert_eq!(record.seq, cycle.seq);
            assert!(record.disks.len() <= baseline::MAX_ITEMS);
            assert!(record.nics.len() <= baseline::MAX_ITEMS);
        }
    }
});

/// The input as file content: see the module docs for inputs starting with 0.
fn expand(data: &[u8]) -> Vec<u8> {
    match data {
        [0, lo, hi, fill, rest @ ..] => {
            let run = usize::from(u16::from_le_bytes([*lo, *hi]));
            let (first, second) = rest.split_at(rest.len() / 2);
            let mut content = Vec::with_capacity(rest.len() + run);
            content.extend_from_slice(first);
            content.resize(first.len() + run, *fill);
            content.extend_from_slice(second);
            content
        }
        _ => data.to_vec(),
    }
}

/// One spool file per process, in a directory of its own.
fn spool_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("virtdiag-fuzz-spool-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the spool directory");
        dir.join("spool.ndjson")
    })
}
