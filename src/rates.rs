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

/// Rounds to 3 decimals so records stay short and stable to compare.
pub fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
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
