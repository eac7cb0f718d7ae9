//! Config file: `virtdiag::config::parse` on arbitrary text.
//!
//! The input bytes are read as UTF-8 with invalid sequences replaced; the seeds are the
//! packaged config file (the example in contrib/ is the same file) plus files that set
//! every key, and `fuzz/dict/config.dict` holds the keys and tables. Checks:
//! - `parse` never panics, and an error is a non-empty message;
//! - an accepted config printed with `Config::to_toml` (what `check-config` shows)
//!   parses again to an equal `Config`: the printed form is a faithful config file;
//! - every number of an accepted config is within its stated range (the key table,
//!   `config::keys`), the socket mode has no bits beyond 0777, and the durations
//!   built from it can be added to an `Instant`.

#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use virtdiag::config::keys::{
    IDLE_TIMEOUT, INTERVAL, MAX_CLIENTS, MIN_COLLECT_INTERVAL, SPOOL_KEEP, SPOOL_MAX_BYTES,
};
use virtdiag::config::{parse, Config, Limit};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse(&text) {
        Ok(config) => {
            check_ranges(&config);
            let printed = config.to_toml();
            match parse(&printed) {
                Ok(again) => assert_eq!(again, config, "printed as:\n{printed}"),
                Err(error) => panic!("the printed config does not parse: {error}\n{printed}"),
            }
        }
        Err(error) => assert!(!error.problems.is_empty() && !error.to_string().is_empty()),
    }
});

fn check_ranges(config: &Config) {
    let within = |key: &str, limit: &Limit, value: f64| {
        let zero = value == 0.0 && limit.zero.is_some();
        assert!(
            zero || (limit.min..=limit.max).contains(&value),
            "{key} = {value} is out of its range"
        );
        if limit.whole {
            assert_eq!(value.fract(), 0.0, "{key} = {value} is not whole");
        }
    };
    within("interval_seconds", &INTERVAL, config.interval_seconds);
    within(
        "min_collect_interval_seconds",
        &MIN_COLLECT_INTERVAL,
        config.min_collect_interval_seconds,
    );
    within("spool.max_bytes", &SPOOL_MAX_BYTES, config.spool.max_bytes as f64);
    within("spool.keep", &SPOOL_KEEP, f64::from(config.spool.keep));
    within("socket.max_clients", &MAX_CLIENTS, config.socket.max_clients as f64);
    within(
        "socket.idle_timeout_seconds",
        &IDLE_TIMEOUT,
        config.socket.idle_timeout_seconds,
    );
    assert!(config.socket.mode <= 0o777);

    let now = Instant::now();
    for duration in [
        config.interval(),
        config.min_collect_interval(),
        config.idle_timeout(),
    ] {
        assert!(now.checked_add(duration).is_some());
    }
}
