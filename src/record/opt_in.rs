//! The opt-in groups' part of a domain record: KVM counters (`vm`, and the per-vCPU
//! counters that come with `vcpu`), `perf` events, `iothread` polling, `dirtyrate`, and
//! the resctrl monitors (`memory.bandwidth.monitor`, `cpu.cache.monitor`).
//!
//! An opt-in field is absent when its group is not chosen in `collect.groups`, `null`
//! when chosen but libvirt reported nothing for the domain this cycle, and a value
//! otherwise (docs/record.md). Counter names are libvirt's, so a newer kernel or QEMU
//! with more counters needs no new version of this schema.

use std::sync::Arc;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use super::de::chosen;
use super::DirtyRateStatus;

/// Absent (`None`: the group is not chosen), `null` (`Some(None)`: chosen, nothing
/// reported) or a value.
pub type Chosen<T> = Option<Option<T>>;

/// The most entries one [`Named`] holds: KVM has about 45 per-vCPU counters; a bad
/// answer cannot grow a record without bound.
pub const MAX_NAMED: usize = 512;

/// Values by libvirt's names, written as one JSON object sorted by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Named<V>(pub Vec<(Arc<str>, V)>);

impl<V> Default for Named<V> {
    fn default() -> Self {
        Named(Vec::new())
    }
}

impl<V> Named<V> {
    /// Adds `name`, unless the object is full.
    pub fn push(&mut self, name: &str, value: V) {
        if self.0.len() < MAX_NAMED {
            self.0.push((Arc::from(name), value));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sorted by name: libvirt lists these in hash-table order.
    pub fn sorted(&self) -> Self
    where
        V: Clone,
    {
        let mut entries = self.0.clone();
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Named(entries)
    }
}

impl<V: Serialize> Serialize for Named<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(&**name, value)?;
        }
        map.end()
    }
}

/// Reads an object of at most [`MAX_NAMED`] entries, in its order; the rest are
/// dropped, as [`Named::push`] drops them.
impl<'de, V: Deserialize<'de>> Deserialize<'de> for Named<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<V>(std::marker::PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for Entries<V> {
            type Value = Named<V>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of values by name")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Named<V>, A::Error> {
                let mut named = Named::default();
                while let Some((name, value)) = map.next_entry::<std::borrow::Cow<'de, str>, V>()? {
                    named.push(&name, value);
                }
                Ok(named)
            }
        }

        deserializer.deserialize_map(Entries(std::marker::PhantomData))
    }
}

/// One KVM statistic: a number (`sum`: cumulative, `cur`: instant, `max`: peak) or a
/// flag (`blocking.cur`, `guest_mode.cur`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum KvmValue {
    Count(u64),
    Flag(bool),
}

/// The `vm` group (QMP `query-stats`, libvirt 8.9 and QEMU 7.1 or newer, KVM guests).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct KvmRecord {
    /// Per-VM counters (`vm.<name>.<type>` without `vm.`); null when none came.
    #[cfg_attr(test, schemars(with = "Option<super::schema::KvmCounters>"))]
    pub vm: Option<Named<KvmValue>>,
    /// Per-vCPU counters (`vcpu.<N>.<name>.<type>`), which libvirt returns with the
    /// `vcpu` group; empty when that group is not chosen or the guest is not KVM.
    pub vcpus: Vec<KvmVcpuRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KvmVcpuRecord {
    pub id: u32,
    #[serde(flatten)]
    pub counters: Named<KvmValue>,
}

/// One IOThread's adaptive polling (`iothread.<id>.*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct IothreadRecord {
    /// The IOThread's id in the domain XML (from 1).
    pub id: u32,
    /// Longest polling interval; 0 means polling is off.
    pub poll_max_ns: Option<u64>,
    /// Factor the interval grows by; 0 leaves it to QEMU.
    pub poll_grow: Option<u64>,
    /// Divisor the interval shrinks by; 0 leaves it to QEMU.
    pub poll_shrink: Option<u64>,
}

/// The last memory dirty-rate measurement (`dirtyrate.*`). Reading it measures nothing:
/// a measurement is started by `virsh domdirtyrate-calc` (read-write connections only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct DirtyRateRecord {
    /// `unstarted`, `measuring` or `measured`.
    pub status: Option<DirtyRateStatus>,
    /// When the last measurement started (Unix seconds; 0 when none ever ran).
    pub start_unix_s: Option<i64>,
    /// How long it measured.
    pub period_s: Option<i64>,
    /// `page-sampling`, `dirty-bitmap` or `dirty-ring`.
    pub mode: Option<Arc<str>>,
    /// The measured rate, MiB/s; null until a measurement completed.
    pub mib_per_s: Option<u64>,
    /// Per vCPU (dirty-ring mode only).
    pub vcpus: Vec<DirtyRateVcpuRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct DirtyRateVcpuRecord {
    pub id: u32,
    pub mib_per_s: Option<u64>,
}

/// A resctrl cache monitor (`cpu.cache.monitor.<M>.*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct CacheMonitorRecord {
    pub name: Option<Arc<str>>,
    /// The vCPUs it watches, as libvirt writes them (`0-1`).
    pub vcpus: Option<Arc<str>>,
    pub banks: Vec<CacheBankRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct CacheBankRecord {
    /// The host's cache id.
    pub id: Option<u64>,
    /// Last-level cache those vCPUs occupy on this bank.
    pub bytes: Option<u64>,
}

/// A resctrl memory bandwidth monitor (`memory.bandwidth.monitor.<M>.*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct BandwidthMonitorRecord {
    pub name: Option<Arc<str>>,
    pub vcpus: Option<Arc<str>>,
    pub nodes: Vec<BandwidthNodeRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct BandwidthNodeRecord {
    /// The host's memory controller id.
    pub id: Option<u64>,
    /// Cumulative bytes through the controller local to the vCPU's host CPU, and
    /// through all controllers.
    pub bytes_local: Option<u64>,
    pub bytes_total: Option<u64>,
}

/// The opt-in groups at the top level of a domain record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct OptInStats {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "chosen"
    )]
    pub kvm: Chosen<KvmRecord>,
    /// `perf.<event>` values by event name.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "chosen"
    )]
    pub perf: Chosen<Named<u64>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "chosen"
    )]
    pub iothreads: Chosen<Vec<IothreadRecord>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "chosen"
    )]
    pub dirtyrate: Chosen<DirtyRateRecord>,
}

impl OptInStats {
    /// Appends each chosen field as `,"key":value` (the fast writer's part; these groups
    /// are opt-in, so serde's writer is fast enough).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        write_chosen(out, b",\"kvm\":", &self.kvm);
        write_chosen(out, b",\"perf\":", &self.perf);
        write_chosen(out, b",\"iothreads\":", &self.iothreads);
        write_chosen(out, b",\"dirtyrate\":", &self.dirtyrate);
    }
}

/// Appends `key` and `value` unless the field is absent.
pub fn write_chosen<T: Serialize>(out: &mut Vec<u8>, key: &[u8], value: &Option<T>) {
    if let Some(value) = value {
        out.extend_from_slice(key);
        // Writing plain data into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, value);
    }
}
