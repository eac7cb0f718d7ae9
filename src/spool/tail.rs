//! The end of the spool, read back at start: the last `seq`, and the last complete
//! cycle, whose domain lines are the baseline of the first rates after a restart.
//!
//! Bounded whatever the file holds (another agent's, another version's, edited,
//! truncated, restored): one backward pass over at most [`MAX_SCAN`] bytes, in chunks
//! ([`super::scan`]). A line longer than [`MAX_LINE`] is passed over without being
//! held, and the baseline keeps at most [`MAX_BASELINE_BYTES`] of records. Only lines
//! that start as the agent writes them, `{"kind":"domain"` or `{"kind":"cycle"`, are
//! parsed: `event` and `agent` lines after the last cycle line are passed over
//! unparsed, so however many there are (within the scan) they never hide that cycle,
//! and other lines are not the agent's. The last line with a `seq` gives the sequence's last value,
//! checked in [`super::resume`]; the last `cycle` line is the only one a baseline is
//! taken from, with the domain lines of the same `seq` before it.

use std::fs::File;
use std::io;
use std::ops::ControlFlow;
use std::sync::LazyLock;

use memchr::memmem::Finder;

use serde::Deserialize;

use super::resume::SeqRead;
use super::scan::{self, Line};
use crate::record::baseline;
use crate::record::DomainRecord;

/// Bytes read back from the end of the spool, at most.
pub const MAX_SCAN: u64 = 64 * 1024 * 1024;

/// A longer line is passed over: the agent's own domain lines are a few KiB (a domain
/// with a thousand disks stays under 1 MiB).
pub const MAX_LINE: usize = 1024 * 1024;

/// Memory the baseline's records may take, at most, as [`baseline::size`] counts it: a
/// cycle of 5000 domains with 4 vCPUs, 2 disks and 2 NICs each takes 61 % of it (20 MiB
/// of heap; `cargo bench --bench spool_start`), so domains with twice the vCPUs fit too.
pub const MAX_BASELINE_BYTES: usize = 24 * 1024 * 1024;

/// The last cycle line and the domain lines of the same cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct LastCycle {
    pub seq: u64,
    pub ts: String,
    pub host: String,
    pub records: Vec<DomainRecord>,
}

/// What the end of the spool says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tail {
    /// The `seq` of the last line that has one.
    pub last_seq: Option<SeqRead>,
    pub last_cycle: Option<LastCycle>,
    /// Lines longer than [`MAX_LINE`] passed over.
    pub passed_over: u64,
    /// Domain lines of the last cycle left out of the baseline: too long, or not a
    /// usable domain line.
    pub left_out: u64,
    /// The baseline reached [`MAX_BASELINE_BYTES`]: the domain lines before the last
    /// one that fitted were not read.
    pub budget_spent: bool,
}

/// Reads the end of the spool before `end` (the end of its last complete line).
pub fn read(file: &File, end: u64) -> io::Result<Tail> {
    let mut reader = Reader::default();
    scan::lines_backward(file, end, MAX_SCAN, MAX_LINE, |line| reader.line(line))?;
    Ok(reader.finish())
}

/// The same, over whole lines of text (tests and the fuzz target's oracle).
pub fn parse(text: &[u8]) -> Tail {
    let mut reader = Reader::default();
    for line in text.split(|&b| b == b'\n').rev() {
        let line = if line.len() > MAX_LINE {
            Line::TooLong
        } else if line.is_empty() {
            continue;
        } else {
            Line::Text(line)
        };
        if reader.line(line).is_break() {
            break;
        }
    }
    reader.finish()
}

#[derive(Default)]
struct Reader {
    tail: Tail,
    /// The last cycle line was met (or found unusable): no other is looked for.
    cycle_seen: bool,
    /// The domain lines of the last cycle are being gathered.
    gathering: bool,
    baseline_bytes: usize,
}

/// The fields of a line that decide what it is.
#[derive(Deserialize)]
struct Head {
    kind: Option<String>,
    seq: Option<SeqRead>,
}

#[derive(Deserialize)]
struct CycleHead {
    ts: String,
    host: String,
    seq: u64,
}

