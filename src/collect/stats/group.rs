//! The statistics groups of libvirt's bulk call, by `virsh domstats`' names and
//! `VIR_DOMAIN_STATS_*` bits: which are collected by default, which are opt-in, and
//! how `collect.groups` is validated.

/// A statistics group, with libvirt's `VIR_DOMAIN_STATS_*` bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    State = 1,
    CpuTotal = 2,
    Balloon = 4,
    Vcpu = 8,
    Interface = 16,
    Block = 32,
    Perf = 64,
    Iothread = 128,
    Memory = 256,
    Dirtyrate = 512,
    Vm = 1024,
}

/// A `collect.groups` entry that names no group.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown group '{name}'; the groups are {}", Group::known_names())]
pub struct UnknownGroup {
    pub name: String,
}

impl Group {
    /// Every group's name, in [`Group::KNOWN`]'s order, comma-separated.
    fn known_names() -> String {
        let known: Vec<&str> = Group::KNOWN.iter().map(|g| g.name()).collect();
        known.join(", ")
    }

    /// The groups collected unless `collect.groups` says otherwise. Each has a
    /// per-domain fallback for drivers that do not serve it in bulk.
    pub const DEFAULT: [Group; 6] = [
        Group::State,
        Group::CpuTotal,
        Group::Balloon,
        Group::Vcpu,
        Group::Interface,
        Group::Block,
    ];

    /// Groups collected only when `collect.groups` names them. None has a per-domain
    /// equivalent: a driver that refuses one in bulk does not give it at all.
    pub const OPT_IN: [Group; 5] = [
        Group::Perf,
        Group::Iothread,
        Group::Memory,
        Group::Dirtyrate,
        Group::Vm,
    ];

    /// Every group, in the order `collect.groups` is normalised to (libvirt's bits).
    pub const KNOWN: [Group; 11] = [
        Group::State,
        Group::CpuTotal,
        Group::Balloon,
        Group::Vcpu,
        Group::Interface,
        Group::Block,
        Group::Perf,
        Group::Iothread,
        Group::Memory,
        Group::Dirtyrate,
        Group::Vm,
    ];

    pub fn bit(self) -> u32 {
        self as u32
    }

    /// The default groups, as the bit mask a collector asks for.
    pub fn all_bits() -> u32 {
        Group::DEFAULT.iter().map(|g| g.bit()).sum()
    }

    /// Collected only when asked for; no per-domain equivalent exists.
    pub fn is_opt_in(self) -> bool {
        Group::OPT_IN.contains(&self)
    }

    /// Validates `collect.groups`: known names only, normalised to [`Group::KNOWN`]'s
    /// order, `state` always included. The error names the offending group and the
    /// choices.
    pub fn parse_list(groups: &[String]) -> Result<Vec<String>, UnknownGroup> {
        if let Some(unknown) = groups.iter().find(|g| Group::from_name(g).is_none()) {
            return Err(UnknownGroup {
                name: unknown.clone(),
            });
        }
        Ok(Group::KNOWN
            .iter()
            .map(|g| g.name())
            .filter(|k| *k == "state" || groups.iter().any(|g| g == k))
            .map(str::to_string)
            .collect())
    }

    /// The group of a `virsh domstats` name.
    pub fn from_name(name: &str) -> Option<Group> {
        Group::KNOWN.into_iter().find(|g| g.name() == name)
    }

    /// libvirt's name of the group (`virsh domstats --<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Group::State => "state",
            Group::CpuTotal => "cpu-total",
            Group::Balloon => "balloon",
            Group::Vcpu => "vcpu",
            Group::Interface => "interface",
            Group::Block => "block",
            Group::Perf => "perf",
            Group::Iothread => "iothread",
            Group::Memory => "memory",
            Group::Dirtyrate => "dirtyrate",
            Group::Vm => "vm",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn opt_in_groups_are_accepted_and_ordered() {
        let parsed = Group::parse_list(&names(&["vm", "block", "dirtyrate", "perf"])).unwrap();
        assert_eq!(
            parsed,
            names(&["state", "block", "perf", "dirtyrate", "vm"])
        );
    }

    #[test]
    fn unknown_groups_are_named_with_the_choices() {
        let err = Group::parse_list(&names(&["vcpu", "kvm"])).unwrap_err();
        assert_eq!(err.name, "kvm");
        assert!(err.to_string().contains("iothread"), "{err}");
    }

    #[test]
    fn bits_are_libvirts() {
        let bits: Vec<u32> = Group::OPT_IN.iter().map(|g| g.bit()).collect();
        assert_eq!(bits, [64, 128, 256, 512, 1024]);
        assert_eq!(Group::all_bits(), 63);
        for group in Group::KNOWN {
            assert_eq!(Group::from_name(group.name()), Some(group));
            assert_eq!(group.is_opt_in(), !Group::DEFAULT.contains(&group));
        }
    }
}
