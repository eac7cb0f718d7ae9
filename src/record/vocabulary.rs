//! The record's closed vocabularies: domain and vCPU states, state reasons, the
//! balloon's guest statistics, disk errors, the monitor's control state, job
//! operations and dirty-rate status. Each is an enum written as the lowercase word the
//! record has always carried, and each knows libvirt's numbering, so the word for a
//! number is written in one place.

use serde::{Deserialize, Serialize};

/// Declares a vocabulary: an enum whose variants are written as the given words, with
/// `as_str`, `from_name`, `ALL` and `Display`.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $word:literal, )+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(test, derive(schemars::JsonSchema))]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $word)] $variant, )+
        }

        impl $name {
            /// Every word of the vocabulary, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word written in the record.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }

            /// The value written as `word`, if it is one.
            pub fn from_name(word: &str) -> Option<Self> {
                match word {
                    $($word => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

vocabulary! {
    /// `virDomainState`: what the domain is doing.
    pub enum DomainState {
        NoState = "nostate",
        Running = "running",
        Blocked = "blocked",
        Paused = "paused",
        /// Shutting down.
        Shutdown = "shutdown",
        Shutoff = "shutoff",
        Crashed = "crashed",
        PmSuspended = "pmsuspended",
        /// A state newer than this agent, or none known (a baseline, an event before
        /// any cycle saw the domain).
        Unknown = "unknown",
    }
}

impl DomainState {
    /// libvirt's number for the state as a word.
    pub fn from_libvirt(state: i32) -> Self {
        use DomainState::*;
        match state {
            0 => NoState,
            1 => Running,
            2 => Blocked,
            3 => Paused,
            4 => Shutdown,
            5 => Shutoff,
            6 => Crashed,
            7 => PmSuspended,
            _ => Unknown,
        }
    }

    /// Whether a domain in this state has a running hypervisor process to ask for
    /// statistics.
    pub fn is_active(self) -> bool {
        use DomainState::*;
        matches!(self, Running | Blocked | Paused | Shutdown | PmSuspended)
    }
}

vocabulary! {
    /// Why the domain is in its state: `virDomain<State>Reason` for a cycle's record,
    /// or, in an event line, the lifecycle event's detail.
    pub enum StateReason {
        Unknown = "unknown",
        Booted = "booted",
        Migrated = "migrated",
        Restored = "restored",
        FromSnapshot = "from_snapshot",
        Unpaused = "unpaused",
        MigrationCanceled = "migration_canceled",
        SaveCanceled = "save_canceled",
        Wakeup = "wakeup",
        Crashed = "crashed",
        Postcopy = "postcopy",
        PostcopyFailed = "postcopy_failed",
        User = "user",
        Migration = "migration",
        Save = "save",
        Dump = "dump",
        Ioerror = "ioerror",
        Watchdog = "watchdog",
        ShuttingDown = "shutting_down",
        Snapshot = "snapshot",
        StartingUp = "starting_up",
        ApiError = "api_error",
        Shutdown = "shutdown",
        Destroyed = "destroyed",
        Saved = "saved",
        Failed = "failed",
        Daemon = "daemon",
        Panicked = "panicked",
        /// The details of lifecycle events that no state reason has (event lines).
        Added = "added",
        Updated = "updated",
        Renamed = "renamed",
        Removed = "removed",
        Recreated = "recreated",
        Paused = "paused",
        Finished = "finished",
        Guest = "guest",
        Host = "host",
        Memory = "memory",
        Disk = "disk",
        Crashloaded = "crashloaded",
    }
}

impl StateReason {
    /// libvirt's number for the reason of a domain in `state`, as a word.
    pub fn from_libvirt(state: DomainState, reason: i32) -> Self {
        use StateReason::*;
        const RUNNING: &[StateReason] = &[
            Unknown,
            Booted,
            Migrated,
            Restored,
            FromSnapshot,
            Unpaused,
            MigrationCanceled,
            SaveCanceled,
            Wakeup,
            Crashed,
            Postcopy,
            PostcopyFailed,
        ];
        const PAUSED: &[StateReason] = &[
            Unknown,
            User,
            Migration,
            Save,
            Dump,
            Ioerror,
            Watchdog,
            FromSnapshot,
            ShuttingDown,
            Snapshot,
            Crashed,
            StartingUp,
            Postcopy,
            PostcopyFailed,
            ApiError,
        ];
        const SHUTOFF: &[StateReason] = &[
            Unknown,
            Shutdown,
            Destroyed,
            Crashed,
            Migrated,
            Saved,
            Failed,
            FromSnapshot,
            Daemon,
        ];
        const SHUTDOWN: &[StateReason] = &[Unknown, User];
        const CRASHED: &[StateReason] = &[Unknown, Panicked];
        let table = match state {
            DomainState::Running => RUNNING,
            DomainState::Paused => PAUSED,
            DomainState::Shutdown => SHUTDOWN,
            DomainState::Shutoff => SHUTOFF,
            DomainState::Crashed => CRASHED,
            _ => &[],
        };
        usize::try_from(reason)
            .ok()
            .and_then(|i| table.get(i))
            .copied()
            .unwrap_or(Unknown)
    }
}

vocabulary! {
    /// `virVcpuState`.
    pub enum VcpuState {
        Offline = "offline",
        Running = "running",
        Blocked = "blocked",
        Unknown = "unknown",
    }
}

impl VcpuState {
    /// libvirt's number for the vCPU state, as a word.
    pub fn from_libvirt(state: i32) -> Self {
        match state {
            0 => VcpuState::Offline,
            1 => VcpuState::Running,
            2 => VcpuState::Blocked,
            _ => VcpuState::Unknown,
        }
    }
}

vocabulary! {
    /// Whether the guest's balloon statistics come.
    pub enum GuestStats {
        /// Updated within three periods (or the interval, when the period is unknown).
        Ok = "ok",
        /// No statistics period set: only the host-side fields.
        Off = "off",
        /// Last updated longer ago than that.
        Stale = "stale",
    }
}

vocabulary! {
    /// An error `virDomainGetDiskErrors` reports for a disk.
    pub enum DiskError {
        Unspecified = "unspecified",
        NoSpace = "no_space",
    }
}

impl DiskError {
    /// libvirt's disk error code (0, no error, is None).
    pub fn from_libvirt(code: i32) -> Option<Self> {
        match code {
            1 => Some(DiskError::Unspecified),
            2 => Some(DiskError::NoSpace),
            _ => None,
        }
    }
}

vocabulary! {
    /// `virDomainControlState`: the state of a domain's control interface (monitor).
    pub enum ControlState {
        Ok = "ok",
        /// Busy with a job.
        Job = "job",
        /// A call is waiting for the monitor.
        Occupied = "occupied",
        Error = "error",
        /// A state newer than this agent.
        Unknown = "unknown",
    }
}

impl ControlState {
    /// libvirt's number for the control state, as a word.
    pub fn from_libvirt(state: u32) -> Self {
        match state {
            0 => ControlState::Ok,
            1 => ControlState::Job,
            2 => ControlState::Occupied,
            3 => ControlState::Error,
            _ => ControlState::Unknown,
        }
    }
}

vocabulary! {
    /// `virDomainControlErrorReason`: why the control interface is in error.
    pub enum ControlReason {
        None = "none",
        Unknown = "unknown",
        Monitor = "monitor",
        Internal = "internal",
    }
}

impl ControlReason {
    /// libvirt's number for the error reason, as a word.
    pub fn from_libvirt(reason: u32) -> Self {
        match reason {
            0 => ControlReason::None,
            2 => ControlReason::Monitor,
            3 => ControlReason::Internal,
            _ => ControlReason::Unknown,
        }
    }
}

vocabulary! {
    /// `virDomainJobOperation`: what the running job does.
    #[derive(Default)]
    pub enum JobOperation {
        #[default]
        Unknown = "unknown",
        Start = "start",
        Save = "save",
        Restore = "restore",
        MigrationIn = "migration_in",
        MigrationOut = "migration_out",
        Snapshot = "snapshot",
        SnapshotRevert = "snapshot_revert",
        Dump = "dump",
        Backup = "backup",
        SnapshotDelete = "snapshot_delete",
    }
}

impl JobOperation {
    /// libvirt's number for the operation, as a word (its index in [`Self::ALL`]).
    pub fn from_libvirt(operation: u64) -> Self {
        usize::try_from(operation)
            .ok()
            .and_then(|i| Self::ALL.get(i))
            .copied()
            .unwrap_or(JobOperation::Unknown)
    }
}

vocabulary! {
    /// `virDomainDirtyRateStatus`.
    pub enum DirtyRateStatus {
        Unstarted = "unstarted",
        Measuring = "measuring",
        Measured = "measured",
        Unknown = "unknown",
    }
}

impl DirtyRateStatus {
    /// libvirt's number for the status, as a word.
    pub fn from_libvirt(status: i64) -> Self {
        match status {
            0 => DirtyRateStatus::Unstarted,
            1 => DirtyRateStatus::Measuring,
            2 => DirtyRateStatus::Measured,
            _ => DirtyRateStatus::Unknown,
        }
    }
}

#[cfg(test)]
mod tests;
