//! Collector benchmark on libvirt's embedded test driver: cycle time, the collector's own
//! time outside libvirt calls, JSON serialization, records/s and memory, for generated
//! hosts of 100, 1000 and 5000 domains (4 vCPUs, 2 disks, 2 NICs, balloon each); then a
//! leak check of many cycles that fails loudly if RSS grows.
//!
//! cargo bench --bench collect                      # the full table + 10 000-cycle leak check
//! cargo bench --bench collect -- --sizes 1000 --cycles 50 --leak-cycles 0
//!
//! `fast` and `serde` time the domain lines of a cycle written by the hand-written writer
//! (`record::json`) and by `serde_json::to_writer`, into one buffer each: what the fast
//! writer saves, to keep it only while it pays for itself.

#[path = "../tests/common/fixture.rs"]
mod fixture;
#[path = "../tests/common/procfs.rs"]
mod procfs;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use virtdiag::collect::{Collector, CollectorConfig, DomainFilter};
use virtdiag::query::views::{Latest, View};

/// Counts the bytes Rust code holds on the heap: the collector's own memory, apart from
/// what libvirt allocates with malloc.
struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to the system allocator with the caller's arguments,
// which upholds GlobalAlloc's contract; the counter is only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged; the caller guarantees a valid layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from this allocator with `layout`; forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

struct Options {
    sizes: Vec<usize>,
    cycles: usize,
    leak_cycles: usize,
    leak_domains: usize,
    /// RSS growth over the leak run that counts as a leak.
    leak_limit_kib: u64,
    /// Run the sizes in this process (set for the per-size child processes).
    child: bool,
}

fn parse_options() -> Options {
    let mut options = Options {
        sizes: vec![100, 1000, 5000],
        cycles: 20,
        leak_cycles: 10_000,
        leak_domains: 100,
        leak_limit_kib: 2048,
        child: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--sizes" => {
                options.sizes = value()
                    .split(',')
                    .map(|s| s.parse().expect("size"))
                    .collect()
            }
            "--cycles" => options.cycles = value().parse().expect("cycles"),
            "--leak-cycles" => options.leak_cycles = value().parse().expect("leak cycles"),
            "--leak-domains" => options.leak_domains = value().parse().expect("leak domains"),
            "--child" => options.child = true,
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    options
}

fn rss_kib() -> u64 {
    procfs::rss_kib(std::process::id())
}

fn fixture_uri(count: usize) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    format!("test://{}", fixture::write(&dir, count).display())
}

