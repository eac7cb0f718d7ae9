//! libvirt's numbers and strings made into the typed [`DomainEvent`]: each event ID's
//! raw arguments ([`RawArgs`]) to its variant, each enum value to the record's type by
//! libvirt's numbering (`libvirt-domain.h`), a value newer than these tables kept as
//! its number.

use std::collections::BTreeMap;

use virt::sys;

use crate::libvirt::domain_events::{RawArgs, RawParam};
use crate::record::event::{
    AgentReason as AR, AgentState as AS, CrashedDetail as Cr, DefinedDetail as De, Device,
    DiskChangeReason as DC, DomainEvent, IoErrorAction as IO, JobStat, Known, Lifecycle,
    MemoryFailureAction as MA, MemoryFailureRecipient as MR, MetadataKind as MK,
    PmSuspendedDetail as PM, ResumedDetail as Re, ShutdownDetail as Sh, StartedDetail as St,
    StoppedDetail as Sp, SuspendedDetail as Su, TrayChangeReason as TC, UndefinedDetail as Un,
    WatchdogAction as WA,
};

/// The value libvirt numbers `raw`, from a table in libvirt's order.
fn known<T: Copy>(table: &[T], raw: i32) -> Known<T> {
    usize::try_from(raw)
        .ok()
        .and_then(|i| table.get(i))
        .map_or(Known::Number(raw), |value| Known::Named(*value))
}

/// `virDomainEventType` and its detail enums.
pub fn lifecycle(kind: i32, detail: i32) -> Lifecycle {
    use Lifecycle as L;
    match kind {
        0 => L::Defined(known(
            &[De::Added, De::Updated, De::Renamed, De::FromSnapshot],
            detail,
        )),
        1 => L::Undefined(known(&[Un::Removed, Un::Renamed], detail)),
        2 => L::Started(known(
            &[
                St::Booted,
                St::Migrated,
                St::Restored,
                St::FromSnapshot,
                St::Wakeup,
                St::Recreated,
            ],
            detail,
        )),
        3 => L::Suspended(known(
            &[
                Su::Paused,
                Su::Migrated,
                Su::IoError,
                Su::Watchdog,
                Su::Restored,
                Su::FromSnapshot,
                Su::ApiError,
                Su::Postcopy,
                Su::PostcopyFailed,
            ],
            detail,
        )),
        4 => L::Resumed(known(
            &[
                Re::Unpaused,
                Re::Migrated,
                Re::FromSnapshot,
                Re::Postcopy,
                Re::PostcopyFailed,
            ],
            detail,
        )),
        5 => L::Stopped(known(
            &[
                Sp::Shutdown,
                Sp::Destroyed,
                Sp::Crashed,
                Sp::Migrated,
                Sp::Saved,
                Sp::Failed,
                Sp::FromSnapshot,
            ],
            detail,
        )),
        6 => L::Shutdown(known(&[Sh::Finished, Sh::Guest, Sh::Host], detail)),
        7 => L::PmSuspended(known(&[PM::Memory, PM::Disk], detail)),
        8 => L::Crashed(known(&[Cr::Panicked, Cr::Crashloaded], detail)),
        _ => L::Unknown { kind, detail },
    }
}

/// A device named by alias; the router adds what the inventory knows.
fn device(alias: Option<String>) -> Device {
    Device {
        alias,
        ..Device::default()
    }
}

fn job_stat(value: RawParam) -> JobStat {
    match value {
        RawParam::Int(v) => JobStat::Signed(v.into()),
        RawParam::UInt(v) => JobStat::Unsigned(v.into()),
        RawParam::LLong(v) => JobStat::Signed(v),
        RawParam::ULLong(v) => JobStat::Unsigned(v),
        RawParam::Double(v) => JobStat::Float(v),
        RawParam::Boolean(v) => JobStat::Bool(v),
        RawParam::String(v) => JobStat::Text(v),
    }
}

