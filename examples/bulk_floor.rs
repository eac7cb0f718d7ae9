//! The floor a collector is measured against: `virConnectGetAllDomainStats` for a set of
//! groups, called again and again over one persistent read-only connection, doing nothing
//! with the answer but count it. `tests/e2e/measure.sh` runs it beside the agent and reads
//! libvirtd's CPU over the same calls.
//!
//! cargo run --release --example bulk_floor -- URI GROUPS [--calls N] [--seconds S]
//!     [--interval-ms MS] [--libvirtd-pid PID]
//!
//! GROUPS is a comma-separated list of `virsh domstats` names (`state,cpu-total,...`).
//! The calls use NOWAIT (as the agent does) and ENFORCE_STATS, so a group the driver
//! cannot serve fails the first call and is printed as `unsupported`. Calls are paced
//! every `--interval-ms` (0, the default: back to back) until `--calls` calls are made or
//! `--seconds` have passed, whichever comes first. The one output line is `key=value`
//! pairs: calls, domains, fields (typed parameters per domain in the last answer), wall
//! time, mean call time, and the clock ticks (`/proc/PID/stat` utime + stime) this
//! process and, with `--libvirtd-pid`, libvirtd spent between the first call and the
//! last (the connection's opening is outside that window).

use std::time::{Duration, Instant};

use virt::connect::Connect;
use virt::sys;
use virtdiag::libvirt::bulk::BulkStats;

/// libvirt's stats groups by the names `virsh domstats` gives them.
const GROUPS: [(&str, u32); 11] = [
    ("state", sys::VIR_DOMAIN_STATS_STATE),
    ("cpu-total", sys::VIR_DOMAIN_STATS_CPU_TOTAL),
    ("balloon", sys::VIR_DOMAIN_STATS_BALLOON),
    ("vcpu", sys::VIR_DOMAIN_STATS_VCPU),
    ("interface", sys::VIR_DOMAIN_STATS_INTERFACE),
    ("block", sys::VIR_DOMAIN_STATS_BLOCK),
    ("perf", sys::VIR_DOMAIN_STATS_PERF),
    ("iothread", sys::VIR_DOMAIN_STATS_IOTHREAD),
    ("memory", sys::VIR_DOMAIN_STATS_MEMORY),
    ("dirtyrate", sys::VIR_DOMAIN_STATS_DIRTYRATE),
    ("vm", sys::VIR_DOMAIN_STATS_VM),
];

struct Options {
    uri: String,
    groups: u32,
    calls: u64,
    seconds: f64,
    interval: Duration,
    libvirtd_pid: Option<u32>,
}

fn usage() -> ! {
    eprintln!(
        "usage: bulk_floor URI GROUPS [--calls N] [--seconds S] [--interval-ms MS] [--libvirtd-pid PID]"
    );
    std::process::exit(2)
}

fn group_mask(list: &str) -> u32 {
    list.split(',').fold(0, |mask, name| {
        match GROUPS.iter().find(|(known, _)| *known == name) {
            Some((_, bit)) => mask | bit,
            None => {
                eprintln!("bulk_floor: unknown group '{name}'");
                usage()
            }
        }
    })
}

fn number<T: std::str::FromStr>(text: &str) -> T {
    text.parse().unwrap_or_else(|_| usage())
}

fn parse_options() -> Options {
    let mut args = std::env::args().skip(1);
    let (Some(uri), Some(groups)) = (args.next(), args.next()) else {
        usage()
    };
    let mut options = Options {
        uri,
        groups: group_mask(&groups),
        calls: u64::MAX,
        seconds: f64::INFINITY,
        interval: Duration::ZERO,
        libvirtd_pid: None,
    };
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--calls" => options.calls = number(&value),
            "--seconds" => options.seconds = number(&value),
            "--interval-ms" => options.interval = Duration::from_millis(number(&value)),
            "--libvirtd-pid" => options.libvirtd_pid = Some(number(&value)),
            _ => usage(),
        }
    }
    if options.calls == u64::MAX && options.seconds.is_infinite() {
        options.calls = 1;
    }
    options
}

/// utime + stime of a process in clock ticks, from `/proc/PID/stat` (`self` for this one).
fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/stat: {e}"));
    // The command name in parentheses may hold spaces: count fields after its ')'.
    let after_name = &stat[stat.rfind(')').expect("a ')' in /proc/PID/stat") + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    // After the name: state is field 0, utime 11, stime 12 (fields 14 and 15 of proc(5)).
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn main() {
    let options = parse_options();
    virt::error::clear_error_callback();
    let conn = Connect::open_read_only(Some(&options.uri)).unwrap_or_else(|e| {
        eprintln!("bulk_floor: cannot open {}: {e}", options.uri);
        std::process::exit(1)
    });
    let flags = sys::VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT
        | sys::VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS;
    let libvirtd = options.libvirtd_pid.map(|pid| pid.to_string());
    let libvirtd_ticks = || libvirtd.as_deref().map(cpu_ticks);

    let (own_before, libvirtd_before) = (cpu_ticks("self"), libvirtd_ticks());
    let started = Instant::now();
    let (mut calls, mut domains, mut fields) = (0u64, 0usize, 0usize);
    let mut in_calls = Duration::ZERO;
    let mut next_call = started;
    while calls < options.calls && started.elapsed().as_secs_f64() < options.seconds {
        let call_started = Instant::now();
        let stats = match BulkStats::get_all(&conn, options.groups, flags) {
            Ok(stats) => stats,
            Err(e) if calls == 0 => {
                println!("unsupported=1 error={:?}", e.to_string());
                return;
            }
            Err(e) => panic!("bulk call {calls} failed: {e}"),
        };
        calls += 1;
        domains = stats.len();
        fields = stats.records().map(|r| r.params().count()).sum();
        drop(stats);
        in_calls += call_started.elapsed();
        next_call += options.interval;
        if let Some(wait) = next_call.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let wall = started.elapsed();
    let (own_after, libvirtd_after) = (cpu_ticks("self"), libvirtd_ticks());

    let mut line = format!(
        "calls={calls} domains={domains} fields_per_domain={:.1} wall_ms={:.0} mean_call_ms={:.2} own_ticks={}",
        fields as f64 / domains.max(1) as f64,
        wall.as_secs_f64() * 1e3,
        in_calls.as_secs_f64() * 1e3 / calls.max(1) as f64,
        own_after - own_before,
    );
    if let (Some(before), Some(after)) = (libvirtd_before, libvirtd_after) {
        line += &format!(" libvirtd_ticks={}", after - before);
    }
    println!("{line}");
}