impl Reader {
    fn line(&mut self, line: Line<'_>) -> ControlFlow<()> {
        let text = match line {
            Line::Text(text) => text,
            Line::TooLong => {
                self.tail.passed_over += 1;
                if self.gathering {
                    self.tail.left_out += 1;
                }
                return ControlFlow::Continue(());
            }
        };
        // The agent writes `kind` first: a line is recognised by its start, and only
        // domain and cycle lines are parsed, a domain line only while a `seq` or the
        // last cycle's domains are looked for. So however many lines the window holds,
        // few are parsed.
        let Some(kind) = text.strip_prefix(b"{\"kind\":\"") else {
            return ControlFlow::Continue(());
        };
        static SEQ: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"seq\""));
        let wanted = if kind.starts_with(b"cycle\"") {
            // While gathering, a cycle line is the end of the one before.
            self.gathering || !self.cycle_seen || self.tail.last_seq.is_none()
        } else if kind.starts_with(b"domain\"") {
            self.gathering || (self.tail.last_seq.is_none() && SEQ.find(text).is_some())
        } else {
            false
        };
        if !wanted {
            return ControlFlow::Continue(());
        }
        let Ok(head) = serde_json::from_slice::<Head>(text) else {
            return ControlFlow::Continue(());
        };
        if self.tail.last_seq.is_none() {
            self.tail.last_seq = head.seq.clone();
        }
        let kind = head.kind.as_deref();
        if self.gathering {
            let seq = self.tail.last_cycle.as_ref().map(|c| c.seq);
            match (kind, &head.seq) {
                (Some("domain"), Some(SeqRead::Valid(s))) if Some(*s) == seq => {
                    if !self.gather(text) {
                        self.tail.budget_spent = true;
                        self.gathering = false;
                    }
                }
                _ => self.gathering = false,
            }
        } else if !self.cycle_seen && kind == Some("cycle") {
            self.cycle_seen = true;
            if let (Some(SeqRead::Valid(_)), Ok(cycle)) =
                (&head.seq, serde_json::from_slice::<CycleHead>(text))
            {
                self.tail.last_cycle = Some(LastCycle {
                    seq: cycle.seq,
                    ts: cycle.ts,
                    host: cycle.host,
                    records: Vec::new(),
                });
                self.gathering = true;
            }
        }
        if self.tail.last_seq.is_some() && self.cycle_seen && !self.gathering {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    /// Takes a domain line into the baseline; false when the budget is spent.
    fn gather(&mut self, text: &[u8]) -> bool {
        let cycle = self.tail.last_cycle.as_mut().expect("gathering a cycle");
        let Some(record) = baseline::from_bytes(text) else {
            self.tail.left_out += 1;
            return true;
        };
        let size = baseline::size(&record);
        if self.baseline_bytes + size > MAX_BASELINE_BYTES {
            return false;
        }
        self.baseline_bytes += size;
        cycle.records.push(record);
        true
    }

    fn finish(mut self) -> Tail {
        if let Some(cycle) = &mut self.tail.last_cycle {
            cycle.records.reverse();
        }
        self.tail
    }
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
        let tail = parse(text.as_bytes());
        assert_eq!(tail.last_seq, Some(SeqRead::Valid(2)));
        let last = tail.last_cycle.unwrap();
        assert_eq!((last.seq, last.host.as_str()), (2, "h"));
        let names: Vec<&str> = last.records.iter().map(|r| &*r.domain.name).collect();
        assert_eq!(names, ["a", "b"]);
    }

    /// The names of the domains in the tail's baseline.
    fn baseline_names(tail: Tail) -> Vec<String> {
        tail.last_cycle
            .unwrap()
            .records
            .iter()
            .map(|r| r.domain.name.to_string())
            .collect()
    }

    #[test]
    fn the_cycle_line_before_ends_the_baseline_even_with_the_same_seq() {
        let text = [domain(4, "old"), cycle(4), domain(4, "new"), cycle(4)].concat();
        let names = baseline_names(parse(text.as_bytes()));
        assert_eq!(names, ["new"]);
    }

    #[test]
    fn no_cycle_no_baseline() {
        assert_eq!(parse(domain(1, "a").as_bytes()).last_cycle, None);
        assert_eq!(parse(b"not json\n"), Tail::default());
    }

    #[test]
    fn event_lines_after_the_last_cycle_never_hide_it() {
        let events = "{\"kind\":\"event\",\"ts\":\"t\",\"host\":\"h\",\"event\":\"reboot\"}\n"
            .repeat(30_000);
        assert!(events.len() > 1_200_000);
        let text = [domain(7, "a"), cycle(7), events].concat();
        let tail = parse(text.as_bytes());
        assert_eq!(tail.last_seq, Some(SeqRead::Valid(7)));
        assert_eq!(tail.last_cycle.unwrap().records.len(), 1);
    }

    #[test]
    fn the_last_seq_decides_even_when_absurd() {
        let text = [cycle(3), domain(18446744073709551615, "a")].concat();
        let tail = parse(text.as_bytes());
        assert!(matches!(tail.last_seq, Some(SeqRead::Bad(_))));
        assert_eq!(tail.last_cycle.unwrap().seq, 3);
    }

    #[test]
    fn an_oversized_domain_line_is_left_out_not_held() {
        let huge = format!(
            "{{\"kind\":\"domain\",\"ts\":\"t\",\"host\":\"h\",\"seq\":5,\"domain\":{{\"name\":\"big\",\
             \"uuid\":\"u\",\"id\":1}},\"disks\":[{}{{}}]}}\n",
            "{},".repeat(MAX_LINE / 3)
        );
        let text = [domain(5, "a"), huge, domain(5, "b"), cycle(5)].concat();
        let tail = parse(text.as_bytes());
        assert_eq!((tail.passed_over, tail.left_out), (1, 1));
        let names = baseline_names(tail);
        assert_eq!(names, ["a", "b"]);
    }
}
