//! What `virtdiag top` shows, without a terminal: one row per domain record, the
//! header of the latest cycle, the sort order and the name filter, and the compact
//! units of each cell. Pure, so every rule here is unit-tested.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

use crate::collect::filter::Glob;
use crate::escape::printable;
use crate::query::protocol::Status;
use crate::record::{CycleRecord, DomainRecord, DomainState};

pub use super::column::Column;

/// One domain, as a row: the figures of its latest record, rates summed over devices.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub name: String,
    /// Nova's display name, when the domain has Nova metadata.
    pub display: Option<String>,
    pub state: DomainState,
    pub vcpus: Option<u64>,
    pub cpu_pct: Option<f64>,
    /// The mean of the vCPUs' steal %, over those that have one.
    pub steal_pct: Option<f64>,
    pub mem_used_kib: Option<u64>,
    pub mem_max_kib: Option<u64>,
    pub disk_read_bps: Option<f64>,
    pub disk_write_bps: Option<f64>,
    pub disk_read_iops: Option<f64>,
    pub disk_write_iops: Option<f64>,
    pub net_rx_bps: Option<f64>,
    pub net_tx_bps: Option<f64>,
    /// What marks the row, shown in place of its state (`super::verdict`).
    pub verdict: Option<String>,
}

impl Row {
    /// The row of one domain record.
    pub fn from_domain(record: &DomainRecord) -> Row {
        let vcpus = record.cpu.as_ref().map_or(&[][..], |c| c.vcpus.as_slice());
        let steals = || vcpus.iter().filter_map(|v| v.steal_pct);
        let steal_pct = sum(steals()).map(|total| total / steals().count().max(1) as f64);
        let disks = &record.disks;
        let nics = &record.nics;
        Row {
            name: record.domain.name.to_string(),
            display: record.nova.as_ref().and_then(|n| n.instance.clone()),
            state: record.domain.state,
            vcpus: (!vcpus.is_empty()).then_some(vcpus.len() as u64),
            cpu_pct: record.cpu.as_ref().and_then(|c| c.utilisation_pct),
            steal_pct,
            mem_used_kib: record.memory.used_kib,
            mem_max_kib: record.memory.max_kib,
            disk_read_bps: sum(disks.iter().filter_map(|d| d.read_bytes_per_s)),
            disk_write_bps: sum(disks.iter().filter_map(|d| d.write_bytes_per_s)),
            disk_read_iops: sum(disks.iter().filter_map(|d| d.read_ops_per_s)),
            disk_write_iops: sum(disks.iter().filter_map(|d| d.write_ops_per_s)),
            net_rx_bps: sum(nics.iter().filter_map(|n| n.rx_bytes_per_s)),
            net_tx_bps: sum(nics.iter().filter_map(|n| n.tx_bytes_per_s)),
            verdict: super::verdict::verdict(record, steal_pct),
        }
    }

    /// The row of an answered line that is a domain record; `None` for any other line
    /// (and for a record this client cannot read).
    pub fn from_record(line: &Value) -> Option<Row> {
        let record = DomainRecord::deserialize(line).ok()?;
        Some(Row::from_domain(&record))
    }

    /// The cells, in [`Column::ALL`] order, as the table prints them.
    pub fn cells(&self) -> [String; 11] {
        let rate = |v: Option<f64>| v.map_or_else(dash, |v| bytes(v.max(0.0)));
        let ops = |v: Option<f64>| v.map_or_else(dash, count);
        let iops = match (self.disk_read_iops, self.disk_write_iops) {
            (None, None) => dash(),
            (r, w) => format!("{}/{}", ops(r), ops(w)),
        };
        let mem = match (self.mem_used_kib, self.mem_max_kib) {
            (None, None) => dash(),
            (u, m) => format!(
                "{}/{}",
                u.map_or_else(dash, |u| bytes(u as f64 * 1024.0)),
                m.map_or_else(dash, |m| bytes(m as f64 * 1024.0))
            ),
        };
        [
            printable(&self.name),
            printable(self.verdict.as_deref().unwrap_or(self.state.as_str())),
            self.vcpus.map_or_else(dash, |v| v.to_string()),
            self.cpu_pct.map_or_else(dash, |v| format!("{v:.1}")),
            self.steal_pct.map_or_else(dash, |v| format!("{v:.1}")),
            mem,
            rate(self.disk_read_bps),
            rate(self.disk_write_bps),
            iops,
            rate(self.net_rx_bps),
            rate(self.net_tx_bps),
        ]
    }
}

/// The sum of `values`, `None` when there is none.
fn sum(values: impl Iterator<Item = f64>) -> Option<f64> {
    values.fold(None, |acc, v| Some(acc.unwrap_or(0.0) + v))
}

fn dash() -> String {
    "-".into()
}

/// Bytes in at most five characters, powers of 1024: `512`, `1.5K`, `12K`, `3.4M`, `1.0G`.
pub fn bytes(value: f64) -> String {
    const UNITS: [&str; 5] = ["", "K", "M", "G", "T"];
    let mut value = value;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{value:.0}"),
        _ if value < 10.0 => format!("{value:.1}{}", UNITS[unit]),
        _ => format!("{value:.0}{}", UNITS[unit]),
    }
}

/// An operation rate in at most four characters: `0`, `12`, `999`, `1.2k`, `15k`.
pub fn count(value: f64) -> String {
    let value = value.max(0.0);
    if value < 999.5 {
        format!("{value:.0}")
    } else if value < 9950.0 {
        format!("{:.1}k", value / 1000.0)
    } else {
        format!("{:.0}k", value / 1000.0)
    }
}

