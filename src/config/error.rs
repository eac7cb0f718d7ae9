//! What can be wrong with a configuration, typed: [`Invalid`] is what is wrong with one
//! value (and what to give instead), [`Problem`] is one finding with where it was made
//! (the file and line, the environment variable, the flag, or two keys together), and
//! [`Error`] is every problem of a configuration, printed one per line.

use std::fmt;
use std::path::PathBuf;

use super::value::{Limit, Number};

/// What is wrong with one value, and what to give instead.
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    /// A TOML value of the wrong type, as the TOML reader says it.
    #[error("{0}")]
    Type(String),
    #[error("'{0}' is not a number")]
    NotNumber(String),
    #[error("give true or false")]
    NotBoolean,
    /// Outside the key's range.
    #[error("{value} is out of range: give {}", range(.limit))]
    OutOfRange { value: Number, limit: Limit },
    /// A fraction for a count.
    #[error("{value} is not a whole number: give {}", range(.limit))]
    NotWhole { value: Number, limit: Limit },
    #[error(
        "'{0}' is not a size: give bytes, or a number with a unit: K, M, G, T, P \
         (or KiB ... PiB: powers of 1024), kB, MB, GB, TB, PB (powers of 1000)"
    )]
    NotSize(String),
    #[error("'{0}' is too large")]
    TooLarge(String),
    /// A relative path in the file (the service has no working directory).
    #[error("'{}' must be an absolute path", .0.display())]
    NotAbsolute(PathBuf),
    /// A relative path on the command line that cannot be made absolute.
    #[error("{0}")]
    NoWorkingDirectory(std::io::Error),
    #[error("'{0}' is not an octal mode like \"0660\"")]
    NotOctal(String),
    #[error("'{0}' has bits beyond 0777")]
    ModeBits(String),
    #[error("'{given}' is not one of {choices}")]
    NotOneOf {
        given: String,
        choices: &'static str,
    },
    #[error("must not be empty: give a libvirt URI like qemu:///system")]
    EmptyUri,
    #[error(
        "{} is not a .prom file (node_exporter's textfile collector reads only *.prom)",
        .0.display()
    )]
    NotProm(PathBuf),
    /// A domain selection string refused, as the selector says.
    #[error("{0}")]
    Selector(crate::collect::filter::Refused),
    /// A statistics group not known, as the group list says.
    #[error("{0}")]
    Group(crate::collect::stats::UnknownGroup),
}

impl From<std::convert::Infallible> for Invalid {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

impl From<std::str::ParseBoolError> for Invalid {
    fn from(_: std::str::ParseBoolError) -> Self {
        Invalid::NotBoolean
    }
}

/// "a whole number of bytes from 1 to 100, or 0 for no built-in rotation".
fn range(limit: &Limit) -> String {
    let number = if limit.whole {
        "a whole number"
    } else {
        "a number"
    };
    let zero = match limit.zero {
        Some(meaning) => format!(", or 0 for {meaning}"),
        None => String::new(),
    };
    format!(
        "{number} of {} from {} to {}{zero}",
        limit.unit, limit.min, limit.max
    )
}

/// One finding about a configuration, naming where it was made.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// The file named with `--config` (or present at the default path) cannot be read.
    #[error("{}: cannot read the config file: {source}", .path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not TOML, as the TOML reader says it.
    #[error("{}{message}", In(.file))]
    Syntax {
        file: Option<PathBuf>,
        message: String,
    },
    /// A key of the file with a value it does not take.
    #[error("{}line {line}: {key}: {invalid}", In(.file))]
    Value {
        file: Option<PathBuf>,
        line: usize,
        key: String,
        invalid: Invalid,
    },
    /// A key that names a table, given a value.
    #[error("{}line {line}: {key} must be a table: [{key}]", In(.file))]
    NotTable {
        file: Option<PathBuf>,
        line: usize,
        key: String,
    },
    /// A key that does not exist, with the keys that do where it was written.
    #[error("{}line {line}: unknown key '{key}'; the keys{} are {known}", In(.file), Of(.table))]
    UnknownKey {
        file: Option<PathBuf>,
        line: usize,
        key: String,
        /// The table it was written in; empty for the top level.
        table: String,
        known: String,
    },
    /// An environment variable with a value its key does not take.
    #[error("{var}: {invalid} (it sets {key})")]
    Environment {
        var: &'static str,
        key: &'static str,
        invalid: Invalid,
    },
    /// A flag with a value its key does not take.
    #[error("{flag}: {invalid} (it sets {key})")]
    Flag {
        flag: String,
        key: &'static str,
        invalid: Invalid,
    },
    /// Two keys naming the same file.
    #[error("{key}: {} is also {other}; give each its own path", .path.display())]
    SamePath {
        key: &'static str,
        path: PathBuf,
        other: &'static str,
    },
    /// `socket.group` names no group.
    #[error(
        "socket.group: no group named '{0}' in the system's group database: create \
         it (groupadd --system {0}) or set another"
    )]
    NoSuchGroup(String),
    /// The group database cannot be asked.
    #[error("socket.group: cannot look up '{name}': {source}")]
    GroupLookup { name: String, source: nix::Error },
}

impl Problem {
    /// The problem as found in the file at `path`.
    fn in_file(mut self, path: &std::path::Path) -> Self {
        match &mut self {
            Problem::Syntax { file, .. }
            | Problem::Value { file, .. }
            | Problem::NotTable { file, .. }
            | Problem::UnknownKey { file, .. } => *file = Some(path.to_path_buf()),
            _ => {}
        }
        self
    }
}

/// `PATH: ` before a finding in a file, nothing when no file is named.
struct In<'a>(&'a Option<PathBuf>);

impl fmt::Display for In<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => write!(f, "{}: ", path.display()),
            None => Ok(()),
        }
    }
}

/// ` of [TABLE]` after "the keys", nothing at the top level.
struct Of<'a>(&'a str);

impl fmt::Display for Of<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, " of [{}]", self.0)
        }
    }
}

/// Every problem found in a configuration (at least one), one per line.
#[derive(Debug)]
pub struct Error {
    pub problems: Vec<Problem>,
}

impl Error {
    /// The problems, or the configuration when there are none.
    pub(super) fn or_ok<T>(value: T, problems: Vec<Problem>) -> Result<T, Error> {
        if problems.is_empty() {
            Ok(value)
        } else {
            Err(Error { problems })
        }
    }

    /// The problems found in the file at `path`, each naming it.
    pub(super) fn in_file(problems: Vec<Problem>, path: &std::path::Path) -> Vec<Problem> {
        problems.into_iter().map(|p| p.in_file(path)).collect()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<Problem> for Error {
    fn from(problem: Problem) -> Self {
        Error {
            problems: vec![problem],
        }
    }
}
