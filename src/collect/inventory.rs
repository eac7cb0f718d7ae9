//! A domain's inventory from its XML: devices, sizes and Nova metadata.
//!
//! Pure: parses a string, does no I/O. The collector fetches the XML only when a domain
//! is first seen or its definition changed, and keeps the result between cycles.

use std::sync::Arc;

use roxmltree::{Document, Node};

use crate::record::NovaInfo;

const NOVA_NAMESPACES: [&str; 2] = [
    "http://openstack.org/xmlns/libvirt/nova/1.1",
    "http://openstack.org/xmlns/libvirt/nova/1.0",
];

/// What the domain XML says about a domain.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Inventory {
    pub vcpus_max: Option<u32>,
    pub vcpus_current: Option<u32>,
    pub max_memory_kib: Option<u64>,
    pub disks: Vec<DiskInfo>,
    pub nics: Vec<NicInfo>,
    pub nova: Option<Arc<NovaInfo>>,
    /// `<memballoon><stats period='N'/>`: how often the guest updates its balloon
    /// statistics, in seconds (0: never); None when the XML does not say.
    pub balloon_period_s: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DiskInfo {
    /// `<target dev>`: the name block statistics are asked for.
    pub dev: Option<Arc<str>>,
    pub bus: Option<Arc<str>>,
    /// `disk`, `cdrom`, `floppy` or `lun`.
    pub device: Option<Arc<str>>,
    /// `file`, `block`, `network`, `volume`, `dir`, `nvme`, ...
    pub source_type: Option<Arc<str>>,
    /// The source: a file or device path, `protocol:name` for network disks,
    /// `pool/volume` for volumes. None for an empty drive.
    pub path: Option<Arc<str>>,
    /// `<alias name>`: how libvirt's device events name it.
    pub alias: Option<Arc<str>>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct NicInfo {
    /// `<target dev>`: the host-side device, if libvirt created one.
    pub dev: Option<Arc<str>>,
    pub mac: Option<Arc<str>>,
    pub model: Option<Arc<str>>,
    /// `<interface type>`: bridge, network, direct, ethernet, user, vhostuser, ...
    pub kind: Option<Arc<str>>,
    /// The bridge, network, host device or socket path the NIC is attached to.
    pub source: Option<Arc<str>>,
    /// `<alias name>`: how libvirt's device events name it.
    pub alias: Option<Arc<str>>,
}

/// Parses a domain XML document. Errors only for XML that is not well formed.
pub fn parse(xml: &str) -> Result<Inventory, roxmltree::Error> {
    let doc = Document::parse(xml)?;
    let root = doc.root_element();
    let mut inventory = Inventory::default();

    if let Some(vcpu) = child(root, "vcpu") {
        inventory.vcpus_max = vcpu.text().and_then(|t| t.trim().parse().ok());
        inventory.vcpus_current = vcpu
            .attribute("current")
            .and_then(|t| t.trim().parse().ok())
            .or(inventory.vcpus_max);
    }
    inventory.max_memory_kib = child(root, "memory").and_then(memory_kib);

    if let Some(devices) = child(root, "devices") {
        for node in devices.children().filter(Node::is_element) {
            match node.tag_name().name() {
                "disk" => inventory.disks.push(disk_info(node)),
                "interface" => inventory.nics.push(nic_info(node)),
                "memballoon" => {
                    inventory.balloon_period_s = child(node, "stats")
                        .and_then(|stats| stats.attribute("period"))
                        .and_then(|p| p.trim().parse().ok());
                }
                _ => {}
            }
        }
    }
    inventory.nova = child(root, "metadata").and_then(nova_info).map(Arc::new);
    Ok(inventory)
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|n| {
        n.is_element() && n.tag_name().name() == name && n.tag_name().namespace().is_none()
    })
}

fn attr(node: Option<Node>, name: &str) -> Option<Arc<str>> {
    node.and_then(|n| n.attribute(name)).map(Arc::from)
}

/// `<memory unit='...'>N</memory>` in KiB (libvirt's default unit).
fn memory_kib(node: Node) -> Option<u64> {
    let value: u64 = node.text()?.trim().parse().ok()?;
    let bytes_per_unit: u64 = match node.attribute("unit").unwrap_or("KiB") {
        "b" | "bytes" => 1,
        "KB" => 1_000,
        "k" | "KiB" => 1 << 10,
        "MB" => 1_000_000,
        "M" | "MiB" => 1 << 20,
        "GB" => 1_000_000_000,
        "G" | "GiB" => 1 << 30,
        "TB" => 1_000_000_000_000,
        "T" | "TiB" => 1 << 40,
        _ => return None,
    };
    value.checked_mul(bytes_per_unit).map(|bytes| bytes / 1024)
}

fn disk_info(node: Node) -> DiskInfo {
    let target = child(node, "target");
    let source = child(node, "source");
    let source_type = node.attribute("type");
    let path = source.and_then(|s| match source_type {
        Some("network") => {
            let name = s.attribute("name")?;
            Some(match s.attribute("protocol") {
                Some(protocol) => format!("{protocol}:{name}"),
                None => name.to_string(),
            })
        }
        Some("volume") => {
            let volume = s.attribute("volume")?;
            Some(match s.attribute("pool") {
                Some(pool) => format!("{pool}/{volume}"),
                None => volume.to_string(),
            })
        }
        _ => ["file", "dev", "dir", "name"]
            .iter()
            .find_map(|a| s.attribute(*a))
            .map(str::to_string),
    });
    DiskInfo {
        dev: attr(target, "dev"),
        bus: attr(target, "bus"),
        device: Some(Arc::from(node.attribute("device").unwrap_or("disk"))),
        source_type: source_type.map(Arc::from),
        path: path.map(Arc::from),
        alias: attr(child(node, "alias"), "name"),
    }
}

fn nic_info(node: Node) -> NicInfo {
    let source = child(node, "source");
    let source = source.and_then(|s| {
        ["bridge", "network", "dev", "path", "name"]
            .iter()
            .find_map(|a| s.attribute(*a))
            .map(Arc::from)
    });
    NicInfo {
        dev: attr(child(node, "target"), "dev"),
        mac: attr(child(node, "mac"), "address"),
        model: attr(child(node, "model"), "type"),
        kind: node.attribute("type").map(Arc::from),
        source,
        alias: attr(child(node, "alias"), "name"),
    }
}

fn nova_info(metadata: Node) -> Option<NovaInfo> {
    let instance = metadata.children().find(|n| {
        n.is_element()
            && n.tag_name().name() == "instance"
            && n.tag_name()
                .namespace()
                .is_some_and(|ns| NOVA_NAMESPACES.contains(&ns))
    })?;
    let text = |n: Option<Node>| {
        n.and_then(|n| n.text())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    let owner = any_ns_child(instance, "owner");
    let user = owner.and_then(|o| any_ns_child(o, "user"));
    let project = owner.and_then(|o| any_ns_child(o, "project"));
    Some(NovaInfo {
        instance: text(any_ns_child(instance, "name")),
        flavor: any_ns_child(instance, "flavor")
            .and_then(|f| f.attribute("name"))
            .map(str::to_string),
        project_id: project
            .and_then(|p| p.attribute("uuid"))
            .map(str::to_string),
        project_name: text(project),
        user_id: user.and_then(|u| u.attribute("uuid")).map(str::to_string),
        user_name: text(user),
    })
}

/// The first child element with this local name, whatever its namespace.
fn any_ns_child<'a, 'i>(parent: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    parent
        .children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

#[cfg(test)]
mod tests;
