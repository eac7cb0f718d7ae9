//! The Prometheus text exposition (format 0.0.4) of a snapshot: the `metrics` socket
//! command, `virtdiag once --format prometheus` and the node_exporter textfile.
//!
//! Every family is defined once, in the tables below: name, type, help and how its
//! value is read from a record. The names are inovex's libvirt exporter's with the
//! prefix `virtdiag_`, so a dashboard ports by changing the prefix. Values are in base
//! units (seconds, bytes), counters end in `_total`, every domain series carries the
//! labels `domain` and `uuid`, and metadata (Nova's, a device's) goes on `_info`
//! series of value 1. A null in the record omits the series; rates and percentages are
//! left to PromQL. Pure: records in, bytes out. docs/prometheus.md lists every family.

use std::borrow::Borrow;

mod families;

pub use self::families::*;
use crate::record::{DomainRecord, NodeRecord};

/// The content type of this exposition, for an HTTP front.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every domain family of `records`, each family's series together.
pub fn write_domains(records: &[impl Borrow<DomainRecord>], out: &mut Vec<u8>) {
    // `domain="...",uuid="..."`, escaped once per record.
    let identities: Vec<Vec<u8>> = records
        .iter()
        .map(|r| {
            let r = r.borrow();
            let mut id = Vec::with_capacity(r.domain.name.len() + r.domain.uuid.len() + 16);
            label(&mut id, "domain", &r.domain.name);
            id.push(b',');
            label(&mut id, "uuid", &r.domain.uuid);
            id
        })
        .collect();
    let domains = || records.iter().map(Borrow::borrow).zip(&identities);

    for family in &DOMAIN {
        header(out, family.name, family.kind, family.help);
        for (record, id) in domains() {
            if let Some(value) = (family.value)(record) {
                sample(out, family.name, id, &[], value);
            }
        }
    }
    header(out, OPENSTACK_INFO.name, Kind::Gauge, OPENSTACK_INFO.help);
    for (record, id) in domains() {
        if record.nova.is_some() {
            sample(
                out,
                OPENSTACK_INFO.name,
                id,
                &(OPENSTACK_INFO.labels)(record),
                Value::Int(1),
            );
        }
    }
    header(out, STATE_INFO.name, Kind::Gauge, STATE_INFO.help);
    for (record, id) in domains() {
        sample(
            out,
            STATE_INFO.name,
            id,
            &(STATE_INFO.labels)(record),
            Value::Int(1),
        );
    }
    for family in &VCPU {
        header(out, family.name, family.kind, family.help);
        for (record, id) in domains() {
            let Some(cpu) = &record.cpu else { continue };
            for vcpu in &cpu.vcpus {
                if let Some(value) = (family.value)(vcpu) {
                    let mut n = itoa::Buffer::new();
                    sample(
                        out,
                        family.name,
                        id,
                        &[("vcpu", Some(n.format(vcpu.id)))],
                        value,
                    );
                }
            }
        }
    }
    devices(
        out,
        &DISK_INFO,
        &DISK,
        domains(),
        |r| &r.disks,
        |d| d.dev.as_deref(),
    );
    devices(
        out,
        &NIC_INFO,
        &NIC,
        domains(),
        |r| &r.nics,
        |n| n.dev.as_deref().or(n.mac.as_deref()),
    );
}

/// A device kind's info family, then its counters, labelled `target_device`.
fn devices<'a, T: 'a>(
    out: &mut Vec<u8>,
    info: &Info<T>,
    families: &[Family<T>],
    domains: impl Iterator<Item = (&'a DomainRecord, &'a Vec<u8>)> + Clone,
    list: fn(&DomainRecord) -> &[T],
    target: fn(&T) -> Option<&str>,
) {
    header(out, info.name, Kind::Gauge, info.help);
    for (record, id) in domains.clone() {
        for device in list(record) {
            let Some(dev) = target(device) else { continue };
            let mut labels = vec![("target_device", Some(dev))];
            labels.extend((info.labels)(device));
            sample(out, info.name, id, &labels, Value::Int(1));
        }
    }
    for family in families {
        header(out, family.name, family.kind, family.help);
        for (record, id) in domains.clone() {
            for device in list(record) {
                let (Some(dev), Some(value)) = (target(device), (family.value)(device)) else {
                    continue;
                };
                sample(out, family.name, id, &[("target_device", Some(dev))], value);
            }
        }
    }
}

