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
    lifecycle(&mut view, &record["domain"]);
    job(&mut view, &record["job"]);
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

/// The lifecycle events the agent counted, when there were any.
fn lifecycle(view: &mut View, domain: &Value) {
    let transitions = domain["transitions"].as_u64().unwrap_or(0);
    let crashes = domain["crashes"].as_u64().unwrap_or(0);
    if transitions == 0 && crashes == 0 {
        return;
    }
    view.line(
        "lifecycle",
        &format!(
            "{transitions} state changes since the previous cycle, {crashes} crashes since \
             the agent started"
        ),
    );
}

/// The job in progress (`virsh domjobinfo`), when there is one.
fn job(view: &mut View, job: &Value) {
    if !job.is_object() {
        return;
    }
    let ms = |key: &str| figure(&job[key], |ms| duration(ms / 1000.0));
    view.line(
        "job",
        &format!(
            "{}: {} % done, {} of {} ({} left); {} elapsed, {} to go",
            text(&job["operation"]),
            figure(&job["progress_pct"], percent),
            bytes(&job["data_processed_bytes"]),
            bytes(&job["data_total_bytes"]),
            bytes(&job["data_remaining_bytes"]),
            ms("elapsed_ms"),
            ms("remaining_ms")
        ),
    );
    if job["memory_iteration"].is_u64() || job["memory_bytes_per_s"].is_u64() {
        let count = |key: &str| {
            job[key]
                .as_u64()
                .map_or_else(|| "-".into(), |n| n.to_string())
        };
        view.line(
            "  memory",
            &format!(
                "{} MB/s, {} pages/s dirtied, pass {}",
                figure(&job["memory_bytes_per_s"], megabytes),
                count("memory_dirty_rate_pages_per_s"),
                count("memory_iteration")
            ),
        );
    }
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
            "{vcpus} vCPUs, {} % (100 % is one host CPU), {} used in all{}",
            figure(&cpu["utilisation_pct"], percent),
            figure(&cpu["time_ns"], |ns| duration(ns / 1e9)),
            cpu["overhead_pct"]
                .as_f64()
                .map(|o| format!(", {} % outside the vCPUs", percent(o)))
                .unwrap_or_default()
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
        match balloon["guest_stats"].as_str() {
            Some("off") => view.line(
                "  guest stats",
                "off: no statistics period set (virsh dommemstat --period)",
            ),
            Some("stale") => view.line("  guest stats", "stale: the guest stopped updating them"),
            _ => {}
        }
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
    if let Some(error) = disk["error"].as_str() {
        let meaning = match error {
            "no_space" => "no space left where the image lives",
            _ => "an I/O error",
        };
        view.line(
            "  error",
            &format!("{error}: {meaning} (virsh domblkerror)"),
        );
    }
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
mod tests;
