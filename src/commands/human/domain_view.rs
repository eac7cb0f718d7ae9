//! One domain's record for a person (`query get NAME` on a terminal): grouped lines
//! for the identity, Nova, CPU and each vCPU, memory, each disk, each NIC and the
//! collection's health, with units (%, MiB and GiB, MB/s, ops/s). Figures the record
//! leaves null show as `-`; every text from the record is made printable.

use super::host_table::{megabytes, ops, percent};
use super::{duration, size};
use crate::escape::printable;
use crate::record::{
    CollectInfo, CpuStats, DiskError, DiskRecord, DomainRecord, GroupSources, GuestStats,
    JobRecord, MemoryStats, NicRecord, NovaInfo, Source, VcpuState,
};

/// The narrowest and widest the labels' column is.
const LABEL_WIDTH: std::ops::RangeInclusive<usize> = 10..=18;

/// The grouped view of a domain record.
pub fn render(record: &DomainRecord) -> String {
    let mut view = View::default();
    identity(&mut view, record);
    lifecycle(&mut view, record);
    if let Some(job) = &record.job {
        self::job(&mut view, job);
    }
    if let Some(nova) = &record.nova {
        self::nova(&mut view, nova);
    }
    cpu(&mut view, record.cpu.as_ref());
    memory(&mut view, &record.memory);
    for disk in &record.disks {
        self::disk(&mut view, disk);
    }
    for nic in &record.nics {
        self::nic(&mut view, nic);
    }
    collection(&mut view, &record.collect);
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

fn text(value: Option<&str>) -> String {
    value.unwrap_or("-").to_string()
}

fn figure(value: Option<f64>, form: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| "-".into(), form)
}

fn count(value: Option<u64>) -> String {
    value.map_or_else(|| "-".into(), |n| n.to_string())
}

fn kib(value: Option<u64>) -> String {
    value.map_or_else(|| "-".into(), |k| size(k.saturating_mul(1024)))
}

fn bytes(value: Option<u64>) -> String {
    value.map_or_else(|| "-".into(), size)
}

fn identity(view: &mut View, record: &DomainRecord) {
    let domain = &record.domain;
    let id = domain
        .id
        .map_or_else(|| "not running".into(), |id| format!("id {id}"));
    view.line(
        "domain",
        &format!(
            "{} ({}, reason {}), {id}",
            domain.name, domain.state, domain.reason
        ),
    );
    view.line("uuid", &domain.uuid);
    view.line(
        "sampled",
        &format!("{} on {}, cycle {}", record.ts, record.host, record.seq),
    );
}

