//! The values a configuration key can take, and how one is read: from the file (a
//! TOML value), from the environment or from a flag (text). Each reader checks what
//! it reads and says what was wrong and what to give instead.
//!
//! Numeric keys have a [`Limit`]; sizes take units ("64MiB"); paths, modes and lists
//! have their own readers. [`crate::config::keys`] says which key uses which.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use toml::de::{DeValue, ValueDeserializer};
use toml::Spanned;

use super::error::Invalid;

/// A value for a key, before it is checked.
#[derive(Debug, Clone)]
pub enum Value<'a> {
    /// As written in the file.
    Toml(Spanned<DeValue<'a>>),
    /// As given on the command line or in the environment: one text per occurrence.
    Text(Vec<String>),
}

impl Value<'_> {
    /// The value as `T`: a TOML value of `T`'s type, or a text `T` parses.
    fn read<T>(&self) -> Result<T, Invalid>
    where
        T: DeserializeOwned + FromStr,
        T::Err: Into<Invalid>,
    {
        match self {
            Value::Toml(value) => T::deserialize(ValueDeserializer::from(value.clone()))
                .map_err(|e| Invalid::Type(e.message().trim_end().to_string())),
            Value::Text(texts) => {
                let text = texts.last().map(String::as_str).unwrap_or_default();
                text.parse().map_err(Into::into)
            }
        }
    }

    /// A number, in `limit`'s range.
    pub fn number(&self, limit: &Limit) -> Result<f64, Invalid> {
        limit.check(self.read::<Number>()?)
    }

    /// A count of things, in `limit`'s range.
    pub fn count(&self, limit: &Limit) -> Result<u64, Invalid> {
        debug_assert!(limit.whole);
        // A whole number from min to max (at most 2^50): the cast is exact.
        self.number(limit).map(|v| v as u64)
    }

    /// A size: a whole number of bytes, or a text with a unit ("64MiB", "1 G").
    pub fn bytes(&self, limit: &Limit) -> Result<u64, Invalid> {
        let number = match self {
            Value::Toml(value) if value.get_ref().is_str() => {
                Number::Integer(parse_size(&self.read::<String>()?)?.into())
            }
            Value::Text(texts) if texts.last().is_some_and(|t| t.parse::<Number>().is_err()) => {
                Number::Integer(parse_size(&texts[texts.len() - 1])?.into())
            }
            _ => self.read::<Number>()?,
        };
        limit.check(number).map(|v| v as u64)
    }

    pub fn string(&self) -> Result<String, Invalid> {
        self.read::<String>()
    }

    pub fn boolean(&self) -> Result<bool, Invalid> {
        self.read::<bool>().map_err(|_| Invalid::NotBoolean)
    }

    /// A list of texts: a TOML array, or every occurrence of a flag.
    pub fn strings(&self) -> Result<Vec<String>, Invalid> {
        match self {
            Value::Toml(value) => {
                Vec::<String>::deserialize(ValueDeserializer::from(value.clone()))
                    .map_err(|e| Invalid::Type(e.message().trim_end().to_string()))
            }
            Value::Text(texts) => Ok(texts.clone()),
        }
    }

    /// A list of domain selection strings, each compiled (and at most
    /// [`crate::collect::filter::MAX_PATTERN_BYTES`] long).
    pub fn selectors(&self) -> Result<Vec<crate::collect::filter::Selector>, Invalid> {
        crate::collect::filter::Selector::parse_all(&self.strings()?).map_err(Invalid::Selector)
    }

    /// An absolute path; a relative one given on the command line is taken from the
    /// working directory, one in the file is refused (the service has none).
    pub fn absolute_path(&self) -> Result<PathBuf, Invalid> {
        let path = PathBuf::from(self.string()?);
        match self {
            _ if path.is_absolute() => Ok(path),
            Value::Text(_) => std::path::absolute(&path).map_err(Invalid::NoWorkingDirectory),
            Value::Toml(_) => Err(Invalid::NotAbsolute(path)),
        }
    }

    /// An absolute path, or empty for "off".
    pub fn optional_path(&self) -> Result<PathBuf, Invalid> {
        if self.string()?.is_empty() {
            return Ok(PathBuf::new());
        }
        self.absolute_path()
    }

    /// Octal permission bits: "0660" or "660", no set-id or sticky bits.
    pub fn mode(&self) -> Result<u32, Invalid> {
        let text = self.string()?;
        let Ok(mode) = u32::from_str_radix(&text, 8) else {
            return Err(Invalid::NotOctal(text));
        };
        if mode > 0o777 {
            return Err(Invalid::ModeBits(text));
        }
        Ok(mode)
    }
}

