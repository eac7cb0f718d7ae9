//! What start costs on an honest spool: `Spool::open` on a spool whose last cycle the
//! collector wrote for generated hosts of 1000 and 5000 domains (4 vCPUs, 2 disks, 2
//! NICs each, libvirt's test driver), so the tail is read back and every domain line
//! becomes a rate baseline. Prints the open's time (median of the runs) and the heap it
//! peaks at.
//!
//! cargo bench --bench spool_start                  # 1000 and 5000 domains, 7 runs each
//! cargo bench --bench spool_start -- 1000          # one size

#[path = "../tests/common/fixture.rs"]
mod fixture;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use virtdiag::collect::{Collector, CollectorConfig, DomainFilter};
use virtdiag::config::{Config, Fsync};
use virtdiag::spool::Spool;

/// Counts the bytes held on the heap, and the most held since the last reset.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn held(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every method forwards to the system allocator with the caller's arguments,
// which upholds GlobalAlloc's contract; the counters are only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        held(layout.size());
        // SAFETY: forwarded unchanged; the caller guarantees a valid layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        held(new_size);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from this allocator with `layout`; forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const RUNS: usize = 7;

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1000, 5000]
    } else {
        sizes
    };
    let dir = std::env::temp_dir().join(format!("virtdiag-bench-start-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    println!(
        "| domains | spool | open, median of {RUNS} | baseline domains | of the budget | heap peak above before |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for domains in sizes {
        let spool = dir.join(format!("spool-{domains}.ndjson"));
        let bytes = write_cycles(&dir, &spool, domains);
        let mut times = Vec::new();
        let mut peak = 0;
        let mut baseline = 0;
        let mut budget = 0;
        for _ in 0..RUNS {
            let before = LIVE.load(Ordering::Relaxed);
            PEAK.store(before, Ordering::Relaxed);
            let started = Instant::now();
            let (opened, recovered) = Spool::open(config(&spool)).unwrap();
            times.push(started.elapsed());
            peak = peak.max(PEAK.load(Ordering::Relaxed) - before);
            let records = recovered
                .tail
                .last_cycle
                .map(|c| c.records)
                .unwrap_or_default();
            baseline = records.len();
            budget = records
                .iter()
                .map(virtdiag::record::baseline::size)
                .sum::<usize>();
            drop(opened);
        }
        times.sort();
        println!(
            "| {domains} | {:.1} MiB | {:.1} ms | {baseline} | {:.0} % | {:.1} MiB |",
            bytes as f64 / (1 << 20) as f64,
            ms(times[RUNS / 2]),
            100.0 * budget as f64 / virtdiag::spool::tail::MAX_BASELINE_BYTES as f64,
            peak as f64 / (1 << 20) as f64
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two cycles of `domains` domains, as the agent writes them; returns the file's size.
fn write_cycles(dir: &std::path::Path, spool: &std::path::Path, domains: usize) -> u64 {
    let node = fixture::write(dir, domains);
    let mut collector = Collector::new(CollectorConfig {
        uri: format!("test://{}", node.display()),
        read_only: false,
        host: "bench".into(),
        filter: DomainFilter::default(),
        groups: Config::default().collect.group_bits(),
    });
    let mut text = Vec::new();
    for _ in 0..2 {
        let snapshot = collector.collect();
        for record in &snapshot.records {
            virtdiag::record::json::write_domain_line(record, &mut text);
        }
        serde_json::to_writer(&mut text, &snapshot.cycle).unwrap();
        text.push(b'\n');
    }
    std::fs::write(spool, &text).unwrap();
    text.len() as u64
}

fn config(path: &std::path::Path) -> virtdiag::config::SpoolConfig {
    let mut config = Config::default().spool;
    config.path = path.to_path_buf();
    config.fsync = Fsync::Never;
    config
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
