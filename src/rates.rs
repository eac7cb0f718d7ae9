//! Rates between two samples of a counter, over measured time. Pure.
//!
//! A rate needs both samples, a positive elapsed time and a counter that did not go
//! backwards; otherwise there is no rate for that sample (a reboot, a migration or a
//! swapped device resets counters), never a negative or absurd one.
//!
//! Each value is read at its own moment (the bulk call's return, or its per-domain
//! call's), written as `read_ms` after the record's `ts`: the interval of a rate is the
//! time between its two reads ([`between_reads`]), the same whether the previous sample
//! is in memory or read back from the spool after a restart.
//!
//! No rate above its physical bound is written ([`within`]): CPU utilisation at most
//! 100 % × vCPUs (100 % per vCPU, and for steal), bytes at most [`MAX_BYTES_PER_S`],
//! requests and packets at most [`MAX_EVENTS_PER_S`]. A reading up to [`JITTER`] over
//! its bound is the bound (a counter read a little before its stamp, over a short
//! interval); further above, there is no reading: counters from another host, another
//! boot or a corrupt baseline. Rates are never negative (growth excepted, which says
//! which way it went), never infinite, never NaN.

use std::time::{Duration, Instant};

/// Below this, elapsed time is treated as zero: a rate over it is noise.
const MIN_ELAPSED: Duration = Duration::from_millis(1);

/// How far over its bound a reading may be and still count, as the bound.
pub const JITTER: f64 = 1.05;

/// vCPUs a domain may have (QEMU's limit), when its own count is unknown.
pub const MAX_VCPUS: usize = 4096;

/// Bytes per second of one disk or NIC, at most: 1 TiB/s, beyond the memory bandwidth
/// of any host, which every byte a guest moves crosses. Not a link speed: a sanity
/// bound that catches counters that do not belong together.
pub const MAX_BYTES_PER_S: f64 = (1u64 << 40) as f64;

/// Requests or packets per second of one disk or NIC, at most (2^32), likewise.
pub const MAX_EVENTS_PER_S: f64 = (1u64 << 32) as f64;

/// A rate within `[0, bound]`: as it is; up to [`JITTER`] × bound: the bound;
/// otherwise (above, negative, not finite) none.
pub fn within(value: Option<f64>, bound: f64) -> Option<f64> {
    let value = value.filter(|v| v.is_finite() && *v >= 0.0)?;
    if value <= bound {
        Some(value)
    } else if value <= bound * JITTER {
        Some(bound)
    } else {
        None
    }
}

/// The time between two reads of a value: `since` from the first sample's `ts` to the
/// second's, plus how much later after its `ts` the second read was (`read_ms`). None
/// without both read times, or when it is not a positive, representable time.
pub fn between_reads(
    since: Duration,
    previous_ms: Option<f64>,
    current_ms: Option<f64>,
) -> Option<Duration> {
    let secs = since.as_secs_f64() + (current_ms? - previous_ms?) / 1000.0;
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
}

/// Milliseconds from `base` (the instant of a record's `ts`) to `at`, to the microsecond.
pub fn ms_after(base: Instant, at: Option<Instant>) -> Option<f64> {
    Some(round3(
        at?.saturating_duration_since(base).as_secs_f64() * 1000.0,
    ))
}

/// Per-second rate of a counter between two samples.
pub fn per_second(previous: Option<u64>, current: Option<u64>, elapsed: Duration) -> Option<f64> {
    let (previous, current) = (previous?, current?);
    if elapsed < MIN_ELAPSED || current < previous {
        return None;
    }
    Some((current - previous) as f64 / elapsed.as_secs_f64())
}

/// CPU utilisation in percent of one host CPU, from CPU time in nanoseconds:
/// 100 * delta_cpu_ns / delta_t_ns (the seed's formula, over measured time).
pub fn utilisation_pct(
    previous_ns: Option<u64>,
    current_ns: Option<u64>,
    elapsed: Duration,
) -> Option<f64> {
    per_second(previous_ns, current_ns, elapsed).map(|ns_per_s| ns_per_s / 1e7)
}

/// Average time per request over the interval, in ms: Δtime_ns / Δrequests / 10^6.
/// None when no request completed, or a counter went backwards.
pub fn latency_ms(
    previous_ns: Option<u64>,
    current_ns: Option<u64>,
    previous_requests: Option<u64>,
    current_requests: Option<u64>,
) -> Option<f64> {
    let time = current_ns?.checked_sub(previous_ns?)?;
    let requests = current_requests?.checked_sub(previous_requests?)?;
    (requests > 0).then(|| time as f64 / requests as f64 / 1e6)
}

/// How a gauge moved per second over the interval; negative when it shrank (a thin
/// image trimmed by the guest).
pub fn change_per_second(
    previous: Option<u64>,
    current: Option<u64>,
    elapsed: Duration,
) -> Option<f64> {
    if elapsed < MIN_ELAPSED {
        return None;
    }
    Some((current? as f64 - previous? as f64) / elapsed.as_secs_f64())
}

/// 100 × allocation / capacity.
pub fn fill_pct(allocation: Option<u64>, capacity: Option<u64>) -> Option<f64> {
    let capacity = capacity.filter(|&c| c > 0)?;
    Some(100.0 * allocation? as f64 / capacity as f64)
}

