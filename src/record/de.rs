//! Reading records back: the few fields serde's derive cannot read on its own.
//!
//! A line's `kind` and an agent line's `event` are held as static words; reading one
//! accepts only the words the agent writes. An opt-in field ([`super::opt_in::Chosen`])
//! reads as absent when its key is missing and as `null` when its value is null.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::lines::AGENT_EVENTS;

/// A word of a closed list, held as the static text the agent writes (`kind`, an agent
/// line's `event`). Spelled as an alias so that serde's derive reads it with the
/// checked functions below rather than borrowing it from the input.
pub type Word = &'static str;

/// One of `words`, given back as the static word itself.
fn word<'de, D: Deserializer<'de>>(
    deserializer: D,
    words: &'static [&'static str],
) -> Result<&'static str, D::Error> {
    struct OneOf(&'static [&'static str]);

    impl Visitor<'_> for OneOf {
        type Value = &'static str;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "one of {:?}", self.0)
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<&'static str, E> {
            self.0
                .iter()
                .find(|w| **w == text)
                .copied()
                .ok_or_else(|| E::unknown_variant(text, self.0))
        }
    }

    deserializer.deserialize_str(OneOf(words))
}

pub fn domain_kind<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    word(d, &["domain"])
}

pub fn cycle_kind<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    word(d, &["cycle"])
}

pub fn agent_kind<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    word(d, &["agent"])
}

pub fn agent_event<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    word(d, AGENT_EVENTS)
}

/// A present opt-in field: `null` is `Some(None)` (chosen, nothing reported). With
/// `#[serde(default)]`, a missing key stays `None` (not chosen).
pub fn chosen<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

pub fn event_kind<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    word(d, &["event"])
}