/// The latest cycle as the header shows it.
#[derive(Debug, Clone, Default)]
pub struct Cycle {
    pub host: Option<String>,
    pub seq: Option<u64>,
    pub connected: Option<bool>,
    pub error: Option<String>,
    pub duration_ms: Option<f64>,
    /// When the cycle started, on this process's clock (from its age when received).
    pub started: Option<Instant>,
    /// The host line (`super::verdict::host_line`), from the latest cycle line.
    pub node: Option<String>,
}

impl Cycle {
    /// The header's facts from a cycle line received at `now`.
    pub fn from_cycle(line: &CycleRecord, now: Instant) -> Cycle {
        Cycle {
            host: Some(line.host.to_string()),
            seq: Some(line.seq),
            connected: Some(line.connected),
            error: line.error.clone(),
            duration_ms: Some(line.duration_ms),
            // The cycle line is sent when the cycle ends: it started its duration ago.
            started: Duration::try_from_secs_f64(line.duration_ms / 1000.0)
                .ok()
                .and_then(|ago| now.checked_sub(ago)),
            node: line.node.as_ref().map(super::verdict::host_line),
        }
    }

    /// The header's facts from an answered cycle line received at `now`; nothing
    /// known from a line this client cannot read.
    pub fn from_cycle_line(line: &Value, now: Instant) -> Cycle {
        CycleRecord::deserialize(line)
            .map(|cycle| Cycle::from_cycle(&cycle, now))
            .unwrap_or_default()
    }

    /// The header's facts from a `status` answer received at `now`.
    pub fn from_status(status: &Status, now: Instant) -> Cycle {
        let last = status.last_cycle.as_ref();
        Cycle {
            host: None,
            seq: last.map(|l| l.seq),
            connected: Some(status.connected),
            error: status
                .disconnect_reason
                .clone()
                .or_else(|| last.and_then(|l| l.error.clone())),
            duration_ms: last.map(|l| l.duration_ms),
            started: last.and_then(|l| {
                let age = l.age_s.max(0.0) + l.duration_ms / 1000.0;
                now.checked_sub(Duration::from_secs_f64(age))
            }),
            node: None,
        }
    }
}

/// Everything the screen shows, and the operator's choices.
#[derive(Debug, Clone)]
pub struct View {
    pub rows: Vec<Row>,
    pub cycle: Cycle,
    pub sort: Column,
    pub descending: bool,
    pub filter: Option<String>,
    /// Why the agent's socket does not answer, while it does not.
    pub feed_error: Option<String>,
}

impl Default for View {
    fn default() -> Self {
        View {
            rows: Vec::new(),
            cycle: Cycle::default(),
            sort: Column::Cpu,
            descending: true,
            filter: None,
            feed_error: None,
        }
    }
}

impl View {
    /// Sorts by `column`; choosing the current column again reverses the order.
    pub fn sort_by(&mut self, column: Column) {
        if self.sort == column {
            self.descending = !self.descending;
        } else {
            self.sort = column;
            self.descending = column.largest_first();
        }
    }

    /// An empty pattern clears the filter.
    pub fn set_filter(&mut self, pattern: &str) {
        let pattern = pattern.trim();
        self.filter = (!pattern.is_empty()).then(|| pattern.to_string());
    }

    /// The rows the filter lets through (a glob on the name or the Nova display
    /// name), sorted; ties keep name order.
    pub fn visible(&self) -> Vec<&Row> {
        // Compiled once per call; a pattern past the length limit shows nothing.
        let glob = self.filter.as_deref().map(Glob::compile);
        let mut rows: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| match &glob {
                None => true,
                Some(Err(_)) => false,
                Some(Ok(glob)) => {
                    glob.matches(&r.name) || r.display.as_deref().is_some_and(|d| glob.matches(d))
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            let order = self.sort.compare(a, b);
            let order = if self.descending {
                order.reverse()
            } else {
                order
            };
            order.then_with(|| a.name.cmp(&b.name))
        });
        rows
    }

    /// The header's second line: the host around the guests, once a cycle line said.
    pub fn host_line(&self) -> String {
        let line = self
            .cycle
            .node
            .as_deref()
            .unwrap_or("host totals at the next cycle");
        printable(line)
    }

    /// The header's first line: host, cycle, its age and duration, libvirt.
    pub fn header(&self, now: Instant) -> String {
        let c = &self.cycle;
        let host = c.host.as_deref().unwrap_or("-");
        let cycle = match (c.seq, c.started) {
            (Some(seq), Some(started)) => format!(
                "cycle {seq}: {:.0} s ago, {}",
                now.saturating_duration_since(started).as_secs_f64().floor(),
                c.duration_ms.map_or_else(dash, |ms| format!("{ms:.0} ms"))
            ),
            _ => "no cycle yet".into(),
        };
        let libvirt = match (c.connected, &c.error) {
            (Some(true), _) => "libvirt connected".to_string(),
            (Some(false), Some(e)) => format!("libvirt DISCONNECTED: {e}"),
            (Some(false), None) => "libvirt DISCONNECTED".to_string(),
            (None, _) => "libvirt ?".to_string(),
        };
        let running = self
            .rows
            .iter()
            .filter(|r| r.state == DomainState::Running)
            .count();
        format!(
            "{host}  {cycle}  {libvirt}  {} domains, {running} running",
            self.rows.len()
        )
    }
}

#[cfg(test)]
mod tests;
