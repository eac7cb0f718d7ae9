//! The ranges of the numeric keys: their bounds accepted and every value outside
//! refused, from the file and from the flags, with the message saying what to give;
//! the durations made from them; the documentation stating them as checked.

use std::time::Instant;

use super::*;

/// The value of a numeric key in a configuration.
fn value_of(c: &Config, key: &Key) -> f64 {
    match key.name {
        "interval_seconds" => c.interval_seconds,
        "min_collect_interval_seconds" => c.min_collect_interval_seconds,
        "spool.max_bytes" => c.spool.max_bytes as f64,
        "spool.keep" => f64::from(c.spool.keep),
        "socket.max_clients" => c.socket.max_clients as f64,
        "socket.idle_timeout_seconds" => c.socket.idle_timeout_seconds,
        other => panic!("{other} is not a numeric key"),
    }
}

/// A value of a key as written: an integer for a count.
fn written(limit: &Limit, value: f64) -> String {
    if limit.whole {
        format!("{}", value as i128)
    } else {
        Number::Float(value).to_string()
    }
}

/// Values every numeric key refuses, as written in the file or on the command line.
const BAD_EVERYWHERE: [&str; 12] = [
    "nan",
    "+nan",
    "-nan",
    "inf",
    "-inf",
    "1e300",
    "-1e300",
    "1e19",
    "-1",
    "-0.5",
    "99999999999999999999",
    "-99999999999999999999",
];

/// Values just outside a key's range, and for a count a fraction inside it.
fn bad_for(limit: &Limit) -> Vec<String> {
    let step = if limit.whole { 1.0 } else { 0.01 };
    let mut bad = vec![
        written(limit, limit.min - step),
        written(limit, limit.max + step),
    ];
    if limit.whole {
        bad.push(format!("{}.5", limit.min));
    }
    bad.extend(BAD_EVERYWHERE.iter().map(|v| v.to_string()));
    bad
}

#[test]
fn every_numeric_key_accepts_its_bounds_from_the_file_and_the_flags() {
    for (key, limit) in numeric_keys() {
        for bound in [limit.min, limit.max] {
            let written = written(&limit, bound);
            let c = parse(&file_setting(key, &written)).unwrap();
            assert_eq!(value_of(&c, key), bound, "{} = {written}", key.name);
            let c = with_flags(&flag_setting(key, &written)).unwrap();
            assert_eq!(value_of(&c, key), bound, "{} {written}", key.flag_name());
        }
    }
}

#[test]
fn every_numeric_key_rejects_values_outside_its_range_in_the_file() {
    for (key, limit) in numeric_keys() {
        for value in bad_for(&limit) {
            let text = file_setting(key, &value);
            let (line, named, invalid) = bad_value(&text);
            assert_eq!((line, named.as_str()), (setting_line(key), key.name));
            assert!(
                matches!(invalid, Invalid::OutOfRange { limit: l, .. }
                    | Invalid::NotWhole { limit: l, .. } if l == limit),
                "{text:?}: {invalid:?}"
            );
        }
    }
}

#[test]
fn every_numeric_flag_rejects_values_outside_its_range() {
    for (key, limit) in numeric_keys() {
        for value in bad_for(&limit) {
            let err = only(with_flags(&flag_setting(key, &value)).expect_err(&value));
            let Problem::Flag {
                flag,
                key: sets,
                invalid,
            } = err
            else {
                panic!("{value}: {err:?}");
            };
            assert_eq!((flag, sets), (key.flag_name(), key.name), "{value}");
            assert!(
                matches!(invalid, Invalid::OutOfRange { limit: l, .. }
                    | Invalid::NotWhole { limit: l, .. } if l == limit),
                "{value}: {invalid:?}"
            );
        }
    }
}

#[test]
fn range_errors_name_the_value_the_range_and_what_to_give() {
    assert_eq!(
        parse("\n[socket]\nidle_timeout_seconds = 1e300\n")
            .unwrap_err()
            .to_string(),
        "line 3: socket.idle_timeout_seconds: 1e300 is out of range: \
         give a number of seconds from 1 to 86400"
    );
    assert_eq!(
        parse("interval_seconds = nan\n").unwrap_err().to_string(),
        "line 1: interval_seconds: NaN is out of range: give a number of seconds from 0.1 to 86400"
    );
    assert_eq!(
        parse("[spool]\nmax_bytes = 99999999999999999999\n")
            .unwrap_err()
            .to_string(),
        "line 2: spool.max_bytes: 99999999999999999999 is out of range: \
         give a whole number of bytes from 4096 to 1125899906842624, or 0 for no built-in \
         rotation"
    );
    assert_eq!(
        parse("[spool]\nkeep = 2.5\n").unwrap_err().to_string(),
        "line 2: spool.keep: 2.5 is not a whole number: give a whole number of files from 0 to 1000"
    );
    assert_eq!(
        with_flags(&flags(&["--max-clients", "1e19"]))
            .unwrap_err()
            .to_string(),
        "--max-clients: 1e19 is out of range: give a whole number of clients from 1 to 10000 \
         (it sets socket.max_clients)"
    );
    assert_eq!(
        with_flags(&flags(&["--min-collect-interval", "3601"]))
            .unwrap_err()
            .to_string(),
        "--min-collect-interval: 3601 is out of range: give a number of seconds from 0 to 3600 \
         (it sets min_collect_interval_seconds)"
    );
}

