//! Rates between two samples of a counter, over measured time. Pure.
//!
//! A rate needs both samples, a positive elapsed time and a counter that did not go
//! backwards; otherwise there is no rate for that sample (a reboot, a migration or a
//! swapped device resets counters), never a negative or absurd one.

use std::time::Duration;

/// Below this, elapsed time is treated as zero: a rate over it is noise.
const MIN_ELAPSED: Duration = Duration::from_millis(1);

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
    fn rounding() {
        assert_eq!(round3(1.23456), 1.235);
        assert_eq!(round3(0.0), 0.0);
    }
}