/// Seconds until the allocation reaches the capacity at the present growth; None when
/// it is not growing.
pub fn full_in_s(
    allocation: Option<u64>,
    capacity: Option<u64>,
    growth: Option<f64>,
) -> Option<f64> {
    let growth = growth.filter(|&g| g > 0.0)?;
    let room = capacity?.saturating_sub(allocation?);
    Some(room as f64 / growth)
}

/// Rounds to 3 decimals so records stay short and stable to compare.
pub fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    #[test]
    fn latency_fill_and_time_to_full() {
        use super::*;
        assert_eq!(
            latency_ms(Some(0), Some(6_000_000), Some(10), Some(13)),
            Some(2.0)
        );
        assert_eq!(
            latency_ms(Some(0), Some(5), Some(10), Some(10)),
            None,
            "no request"
        );
        assert_eq!(
            latency_ms(Some(9), Some(5), Some(1), Some(2)),
            None,
            "went backwards"
        );
        assert_eq!(fill_pct(Some(25), Some(100)), Some(25.0));
        assert_eq!(fill_pct(Some(25), Some(0)), None);
        let second = Duration::from_secs(1);
        assert_eq!(change_per_second(Some(100), Some(40), second), Some(-60.0));
        assert_eq!(full_in_s(Some(40), Some(100), Some(20.0)), Some(3.0));
        assert_eq!(full_in_s(Some(40), Some(100), Some(-1.0)), None);
        assert_eq!(full_in_s(Some(40), Some(100), None), None);
    }

    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn plain_rate() {
        assert_eq!(per_second(Some(100), Some(1100), SECOND * 2), Some(500.0));
        assert_eq!(per_second(Some(5), Some(5), SECOND), Some(0.0));
    }

    #[test]
    fn no_rate_without_both_samples() {
        assert_eq!(per_second(None, Some(1), SECOND), None);
        assert_eq!(per_second(Some(1), None, SECOND), None);
    }

    #[test]
    fn a_counter_reset_gives_no_rate() {
        assert_eq!(per_second(Some(1_000_000), Some(10), SECOND), None);
        assert_eq!(utilisation_pct(Some(5_000_000_000), Some(1), SECOND), None);
    }

    #[test]
    fn zero_elapsed_time_gives_no_rate() {
        assert_eq!(per_second(Some(1), Some(2), Duration::ZERO), None);
        assert_eq!(
            per_second(Some(1), Some(2), Duration::from_micros(999)),
            None
        );
    }

    #[test]
    fn huge_gaps_and_huge_counters_stay_finite() {
        let day = Duration::from_secs(86_400);
        assert_eq!(per_second(Some(0), Some(86_400), day), Some(1.0));
        let r = per_second(Some(0), Some(u64::MAX), Duration::from_millis(1)).unwrap();
        assert!(r.is_finite() && r > 0.0);
    }

    #[test]
    fn utilisation_follows_the_seed_formula() {
        // 0.5 s of CPU over 2 s = 25 %.
        assert_eq!(
            utilisation_pct(Some(0), Some(500_000_000), SECOND * 2),
            Some(25.0)
        );
        // Two vCPUs fully busy = 200 %.
        assert_eq!(
            utilisation_pct(Some(0), Some(2_000_000_000), SECOND),
            Some(200.0)
        );
    }

    #[test]
    fn bounds_null_the_impossible_and_keep_the_jitter() {
        let bound = 200.0; // two vCPUs
        assert_eq!(within(Some(199.0), bound), Some(199.0));
        assert_eq!(within(Some(203.0), bound), Some(200.0), "jitter");
        assert_eq!(within(Some(4.95e11), bound), None, "a fresh host's spool");
        assert_eq!(within(Some(-1.0), bound), None);
        assert_eq!(within(Some(f64::INFINITY), bound), None);
        assert_eq!(within(Some(f64::NAN), bound), None);
        assert_eq!(within(None, bound), None);
    }

    #[test]
    fn the_interval_is_between_the_two_reads() {
        let ten = Duration::from_secs(10);
        // Read 30 ms after ts, then 12.5 ms after the next ts 10 s later.
        assert_eq!(
            between_reads(ten, Some(30.0), Some(12.5)),
            Some(Duration::from_secs_f64(9.9825))
        );
        assert_eq!(between_reads(ten, None, Some(1.0)), None);
        assert_eq!(between_reads(ten, Some(1.0), None), None);
        assert_eq!(between_reads(ten, Some(20_000.0), Some(0.0)), None);
        assert_eq!(between_reads(ten, Some(0.0), Some(1e300)), None);
        assert_eq!(between_reads(ten, Some(-1e300), Some(0.0)), None);
        let base = Instant::now();
        let later = base + Duration::from_micros(12_345_678);
        assert_eq!(ms_after(base, Some(later)), Some(12_345.678));
        assert_eq!(ms_after(later, Some(base)), Some(0.0));
        assert_eq!(ms_after(base, None), None);
    }

    #[test]
    fn rounding() {
        assert_eq!(round3(1.23456), 1.235);
        assert_eq!(round3(0.0), 0.0);
    }
}