fn collector(uri: &str) -> Collector {
    Collector::new(CollectorConfig {
        uri: uri.to_string(),
        read_only: false,
        host: "bench".into(),
        filter: DomainFilter::default(),
        groups: virtdiag::collect::stats::Group::all_bits(),
    })
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn bench_size(domains: usize, cycles: usize) {
    let uri = fixture_uri(domains);
    // A fresh process per size: RSS then belongs to this size alone.
    let rss_start = rss_kib();
    // What the in-process test driver holds for this host: one connection's worth.
    let driver_probe = virt::connect::Connect::open(Some(&uri)).unwrap();
    let driver_kib = rss_kib().saturating_sub(rss_start);

    let mut c = collector(&uri);
    c.collect(); // first cycle: connection, probe, inventory
    let (mut total, mut libvirt, mut own, mut json) = (vec![], vec![], vec![], vec![]);
    let mut views: [Vec<f64>; 4] = Default::default();
    let (mut fast, mut serde) = (vec![], vec![]);
    let (mut bytes, mut prom_bytes) = (0, 0);
    for _ in 0..cycles {
        let snapshot = c.collect();
        assert_eq!(snapshot.records.len(), domains);
        // What the collector thread does with every cycle: the JSON lines.
        let started = Instant::now();
        let latest = Latest::serialize(
            snapshot.seq,
            snapshot.records.clone(),
            snapshot.cycle.node.clone(),
        );
        json.push(started.elapsed().as_secs_f64() * 1000.0);
        bytes = latest.lines_arc().len();
        let (fast_ms, serde_ms) = writers(&snapshot.records);
        fast.push(fast_ms);
        serde.push(serde_ms);
        // Each view, built only in cycles after a client (or the textfile) asked for it.
        for (view, times) in View::ALL.into_iter().zip(&mut views) {
            let started = Instant::now();
            let built = latest.build(view);
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            if view == View::Metrics {
                prom_bytes = built.len();
            }
        }
        total.push(snapshot.cycle.duration_ms);
        libvirt.push(snapshot.cycle.libvirt_ms);
        own.push(snapshot.cycle.own_ms);
    }
    let rss_end = rss_kib();
    let (total, libvirt, own, json) = (
        median(&mut total),
        median(&mut libvirt),
        median(&mut own),
        median(&mut json),
    );
    let [legacy, nova, list, prom] = views.map(|mut times| median(&mut times));
    let (fast, serde) = (median(&mut fast), median(&mut serde));
    let collector_kib = LIVE_BYTES.load(Ordering::Relaxed) / 1024;
    println!(
        "{domains:>6} {total:>10.2} {libvirt:>10.2} {own:>8.2} {json:>8.2} {base:>9.2} {prom:>8.2} {nova:>8.2} {legacy:>8.2} {list:>8.2} {fast:>8.2} {serde:>8.2} {rate:>10.0} {kib:>9} {prom_kib:>9} {driver:>10} {coll:>10} {rss:>9}",
        base = own + json,
        prom_kib = prom_bytes / 1024,
        rate = domains as f64 / (total / 1000.0),
        kib = bytes / 1024,
        driver = driver_kib,
        coll = collector_kib,
        rss = rss_end,
    );
    drop(c);
    drop(driver_probe);
}

/// Writes every record as a JSON line with each writer; their times in ms. The bytes
/// must be the same.
fn writers(records: &[std::sync::Arc<virtdiag::record::DomainRecord>]) -> (f64, f64) {
    let mut fast = Vec::with_capacity(records.len() * 3072);
    let started = Instant::now();
    for record in records {
        virtdiag::record::json::write_domain_line(record, &mut fast);
    }
    let fast_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut serde = Vec::with_capacity(records.len() * 3072);
    let started = Instant::now();
    for record in records {
        serde_json::to_writer(&mut serde, &**record).unwrap();
        serde.push(b'\n');
    }
    let serde_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert!(fast == serde, "the two writers differ");
    (fast_ms, serde_ms)
}

fn leak_check(domains: usize, cycles: usize, limit_kib: u64) -> bool {
    let mut c = collector(&fixture_uri(domains));
    // Warm up so allocator pools and caches reach their steady size.
    for _ in 0..200 {
        c.collect();
    }
    let before = rss_kib();
    let started = Instant::now();
    let mut samples = Vec::new();
    for i in 0..cycles {
        let snapshot = c.collect();
        assert_eq!(snapshot.records.len(), domains);
        if (i + 1) % (cycles / 5).max(1) == 0 {
            samples.push(format!("{}:{}", i + 1, rss_kib()));
        }
    }
    let after = rss_kib();
    let growth = after.saturating_sub(before);
    println!(
        "leak check: {cycles} cycles x {domains} domains in {:.1} s; RSS {before} -> {after} KiB (+{growth} KiB; limit {limit_kib}); samples cycle:KiB {}",
        started.elapsed().as_secs_f64(),
        samples.join(" ")
    );
    growth <= limit_kib
}

fn main() {
    let options = parse_options();
    if !options.child {
        print_header(&options);
    }
    if options.child {
        for &size in &options.sizes {
            bench_size(size, options.cycles);
        }
        return;
    }
    leak_check_first(&options);
    for &size in &options.sizes {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--child",
                "--sizes",
                &size.to_string(),
                "--cycles",
                &options.cycles.to_string(),
            ])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

fn leak_check_first(options: &Options) {
    if options.leak_cycles > 0
        && !leak_check(
            options.leak_domains,
            options.leak_cycles,
            options.leak_limit_kib,
        )
    {
        eprintln!("LEAK: RSS grew beyond the limit");
        std::process::exit(1);
    }
}

fn print_header(options: &Options) {
    println!(
        "virtdiag collector on the test driver, in-process; medians of {} cycles after a warm-up cycle",
        options.cycles
    );
    println!("times in ms; own = outside libvirt calls; json = the JSON lines (every cycle); base = own + json, a cycle's own work when no view is asked for; prom, nova, legacy, list = each view, built only in cycles after a client or the textfile asked for it; fast, serde = the domain lines written by the hand-written writer and by serde_json");
    println!("driver_KiB = RSS of one test-driver connection to the host; heap_KiB = Rust heap held by the collector (its own memory); rss_KiB = process total (two driver connections)");
    println!(
        "{:>6} {:>10} {:>10} {:>8} {:>8} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10} {:>9} {:>9} {:>10} {:>10} {:>9}",
        "doms",
        "cycle",
        "libvirt",
        "own",
        "json",
        "base",
        "prom",
        "nova",
        "legacy",
        "list",
        "fast",
        "serde",
        "records/s",
        "json_KiB",
        "prom_KiB",
        "driver_KiB",
        "heap_KiB",
        "rss_KiB"
    );
}
