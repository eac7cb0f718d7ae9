//! Reading an event line back into its type: the envelope, the event by its `event`
//! word, each of its fields with the type the writer gave it.
//!
//! A word is read through its enum's own table ([`Word::ALL`]), so each word is still
//! written once; a number where a word is expected is [`Known::Number`], as written. A
//! line of another kind, an event name the agent does not write, an unknown word, a
//! field of the wrong type or a field the event does not have is an error. The
//! writer's numbers carry no libvirt type, so a job statistic reads back as `Unsigned`
//! when not negative (the same bytes).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::Deserialize;

use super::*;
use crate::record::de::{event_kind, Word as KindWord};

/// A word, or a number that fits libvirt's `int`, not yet looked up.
enum Raw {
    Word(String),
    Number(i32),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawVisitor;

        impl Visitor<'_> for RawVisitor {
            type Value = Raw;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a word or a libvirt number")
            }

            fn visit_str<E: de::Error>(self, word: &str) -> Result<Raw, E> {
                Ok(Raw::Word(word.to_owned()))
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Raw, E> {
                i32::try_from(n)
                    .map(Raw::Number)
                    .map_err(|_| E::invalid_value(Unexpected::Signed(n), &self))
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Raw, E> {
                i32::try_from(n)
                    .map(Raw::Number)
                    .map_err(|_| E::invalid_value(Unexpected::Unsigned(n), &self))
            }
        }

        deserializer.deserialize_any(RawVisitor)
    }
}

impl Raw {
    /// The value of `T` this word names, or the number as it is.
    fn known<T: Word, E: de::Error>(self) -> Result<Known<T>, E> {
        match self {
            Self::Number(n) => Ok(Known::Number(n)),
            Self::Word(word) => T::from_word(&word).map(Known::Named).ok_or_else(|| {
                let words: Vec<&str> = T::ALL.iter().map(|value| value.word()).collect();
                E::custom(format_args!(
                    "unknown word `{word}`, expected a number or one of {words:?}"
                ))
            }),
        }
    }
}

impl<'de, T: Word> Deserialize<'de> for Known<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Raw::deserialize(deserializer)?.known()
    }
}

impl<'de> Deserialize<'de> for JobStat {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StatVisitor;

        impl Visitor<'_> for StatVisitor {
            type Value = JobStat;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, a boolean, a string or null")
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<JobStat, E> {
                Ok(match u64::try_from(n) {
                    Ok(n) => JobStat::Unsigned(n),
                    Err(_) => JobStat::Signed(n),
                })
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<JobStat, E> {
                Ok(JobStat::Unsigned(n))
            }

            fn visit_f64<E: de::Error>(self, n: f64) -> Result<JobStat, E> {
                Ok(JobStat::Float(n))
            }

            fn visit_bool<E: de::Error>(self, b: bool) -> Result<JobStat, E> {
                Ok(JobStat::Bool(b))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<JobStat, E> {
                Ok(JobStat::Text(text.to_owned()))
            }

            /// Null is a float that was not finite.
            fn visit_unit<E: de::Error>(self) -> Result<JobStat, E> {
                Ok(JobStat::Float(f64::NAN))
            }

            fn visit_none<E: de::Error>(self) -> Result<JobStat, E> {
                self.visit_unit()
            }
        }

        deserializer.deserialize_any(StatVisitor)
    }
}

