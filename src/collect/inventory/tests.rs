//! Inventory parsing over domain XML with odd devices and Nova metadata.

use super::*;

const ODD_DEVICES: &str = r#"
<domain type='kvm'>
  <name>instance-0000002a</name>
  <uuid>6c0c3d8e-3a0f-4b6e-9f4e-2d1f0a9b7c11</uuid>
  <memory unit='MiB'>512</memory>
  <vcpu placement='static' current='2'>4</vcpu>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/nova/instances/x/disk'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
    <disk type='network' device='disk'>
      <source protocol='rbd' name='vms/x_disk'><host name='ceph-mon' port='6789'/></source>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='volume' device='disk'>
      <source pool='default' volume='data.qcow2'/>
      <target dev='vdc' bus='virtio'/>
    </disk>
    <disk type='block' device='lun'>
      <source dev='/dev/mapper/mpatha'/>
      <target dev='sda' bus='scsi'/>
    </disk>
    <disk type='file' device='disk'>
      <source file='/no/target'/>
    </disk>
    <interface type='bridge'>
      <mac address='fa:16:3e:00:00:01'/>
      <source bridge='br-int'/>
      <target dev='tap1'/>
      <model type='virtio'/>
    </interface>
    <interface type='network'>
      <mac address='52:54:00:00:00:02'/>
      <source network='default'/>
      <target dev='vnet3'/>
      <model type='e1000'/>
    </interface>
    <interface type='direct'>
      <mac address='52:54:00:00:00:03'/>
      <source dev='eth0' mode='vepa'/>
      <target dev='macvtap0'/>
    </interface>
    <interface type='user'>
      <mac address='52:54:00:00:00:04'/>
    </interface>
    <interface type='vhostuser'>
      <mac address='52:54:00:00:00:05'/>
      <source type='unix' path='/run/vhost/sock0' mode='server'/>
      <model type='virtio'/>
    </interface>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x06' slot='0x02' function='0x0'/></source>
    </hostdev>
  </devices>
</domain>"#;

#[test]
fn reads_sizes_and_vcpus() {
    let inv = parse(ODD_DEVICES).unwrap();
    assert_eq!(inv.max_memory_kib, Some(512 * 1024));
    assert_eq!(inv.vcpus_max, Some(4));
    assert_eq!(inv.vcpus_current, Some(2));
    assert_eq!(inv.nova, None);
}

#[test]
fn reads_every_kind_of_disk() {
    let inv = parse(ODD_DEVICES).unwrap();
    let summary: Vec<_> = inv
        .disks
        .iter()
        .map(|d| {
            (
                d.dev.as_deref(),
                d.bus.as_deref(),
                d.device.as_deref(),
                d.source_type.as_deref(),
                d.path.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                Some("vda"),
                Some("virtio"),
                Some("disk"),
                Some("file"),
                Some("/var/lib/nova/instances/x/disk")
            ),
            (Some("hdc"), Some("ide"), Some("cdrom"), Some("file"), None),
            (
                Some("vdb"),
                Some("virtio"),
                Some("disk"),
                Some("network"),
                Some("rbd:vms/x_disk")
            ),
            (
                Some("vdc"),
                Some("virtio"),
                Some("disk"),
                Some("volume"),
                Some("default/data.qcow2")
            ),
            (
                Some("sda"),
                Some("scsi"),
                Some("lun"),
                Some("block"),
                Some("/dev/mapper/mpatha")
            ),
            (None, None, Some("disk"), Some("file"), Some("/no/target")),
        ]
    );
}

#[test]
fn reads_every_kind_of_interface_and_ignores_hostdev() {
    let inv = parse(ODD_DEVICES).unwrap();
    let summary: Vec<_> = inv
        .nics
        .iter()
        .map(|n| {
            (
                n.dev.as_deref(),
                n.mac.as_deref(),
                n.model.as_deref(),
                n.kind.as_deref(),
                n.source.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                Some("tap1"),
                Some("fa:16:3e:00:00:01"),
                Some("virtio"),
                Some("bridge"),
                Some("br-int")
            ),
            (
                Some("vnet3"),
                Some("52:54:00:00:00:02"),
                Some("e1000"),
                Some("network"),
                Some("default")
            ),
            (
                Some("macvtap0"),
                Some("52:54:00:00:00:03"),
                None,
                Some("direct"),
                Some("eth0")
            ),
            (None, Some("52:54:00:00:00:04"), None, Some("user"), None),
            (
                None,
                Some("52:54:00:00:00:05"),
                Some("virtio"),
                Some("vhostuser"),
                Some("/run/vhost/sock0")
            ),
        ]
    );
}