#[test]
fn flag_values_read_like_toml_numbers() {
    let read = |text: &str| text.parse::<Number>();
    assert_eq!(read("5").ok(), Some(Number::Integer(5)));
    assert_eq!(read("-5").ok(), Some(Number::Integer(-5)));
    assert_eq!(read("0.5").ok(), Some(Number::Float(0.5)));
    assert_eq!(read("1e3").ok(), Some(Number::Float(1000.0)));
    assert_eq!(
        read("99999999999999999999").ok(),
        Some(Number::Integer(99_999_999_999_999_999_999))
    );
    assert!(matches!(read("nan"), Ok(Number::Float(x)) if x.is_nan()));
    assert_eq!(read("-inf").ok(), Some(Number::Float(f64::NEG_INFINITY)));
    assert!(matches!(read("ten"), Err(Invalid::NotNumber(t)) if t == "ten"));
    assert_eq!(read("").unwrap_err().to_string(), "'' is not a number");
}

#[test]
fn numbers_print_as_written() {
    let shown = |n: Number| n.to_string();
    assert_eq!(shown(Number::Float(1e300)), "1e300");
    assert_eq!(shown(Number::Float(-1e19)), "-1e19");
    assert_eq!(shown(Number::Float(1e-7)), "1e-7");
    assert_eq!(shown(Number::Float(0.1)), "0.1");
    assert_eq!(shown(Number::Float(86_400.0)), "86400");
    assert_eq!(shown(Number::Float(f64::NAN)), "NaN");
    assert_eq!(shown(Number::Float(f64::INFINITY)), "inf");
    assert_eq!(shown(Number::Integer(-3)), "-3");
}

#[test]
fn durations_come_from_the_keys() {
    let c = Config::default();
    assert_eq!(c.interval(), Duration::from_secs(10));
    assert_eq!(c.min_collect_interval(), Duration::from_secs(1));
    assert_eq!(c.idle_timeout(), Duration::from_secs(300));
    let c = parse("interval_seconds = 0.1\n[socket]\nidle_timeout_seconds = 86400\n").unwrap();
    assert_eq!(c.interval(), Duration::from_millis(100));
    assert_eq!(c.idle_timeout(), Duration::from_secs(86_400));
}

/// The fields are public: a value set past validation still gives a duration in the
/// key's range, one that can be added to an `Instant`.
#[test]
fn durations_stay_in_range_even_for_values_set_directly() {
    let now = Instant::now();
    for bad in [
        1e300,
        1e19,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        -5.0,
        -0.0,
    ] {
        let mut c = Config {
            interval_seconds: bad,
            min_collect_interval_seconds: bad,
            ..Default::default()
        };
        c.socket.idle_timeout_seconds = bad;
        for (d, limit) in [
            (c.interval(), INTERVAL),
            (c.min_collect_interval(), MIN_COLLECT_INTERVAL),
            (c.idle_timeout(), IDLE_TIMEOUT),
        ] {
            let seconds = d.as_secs_f64();
            assert!(
                (limit.min..=limit.max).contains(&seconds),
                "{bad}: {seconds}"
            );
            assert!(now.checked_add(d).is_some());
        }
    }
}

#[test]
fn negative_flag_values_reach_the_range_check() {
    use clap::Parser;
    let cli = crate::cli::Cli::try_parse_from(["virtdiag", "run", "--max-clients", "-5"]).unwrap();
    let crate::cli::Command::Run(args) = cli.command else {
        panic!("not run");
    };
    let err = only(with_flags(&args.overrides).unwrap_err());
    assert!(
        matches!(&err, Problem::Flag { flag, invalid: Invalid::OutOfRange { value, .. }, .. }
            if flag == "--max-clients" && *value == Number::Integer(-5)),
        "{err:?}"
    );
}

/// The comments of the shipped config and the man page state each range as the
/// checks do.
#[test]
fn the_documented_ranges_are_the_checked_ones() {
    let shipped = include_str!("../../../packaging/virtdiag.toml");
    let manual = include_str!("../../../packaging/man/virtdiag.toml.5.scd");
    for (key, limit) in numeric_keys() {
        let leaf = key.name.rsplit('.').next().unwrap();
        let range = format!("{} to {}", limit.min, limit.max);

        // The comment lines just above `#leaf = ...`.
        let lines: Vec<&str> = shipped.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.starts_with(&format!("#{leaf} = ")))
            .unwrap_or_else(|| panic!("#{leaf} missing from packaging/virtdiag.toml"));
        let comment: Vec<&str> = lines[..at]
            .iter()
            .rev()
            .map_while(|l| l.strip_prefix("# "))
            .collect();
        let comment = comment.into_iter().rev().collect::<Vec<_>>().join(" ");
        assert!(
            comment.contains(&range),
            "packaging/virtdiag.toml: the comment of {leaf} does not say {range}: {comment}"
        );

        // The paragraph under `*leaf* = _type_`.
        let start = manual
            .find(&format!("\n*{leaf}* = "))
            .unwrap_or_else(|| panic!("*{leaf}* missing from virtdiag.toml.5.scd"));
        let paragraph = manual[start + 1..]
            .lines()
            .skip(1)
            .map_while(|l| l.strip_prefix('\t'))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            paragraph.contains(&format!("from {range}")),
            "virtdiag.toml(5): {leaf} does not say from {range}: {paragraph}"
        );
    }
}