/// An event as its line spells it: the `event` word, then its own fields.
#[derive(Deserialize)]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
enum Wire {
    Lifecycle {
        #[serde(rename = "type")]
        kind: Known<LifecycleType>,
        detail: Raw,
    },
    Reboot {},
    ControlError {},
    Watchdog {
        action: Known<WatchdogAction>,
    },
    IoError {
        #[serde(flatten)]
        device: WireDevice,
        path: Option<String>,
        action: Known<IoErrorAction>,
        reason: Option<String>,
    },
    DiskChange {
        #[serde(flatten)]
        device: WireDevice,
        old_path: Option<String>,
        new_path: Option<String>,
        reason: Known<DiskChangeReason>,
    },
    TrayChange {
        #[serde(flatten)]
        device: WireDevice,
        reason: Known<TrayChangeReason>,
    },
    DeviceAdded(WireDevice),
    DeviceRemoved(WireDevice),
    DeviceRemovalFailed(WireDevice),
    AgentLifecycle {
        state: Known<AgentState>,
        reason: Known<AgentReason>,
    },
    MigrationIteration {
        iteration: i32,
    },
    JobCompleted {
        stats: BTreeMap<String, JobStat>,
    },
    MetadataChanged {
        #[serde(rename = "type")]
        kind: Known<MetadataKind>,
        namespace: Option<String>,
    },
    BlockThreshold {
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

/// `device` (the alias, or null), with `target` and `mac` when written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireDevice {
    device: Option<String>,
    target: Option<Arc<str>>,
    mac: Option<Arc<str>>,
}

impl From<WireDevice> for Device {
    fn from(device: WireDevice) -> Self {
        Self {
            alias: device.device,
            target: device.target,
            mac: device.mac,
        }
    }
}

/// A lifecycle event's detail, in the table of its type (a number for a type newer
/// than the tables).
fn lifecycle<E: de::Error>(kind: Known<LifecycleType>, detail: Raw) -> Result<Lifecycle, E> {
    use LifecycleType as T;
    let kind = match kind {
        Known::Named(kind) => kind,
        Known::Number(kind) => {
            return match detail {
                Raw::Number(detail) => Ok(Lifecycle::Unknown { kind, detail }),
                Raw::Word(word) => Err(E::invalid_type(
                    Unexpected::Str(&word),
                    &"the number of the detail of an unknown type",
                )),
            }
        }
    };
    Ok(match kind {
        T::Defined => Lifecycle::Defined(detail.known::<_, E>()?),
        T::Undefined => Lifecycle::Undefined(detail.known::<_, E>()?),
        T::Started => Lifecycle::Started(detail.known::<_, E>()?),
        T::Suspended => Lifecycle::Suspended(detail.known::<_, E>()?),
        T::Resumed => Lifecycle::Resumed(detail.known::<_, E>()?),
        T::Stopped => Lifecycle::Stopped(detail.known::<_, E>()?),
        T::Shutdown => Lifecycle::Shutdown(detail.known::<_, E>()?),
        T::PmSuspended => Lifecycle::PmSuspended(detail.known::<_, E>()?),
        T::Crashed => Lifecycle::Crashed(detail.known::<_, E>()?),
    })
}

impl<'de> Deserialize<'de> for DomainEvent {
    /// From a map of the `event` word and the event's own fields.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use DomainEvent as E;
        Ok(match Wire::deserialize(deserializer)? {
            Wire::Lifecycle { kind, detail } => E::Lifecycle(lifecycle::<D::Error>(kind, detail)?),
            Wire::Reboot {} => E::Reboot,
            Wire::ControlError {} => E::ControlError,
            Wire::Watchdog { action } => E::Watchdog { action },
            Wire::IoError {
                device,
                path,
                action,
                reason,
            } => E::IoError {
                device: device.into(),
                path,
                action,
                reason,
            },
            Wire::DiskChange {
                device,
                old_path,
                new_path,
                reason,
            } => E::DiskChange {
                device: device.into(),
                old_path,
                new_path,
                reason,
            },
            Wire::TrayChange { device, reason } => E::TrayChange {
                device: device.into(),
                reason,
            },
            Wire::DeviceAdded(device) => E::DeviceAdded(device.into()),
            Wire::DeviceRemoved(device) => E::DeviceRemoved(device.into()),
            Wire::DeviceRemovalFailed(device) => E::DeviceRemovalFailed(device.into()),
            Wire::AgentLifecycle { state, reason } => E::AgentLifecycle { state, reason },
            Wire::MigrationIteration { iteration } => E::MigrationIteration { iteration },
            Wire::JobCompleted { stats } => E::JobCompleted { stats },
            Wire::MetadataChanged { kind, namespace } => E::MetadataChanged { kind, namespace },
            Wire::BlockThreshold {
                device,
                path,
                threshold_bytes,
                excess_bytes,
            } => E::BlockThreshold {
                device,
                path,
                threshold_bytes,
                excess_bytes,
            },
            Wire::MemoryFailure {
                recipient,
                action,
                action_required,
                recursive,
            } => E::MemoryFailure {
                recipient,
                action,
                action_required,
                recursive,
            },
        })
    }
}

/// The whole line: the envelope, `suppressed`, and the event from the other fields.
#[derive(Deserialize)]
struct Line {
    #[serde(rename = "kind", deserialize_with = "event_kind")]
    _kind: KindWord,
    schema: u32,
    ts: Arc<str>,
    host: Arc<str>,
    domain: DomainIdentity,
    nova: Option<Arc<NovaInfo>>,
    /// Written only when not 0.
    suppressed: Option<u64>,
    #[serde(flatten)]
    event: DomainEvent,
}

impl<'de> Deserialize<'de> for EventRecord {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let line = Line::deserialize(deserializer)?;
        if line.schema != SCHEMA_VERSION {
            return Err(de::Error::invalid_value(
                Unexpected::Unsigned(line.schema.into()),
                &"schema 1",
            ));
        }
        if line.suppressed == Some(0) {
            return Err(de::Error::invalid_value(
                Unexpected::Unsigned(0),
                &"suppressed above 0 (0 is not written)",
            ));
        }
        Ok(Self::new(
            line.ts,
            line.host,
            line.domain,
            line.nova,
            line.event,
            line.suppressed.unwrap_or(0),
        ))
    }
}
