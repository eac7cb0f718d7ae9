//! The program's typed errors and their exit codes (sysexits).

use std::fmt;

/// An error that ends a command, with the exit code it maps to.
#[derive(Debug)]
pub enum Error {
    /// Bad command line (64, EX_USAGE).
    Usage(String),
    /// A request or input that is malformed (65, EX_DATAERR).
    Data(String),
    /// libvirt or the agent's socket cannot be reached (69, EX_UNAVAILABLE).
    Unavailable(String),
    /// An internal failure (70, EX_SOFTWARE).
    Software(String),
    /// A file or directory the program must write is not usable (73, EX_CANTCREAT).
    CantCreate(String),
    /// An I/O error (74, EX_IOERR).
    Io(String),
    /// A bad configuration (78, EX_CONFIG).
    Config(String),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 64,
            Error::Data(_) => 65,
            Error::Unavailable(_) => 69,
            Error::Software(_) => 70,
            Error::CantCreate(_) => 73,
            Error::Io(_) => 74,
            Error::Config(_) => 78,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m)
            | Error::Data(m)
            | Error::Unavailable(m)
            | Error::Software(m)
            | Error::CantCreate(m)
            | Error::Io(m)
            | Error::Config(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