/// The host's families (the cycle line's `node`); headers only when there is none.
pub fn write_node(node: Option<&NodeRecord>, out: &mut Vec<u8>) {
    for family in &NODE {
        header(out, family.name, family.kind, family.help);
        if let Some(value) = node.and_then(|n| (family.value)(n)) {
            sample(out, family.name, &[], &[], value);
        }
    }
    let (name, help) = NODE_DOMAINS;
    header(out, name, Kind::Gauge, help);
    if let Some(n) = node {
        let d = &n.domains;
        let states = [
            ("running", d.running),
            ("paused", d.paused),
            ("shutoff", d.shutoff),
            ("crashed", d.crashed),
            ("other", d.other),
        ];
        for (state, count) in states {
            sample(
                out,
                name,
                &[],
                &[("state", Some(state))],
                Value::Int(count as u64),
            );
        }
    }
}

/// The agent's own families.
pub fn write_health(health: &Health, out: &mut Vec<u8>) {
    for family in &HEALTH {
        header(out, family.name, family.kind, family.help);
        if let Some(value) = (family.value)(health) {
            sample(out, family.name, &[], &[], value);
        }
    }
}

/// A whole exposition: the domains, the host, then the agent's health.
pub fn exposition(
    records: &[impl Borrow<DomainRecord>],
    node: Option<&NodeRecord>,
    health: &Health,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(records.len() * 8192 + 2048);
    write_domains(records, &mut out);
    write_node(node, &mut out);
    write_health(health, &mut out);
    out
}

fn header(out: &mut Vec<u8>, name: &str, kind: Kind, help: &str) {
    out.extend_from_slice(b"# HELP ");
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    for c in help.bytes() {
        match c {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            c => out.push(c),
        }
    }
    out.extend_from_slice(b"\n# TYPE ");
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    out.extend_from_slice(kind.as_str().as_bytes());
    out.push(b'\n');
}

/// `name{identity,labels} value`; a label without a value is written empty.
fn sample(
    out: &mut Vec<u8>,
    name: &str,
    identity: &[u8],
    labels: &[(&str, Option<&str>)],
    value: Value,
) {
    out.extend_from_slice(name.as_bytes());
    if !identity.is_empty() || !labels.is_empty() {
        out.push(b'{');
        out.extend_from_slice(identity);
        for (i, (key, v)) in labels.iter().enumerate() {
            if i > 0 || !identity.is_empty() {
                out.push(b',');
            }
            label(out, key, v.unwrap_or(""));
        }
        out.push(b'}');
    }
    out.push(b' ');
    match value {
        Value::Int(v) => out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
        Value::Kib(v) => {
            out.extend_from_slice(itoa::Buffer::new().format(u128::from(v) * 1024).as_bytes())
        }
        Value::Nanos(v) => {
            out.extend_from_slice(itoa::Buffer::new().format(v / 1_000_000_000).as_bytes());
            let frac = v % 1_000_000_000;
            if frac != 0 {
                let digits = itoa::Buffer::new().format(frac + 1_000_000_000).to_owned();
                out.push(b'.');
                out.extend_from_slice(digits[1..].trim_end_matches('0').as_bytes());
            }
        }
        Value::Float(v) => out.extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes()),
    }
    out.push(b'\n');
}

/// `key="value"`, the value escaped as the format wants: `\\`, `\"`, `\n`.
fn label(out: &mut Vec<u8>, key: &str, value: &str) {
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"=\"");
    if !value.bytes().any(|c| matches!(c, b'\\' | b'"' | b'\n')) {
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
        return;
    }
    for c in value.bytes() {
        match c {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests;
