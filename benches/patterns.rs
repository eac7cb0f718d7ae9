//! Pattern benchmark: what one `get PATTERN` costs the event loop at 5,000 domains,
//! for the worst patterns the length limit lets through. It runs exactly what
//! `Latest::find` runs: parse and compile the string once, then the selection rule
//! over every domain's name and Nova display name.
//!
//! cargo bench --bench patterns
//! cargo bench --bench patterns -- --domains 5000 --rounds 50

use std::time::{Duration, Instant};

use virtdiag::collect::filter::{Candidate, Selector, MAX_PATTERN_BYTES};

struct Host {
    names: Vec<String>,
    uuids: Vec<String>,
    displays: Vec<String>,
}

/// `domains` domains named as Nova names them, each with a display name; with
/// `long`, every name and display name is 255 bytes, non-ASCII included.
fn host(domains: usize, long: bool) -> Host {
    let mut host = Host {
        names: Vec::new(),
        uuids: Vec::new(),
        displays: Vec::new(),
    };
    for i in 0..domains {
        let (name, display) = if long {
            let filler = "aé".repeat(60);
            (
                format!(
                    "instance-{i:08x}-{filler}{}",
                    "a".repeat(255 - 18 - filler.len())
                ),
                format!("{}{i:08}", "ü".repeat(123)),
            )
        } else {
            (format!("instance-{i:08x}"), format!("web-frontend-{i}"))
        };
        host.names.push(name);
        host.uuids.push(format!("6c0c3d8e-3a0f-4b6e-9f4e-{i:012x}"));
        host.displays.push(display);
    }
    host
}

/// The patterns: each as long as the limit allows, built to be slow for some
/// matcher (a long set read per character, many stars to backtrack to, many tokens).
fn patterns() -> Vec<(&'static str, String)> {
    let max = MAX_PATTERN_BYTES;
    let set: String = ('!'..='~')
        .filter(|c| !"]\\-".contains(*c))
        .cycle()
        .take(max - 3)
        .collect();
    // Ranges and members beyond ASCII, two sets within the limit.
    let mut wide = String::new();
    for c in "à-ÿĀ-žα-ωЀ-џ".chars().cycle() {
        if wide.len() + c.len_utf8() > (max - 7) / 2 {
            break;
        }
        wide.push(c);
    }
    // Not a `-` last, a member of its own.
    let wide = wide.trim_end_matches('-');
    vec![
        ("one long set", format!("*[{set}]")),
        ("long negated set", format!("[!{}]*", &set[..max - 4])),
        ("128 stars", "*a".repeat(max / 2)),
        ("star then 255 ?", format!("*{}", "?".repeat(max - 1))),
        ("star, literals, miss", format!("*{}b", "a".repeat(max - 2))),
        ("stars and sets", "*[!z]".repeat(max / 5)),
        ("non-ASCII sets", format!("*[{wide}]*[{wide}]*")),
        ("plain prefix", "instance-0000*".to_string()),
    ]
}

fn get_cost(host: &Host, pattern: &str) -> (Duration, usize) {
    let start = Instant::now();
    let selector = Selector::parse(pattern).expect("within the limit");
    let candidates = (0..host.names.len()).map(|i| Candidate {
        name: &host.names[i],
        uuid: &host.uuids[i],
        id: Some(i as u32 + 1),
        display_name: Some(&host.displays[i]),
    });
    let found = selector.resolve(candidates).len();
    (start.elapsed(), found)
}

fn main() {
    let mut domains = 5000;
    let mut rounds = 50;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--domains" => domains = value().parse().unwrap(),
            "--rounds" => rounds = value().parse().unwrap(),
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    println!("one `get PATTERN` over {domains} domains (name and display name), {rounds} rounds");
    println!("| names | pattern | bytes | matched | median ms | max ms |");
    println!("| --- | --- | ---: | ---: | ---: | ---: |");
    for long in [false, true] {
        let host = host(domains, long);
        for (label, pattern) in patterns() {
            let mut times = Vec::new();
            let mut matched = 0;
            for _ in 0..rounds {
                let (time, found) = get_cost(&host, &pattern);
                times.push(time);
                matched = found;
            }
            times.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            println!(
                "| {} | {label} | {} | {matched} | {:.2} | {:.2} |",
                if long { "255 B" } else { "short" },
                pattern.len(),
                ms(times[times.len() / 2]),
                ms(times[times.len() - 1])
            );
        }
    }
}
