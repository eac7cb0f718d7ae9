//! Domain selection: the one rule by which every command names domains (`once
//! --domain`, `query get`, `run`'s include and exclude lists, `top`'s filter).
//!
//! What a string means depends on its shape, in this order:
//! 1. shaped like a UUID (8-4-4-4-12 hex digits, or 32 without dashes, any case):
//!    that UUID only;
//! 2. all digits: the running domain with that hypervisor id, else the domain of
//!    that name;
//! 3. with a glob metacharacter (`*`, `?`, `[`): a glob on the name and on the Nova
//!    display name (see [`glob`]); when it matches nothing, the domain whose name is
//!    the string itself (a name may contain `[`);
//! 4. anything else: the domain of that name, else the domains with that Nova display
//!    name.
//!
//! [`Selector::resolve`] applies the order to a whole host (`get`, `once`): a later
//! rung is tried only when the earlier one found nothing. The include and exclude
//! lists test each domain alone, as the collector meets it ([`Selector::matches`]):
//! there a domain is selected when any rung of the string's shape names it.
//!
//! A selection string is at most [`MAX_PATTERN_BYTES`] (256) bytes, whatever its shape,
//! and is parsed and compiled once ([`Selector::parse`]: once per request, once per
//! configuration load for the lists); a longer one is refused with the limit named.

pub mod glob;

pub use self::glob::{Glob, TooLong, MAX_PATTERN_BYTES};

/// What a domain is known by.
#[derive(Debug, Clone, Copy, Default)]
pub struct Candidate<'a> {
    pub name: &'a str,
    pub uuid: &'a str,
    /// The hypervisor id, while running.
    pub id: Option<u32>,
    /// Nova's display name (`nova.instance`), when the domain has Nova metadata.
    pub display_name: Option<&'a str>,
}

/// One selection string, classified by its shape (a glob compiled). It serializes as
/// the string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    text: String,
    shape: Shape,
}

impl serde::Serialize for Selector {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// What a selection string is read as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    Uuid,
    Id(u32),
    Glob(Glob),
    Name,
}

/// A selection string refused: its start (32 characters, shown escaped, since a
/// message may reach a terminal) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{}…': {why}", .shown.escape_debug())]
pub struct Refused {
    pub shown: String,
    pub why: TooLong,
}

impl Selector {
    /// Classifies `text`; a string longer than [`MAX_PATTERN_BYTES`] is refused, whatever
    /// its shape, before anything is compiled.
    pub fn parse(text: &str) -> Result<Self, TooLong> {
        if text.len() > MAX_PATTERN_BYTES {
            return Err(TooLong { bytes: text.len() });
        }
        let shape = if is_uuid_shaped(text) {
            Shape::Uuid
        } else if let Some(id) = all_digits(text) {
            Shape::Id(id)
        } else if glob::has_metacharacters(text) {
            Shape::Glob(Glob::compile(text)?)
        } else {
            Shape::Name
        };
        Ok(Selector {
            text: text.to_string(),
            shape,
        })
    }

