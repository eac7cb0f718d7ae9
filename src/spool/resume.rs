//! Where the sequence goes on after a restart: the `seq` read back from the spool's
//! tail and from the state file beside it, checked, and the one decision made of them.
//! Pure.
//!
//! A `seq` read back is untrusted: the spool may have been edited, restored, or written
//! by another agent. It is used only if it is an unsigned integer no larger than
//! [`MAX_RESUMED_SEQ`]; anything else (a negative, fractional or textual `seq`, or one
//! such as 18446744073709551615) starts a new sequence at 1, and the agent says why in
//! an `agent` line (`new_sequence`). So `seq` never wraps: from at most 2^52 it would
//! take the agent 14 million years at ten cycles a second to reach 2^53, the largest
//! integer that every JSON reader holds exactly.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The largest `seq` a restarted agent continues after.
pub const MAX_RESUMED_SEQ: u64 = 1 << 52;

/// A `seq` as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeqRead {
    /// Plausible: the sequence may go on after it.
    Valid(u64),
    /// Corrupt or absurd: what it was.
    Bad(String),
}

impl SeqRead {
    fn of_unsigned(value: u64) -> Self {
        if value <= MAX_RESUMED_SEQ {
            SeqRead::Valid(value)
        } else {
            SeqRead::Bad(format!("{value}, above {MAX_RESUMED_SEQ}"))
        }
    }
}

/// Deserializes any JSON value as a [`SeqRead`], never failing on its type and never
/// holding more than a short description of it.
impl<'de> serde::Deserialize<'de> for SeqRead {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SeqVisitor)
    }
}

struct SeqVisitor;

impl<'de> Visitor<'de> for SeqVisitor {
    type Value = SeqRead;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<SeqRead, E> {
        Ok(SeqRead::of_unsigned(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<SeqRead, E> {
        match u64::try_from(v) {
            Ok(v) => Ok(SeqRead::of_unsigned(v)),
            Err(_) => Ok(SeqRead::Bad(format!("{v}, negative"))),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<SeqRead, E> {
        Ok(SeqRead::Bad(format!("{v}, not an integer")))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<SeqRead, E> {
        Ok(SeqRead::Bad("a string".into()))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<SeqRead, E> {
        Ok(SeqRead::Bad("a boolean".into()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<SeqRead, E> {
        Ok(SeqRead::Bad("null".into()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<SeqRead, A::Error> {
        while items.next_element::<IgnoredAny>()?.is_some() {}
        Ok(SeqRead::Bad("an array".into()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<SeqRead, A::Error> {
        while entries.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(SeqRead::Bad("an object".into()))
    }
}

/// What the agent does with its sequence at start.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resume {
    /// The `seq` to continue after (0: the first cycle is 1).
    pub after: u64,
    /// Why a new sequence starts although one was found: said in an `agent` line.
    pub new_sequence: Option<String>,
}

/// Decides from the spool's last `seq` and the state file's. Both plausible: the larger
/// (a spool restored from a backup does not take the sequence back). Either corrupt or
/// absurd: a new sequence. Neither: the first cycle is 1.
pub fn decide(spool: Option<&SeqRead>, state: Option<&SeqRead>) -> Resume {
    let sources = [("the spool's last line", spool), ("the state file", state)];
    let bad: Vec<String> = sources
        .iter()
        .filter_map(|(name, read)| match read {
            Some(SeqRead::Bad(what)) => Some(format!("{name} has seq {what}")),
            _ => None,
        })
        .collect();
    if !bad.is_empty() {
        return Resume {
            after: 0,
            new_sequence: Some(format!(
                "a new sequence starts at 1: {}; a seq read back must be an integer from \
                 0 to {MAX_RESUMED_SEQ}",
                bad.join(", ")
            )),
        };
    }
    let after = sources
        .iter()
        .filter_map(|(_, read)| match read {
            Some(SeqRead::Valid(seq)) => Some(*seq),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    Resume {
        after,
        new_sequence: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> SeqRead {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn only_plausible_unsigned_integers_are_valid() {
        assert_eq!(read("41"), SeqRead::Valid(41));
        assert_eq!(read("4503599627370496"), SeqRead::Valid(MAX_RESUMED_SEQ));
        for bad in [
            "4503599627370497",
            "18446744073709551615",
            "-1",
            "1.5",
            "1e30",
            "\"7\"",
            "true",
            "null",
            "[1,2]",
            "{\"seq\":1}",
        ] {
            assert!(matches!(read(bad), SeqRead::Bad(_)), "{bad}");
        }
    }

    #[test]
    fn the_larger_plausible_seq_goes_on() {
        let (v, w) = (SeqRead::Valid(40), SeqRead::Valid(52));
        assert_eq!(decide(Some(&v), Some(&w)).after, 52);
        assert_eq!(decide(Some(&w), Some(&v)).after, 52);
        assert_eq!(decide(None, Some(&v)).after, 40, "the spool was moved away");
        assert_eq!(decide(Some(&v), None).after, 40, "no state file yet");
        assert_eq!(decide(None, None), Resume::default());
    }

    #[test]
    fn an_absurd_seq_anywhere_starts_a_new_sequence_and_says_why() {
        let absurd = read("18446744073709551615");
        let fine = SeqRead::Valid(40);
        for resume in [
            decide(Some(&absurd), Some(&fine)),
            decide(Some(&fine), Some(&absurd)),
            decide(Some(&absurd), None),
        ] {
            assert_eq!(resume.after, 0);
            let why = resume.new_sequence.unwrap();
            assert!(why.contains("18446744073709551615"), "{why}");
        }
    }
}
