//! The typed domain event: one variant per libvirt event ID, each field typed, each
//! enum value with the word the record writes for it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Serialize, Serializer};

use super::lifecycle::Lifecycle;
use crate::record::{DomainState, StateReason};

/// An enum value the record writes as a word.
pub trait Word: Copy + 'static {
    /// Every value, in declaration order.
    const ALL: &'static [Self];

    fn word(self) -> &'static str;

    /// The value written as `word`.
    fn from_word(word: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|value| value.word() == word)
    }
}

/// A libvirt enum value: one this table names, or the number libvirt gave when it is
/// newer than the table (written as that number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known<T> {
    Named(T),
    Number(i32),
}

impl<T: Word> Serialize for Known<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            Self::Named(value) => serializer.serialize_str(value.word()),
            Self::Number(n) => serializer.serialize_i32(n),
        }
    }
}

/// One libvirt domain event, as the record knows it.
#[derive(Debug, Clone, PartialEq)]
pub enum DomainEvent {
    Lifecycle(Lifecycle),
    Reboot,
    ControlError,
    Watchdog {
        action: Known<WatchdogAction>,
    },
    IoError {
        device: Device,
        path: Option<String>,
        action: Known<IoErrorAction>,
        /// `enospc`, `eio`, ... as libvirt says it.
        reason: Option<String>,
    },
    DiskChange {
        device: Device,
        old_path: Option<String>,
        new_path: Option<String>,
        reason: Known<DiskChangeReason>,
    },
    TrayChange {
        device: Device,
        reason: Known<TrayChangeReason>,
    },
    DeviceAdded(Device),
    DeviceRemoved(Device),
    DeviceRemovalFailed(Device),
    AgentLifecycle {
        state: Known<AgentState>,
        reason: Known<AgentReason>,
    },
    MigrationIteration {
        iteration: i32,
    },
    /// The job's statistics by libvirt's names (the last of a repeated name).
    JobCompleted {
        stats: BTreeMap<String, JobStat>,
    },
    MetadataChanged {
        kind: Known<MetadataKind>,
        /// The element's namespace URI, for `element`.
        namespace: Option<String>,
    },
    BlockThreshold {
        /// The disk's target, or `target[index]` for a backing image.
        device: Option<String>,
        path: Option<String>,
        threshold_bytes: u64,
        excess_bytes: u64,
    },
    MemoryFailure {
        recipient: Known<MemoryFailureRecipient>,
        action: Known<MemoryFailureAction>,
        action_required: bool,
        recursive: bool,
    },
}

/// A device an event names by its alias, with what the domain's inventory knows of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Device {
    /// libvirt's alias (`virtio-disk1`, `net1`, `ua-...`).
    pub alias: Option<String>,
    /// The disk's or NIC's `<target dev>`, when the inventory knows the alias.
    pub target: Option<Arc<str>>,
    /// A NIC's MAC address, when the inventory knows the alias.
    pub mac: Option<Arc<str>>,
}

/// One statistic of a completed job.
#[derive(Debug, Clone, PartialEq)]
pub enum JobStat {
    Signed(i64),
    Unsigned(u64),
    /// Written as null when not finite.
    Float(f64),
    Bool(bool),
    Text(String),
}

impl Serialize for JobStat {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Signed(v) => serializer.serialize_i64(*v),
            Self::Unsigned(v) => serializer.serialize_u64(*v),
            Self::Float(v) if v.is_finite() => serializer.serialize_f64(*v),
            Self::Float(_) => serializer.serialize_none(),
            Self::Bool(v) => serializer.serialize_bool(*v),
            Self::Text(v) => serializer.serialize_str(v),
        }
    }
}

words! {
    pub enum WatchdogAction {
        None => "none",
        Pause => "pause",
        Reset => "reset",
        Poweroff => "poweroff",
        Shutdown => "shutdown",
        Debug => "debug",
        InjectNmi => "inject_nmi",
    }
}

words! {
    pub enum IoErrorAction {
        None => "none",
        Pause => "pause",
        Report => "report",
    }
}

words! {
    pub enum DiskChangeReason {
        MissingOnStart => "missing_on_start",
        DropMissingOnStart => "drop_missing_on_start",
    }
}

words! {
    pub enum TrayChangeReason {
        Open => "open",
        Close => "close",
    }
}

words! {
    pub enum AgentState {
        Unknown => "unknown",
        Connected => "connected",
        Disconnected => "disconnected",
    }
}

words! {
    pub enum AgentReason {
        Unknown => "unknown",
        DomainStarted => "domain_started",
        Channel => "channel",
    }
}

words! {
    pub enum MetadataKind {
        Description => "description",
        Title => "title",
        Element => "element",
    }
}

words! {
    pub enum MemoryFailureRecipient {
        Hypervisor => "hypervisor",
        Guest => "guest",
    }
}

words! {
    pub enum MemoryFailureAction {
        Ignore => "ignore",
        Inject => "inject",
        Fatal => "fatal",
        Reset => "reset",
    }
}

impl DomainEvent {
    /// The `event` word of the line.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Lifecycle(_) => "lifecycle",
            Self::Reboot => "reboot",
            Self::ControlError => "control_error",
            Self::Watchdog { .. } => "watchdog",
            Self::IoError { .. } => "io_error",
            Self::DiskChange { .. } => "disk_change",
            Self::TrayChange { .. } => "tray_change",
            Self::DeviceAdded(_) => "device_added",
            Self::DeviceRemoved(_) => "device_removed",
            Self::DeviceRemovalFailed(_) => "device_removal_failed",
            Self::AgentLifecycle { .. } => "agent_lifecycle",
            Self::MigrationIteration { .. } => "migration_iteration",
            Self::JobCompleted { .. } => "job_completed",
            Self::MetadataChanged { .. } => "metadata_changed",
            Self::BlockThreshold { .. } => "block_threshold",
            Self::MemoryFailure { .. } => "memory_failure",
        }
    }

    /// The device the event names by alias, if it names one.
    pub fn device_mut(&mut self) -> Option<&mut Device> {
        match self {
            Self::IoError { device, .. }
            | Self::DiskChange { device, .. }
            | Self::TrayChange { device, .. }
            | Self::DeviceAdded(device)
            | Self::DeviceRemoved(device)
            | Self::DeviceRemovalFailed(device) => Some(device),
            _ => None,
        }
    }

    /// For a lifecycle event, the state it leaves the domain in and the reason.
    pub fn lifecycle_state(&self) -> Option<(DomainState, StateReason)> {
        match self {
            Self::Lifecycle(lifecycle) => lifecycle.state(),
            _ => None,
        }
    }
}
