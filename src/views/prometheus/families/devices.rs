//! The per-device families: a disk's and a NIC's counters and `_info` series.

use super::{code, counter, gauge, int, nanos, Family, Info};
use crate::record::{DiskRecord, NicRecord};

/// One series per disk with a target device, labelled `target_device`.
pub const DISK: [Family<DiskRecord>; 13] = [
    counter(
        "virtdiag_domain_block_stats_read_bytes_total",
        "Bytes read from the disk.",
        |d| int(d.read_bytes),
    ),
    counter(
        "virtdiag_domain_block_stats_read_requests_total",
        "Read requests to the disk.",
        |d| int(d.read_requests),
    ),
    counter(
        "virtdiag_domain_block_stats_write_bytes_total",
        "Bytes written to the disk.",
        |d| int(d.write_bytes),
    ),
    counter(
        "virtdiag_domain_block_stats_write_requests_total",
        "Write requests to the disk.",
        |d| int(d.write_requests),
    ),
    counter(
        "virtdiag_domain_block_stats_errors_total",
        "Errors on the disk (QEMU does not count them: no series).",
        |d| int(d.errors),
    ),
    counter(
        "virtdiag_domain_block_stats_read_time_seconds_total",
        "Time spent on completed reads.",
        |d| nanos(d.read_time_ns),
    ),
    counter(
        "virtdiag_domain_block_stats_write_time_seconds_total",
        "Time spent on completed writes.",
        |d| nanos(d.write_time_ns),
    ),
    counter(
        "virtdiag_domain_block_stats_flush_requests_total",
        "Flush requests to the disk.",
        |d| int(d.flush_requests),
    ),
    counter(
        "virtdiag_domain_block_stats_flush_time_seconds_total",
        "Time spent on completed flushes.",
        |d| nanos(d.flush_time_ns),
    ),
    gauge(
        "virtdiag_domain_block_stats_allocation_bytes",
        "Bytes the image uses on the host.",
        |d| int(d.allocation_bytes),
    ),
    gauge(
        "virtdiag_domain_block_stats_capacity_bytes",
        "Virtual size of the disk, as the guest sees it.",
        |d| int(d.capacity_bytes),
    ),
    gauge(
        "virtdiag_domain_block_stats_physicalsize_bytes",
        "Size of the image or device on the host.",
        |d| int(d.physical_bytes),
    ),
    gauge(
        "virtdiag_domain_block_error_code",
        "The error that paused the guest on this disk, libvirt's numbering: 1 unspecified, 2 no space; no series without one.",
        |d| d.error.and_then(|e| code(&DISK_ERRORS, e.as_str())),
    ),
];

/// libvirt's `virDomainDiskErrorCode` numbering.
const DISK_ERRORS: [&str; 3] = ["none", "unspecified", "no_space"];

/// One series per NIC, labelled `target_device` (the host device, else the MAC).
pub const NIC: [Family<NicRecord>; 8] = [
    counter(
        "virtdiag_domain_interface_stats_receive_bytes_total",
        "Bytes received by the guest on the interface.",
        |n| int(n.rx_bytes),
    ),
    counter(
        "virtdiag_domain_interface_stats_receive_packets_total",
        "Packets received by the guest on the interface.",
        |n| int(n.rx_packets),
    ),
    counter(
        "virtdiag_domain_interface_stats_receive_errors_total",
        "Receive errors on the interface.",
        |n| int(n.rx_errors),
    ),
    counter(
        "virtdiag_domain_interface_stats_receive_drops_total",
        "Received packets dropped on the interface.",
        |n| int(n.rx_drop),
    ),
    counter(
        "virtdiag_domain_interface_stats_transmit_bytes_total",
        "Bytes sent by the guest on the interface.",
        |n| int(n.tx_bytes),
    ),
    counter(
        "virtdiag_domain_interface_stats_transmit_packets_total",
        "Packets sent by the guest on the interface.",
        |n| int(n.tx_packets),
    ),
    counter(
        "virtdiag_domain_interface_stats_transmit_errors_total",
        "Transmit errors on the interface.",
        |n| int(n.tx_errors),
    ),
    counter(
        "virtdiag_domain_interface_stats_transmit_drops_total",
        "Sent packets dropped on the interface.",
        |n| int(n.tx_drop),
    ),
];

pub const DISK_INFO: Info<DiskRecord> = Info {
    name: "virtdiag_domain_block_stats_info",
    help: "A disk of the domain: bus, device kind, source type and path.",
    labels: |d| {
        vec![
            ("target_bus", d.bus.as_deref()),
            ("device", d.device.as_deref()),
            ("disk_type", d.source_type.as_deref()),
            ("source_file", d.path.as_deref()),
        ]
    },
};

pub const NIC_INFO: Info<NicRecord> = Info {
    name: "virtdiag_domain_interface_stats_info",
    help: "A network interface of the domain: type, source, MAC and model.",
    labels: |n| {
        vec![
            ("interface_type", n.kind.as_deref()),
            ("source_bridge", n.source.as_deref()),
            ("mac_address", n.mac.as_deref()),
            ("model_type", n.model.as_deref()),
        ]
    },
};
