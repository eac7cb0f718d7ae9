//! One domain's record for a person (`query get NAME` on a terminal): grouped lines
//! for the identity, Nova, CPU and each vCPU, memory, each disk, each NIC and the
//! collection's health, with units (%, MiB and GiB, MB/s, ops/s). Figures the record
//! leaves null show as `-`; every text from the record is made printable.

use serde_json::Value;

use super::host_table::{megabytes, ops, percent};
use super::{duration, size};
use crate::commands::escape::printable;

/// The narrowest and widest the labels' column is.
const LABEL_WIDTH: std::ops::RangeInclusive<usize> = 10..=18;

/// The grouped view of a `kind: "domain"` record.
pub fn render(record: &Value) -> String {
    let mut view = View::default();
    identity(&mut view, record);
    nova(&mut view, &record["nova"]);
    cpu(&mut view, &record["cpu"]);
    memory(&mut view, &record["memory"]);
    for disk in record["disks"].as_array().into_iter().flatten() {
        self::disk(&mut view, disk);
    }
    for nic in record["nics"].as_array().into_iter().flatten() {
        self::nic(&mut view, nic);
    }
    collection(&mut view, &record["collect"]);
    view.text()
}

/// Labelled lines, printable, aligned when the view is complete.
#[derive(Default)]
struct View {
    lines: Vec<(String, String)>,
}

impl View {
    fn line(&mut self, label: &str, text: &str) {
        self.lines.push((printable(label), printable(text)));
    }

    /// The lines, the texts in one column after the labels (a label longer than the
    /// column's widest pushes only its own text).
    fn text(&self) -> String {
        let longest = self.lines.iter().map(|(l, _)| l.chars().count() + 2);
        let width = longest
            .max()
            .unwrap_or(0)
            .clamp(*LABEL_WIDTH.start(), *LABEL_WIDTH.end());
        let mut out = String::new();
        for (label, text) in &self.lines {
            let pad = width.saturating_sub(label.chars().count()).max(1);
            out.push_str(label);
            out.push_str(&" ".repeat(pad));
            out.push_str(text);
            out.push('\n');
        }
        out
    }
}

fn text(value: &Value) -> String {
    value.as_str().map_or_else(|| "-".into(), str::to_string)
}

fn figure(value: &Value, form: impl Fn(f64) -> String) -> String {
    value.as_f64().map_or_else(|| "-".into(), form)
}

fn kib(value: &Value) -> String {
    value
        .as_u64()
        .map_or_else(|| "-".into(), |k| size(k.saturating_mul(1024)))
}

fn bytes(value: &Value) -> String {
    value.as_u64().map_or_else(|| "-".into(), size)
}

fn identity(view: &mut View, record: &Value) {
    let domain = &record["domain"];
    let id = domain["id"]
        .as_u64()
        .map_or_else(|| "not running".into(), |id| format!("id {id}"));
    view.line(
        "domain",
        &format!(
            "{} ({}, reason {}), {id}",
            text(&domain["name"]),
            text(&domain["state"]),
            text(&domain["reason"])
        ),
    );
    view.line("uuid", &text(&domain["uuid"]));
    view.line(
        "sampled",
        &format!(
            "{} on {}, cycle {}",
            text(&record["ts"]),
            text(&record["host"]),
            record["seq"].as_u64().unwrap_or(0)
        ),
    );
}

fn nova(view: &mut View, nova: &Value) {
    if !nova.is_object() {
        return;
    }
    let named = |name: &Value, id: &Value| match (name.as_str(), id.as_str()) {
        (Some(name), Some(id)) => format!("{name} ({id})"),
        (name, id) => name.or(id).unwrap_or("-").to_string(),
    };
    view.line(
        "nova",
        &format!(
            "{}, flavor {}, project {}, user {}",
            text(&nova["instance"]),
            text(&nova["flavor"]),
            named(&nova["project_name"], &nova["project_id"]),
            named(&nova["user_name"], &nova["user_id"])
        ),
    );
}