/// The typed event for one callback's arguments.
pub fn decode(args: RawArgs) -> DomainEvent {
    use DomainEvent as E;
    match args {
        RawArgs::Lifecycle { event, detail } => E::Lifecycle(lifecycle(event, detail)),
        RawArgs::Reboot => E::Reboot,
        RawArgs::ControlError => E::ControlError,
        RawArgs::Watchdog { action } => E::Watchdog {
            action: known(
                &[
                    WA::None,
                    WA::Pause,
                    WA::Reset,
                    WA::Poweroff,
                    WA::Shutdown,
                    WA::Debug,
                    WA::InjectNmi,
                ],
                action,
            ),
        },
        RawArgs::IoErrorReason {
            src_path,
            dev_alias,
            action,
            reason,
        } => E::IoError {
            device: device(dev_alias),
            path: src_path,
            action: known(&[IO::None, IO::Pause, IO::Report], action),
            reason,
        },
        RawArgs::DiskChange {
            old_src_path,
            new_src_path,
            dev_alias,
            reason,
        } => E::DiskChange {
            device: device(dev_alias),
            old_path: old_src_path,
            new_path: new_src_path,
            reason: known(&[DC::MissingOnStart, DC::DropMissingOnStart], reason),
        },
        RawArgs::TrayChange { dev_alias, reason } => E::TrayChange {
            device: device(dev_alias),
            reason: known(&[TC::Open, TC::Close], reason),
        },
        RawArgs::DeviceAdded { dev_alias } => E::DeviceAdded(device(dev_alias)),
        RawArgs::DeviceRemoved { dev_alias } => E::DeviceRemoved(device(dev_alias)),
        RawArgs::DeviceRemovalFailed { dev_alias } => E::DeviceRemovalFailed(device(dev_alias)),
        RawArgs::AgentLifecycle { state, reason } => E::AgentLifecycle {
            state: known(&[AS::Unknown, AS::Connected, AS::Disconnected], state),
            reason: known(&[AR::Unknown, AR::DomainStarted, AR::Channel], reason),
        },
        RawArgs::MigrationIteration { iteration } => E::MigrationIteration { iteration },
        RawArgs::JobCompleted { params } => {
            let mut stats = BTreeMap::new();
            for (name, value) in params {
                stats.insert(name, job_stat(value)); // a repeated name: the last one
            }
            E::JobCompleted { stats }
        }
        RawArgs::MetadataChange { type_, nsuri } => E::MetadataChanged {
            kind: known(&[MK::Description, MK::Title, MK::Element], type_),
            namespace: nsuri,
        },
        RawArgs::BlockThreshold {
            dev,
            path,
            threshold,
            excess,
        } => E::BlockThreshold {
            device: dev,
            path,
            threshold_bytes: threshold,
            excess_bytes: excess,
        },
        RawArgs::MemoryFailure {
            recipient,
            action,
            flags,
        } => E::MemoryFailure {
            recipient: known(&[MR::Hypervisor, MR::Guest], recipient),
            action: known(&[MA::Ignore, MA::Inject, MA::Fatal, MA::Reset], action),
            action_required: flags & sys::VIR_DOMAIN_MEMORY_FAILURE_ACTION_REQUIRED != 0,
            recursive: flags & sys::VIR_DOMAIN_MEMORY_FAILURE_RECURSIVE != 0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(value: u32) -> i32 {
        value as i32
    }

    #[test]
    fn the_tables_follow_libvirts_numbering() {
        // The last value of each table is where libvirt's header puts it.
        use Known::Named as N;
        use Lifecycle as L;
        for (kind, detail, want) in [
            (
                sys::VIR_DOMAIN_EVENT_DEFINED,
                sys::VIR_DOMAIN_EVENT_DEFINED_FROM_SNAPSHOT,
                L::Defined(N(De::FromSnapshot)),
            ),
            (
                sys::VIR_DOMAIN_EVENT_UNDEFINED,
                sys::VIR_DOMAIN_EVENT_UNDEFINED_RENAMED,
                L::Undefined(N(Un::Renamed)),
            ),
            (
                sys::VIR_DOMAIN_EVENT_STARTED,
                sys::VIR_DOMAIN_EVENT_STARTED_RECREATED,
                L::Started(N(St::Recreated)),
            ),
            (
                sys::VIR_DOMAIN_EVENT_SUSPENDED,
                sys::VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED,
                L::Suspended(N(Su::PostcopyFailed)),
            ),
            (
                sys::VIR_DOMAIN_EVENT_RESUMED,
                sys::VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED,
                L::Resumed(N(Re::PostcopyFailed)),
            ),
            (
                sys::VIR_DOMAIN_EVENT_STOPPED,
                sys::VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT,
                L::Stopped(N(Sp::FromSnapshot)),
            ),
            (
                sys::VIR_DOMAIN_EVENT_SHUTDOWN,
                sys::VIR_DOMAIN_EVENT_SHUTDOWN_HOST,
                L::Shutdown(N(Sh::Host)),
            ),
            (
                sys::VIR_DOMAIN_EVENT_PMSUSPENDED,
                sys::VIR_DOMAIN_EVENT_PMSUSPENDED_DISK,
                L::PmSuspended(N(PM::Disk)),
            ),
            (
                sys::VIR_DOMAIN_EVENT_CRASHED,
                sys::VIR_DOMAIN_EVENT_CRASHED_CRASHLOADED,
                L::Crashed(N(Cr::Crashloaded)),
            ),
        ] {
            assert_eq!(lifecycle(raw(kind), raw(detail)), want);
            let past = lifecycle(raw(kind), raw(detail) + 1);
            assert_eq!(past.detail(), Err(raw(detail) + 1), "{past:?}");
        }

        let decoded = [
            RawArgs::Watchdog {
                action: raw(sys::VIR_DOMAIN_EVENT_WATCHDOG_INJECTNMI),
            },
            RawArgs::IoErrorReason {
                src_path: None,
                dev_alias: None,
                action: raw(sys::VIR_DOMAIN_EVENT_IO_ERROR_REPORT),
                reason: None,
            },
            RawArgs::DiskChange {
                old_src_path: None,
                new_src_path: None,
                dev_alias: None,
                reason: raw(sys::VIR_DOMAIN_EVENT_DISK_DROP_MISSING_ON_START),
            },
            RawArgs::TrayChange {
                dev_alias: None,
                reason: raw(sys::VIR_DOMAIN_EVENT_TRAY_CHANGE_CLOSE),
            },
            RawArgs::AgentLifecycle {
                state: raw(sys::VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_DISCONNECTED),
                reason: raw(sys::VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_REASON_CHANNEL),
            },
            RawArgs::MetadataChange {
                type_: raw(sys::VIR_DOMAIN_METADATA_ELEMENT),
                nsuri: None,
            },
            RawArgs::MemoryFailure {
                recipient: raw(sys::VIR_DOMAIN_EVENT_MEMORY_FAILURE_RECIPIENT_GUEST),
                action: raw(sys::VIR_DOMAIN_EVENT_MEMORY_FAILURE_ACTION_RESET),
                flags: sys::VIR_DOMAIN_MEMORY_FAILURE_RECURSIVE,
            },
        ]
        .map(decode);
        let device = Device::default();
        assert_eq!(
            decoded,
            [
                DomainEvent::Watchdog {
                    action: N(WA::InjectNmi)
                },
                DomainEvent::IoError {
                    device: device.clone(),
                    path: None,
                    action: N(IO::Report),
                    reason: None,
                },
                DomainEvent::DiskChange {
                    device: device.clone(),
                    old_path: None,
                    new_path: None,
                    reason: N(DC::DropMissingOnStart),
                },
                DomainEvent::TrayChange {
                    device,
                    reason: N(TC::Close),
                },
                DomainEvent::AgentLifecycle {
                    state: N(AS::Disconnected),
                    reason: N(AR::Channel),
                },
                DomainEvent::MetadataChanged {
                    kind: N(MK::Element),
                    namespace: None,
                },
                DomainEvent::MemoryFailure {
                    recipient: N(MR::Guest),
                    action: N(MA::Reset),
                    action_required: false,
                    recursive: true,
                },
            ]
        );
    }
}
