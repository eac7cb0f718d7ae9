//! The fast writer's disks, NICs and job: the longest objects of a domain line.

use super::Writer;
use crate::record::{DiskRecord, JobRecord, NicRecord};

impl Writer<'_> {
    pub(super) fn disk(&mut self, d: &DiskRecord) {
        self.raw(b"{\"dev\":");
        self.opt_arc(&d.dev);
        self.raw(b",\"bus\":");
        self.opt_arc(&d.bus);
        self.raw(b",\"device\":");
        self.opt_arc(&d.device);
        self.raw(b",\"source_type\":");
        self.opt_arc(&d.source_type);
        self.raw(b",\"path\":");
        self.opt_arc(&d.path);
        let counters: [(&[u8], Option<u64>); 13] = [
            (b",\"read_requests\":", d.read_requests),
            (b",\"read_bytes\":", d.read_bytes),
            (b",\"write_requests\":", d.write_requests),
            (b",\"write_bytes\":", d.write_bytes),
            (b",\"errors\":", d.errors),
            (b",\"read_time_ns\":", d.read_time_ns),
            (b",\"write_time_ns\":", d.write_time_ns),
            (b",\"flush_requests\":", d.flush_requests),
            (b",\"flush_time_ns\":", d.flush_time_ns),
            (b",\"allocation_bytes\":", d.allocation_bytes),
            (b",\"capacity_bytes\":", d.capacity_bytes),
            (b",\"physical_bytes\":", d.physical_bytes),
            (b",\"threshold_bytes\":", d.threshold_bytes),
        ];
        for (key, value) in counters {
            self.raw(key);
            self.opt_u64(value);
        }
        let rates: [(&[u8], Option<f64>); 12] = [
            (b",\"read_bytes_per_s\":", d.read_bytes_per_s),
            (b",\"write_bytes_per_s\":", d.write_bytes_per_s),
            (b",\"read_ops_per_s\":", d.read_ops_per_s),
            (b",\"write_ops_per_s\":", d.write_ops_per_s),
            (b",\"flush_ops_per_s\":", d.flush_ops_per_s),
            (b",\"read_latency_ms\":", d.read_latency_ms),
            (b",\"write_latency_ms\":", d.write_latency_ms),
            (b",\"flush_latency_ms\":", d.flush_latency_ms),
            (b",\"fill_pct\":", d.fill_pct),
            (b",\"growth_bytes_per_s\":", d.growth_bytes_per_s),
            (b",\"full_in_s\":", d.full_in_s),
            (b",\"read_ms\":", d.read_ms),
        ];
        for (key, value) in rates {
            self.raw(key);
            self.opt_f64(value);
        }
        self.raw(b",\"error\":");
        self.opt_str(d.error.map(|e| e.as_str()));
        self.raw(b"}");
    }

    pub(super) fn job(&mut self, j: &JobRecord) {
        self.raw(b"{\"operation\":");
        self.str(j.operation.as_str());
        let counts: [(&[u8], Option<u64>); 5] = [
            (b",\"elapsed_ms\":", j.elapsed_ms),
            (b",\"remaining_ms\":", j.remaining_ms),
            (b",\"data_total_bytes\":", j.data_total_bytes),
            (b",\"data_processed_bytes\":", j.data_processed_bytes),
            (b",\"data_remaining_bytes\":", j.data_remaining_bytes),
        ];
        for (key, value) in counts {
            self.raw(key);
            self.opt_u64(value);
        }
        self.raw(b",\"progress_pct\":");
        self.opt_f64(j.progress_pct);
        let memory: [(&[u8], Option<u64>); 3] = [
            (b",\"memory_bytes_per_s\":", j.memory_bytes_per_s),
            (
                b",\"memory_dirty_rate_pages_per_s\":",
                j.memory_dirty_rate_pages_per_s,
            ),
            (b",\"memory_iteration\":", j.memory_iteration),
        ];
        for (key, value) in memory {
            self.raw(key);
            self.opt_u64(value);
        }
        self.raw(b"}");
    }

    pub(super) fn nic(&mut self, n: &NicRecord) {
        self.raw(b"{\"dev\":");
        self.opt_arc(&n.dev);
        self.raw(b",\"mac\":");
        self.opt_arc(&n.mac);
        self.raw(b",\"model\":");
        self.opt_arc(&n.model);
        self.raw(b",\"type\":");
        self.opt_arc(&n.kind);
        self.raw(b",\"source\":");
        self.opt_arc(&n.source);
        let counters: [(&[u8], Option<u64>); 8] = [
            (b",\"rx_bytes\":", n.rx_bytes),
            (b",\"rx_packets\":", n.rx_packets),
            (b",\"rx_errors\":", n.rx_errors),
            (b",\"rx_drop\":", n.rx_drop),
            (b",\"tx_bytes\":", n.tx_bytes),
            (b",\"tx_packets\":", n.tx_packets),
            (b",\"tx_errors\":", n.tx_errors),
            (b",\"tx_drop\":", n.tx_drop),
        ];
        for (key, value) in counters {
            self.raw(key);
            self.opt_u64(value);
        }
        let rates: [(&[u8], Option<f64>); 5] = [
            (b",\"rx_bytes_per_s\":", n.rx_bytes_per_s),
            (b",\"tx_bytes_per_s\":", n.tx_bytes_per_s),
            (b",\"rx_packets_per_s\":", n.rx_packets_per_s),
            (b",\"tx_packets_per_s\":", n.tx_packets_per_s),
            (b",\"read_ms\":", n.read_ms),
        ];
        for (key, value) in rates {
            self.raw(key);
            self.opt_f64(value);
        }
        self.raw(b"}");
    }
}