#[test]
fn a_domain_without_devices_has_empty_lists() {
    let inv = parse("<domain type='test'><name>bare</name><memory>1024</memory></domain>").unwrap();
    assert!(inv.disks.is_empty());
    assert!(inv.nics.is_empty());
    assert_eq!(inv.max_memory_kib, Some(1024));
    assert_eq!(inv.vcpus_max, None);
}

#[test]
fn memory_units_convert_to_kib() {
    let kib = |unit: &str, value: &str| {
        let xml = format!("<domain><memory unit='{unit}'>{value}</memory></domain>");
        parse(&xml).unwrap().max_memory_kib
    };
    assert_eq!(kib("KiB", "2048"), Some(2048));
    assert_eq!(kib("GiB", "2"), Some(2 * 1024 * 1024));
    assert_eq!(kib("b", "4096"), Some(4));
    assert_eq!(kib("MB", "1"), Some(976));
    assert_eq!(kib("parsecs", "1"), None);
    assert_eq!(kib("TiB", "99999999999"), None, "overflow is not a value");
}

fn nova_xml(version: &str) -> String {
    format!(
        r#"<domain type='kvm'><name>instance-00000001</name>
  <metadata>
    <other:thing xmlns:other="http://example.invalid/x"><other:name>not nova</other:name></other:thing>
    <nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/{version}">
      <nova:package version="27.1.0"/>
      <nova:name>wéb-1 ☁</nova:name>
      <nova:creationTime>2026-11-20 10:00:00</nova:creationTime>
      <nova:flavor name="m1.small"><nova:memory>2048</nova:memory><nova:vcpus>1</nova:vcpus></nova:flavor>
      <nova:owner>
        <nova:user uuid="a1b2c3d4e5f6">alice</nova:user>
        <nova:project uuid="f6e5d4c3b2a1">démo</nova:project>
      </nova:owner>
    </nova:instance>
  </metadata>
</domain>"#
    )
}

#[test]
fn reads_nova_metadata_1_1_and_1_0_with_non_ascii_names() {
    for version in ["1.1", "1.0"] {
        let nova = parse(&nova_xml(version)).unwrap().nova.expect(version);
        assert_eq!(
            *nova,
            NovaInfo {
                instance: Some("wéb-1 ☁".into()),
                flavor: Some("m1.small".into()),
                project_id: Some("f6e5d4c3b2a1".into()),
                project_name: Some("démo".into()),
                user_id: Some("a1b2c3d4e5f6".into()),
                user_name: Some("alice".into()),
            }
        );
    }
}

#[test]
fn metadata_of_another_namespace_is_not_nova() {
    let xml = r#"<domain><metadata><x:instance xmlns:x="urn:x"><x:name>n</x:name></x:instance></metadata></domain>"#;
    assert_eq!(parse(xml).unwrap().nova, None);
}

#[test]
fn malformed_xml_is_an_error() {
    assert!(parse("<domain><devices></domain>").is_err());
}

#[test]
fn reads_the_balloon_stats_period() {
    let xml = |balloon: &str| format!("<domain><devices>{balloon}</devices></domain>");
    let period = |balloon: &str| parse(&xml(balloon)).unwrap().balloon_period_s;
    assert_eq!(
        period("<memballoon model='virtio'><stats period='5'/></memballoon>"),
        Some(5)
    );
    assert_eq!(
        period("<memballoon model='virtio'><stats period='0'/></memballoon>"),
        Some(0)
    );
    assert_eq!(period("<memballoon model='virtio'/>"), None);
    assert_eq!(period(""), None);
}
