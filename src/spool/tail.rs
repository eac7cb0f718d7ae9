//! The last complete cycle in the spool, read back at start: its domain lines are the
//! baseline of the first cycle's rates after a restart.
//!
//! Bounded: at most [`MAX_TAIL`] bytes are read from the end of the file. A cycle whose
//! lines start before that window gives the domains inside it. Lines that are not JSON
//! (a hand-edited file) are passed over.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use serde_json::Value;

use crate::record::baseline;
use crate::record::DomainRecord;

/// Bytes read back from the end of the spool, at most (a cycle of 3000 domains with
/// many devices fits).
pub const MAX_TAIL: u64 = 16 * 1024 * 1024;

/// The last cycle line and the domain lines of the same cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct LastCycle {
    pub seq: u64,
    pub ts: String,
    pub host: String,
    pub records: Vec<DomainRecord>,
}

/// Reads the last cycle before `end` (the end of the last complete line).
pub fn last_cycle(file: &mut File, end: u64) -> io::Result<Option<LastCycle>> {
    let from = end.saturating_sub(MAX_TAIL);
    let mut tail = vec![0; (end - from) as usize];
    file.seek(SeekFrom::Start(from))?;
    file.read_exact(&mut tail)?;
    Ok(parse(&tail))
}

/// The last cycle in whole lines of text.
pub fn parse(text: &[u8]) -> Option<LastCycle> {
    let mut lines = text
        .split(|&b| b == b'\n')
        .rev()
        .filter_map(|line| serde_json::from_slice::<Value>(line).ok());
    let cycle = lines.find(|v| v.get("kind").and_then(Value::as_str) == Some("cycle"))?;
    let seq = cycle.get("seq")?.as_u64()?;
    let mut found = LastCycle {
        seq,
        ts: cycle.get("ts")?.as_str()?.to_string(),
        host: cycle.get("host")?.as_str()?.to_string(),
        records: Vec::new(),
    };
    for line in lines {
        match line.get("kind").and_then(Value::as_str) {
            Some("domain") if line.get("seq").and_then(Value::as_u64) == Some(seq) => {
                found.records.extend(baseline::from_line(&line));
            }
            Some("event" | "agent") => {}
            _ => break,
        }
    }
    found.records.reverse();
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(seq: u64, name: &str) -> String {
        format!(
            "{{\"kind\":\"domain\",\"ts\":\"t\",\"host\":\"h\",\"seq\":{seq},\
             \"domain\":{{\"name\":\"{name}\",\"uuid\":\"u-{name}\",\"id\":1}},\"cpu\":null}}\n"
        )
    }

    fn cycle(seq: u64) -> String {
        format!("{{\"kind\":\"cycle\",\"ts\":\"2026-11-29T10:00:0{seq}.000Z\",\"host\":\"h\",\"seq\":{seq}}}\n")
    }

    #[test]
    fn the_last_cycle_and_only_its_domains() {
        let text = [
            domain(1, "a"),
            cycle(1),
            domain(2, "a"),
            "{\"kind\":\"event\"}\n".to_string(),
            domain(2, "b"),
            cycle(2),
            "{\"kind\":\"agent\",\"event\":\"stopping\"}\n".to_string(),
        ]
        .concat();
        let last = parse(text.as_bytes()).unwrap();
        assert_eq!((last.seq, last.host.as_str()), (2, "h"));
        let names: Vec<&str> = last.records.iter().map(|r| &*r.domain.name).collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn no_cycle_no_baseline() {
        assert_eq!(parse(domain(1, "a").as_bytes()), None);
        assert_eq!(parse(b"not json\n"), None);
    }
}
