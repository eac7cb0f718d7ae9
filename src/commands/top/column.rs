//! The table's columns: titles, widths, which fit a terminal, and how each orders
//! two rows.

use std::cmp::Ordering;

use super::model::Row;

/// The table's columns, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Name,
    State,
    Vcpus,
    Cpu,
    Steal,
    Memory,
    DiskRead,
    DiskWrite,
    Iops,
    NetRx,
    NetTx,
}

impl Column {
    pub const ALL: [Column; 11] = [
        Column::Name,
        Column::State,
        Column::Vcpus,
        Column::Cpu,
        Column::Steal,
        Column::Memory,
        Column::DiskRead,
        Column::DiskWrite,
        Column::Iops,
        Column::NetRx,
        Column::NetTx,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Column::Name => "NAME",
            Column::State => "STATE",
            Column::Vcpus => "VCPU",
            Column::Cpu => "CPU%",
            Column::Steal => "STL%",
            Column::Memory => "MEM USED/MAX",
            Column::DiskRead => "RD/s",
            Column::DiskWrite => "WR/s",
            Column::Iops => "IOPS R/W",
            Column::NetRx => "RX/s",
            Column::NetTx => "TX/s",
        }
    }

    /// The column's width in cells; `None` for the name, which takes what is left.
    pub fn width(self) -> Option<u16> {
        match self {
            Column::Name => None,
            Column::State => Some(7),
            Column::Vcpus => Some(4),
            Column::Cpu | Column::Steal => Some(5),
            Column::Memory => Some(12),
            Column::DiskRead | Column::DiskWrite | Column::NetRx | Column::NetTx => Some(5),
            Column::Iops => Some(9),
        }
    }

    /// The columns shown in a terminal `width` cells wide: steal only from 86, so
    /// that the name keeps 13 cells in 80.
    pub fn visible(width: u16) -> Vec<Column> {
        Column::ALL
            .into_iter()
            .filter(|c| *c != Column::Steal || width >= 86)
            .collect()
    }

    fn index(self) -> usize {
        Column::ALL.iter().position(|c| *c == self).unwrap_or(0)
    }

    /// The next column to the right (`forward`) or left, wrapping around.
    pub fn step(self, forward: bool) -> Column {
        let n = Column::ALL.len();
        let i = self.index();
        Column::ALL[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }

    /// Whether the first sort on this column puts the largest first (figures) or
    /// the smallest (text).
    pub fn largest_first(self) -> bool {
        !matches!(self, Column::Name | Column::State)
    }

    /// Orders two rows by this column; a missing figure sorts as the smallest.
    pub(super) fn compare(self, a: &Row, b: &Row) -> Ordering {
        let figure = |x: Option<f64>, y: Option<f64>| match (x, y) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (x, y) => x.is_some().cmp(&y.is_some()),
        };
        let add = |x: Option<f64>, y: Option<f64>| match (x, y) {
            (None, None) => None,
            (x, y) => Some(x.unwrap_or(0.0) + y.unwrap_or(0.0)),
        };
        let int = |v: Option<u64>| v.map(|v| v as f64);
        match self {
            Column::Name => a.name.cmp(&b.name),
            Column::State => a.state.as_str().cmp(b.state.as_str()),
            Column::Vcpus => a.vcpus.cmp(&b.vcpus),
            Column::Cpu => figure(a.cpu_pct, b.cpu_pct),
            Column::Steal => figure(a.steal_pct, b.steal_pct),
            Column::Memory => figure(int(a.mem_used_kib), int(b.mem_used_kib))
                .then(figure(int(a.mem_max_kib), int(b.mem_max_kib))),
            Column::DiskRead => figure(a.disk_read_bps, b.disk_read_bps),
            Column::DiskWrite => figure(a.disk_write_bps, b.disk_write_bps),
            Column::Iops => figure(
                add(a.disk_read_iops, a.disk_write_iops),
                add(b.disk_read_iops, b.disk_write_iops),
            ),
            Column::NetRx => figure(a.net_rx_bps, b.net_rx_bps),
            Column::NetTx => figure(a.net_tx_bps, b.net_tx_bps),
        }
    }
}
