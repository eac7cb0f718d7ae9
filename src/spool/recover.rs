//! What opening an existing spool finds at its end: a torn last line to cut, the last
//! `seq` and the last cycle ([`super::tail`]), and what the agent should log about it.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use super::{resume, scan, tail};

/// What was found at the end of an existing spool when it was opened.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recovered {
    /// Bytes of a torn last line that were removed.
    pub torn_bytes: u64,
    /// Bytes at the end with no newline in the last [`tail::MAX_SCAN`]: kept, and a
    /// newline added after them.
    pub unterminated_bytes: u64,
    /// The end of the spool: its last `seq`, and its last cycle for the first rates
    /// after a restart.
    pub tail: tail::Tail,
    /// Where the sequence goes on ([`super::Spool::open`] only, with the state file).
    pub resume: resume::Resume,
    /// Why the state file beside the spool was not used, if it was not.
    pub state_unusable: Option<String>,
}

impl Recovered {
    /// What the agent should log about what it found, besides a torn line.
    pub fn warnings(&self, path: &Path) -> Vec<String> {
        let shown = path.display();
        let mut warnings = Vec::new();
        if self.unterminated_bytes > 0 {
            warnings.push(format!(
                "{shown}: no newline in the last {} MiB, so its end is not a line this \
                 agent wrote; kept ({} bytes) and ended with a newline",
                tail::MAX_SCAN >> 20,
                self.unterminated_bytes
            ));
        }
        if self.tail.passed_over > 0 {
            warnings.push(format!(
                "{shown}: passed over {} lines longer than {} MiB at its end",
                self.tail.passed_over,
                tail::MAX_LINE >> 20
            ));
        }
        if self.tail.left_out > 0 {
            warnings.push(format!(
                "{shown}: {} domain lines of the last cycle are unreadable: those domains' \
                 first rates after this restart are null",
                self.tail.left_out,
            ));
        }
        if self.tail.budget_spent {
            warnings.push(format!(
                "{shown}: the last cycle's domain lines go past the {} MiB budget of a \
                 baseline: only the last {} domains' rates continue after this restart",
                tail::MAX_BASELINE_BYTES >> 20,
                self.tail.last_cycle.as_ref().map_or(0, |c| c.records.len())
            ));
        }
        warnings.extend(self.state_unusable.clone());
        warnings
    }
}

/// Removes a torn last line (no trailing newline), then reads the end of the spool
/// ([`tail`]). The torn line is looked for within [`tail::MAX_SCAN`] bytes of the end:
/// the agent's own lines are far shorter, so a longer run without a newline is not one
/// of them, and it is kept, ended with a newline so that the agent's lines after it
/// stay whole.
pub(super) fn repair_tail(file: &mut File) -> io::Result<Recovered> {
    let len = file.metadata()?.len();
    let mut recovered = Recovered::default();
    if len == 0 {
        return Ok(recovered);
    }
    let end = match scan::after_last_newline(file, len, tail::MAX_SCAN)? {
        Some(end) => end,
        None if len <= tail::MAX_SCAN => 0,
        None => {
            file.write_all(b"\n")?;
            recovered.unterminated_bytes = len;
            len + 1
        }
    };
    if end < len {
        file.set_len(end)?;
        recovered.torn_bytes = len - end;
    }
    recovered.tail = tail::read(file, end)?;
    Ok(recovered)
}