/// Bytes per unit of a size: K, M, G, T, P (and KiB ... PiB) are powers of 1024, as in
/// systemd and logrotate; kB, MB, GB, TB, PB are powers of 1000. B or nothing: bytes.
const SIZE_UNITS: [(&str, u64); 17] = [
    ("", 1),
    ("B", 1),
    ("K", 1 << 10),
    ("KiB", 1 << 10),
    ("M", 1 << 20),
    ("MiB", 1 << 20),
    ("G", 1 << 30),
    ("GiB", 1 << 30),
    ("T", 1 << 40),
    ("TiB", 1 << 40),
    ("P", 1 << 50),
    ("PiB", 1 << 50),
    ("kB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("TB", 1_000_000_000_000),
    ("PB", 1_000_000_000_000_000),
];

/// "64MiB", "1.5 G", "4096": a size in bytes (rounded down to a whole byte).
pub fn parse_size(text: &str) -> Result<u64, Invalid> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    let unit = unit.trim_start();
    let bad = || Invalid::NotSize(text.to_string());
    let multiplier = SIZE_UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, m)| *m)
        .ok_or_else(bad)?;
    if digits.is_empty() {
        return Err(bad());
    }
    let whole: f64 = digits.parse().map_err(|_| bad())?;
    let bytes = whole * multiplier as f64;
    if !bytes.is_finite() || bytes > u64::MAX as f64 {
        return Err(Invalid::TooLarge(text.to_string()));
    }
    Ok(bytes as u64)
}

/// A number as written in the file or on the command line, before its range is
/// checked: an integer of any size TOML allows, or a float (NaN and infinities
/// included, so that the check can name them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Integer(i128),
    Float(f64),
}

/// A flag's value: an integer if it reads as one, else a float (`1.5`, `1e3`, `nan`).
impl FromStr for Number {
    type Err = Invalid;

    fn from_str(text: &str) -> Result<Self, Invalid> {
        if let Ok(integer) = text.parse::<i128>() {
            return Ok(Number::Integer(integer));
        }
        text.parse::<f64>()
            .map(Number::Float)
            .map_err(|_| Invalid::NotNumber(text.to_string()))
    }
}

/// As written, with an exponent for very large or very small floats (`1e300`, not
/// three hundred digits).
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Number::Integer(i) => write!(f, "{i}"),
            Number::Float(x) if x != 0.0 && x.is_finite() && !(1e-4..1e15).contains(&x.abs()) => {
                write!(f, "{x:e}")
            }
            Number::Float(x) => write!(f, "{x}"),
        }
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Number, E> {
                Ok(Number::Integer(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Number, E> {
                Ok(Number::Integer(v.into()))
            }
            fn visit_i128<E>(self, v: i128) -> Result<Number, E> {
                Ok(Number::Integer(v))
            }
            fn visit_u128<E>(self, v: u128) -> Result<Number, E> {
                Ok(Number::Integer(i128::try_from(v).unwrap_or(i128::MAX)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Number, E> {
                Ok(Number::Float(v))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// The allowed values of a numeric key. Each range is stated once, in
/// [`crate::config::keys`]; the checks of the file, the environment and the flags,
/// their messages and the tests that hold the documentation to them all read it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// Smallest value allowed.
    pub min: f64,
    /// Largest value allowed.
    pub max: f64,
    /// Only integers (counts of things); otherwise any number in the range.
    pub whole: bool,
    /// What the number counts: "seconds", "bytes".
    pub unit: &'static str,
    /// What 0 means when it is allowed below `min` ("no built-in rotation").
    pub zero: Option<&'static str>,
}

/// The longest duration a key can give. `Instant::now() + d` overflows only for a `d`
/// of billions of years (the monotonic clock counts seconds in an `i64`), so a day
/// is safe on every platform.
pub const MAX_DURATION_SECONDS: f64 = 86_400.0;

impl Limit {
    /// The value if it is in the range (and an integer for a count), else why not
    /// and what to give instead.
    pub fn check(&self, value: Number) -> Result<f64, Invalid> {
        let x = match value {
            // Exact up to 2^53, far beyond every bound; rounding keeps larger
            // integers beyond them too.
            Number::Integer(i) => i as f64,
            Number::Float(x) => x,
        };
        if x == 0.0 && self.zero.is_some() {
            return Ok(0.0);
        }
        let limit = *self;
        if !(self.min..=self.max).contains(&x) {
            Err(Invalid::OutOfRange { value, limit })
        } else if self.whole && matches!(value, Number::Float(_)) {
            Err(Invalid::NotWhole { value, limit })
        } else {
            Ok(x)
        }
    }

    /// `seconds` as a [`Duration`]. A validated value is already in the range; one
    /// set directly out of it is clamped into it (NaN to the minimum), so the result
    /// is always at most `MAX_DURATION_SECONDS` and never panics.
    pub fn duration(&self, seconds: f64) -> Duration {
        let seconds = if seconds.is_nan() {
            self.min
        } else {
            seconds.clamp(self.min, self.max)
        };
        Duration::from_secs_f64(seconds)
    }
}
