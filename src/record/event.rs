//! The `event` line: one libvirt domain event, written as it happens, between cycles.
//!
//! `{"kind":"event","schema":1,"ts":…,"host":…,"domain":{name,uuid,id,state,reason},
//! "nova":…,"event":NAME,…}`: the event's own fields follow `event`, in libvirt's words
//! and in alphabetical order (`docs/record.md`, "Event lines"). For a lifecycle event
//! the domain's state and reason are what the event says; for the others, what the
//! latest cycle saw. The event itself is typed ([`DomainEvent`], one variant per
//! libvirt event ID); this module writes it, and `de` reads it back.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::{DomainIdentity, NovaInfo, SCHEMA_VERSION};

/// An enum whose values the record writes (and reads) as words: `Variant => "word"` each.
macro_rules! words {
    ($(#[$meta:meta])* pub enum $name:ident { $($variant:ident => $word:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($variant,)+
        }

        impl $crate::record::event::Word for $name {
            const ALL: &'static [Self] = &[$(Self::$variant,)+];

            fn word(self) -> &'static str {
                match self {
                    $(Self::$variant => $word,)+
                }
            }
        }
    };
}

mod de;
mod kinds;
mod lifecycle;

pub use kinds::*;
pub use lifecycle::*;

#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub ts: Arc<str>,
    pub host: Arc<str>,
    pub domain: DomainIdentity,
    pub nova: Option<Arc<NovaInfo>>,
    pub event: DomainEvent,
    /// Earlier events of this domain dropped by the rate limit (written when not 0).
    pub suppressed: u64,
}

impl EventRecord {
    pub fn new(
        ts: Arc<str>,
        host: Arc<str>,
        domain: DomainIdentity,
        nova: Option<Arc<NovaInfo>>,
        event: DomainEvent,
        suppressed: u64,
    ) -> Self {
        Self {
            ts,
            host,
            domain,
            nova,
            event,
            suppressed,
        }
    }
}

impl Serialize for EventRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = fields(&self.event);
        if self.suppressed > 0 {
            fields.push(("suppressed", Field::Unsigned(self.suppressed)));
        }
        fields.sort_unstable_by_key(|(key, _)| *key);
        let mut map = serializer.serialize_map(Some(7 + fields.len()))?;
        map.serialize_entry("kind", "event")?;
        map.serialize_entry("schema", &SCHEMA_VERSION)?;
        map.serialize_entry("ts", &self.ts)?;
        map.serialize_entry("host", &self.host)?;
        map.serialize_entry("domain", &self.domain)?;
        map.serialize_entry("nova", &self.nova)?;
        map.serialize_entry("event", self.event.name())?;
        for (key, value) in &fields {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// One of an event's own fields, as written.
enum Field<'a> {
    Word(&'static str),
    Signed(i64),
    Unsigned(u64),
    Bool(bool),
    /// A string, or null.
    Text(Option<&'a str>),
    Stats(&'a BTreeMap<String, JobStat>),
}

impl<'a> Field<'a> {
    fn text(value: &'a Option<String>) -> Self {
        Self::Text(value.as_deref())
    }

    fn known<T: Word>(value: Known<T>) -> Self {
        match value {
            Known::Named(value) => Self::Word(value.word()),
            Known::Number(n) => Self::Signed(n.into()),
        }
    }
}

impl Serialize for Field<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Word(word) => serializer.serialize_str(word),
            Self::Signed(n) => serializer.serialize_i64(*n),
            Self::Unsigned(n) => serializer.serialize_u64(*n),
            Self::Bool(b) => serializer.serialize_bool(*b),
            Self::Text(text) => text.serialize(serializer),
            Self::Stats(stats) => stats.serialize(serializer),
        }
    }
}

/// The event's own fields, in any order (the line sorts them).
fn fields(event: &DomainEvent) -> Vec<(&'static str, Field<'_>)> {
    use DomainEvent as E;
    let mut fields = Vec::with_capacity(8);
    match event {
        E::Lifecycle(lifecycle) => {
            let word_or_number = |value: Result<&'static str, i32>| match value {
                Ok(word) => Field::Word(word),
                Err(n) => Field::Signed(n.into()),
            };
            fields.extend([
                ("type", word_or_number(lifecycle.kind())),
                ("detail", word_or_number(lifecycle.detail())),
            ]);
        }
        E::Reboot | E::ControlError => {}
        E::Watchdog { action } => fields.push(("action", Field::known(*action))),
        E::IoError {
            device,
            path,
            action,
            reason,
        } => {
            push_device(&mut fields, device);
            fields.extend([
                ("path", Field::text(path)),
                ("action", Field::known(*action)),
                ("reason", Field::text(reason)),
            ]);
        }
        E::DiskChange {
            device,
            old_path,
            new_path,
            reason,
        } => {
            push_device(&mut fields, device);
            fields.extend([
                ("old_path", Field::text(old_path)),
                ("new_path", Field::text(new_path)),
                ("reason", Field::known(*reason)),
            ]);
        }
        E::TrayChange { device, reason } => {
            push_device(&mut fields, device);
            fields.push(("reason", Field::known(*reason)));
        }
        E::DeviceAdded(device) | E::DeviceRemoved(device) | E::DeviceRemovalFailed(device) => {
            push_device(&mut fields, device);
        }
        E::AgentLifecycle { state, reason } => fields.extend([
            ("state", Field::known(*state)),
            ("reason", Field::known(*reason)),
        ]),
        E::MigrationIteration { iteration } => {
            fields.push(("iteration", Field::Signed((*iteration).into())));
        }
        E::JobCompleted { stats } => fields.push(("stats", Field::Stats(stats))),
        E::MetadataChanged { kind, namespace } => fields.extend([
            ("type", Field::known(*kind)),
            ("namespace", Field::text(namespace)),
        ]),
        E::BlockThreshold {
            device,
            path,
            threshold_bytes,
            excess_bytes,
        } => fields.extend([
            ("device", Field::text(device)),
            ("path", Field::text(path)),
            ("threshold_bytes", Field::Unsigned(*threshold_bytes)),
            ("excess_bytes", Field::Unsigned(*excess_bytes)),
        ]),
        E::MemoryFailure {
            recipient,
            action,
            action_required,
            recursive,
        } => fields.extend([
            ("recipient", Field::known(*recipient)),
            ("action", Field::known(*action)),
            ("action_required", Field::Bool(*action_required)),
            ("recursive", Field::Bool(*recursive)),
        ]),
    }
    fields
}

/// `device` (the alias, or null), and `target` and `mac` where the inventory knew them.
fn push_device<'a>(fields: &mut Vec<(&'static str, Field<'a>)>, device: &'a Device) {
    fields.push(("device", Field::Text(device.alias.as_deref())));
    if let Some(target) = &device.target {
        fields.push(("target", Field::Text(Some(target))));
    }
    if let Some(mac) = &device.mac {
        fields.push(("mac", Field::Text(Some(mac))));
    }
}

#[cfg(test)]
mod tests;
