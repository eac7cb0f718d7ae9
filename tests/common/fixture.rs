//! Generated test-driver hosts: `count` running domains, each with 4 vCPUs, 2 disks,
//! 2 NICs and a balloon, like a busy hypervisor. Shared by tests and benchmarks.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The node XML of `count` domains named `vm-00000` ...
pub fn node_xml(count: usize) -> String {
    let mut xml = String::with_capacity(count * 1200 + 64);
    xml.push_str("<node>\n");
    for i in 0..count {
        let _ = write!(
            xml,
            "  <domain type='test'>
    <name>vm-{i:05}</name>
    <uuid>{uuid}</uuid>
    <memory unit='MiB'>1024</memory>
    <vcpu>4</vcpu>
    <os><type>hvm</type></os>
    <devices>
      <disk type='file' device='disk'><source file='/srv/images/vm-{i:05}-root.qcow2'/><target dev='vda' bus='virtio'/></disk>
      <disk type='file' device='disk'><source file='/srv/images/vm-{i:05}-data.qcow2'/><target dev='vdb' bus='virtio'/></disk>
      <interface type='bridge'><mac address='52:54:00:{a:02x}:{b:02x}:01'/><source bridge='br0'/><target dev='tap{i}a'/><model type='virtio'/></interface>
      <interface type='bridge'><mac address='52:54:00:{a:02x}:{b:02x}:02'/><source bridge='br1'/><target dev='tap{i}b'/><model type='virtio'/></interface>
      <memballoon model='virtio'/>
    </devices>
  </domain>
",
            uuid = uuid_for(i),
            a = (i >> 8) & 0xff,
            b = i & 0xff,
        );
    }
    xml.push_str("</node>\n");
    xml
}

/// A stable UUID for fixture domain `i`.
pub fn uuid_for(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012x}")
}

/// Writes the node file for `count` domains into `dir` (if not already there).
pub fn write(dir: &Path, count: usize) -> PathBuf {
    let path = dir.join(format!("node-{count}.xml"));
    let xml = node_xml(count);
    if std::fs::read_to_string(&path).ok().as_deref() != Some(xml.as_str()) {
        std::fs::create_dir_all(dir).unwrap();
        let tmp = dir.join(format!(".node-{count}.xml.{}", std::process::id()));
        std::fs::write(&tmp, &xml).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}