/// The lifecycle events the agent counted, when there were any.
fn lifecycle(view: &mut View, record: &DomainRecord) {
    let transitions = record.domain.transitions.flatten().unwrap_or(0);
    let crashes = record.domain.crashes.flatten().unwrap_or(0);
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

/// The job in progress (`virsh domjobinfo`).
fn job(view: &mut View, job: &JobRecord) {
    let ms = |ms: Option<u64>| figure(ms.map(|ms| ms as f64), |ms| duration(ms / 1000.0));
    view.line(
        "job",
        &format!(
            "{}: {} % done, {} of {} ({} left); {} elapsed, {} to go",
            job.operation,
            figure(job.progress_pct, percent),
            bytes(job.data_processed_bytes),
            bytes(job.data_total_bytes),
            bytes(job.data_remaining_bytes),
            ms(job.elapsed_ms),
            ms(job.remaining_ms)
        ),
    );
    if job.memory_iteration.is_some() || job.memory_bytes_per_s.is_some() {
        view.line(
            "  memory",
            &format!(
                "{} MB/s, {} pages/s dirtied, pass {}",
                figure(job.memory_bytes_per_s.map(|b| b as f64), megabytes),
                count(job.memory_dirty_rate_pages_per_s),
                count(job.memory_iteration)
            ),
        );
    }
}

fn nova(view: &mut View, nova: &NovaInfo) {
    let named = |name: &Option<String>, id: &Option<String>| match (name, id) {
        (Some(name), Some(id)) => format!("{name} ({id})"),
        (name, id) => text(name.as_deref().or(id.as_deref())),
    };
    view.line(
        "nova",
        &format!(
            "{}, flavor {}, project {}, user {}",
            text(nova.instance.as_deref()),
            text(nova.flavor.as_deref()),
            named(&nova.project_name, &nova.project_id),
            named(&nova.user_name, &nova.user_id)
        ),
    );
}

fn cpu(view: &mut View, cpu: Option<&CpuStats>) {
    let vcpus = cpu.map_or(&[][..], |c| c.vcpus.as_slice());
    view.line(
        "cpu",
        &format!(
            "{} vCPUs, {} % (100 % is one host CPU), {} used in all{}",
            vcpus.len(),
            figure(cpu.and_then(|c| c.utilisation_pct), percent),
            figure(cpu.and_then(|c| c.time_ns).map(|ns| ns as f64), |ns| {
                duration(ns / 1e9)
            }),
            cpu.and_then(|c| c.overhead_pct)
                .map(|o| format!(", {} % outside the vCPUs", percent(o)))
                .unwrap_or_default()
        ),
    );
    for vcpu in vcpus {
        view.line(
            &format!("  vcpu {}", vcpu.id),
            &format!(
                "{}, {} %, steal {} %",
                text(vcpu.state.map(VcpuState::as_str)),
                figure(vcpu.utilisation_pct, percent),
                figure(vcpu.steal_pct, percent)
            ),
        );
    }
}

fn memory(view: &mut View, memory: &MemoryStats) {
    let share = match (memory.used_kib, memory.max_kib) {
        (Some(used), Some(max)) if max > 0 => {
            format!(" ({} %)", percent(100.0 * used as f64 / max as f64))
        }
        _ => String::new(),
    };
    view.line(
        "memory",
        &format!(
            "{} used of {} max{share}, {} current",
            kib(memory.used_kib),
            kib(memory.max_kib),
            kib(memory.current_kib)
        ),
    );
    let Some(balloon) = &memory.balloon else {
        return;
    };
    view.line(
        "  balloon",
        &format!(
            "{} actual, {} unused, {} usable, {} rss, {} caches; swap in {} out {}; \
             {} major faults",
            kib(balloon.actual_kib),
            kib(balloon.unused_kib),
            kib(balloon.usable_kib),
            kib(balloon.rss_kib),
            kib(balloon.disk_caches_kib),
            kib(balloon.swap_in_kib),
            kib(balloon.swap_out_kib),
            count(balloon.major_faults)
        ),
    );
    match balloon.guest_stats {
        Some(GuestStats::Off) => view.line(
            "  guest stats",
            "off: no statistics period set (virsh dommemstat --period)",
        ),
        Some(GuestStats::Stale) => {
            view.line("  guest stats", "stale: the guest stopped updating them")
        }
        _ => {}
    }
}

/// `X MB/s Y ops/s` style throughput of a device.
fn throughput(bytes_per_s: Option<f64>, ops_per_s: Option<f64>, per: &str) -> String {
    format!(
        "{} MB/s {} {per}",
        figure(bytes_per_s, megabytes),
        figure(ops_per_s, ops)
    )
}

fn disk(view: &mut View, disk: &DiskRecord) {
    let fill = match disk.capacity_bytes {
        Some(capacity) => format!(
            "; {} allocated of {} ({} % full)",
            bytes(disk.allocation_bytes),
            bytes(Some(capacity)),
            figure(disk.fill_pct, percent)
        ),
        None => String::new(),
    };
    view.line(
        &format!("disk {}", text(disk.dev.as_deref())),
        &format!(
            "{} {} {}: read {}, write {}{fill}; {} errors",
            text(disk.bus.as_deref()),
            text(disk.device.as_deref()),
            disk.path.as_deref().unwrap_or("(no media)"),
            throughput(disk.read_bytes_per_s, disk.read_ops_per_s, "ops/s"),
            throughput(disk.write_bytes_per_s, disk.write_ops_per_s, "ops/s"),
            count(disk.errors)
        ),
    );
    if let Some(error) = disk.error {
        let meaning = match error {
            DiskError::NoSpace => "no space left where the image lives",
            DiskError::Unspecified => "an I/O error",
        };
        view.line(
            "  error",
            &format!("{error}: {meaning} (virsh domblkerror)"),
        );
    }
}

fn nic(view: &mut View, nic: &NicRecord) {
    view.line(
        &format!("nic {}", text(nic.dev.as_deref())),
        &format!(
            "{} {} {} on {}: rx {}, tx {}; errors rx {} tx {}, drops rx {} tx {}",
            text(nic.mac.as_deref()),
            text(nic.model.as_deref()),
            text(nic.kind.as_deref()),
            text(nic.source.as_deref()),
            throughput(nic.rx_bytes_per_s, nic.rx_packets_per_s, "packets/s"),
            throughput(nic.tx_bytes_per_s, nic.tx_packets_per_s, "packets/s"),
            count(nic.rx_errors),
            count(nic.tx_errors),
            count(nic.rx_drop),
            count(nic.tx_drop)
        ),
    );
}

/// Each group and how it was filled, by the group's name (the opt-in groups when
/// chosen), as the record's `collect.sources` names them.
fn sources(s: &GroupSources) -> String {
    let groups = [
        ("balloon", Some(s.balloon)),
        ("bandwidth_monitors", s.bandwidth_monitors),
        ("cpu", Some(s.cpu)),
        ("dirtyrate", s.dirtyrate),
        ("disks", Some(s.disks)),
        ("iothreads", s.iothreads),
        ("kvm", s.kvm),
        ("nics", Some(s.nics)),
        ("perf", s.perf),
        ("state", Some(s.state)),
        ("vcpus", Some(s.vcpus)),
    ];
    let word = |source| match source {
        Source::Bulk => "bulk",
        Source::PerDomain => "per-domain",
        Source::None => "none",
        Source::Unsupported => "unsupported",
    };
    groups
        .into_iter()
        .filter_map(|(group, source)| Some(format!("{group} {}", word(source?))))
        .collect::<Vec<_>>()
        .join(", ")
}

fn collection(view: &mut View, collect: &CollectInfo) {
    view.line(
        "collection",
        &format!(
            "took {:.1} ms, {} since the previous sample; {}",
            collect.duration_ms,
            figure(collect.interval_s, |s| format!("{s:.2} s")),
            sources(&collect.sources)
        ),
    );
    if collect.missing.is_empty() {
        view.line("  missing", "nothing: every field was read");
    }
    for entry in &collect.missing {
        view.line("  missing", &format!("{}: {}", entry.field, entry.reason));
    }
    if let Some(control) = &collect.control {
        view.line(
            "  monitor",
            &format!(
                "{} for {}{}",
                control.state,
                duration(control.since_ms as f64 / 1000.0),
                control
                    .reason
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
        );
    }
}

#[cfg(test)]
mod tests;