    /// Every string of a list, or the first one refused and why.
    pub fn parse_all(texts: &[String]) -> Result<Vec<Self>, Refused> {
        texts
            .iter()
            .map(|text| {
                Selector::parse(text).map_err(|why| Refused {
                    shown: text.chars().take(32).collect(),
                    why,
                })
            })
            .collect()
    }

    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The string as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// How the string is read, for messages: "a UUID", "an id, then a name", ...
    pub fn reading(&self) -> &'static str {
        match self.shape {
            Shape::Uuid => "a UUID",
            Shape::Id(_) => "an id, then a name",
            Shape::Glob(_) => "a glob on the name and Nova display name",
            Shape::Name => "a name, then a Nova display name",
        }
    }

    /// The rungs of this shape, most precise first.
    fn rungs(&self) -> &'static [Rung] {
        match self.shape {
            Shape::Uuid => &[Rung::Uuid],
            Shape::Id(_) => &[Rung::Id, Rung::Name],
            Shape::Glob(_) => &[Rung::Glob, Rung::Name],
            Shape::Name => &[Rung::Name, Rung::DisplayName],
        }
    }

    fn on_rung(&self, rung: Rung, domain: &Candidate<'_>) -> bool {
        let text = self.text.as_str();
        match (rung, &self.shape) {
            (Rung::Uuid, _) => same_uuid(text, domain.uuid),
            (Rung::Id, Shape::Id(id)) => domain.id == Some(*id),
            (Rung::Id, _) => false,
            (Rung::Name, _) => domain.name == text,
            (Rung::DisplayName, _) => domain.display_name == Some(text),
            (Rung::Glob, Shape::Glob(glob)) => {
                glob.matches(domain.name) || domain.display_name.is_some_and(|d| glob.matches(d))
            }
            (Rung::Glob, _) => false,
        }
    }

    /// Whether any rung of this shape names `domain` (the test of include and
    /// exclude lists, which see one domain at a time).
    pub fn matches(&self, domain: &Candidate<'_>) -> bool {
        self.rungs().iter().any(|&rung| self.on_rung(rung, domain))
    }

    /// The indices of the domains this string names on a whole host: those of the
    /// first rung that names any.
    pub fn resolve<'d>(&self, domains: impl Iterator<Item = Candidate<'d>> + Clone) -> Vec<usize> {
        for &rung in self.rungs() {
            let found: Vec<usize> = domains
                .clone()
                .enumerate()
                .filter(|(_, d)| self.on_rung(rung, d))
                .map(|(i, _)| i)
                .collect();
            if !found.is_empty() {
                return found;
            }
        }
        Vec::new()
    }
}

#[derive(Debug, Clone, Copy)]
enum Rung {
    Uuid,
    Id,
    Name,
    DisplayName,
    Glob,
}

fn is_uuid_shaped(text: &str) -> bool {
    let bytes = text.as_bytes();
    match bytes.len() {
        32 => bytes.iter().all(u8::is_ascii_hexdigit),
        36 => bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        }),
        _ => false,
    }
}

/// Two UUID strings equal in any case, with or without dashes (no allocation: a UUID
/// in a list is compared with every domain of every cycle).
fn same_uuid(a: &str, b: &str) -> bool {
    if a.len() == b.len() {
        return a.eq_ignore_ascii_case(b);
    }
    fn digits(s: &str) -> impl Iterator<Item = u8> + '_ {
        s.bytes()
            .filter(|&c| c != b'-')
            .map(|c| c.to_ascii_lowercase())
    }
    digits(a).eq(digits(b))
}

fn all_digits(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Include and exclude lists of selection strings, compiled once (per configuration
/// load); an empty include list means every domain, and exclusion wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainFilter {
    pub include: Vec<Selector>,
    pub exclude: Vec<Selector>,
}

impl DomainFilter {
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// Whether the domain is collected, known by its name and UUID only.
    pub fn matches(&self, name: &str, uuid: &str) -> bool {
        self.selects(&Candidate {
            name,
            uuid,
            ..Candidate::default()
        })
    }

    /// Whether a string of the lists can name a domain by its Nova display name (a
    /// name or a glob): then a domain first seen needs its XML read before
    /// [`Self::selects`] can decide.
    pub fn needs_display_names(&self) -> bool {
        self.include
            .iter()
            .chain(&self.exclude)
            .any(|s| matches!(s.shape, Shape::Name | Shape::Glob(_)))
    }

    /// Whether the domain is collected, known by everything the collector knows.
    pub fn selects(&self, domain: &Candidate<'_>) -> bool {
        let hit = |selector: &Selector| selector.matches(domain);
        (self.include.is_empty() || self.include.iter().any(hit)) && !self.exclude.iter().any(hit)
    }
}

#[cfg(test)]
mod tests;