fn cpu(view: &mut View, cpu: &Value) {
    let vcpus = cpu["vcpus"].as_array().map_or(0, Vec::len);
    view.line(
        "cpu",
        &format!(
            "{vcpus} vCPUs, {} % (100 % is one host CPU), {} used in all",
            figure(&cpu["utilisation_pct"], percent),
            figure(&cpu["time_ns"], |ns| duration(ns / 1e9))
        ),
    );
    for vcpu in cpu["vcpus"].as_array().into_iter().flatten() {
        view.line(
            &format!("  vcpu {}", vcpu["id"].as_u64().unwrap_or(0)),
            &format!(
                "{}, {} %, steal {} %",
                text(&vcpu["state"]),
                figure(&vcpu["utilisation_pct"], percent),
                figure(&vcpu["steal_pct"], percent)
            ),
        );
    }
}

fn memory(view: &mut View, memory: &Value) {
    let share = match (memory["used_kib"].as_f64(), memory["max_kib"].as_f64()) {
        (Some(used), Some(max)) if max > 0.0 => format!(" ({} %)", percent(100.0 * used / max)),
        _ => String::new(),
    };
    view.line(
        "memory",
        &format!(
            "{} used of {} max{share}, {} current",
            kib(&memory["used_kib"]),
            kib(&memory["max_kib"]),
            kib(&memory["current_kib"])
        ),
    );
    let balloon = &memory["balloon"];
    if balloon.is_object() {
        view.line(
            "  balloon",
            &format!(
                "{} actual, {} unused, {} usable, {} rss, {} caches; swap in {} out {}; \
                 {} major faults",
                kib(&balloon["actual_kib"]),
                kib(&balloon["unused_kib"]),
                kib(&balloon["usable_kib"]),
                kib(&balloon["rss_kib"]),
                kib(&balloon["disk_caches_kib"]),
                kib(&balloon["swap_in_kib"]),
                kib(&balloon["swap_out_kib"]),
                balloon["major_faults"]
                    .as_u64()
                    .map_or_else(|| "-".into(), |n| n.to_string())
            ),
        );
    }
}

/// `read X MB/s Y ops/s` style throughput of a device.
fn throughput(device: &Value, bytes_key: &str, ops_key: &str, per: &str) -> String {
    format!(
        "{} MB/s {} {per}",
        figure(&device[bytes_key], megabytes),
        figure(&device[ops_key], ops)
    )
}

fn disk(view: &mut View, disk: &Value) {
    let fill = match disk["capacity_bytes"].as_u64() {
        Some(_) => format!(
            "; {} allocated of {} ({} % full)",
            bytes(&disk["allocation_bytes"]),
            bytes(&disk["capacity_bytes"]),
            figure(&disk["fill_pct"], percent)
        ),
        None => String::new(),
    };
    view.line(
        &format!("disk {}", text(&disk["dev"])),
        &format!(
            "{} {} {}: read {}, write {}{fill}; {} errors",
            text(&disk["bus"]),
            text(&disk["device"]),
            disk["path"].as_str().unwrap_or("(no media)"),
            throughput(disk, "read_bytes_per_s", "read_ops_per_s", "ops/s"),
            throughput(disk, "write_bytes_per_s", "write_ops_per_s", "ops/s"),
            disk["errors"]
                .as_u64()
                .map_or_else(|| "-".into(), |n| n.to_string())
        ),
    );
}

fn nic(view: &mut View, nic: &Value) {
    let count = |key: &str| {
        nic[key]
            .as_u64()
            .map_or_else(|| "-".into(), |n| n.to_string())
    };
    view.line(
        &format!("nic {}", text(&nic["dev"])),
        &format!(
            "{} {} {} on {}: rx {}, tx {}; errors rx {} tx {}, drops rx {} tx {}",
            text(&nic["mac"]),
            text(&nic["model"]),
            text(&nic["type"]),
            text(&nic["source"]),
            throughput(nic, "rx_bytes_per_s", "rx_packets_per_s", "packets/s"),
            throughput(nic, "tx_bytes_per_s", "tx_packets_per_s", "packets/s"),
            count("rx_errors"),
            count("tx_errors"),
            count("rx_drop"),
            count("tx_drop")
        ),
    );
}

