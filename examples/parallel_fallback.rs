//! Would parallel per-domain calls shorten a fallback cycle? Measures the per-domain
//! path (GetInfo, GetVcpus, MemoryStats, 2 x BlockStats, 2 x InterfaceStats per domain)
//! over every running domain of a generated test-driver host (`tests/common/fixture.rs`
//! names), with the domains split across 1, 2, 3 and 4 connections on as many threads. libvirtd serves at most `max_client_requests` (5)
//! calls per connection at once and `max_workers` (20) in all.
//!
//! cargo run --release --example parallel_fallback -- 'test+unix:///ABS/node-1000.xml?socket=DIR/libvirt-sock'

use std::time::Instant;

use virt::connect::Connect;
use virt::domain::Domain;
use virtdiag::libvirt::vcpus::get_vcpus;

/// The collector's per-domain calls for one fixture domain `vm-NNNNN`; returns how many
/// succeeded.
fn per_domain_calls(domain: &Domain, index: usize) -> usize {
    let mut ok = 0;
    if let Ok(info) = domain.info() {
        ok += 1;
        ok += usize::from(get_vcpus(domain, info.nr_virt_cpu).is_ok());
    }
    ok += usize::from(domain.memory_stats(0).is_ok());
    ok += usize::from(domain.block_stats("vda").is_ok());
    ok += usize::from(domain.block_stats("vdb").is_ok());
    ok += usize::from(domain.interface_stats(&format!("tap{index}a")).is_ok());
    ok += usize::from(domain.interface_stats(&format!("tap{index}b")).is_ok());
    ok
}

fn main() {
    let uri = std::env::args()
        .nth(1)
        .expect("usage: parallel_fallback URI");
    virt::error::clear_error_callback();
    println!("{:>11} {:>10} {:>8}", "connections", "cycle_ms", "calls");
    for connections in 1..=4usize {
        let conns: Vec<Connect> = (0..connections)
            .map(|_| Connect::open_read_only(Some(&uri)).unwrap())
            .collect();
        let names: Vec<String> = conns[0]
            .list_all_domains(virt::sys::VIR_CONNECT_LIST_DOMAINS_ACTIVE)
            .unwrap()
            .iter()
            .map(|d| d.name().unwrap())
            .collect();
        let mut best = f64::MAX;
        let mut calls = 0;
        for _ in 0..3 {
            let started = Instant::now();
            calls = std::thread::scope(|scope| {
                let chunks: Vec<&[String]> =
                    names.chunks(names.len().div_ceil(connections)).collect();
                let handles: Vec<_> = chunks
                    .into_iter()
                    .zip(&conns)
                    .map(|(chunk, conn)| {
                        scope.spawn(move || {
                            chunk
                                .iter()
                                .filter_map(|name| {
                                    let index = name.trim_start_matches("vm-").parse().ok()?;
                                    Some((conn.lookup_domain_by_name(name).ok()?, index))
                                })
                                .map(|(d, index)| per_domain_calls(&d, index))
                                .sum::<usize>()
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).sum()
            });
            best = best.min(started.elapsed().as_secs_f64() * 1000.0);
        }
        println!("{connections:>11} {best:>10.1} {calls:>8}");
    }
}
