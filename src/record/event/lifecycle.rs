//! The lifecycle event in the record's words: its type (`virDomainEventType`) with the
//! detail of that type, and the state the event leaves the domain in.

use super::{Known, Word};
use crate::record::{DomainState, StateReason};

/// A lifecycle event: the type, with its own kind of detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Defined(Known<DefinedDetail>),
    Undefined(Known<UndefinedDetail>),
    Started(Known<StartedDetail>),
    Suspended(Known<SuspendedDetail>),
    Resumed(Known<ResumedDetail>),
    Stopped(Known<StoppedDetail>),
    Shutdown(Known<ShutdownDetail>),
    PmSuspended(Known<PmSuspendedDetail>),
    Crashed(Known<CrashedDetail>),
    /// A type newer than this table: both numbers as libvirt gave them.
    Unknown {
        kind: i32,
        detail: i32,
    },
}

words! {
    /// How a domain came to be defined.
    pub enum DefinedDetail {
        Added => "added",
        Updated => "updated",
        Renamed => "renamed",
        FromSnapshot => "from_snapshot",
    }
}

words! {
    pub enum UndefinedDetail {
        Removed => "removed",
        Renamed => "renamed",
    }
}

words! {
    pub enum StartedDetail {
        Booted => "booted",
        Migrated => "migrated",
        Restored => "restored",
        FromSnapshot => "from_snapshot",
        Wakeup => "wakeup",
        Recreated => "recreated",
    }
}

words! {
    pub enum SuspendedDetail {
        Paused => "paused",
        Migrated => "migrated",
        IoError => "ioerror",
        Watchdog => "watchdog",
        Restored => "restored",
        FromSnapshot => "from_snapshot",
        ApiError => "api_error",
        Postcopy => "postcopy",
        PostcopyFailed => "postcopy_failed",
    }
}

words! {
    pub enum ResumedDetail {
        Unpaused => "unpaused",
        Migrated => "migrated",
        FromSnapshot => "from_snapshot",
        Postcopy => "postcopy",
        PostcopyFailed => "postcopy_failed",
    }
}

words! {
    pub enum StoppedDetail {
        Shutdown => "shutdown",
        Destroyed => "destroyed",
        Crashed => "crashed",
        Migrated => "migrated",
        Saved => "saved",
        Failed => "failed",
        FromSnapshot => "from_snapshot",
    }
}

words! {
    pub enum ShutdownDetail {
        Finished => "finished",
        Guest => "guest",
        Host => "host",
    }
}

words! {
    pub enum PmSuspendedDetail {
        Memory => "memory",
        Disk => "disk",
    }
}

words! {
    pub enum CrashedDetail {
        Panicked => "panicked",
        Crashloaded => "crashloaded",
    }
}

words! {
    /// A lifecycle event's `type` (`virDomainEventType`).
    pub enum LifecycleType {
        Defined => "defined",
        Undefined => "undefined",
        Started => "started",
        Suspended => "suspended",
        Resumed => "resumed",
        Stopped => "stopped",
        Shutdown => "shutdown",
        PmSuspended => "pmsuspended",
        Crashed => "crashed",
    }
}

/// A detail as written: its word, or its number.
fn detail<T: Word>(detail: &Known<T>) -> Result<&'static str, i32> {
    match *detail {
        Known::Named(d) => Ok(d.word()),
        Known::Number(n) => Err(n),
    }
}

impl Lifecycle {
    /// The type's word (`started`, `stopped`, ...), or its number when unknown.
    pub fn kind(&self) -> Result<&'static str, i32> {
        self.known_type().map(Word::word)
    }

    /// The type, or its number when newer than this table.
    pub fn known_type(&self) -> Result<LifecycleType, i32> {
        use LifecycleType as T;
        Ok(match self {
            Self::Defined(_) => T::Defined,
            Self::Undefined(_) => T::Undefined,
            Self::Started(_) => T::Started,
            Self::Suspended(_) => T::Suspended,
            Self::Resumed(_) => T::Resumed,
            Self::Stopped(_) => T::Stopped,
            Self::Shutdown(_) => T::Shutdown,
            Self::PmSuspended(_) => T::PmSuspended,
            Self::Crashed(_) => T::Crashed,
            Self::Unknown { kind, .. } => return Err(*kind),
        })
    }

    /// The detail's word, or its number when newer than this table or of an unknown
    /// type.
    pub fn detail(&self) -> Result<&'static str, i32> {
        match self {
            Self::Defined(d) => detail(d),
            Self::Undefined(d) => detail(d),
            Self::Started(d) => detail(d),
            Self::Suspended(d) => detail(d),
            Self::Resumed(d) => detail(d),
            Self::Stopped(d) => detail(d),
            Self::Shutdown(d) => detail(d),
            Self::PmSuspended(d) => detail(d),
            Self::Crashed(d) => detail(d),
            Self::Unknown { detail, .. } => Err(*detail),
        }
    }

    /// The state the event leaves the domain in, with its detail as the reason
    /// (`unknown` for a detail newer than this table); None when the state does not
    /// change (`defined`, `undefined`) or the type is unknown. Every detail word of a
    /// state-changing type is a [`StateReason`] (held by a test).
    pub fn state(&self) -> Option<(DomainState, StateReason)> {
        let state = match self {
            Self::Started(_) | Self::Resumed(_) => DomainState::Running,
            Self::Suspended(_) => DomainState::Paused,
            Self::Stopped(_) => DomainState::Shutoff,
            Self::Shutdown(_) => DomainState::Shutdown,
            Self::PmSuspended(_) => DomainState::PmSuspended,
            Self::Crashed(_) => DomainState::Crashed,
            Self::Defined(_) | Self::Undefined(_) | Self::Unknown { .. } => return None,
        };
        let reason = self.detail().ok().and_then(StateReason::from_name);
        Some((state, reason.unwrap_or(StateReason::Unknown)))
    }
}