fn collection(view: &mut View, collect: &Value) {
    let sources = collect["sources"]
        .as_object()
        .map(|s| {
            s.iter()
                .map(|(group, source)| format!("{group} {}", text(source)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    view.line(
        "collection",
        &format!(
            "took {} ms, {} since the previous sample; {sources}",
            figure(&collect["duration_ms"], |ms| format!("{ms:.1}")),
            figure(&collect["interval_s"], |s| format!("{s:.2} s"))
        ),
    );
    let missing = collect["missing"].as_array().map_or(&[][..], Vec::as_slice);
    if missing.is_empty() {
        view.line("  missing", "nothing: every field was read");
    }
    for entry in missing {
        view.line(
            "  missing",
            &format!("{}: {}", text(&entry["field"]), text(&entry["reason"])),
        );
    }
    let control = &collect["control"];
    if control.is_object() {
        view.line(
            "  monitor",
            &format!(
                "{} for {}{}",
                text(&control["state"]),
                figure(&control["since_ms"], |ms| duration(ms / 1000.0)),
                control["reason"]
                    .as_str()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn groups_every_part_of_the_record() {
        let record = json!({"kind": "domain", "ts": "2026-11-30T01:30:12.284Z", "host": "vm",
            "seq": 2, "domain": {"name": "instance-0000002a", "uuid": "6c0c", "id": 1,
                "state": "running", "reason": "booted"},
            "nova": {"instance": "web-1", "flavor": "m1.small", "project_name": "webshop",
                "project_id": "1f2e", "user_name": null, "user_id": "8a4f"},
            "cpu": {"time_ns": 90_000_000_000u64, "utilisation_pct": 99.994,
                "vcpus": [{"id": 0, "state": "running", "utilisation_pct": 50.0,
                    "steal_pct": null}]},
            "memory": {"max_kib": 2_097_152, "current_kib": 2_097_152, "used_kib": 1_048_576,
                "balloon": null},
            "disks": [{"dev": "vda", "bus": "virtio", "device": "disk", "path": "/d/disk",
                "read_bytes_per_s": 50_002.2, "read_ops_per_s": 99_999.7,
                "write_bytes_per_s": null, "write_ops_per_s": null, "errors": 0,
                "allocation_bytes": 1_073_741_824u64, "capacity_bytes": 2_147_483_648u64,
                "fill_pct": 50.0}],
            "nics": [{"dev": "tap\u{1b}1", "mac": "fa:16:3e:5a:00:01", "model": "virtio",
                "type": "bridge", "source": "br-int", "rx_bytes_per_s": 99_999.7,
                "rx_packets_per_s": 9_998.5, "tx_bytes_per_s": 1.0, "tx_packets_per_s": 0.1,
                "rx_errors": 0, "tx_errors": 0, "rx_drop": 2, "tx_drop": 0}],
            "collect": {"sources": {"state": "bulk", "cpu": "per-domain"}, "interval_s": 10.02,
                "duration_ms": 0.098, "missing": [{"field": "nics[eth1]",
                "reason": "not supported by the driver"}], "control": null}});
        let text = render(&record);
        let expected = [
            "domain        instance-0000002a (running, reason booted), id 1",
            "uuid          6c0c",
            "sampled       2026-11-30T01:30:12.284Z on vm, cycle 2",
            "nova          web-1, flavor m1.small, project webshop (1f2e), user 8a4f",
            "cpu           1 vCPUs, 100.0 % (100 % is one host CPU), 1 min 30 s used in all",
            "  vcpu 0      running, 50.0 %, steal - %",
            "memory        1.0 GiB used of 2.0 GiB max (50.0 %), 2.0 GiB current",
            "disk vda      virtio disk /d/disk: read 0.05 MB/s 100000 ops/s, write - MB/s - \
             ops/s; 1.0 GiB allocated of 2.0 GiB (50.0 % full); 0 errors",
            "nic tap\\x1b1  fa:16:3e:5a:00:01 virtio bridge on br-int: rx 0.10 MB/s 9998 \
             packets/s, tx 0.00 MB/s 0 packets/s; errors rx 0 tx 0, drops rx 2 tx 0",
            "collection    took 0.1 ms, 10.02 s since the previous sample; cpu per-domain, \
             state bulk",
            "  missing     nics[eth1]: not supported by the driver",
        ];
        assert_eq!(text, expected.join("\n") + "\n");
    }
}
