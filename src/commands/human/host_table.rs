//! The domains of a host as one table for a person (`query all`, `collect` and
//! `watch` on a terminal, `once`): state, vCPUs and the figures of each record with
//! their units: CPU in % (100 is one host CPU), memory in MiB, disk and network
//! throughput in MB/s (10^6 bytes per second), disk operations in ops/s. The figures
//! are those `top` shows, from the same [`Row`].

use super::columns;
use crate::commands::top::model::Row;
use crate::escape::printable;
use crate::record::DomainState;

/// The table of these domains' rows (each from its record, [`Row::from_domain`]),
/// then a line with the count and `footer`.
pub fn render(rows: &[Row], footer: &str) -> String {
    let with_nova = rows.iter().any(|row| row.display.is_some());
    let mut titles = vec!["NAME"];
    if with_nova {
        titles.push("NOVA NAME");
    }
    titles.extend([
        "STATE",
        "VCPUS",
        "CPU %",
        "MEM MiB USED/MAX",
        "DISK MB/s RD/WR",
        "DISK ops/s RD/WR",
        "NET MB/s RX/TX",
    ]);
    let first_figure = titles.len() - 6;
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let mut cells = vec![printable(&row.name)];
            if with_nova {
                cells.push(row.display.as_deref().map_or_else(dash, printable));
            }
            cells.extend([
                printable(row.state.as_str()),
                row.vcpus.map_or_else(dash, |v| v.to_string()),
                row.cpu_pct.map_or_else(dash, percent),
                pair(
                    row.mem_used_kib.map(|k| k as f64),
                    row.mem_max_kib.map(|k| k as f64),
                    |kib| format!("{:.0}", kib / 1024.0),
                ),
                pair(row.disk_read_bps, row.disk_write_bps, megabytes),
                pair(row.disk_read_iops, row.disk_write_iops, ops),
                pair(row.net_rx_bps, row.net_tx_bps, megabytes),
            ]);
            cells
        })
        .collect();
    let right: Vec<usize> = (first_figure..titles.len()).collect();
    let mut out = columns(&titles, &cells, &right);
    let running = rows
        .iter()
        .filter(|row| row.state == DomainState::Running)
        .count();
    out.push_str(&format!(
        "{} domains, {running} running{footer}\n",
        rows.len()
    ));
    out
}

fn dash() -> String {
    "-".into()
}

/// `a/b` in `unit`'s form; `-` for a side not known, `-` alone when neither is.
fn pair(a: Option<f64>, b: Option<f64>, unit: impl Fn(f64) -> String) -> String {
    match (a, b) {
        (None, None) => dash(),
        (a, b) => format!(
            "{}/{}",
            a.map_or_else(dash, &unit),
            b.map_or_else(dash, &unit)
        ),
    }
}

/// A percentage with one decimal: `99.9`.
pub fn percent(value: f64) -> String {
    format!("{value:.1}")
}

/// Bytes per second in MB/s, three significant digits down to 0.01: `0.05`, `12.3`,
/// `456`.
pub fn megabytes(bytes_per_s: f64) -> String {
    let mb = bytes_per_s.max(0.0) / 1e6;
    if mb < 10.0 {
        format!("{mb:.2}")
    } else if mb < 100.0 {
        format!("{mb:.1}")
    } else {
        format!("{mb:.0}")
    }
}

/// Operations per second, whole: `33333`.
pub fn ops(per_s: f64) -> String {
    format!("{:.0}", per_s.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::DomainRecord;
    use crate::views::fixture;

    fn rows(records: &[DomainRecord]) -> Vec<Row> {
        records.iter().map(Row::from_domain).collect()
    }

    fn record(name: &str, state: &str, display: Option<&str>) -> DomainRecord {
        let mut record = fixture::record(name, "u");
        record.domain.state = DomainState::from_name(state).unwrap();
        let nova = std::sync::Arc::make_mut(record.nova.as_mut().unwrap());
        nova.instance = display.map(str::to_string);
        let cpu = record.cpu.as_mut().unwrap();
        cpu.utilisation_pct = Some(99.994);
        cpu.vcpus.truncate(2);
        record.memory.used_kib = Some(1_048_576);
        record.memory.max_kib = Some(2_097_152);
        let rates = [
            (
                Some(50_002.2),
                Some(25_001.1),
                Some(99_999.7),
                Some(33_333.2),
            ),
            (Some(49_997.8), None, Some(0.3), None),
        ];
        fixture::with_rates(record, &rates, 12_345_678.0, 234_567_890.0)
    }

    #[test]
    fn a_row_per_domain_with_units_and_state() {
        let mut idle = record("spare\u{1b}[2J", "shutoff", None);
        idle.cpu = None;
        idle.memory.used_kib = None;
        idle.memory.max_kib = Some(524_288);
        idle.disks.clear();
        idle.nics.clear();
        let text = render(&rows(&[record("web", "running", None), idle]), ", cycle 7");
        let expected = [
            "NAME          STATE    VCPUS  CPU %  MEM MiB USED/MAX  DISK MB/s RD/WR  DISK ops/s RD/WR  NET MB/s RX/TX",
            "web           running      2  100.0         1024/2048        0.10/0.03      100000/33333        12.3/235",
            "spare\\x1b[2J  shutoff      -      -             -/512                -                 -               -",
            "2 domains, 1 running, cycle 7",
        ];
        assert_eq!(text, expected.join("\n") + "\n");
    }

    #[test]
    fn the_nova_name_column_only_when_a_domain_has_one() {
        let text = render(
            &rows(&[
                record("instance-0000002a", "running", Some("web-1")),
                record("plain", "paused", None),
            ]),
            "",
        );
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("NAME               NOVA NAME  STATE"),
            "{text}"
        );
        assert!(
            lines[1].starts_with("instance-0000002a  web-1      running"),
            "{text}"
        );
        assert!(
            lines[2].starts_with("plain              -          paused"),
            "{text}"
        );
        assert_eq!(lines[3], "2 domains, 1 running");
    }
}
