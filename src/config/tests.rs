//! Config parsing: defaults, every key, and errors that name the key and the line;
//! the ranges of the numeric keys, from the file and from the flags.

use std::time::Instant;

use super::*;

#[test]
fn empty_file_means_defaults() {
    assert_eq!(parse("").unwrap(), Config::default());
}

#[test]
fn every_key_is_read() {
    let text = r#"
uri = "test:///default"
read_only = false
interval_seconds = 2.5
min_collect_interval_seconds = 0.5
host = "compute-01"
[domains]
include = ["instance-*"]
exclude = ["instance-test*"]
[spool]
path = "/var/tmp/v/d.ndjson"
max_bytes = 1048576
keep = 3
fsync = "never"
[socket]
path = "/var/tmp/v/s.sock"
mode = "0600"
group = "adm"
max_clients = 8
idle_timeout_seconds = 30
[prometheus]
textfile = "/var/lib/prometheus/node-exporter/virtdiag.prom"
"#;
    let c = parse(text).unwrap();
    assert_eq!(c.uri, "test:///default");
    assert!(!c.read_only);
    assert_eq!(c.interval_seconds, 2.5);
    assert_eq!(c.min_collect_interval_seconds, 0.5);
    assert_eq!(c.host, "compute-01");
    assert_eq!(c.domains.include, ["instance-*"]);
    assert_eq!(c.spool.path, PathBuf::from("/var/tmp/v/d.ndjson"));
    assert_eq!(
        (c.spool.max_bytes, c.spool.keep, c.spool.fsync),
        (1_048_576, 3, Fsync::Never)
    );
    assert_eq!(c.socket.mode, 0o600);
    assert_eq!(c.socket.group, "adm");
    assert_eq!(c.socket.max_clients, 8);
    assert_eq!(c.socket.idle_timeout_seconds, 30.0);
    assert_eq!(
        c.prometheus.textfile,
        PathBuf::from("/var/lib/prometheus/node-exporter/virtdiag.prom")
    );
}

#[test]
fn unknown_keys_are_errors_naming_key_and_line() {
    let err = parse("uri = \"x\"\n\n[spool]\nmax_byte = 5\n").unwrap_err();
    assert!(err.contains("line 4"), "{err}");
    assert!(err.contains("max_byte"), "{err}");
}

#[test]
fn wrong_types_are_errors_naming_key_and_line() {
    let err = parse("read_only = \"yes\"\n").unwrap_err();
    assert!(
        err.contains("line 1") && err.contains("read_only") || err.contains("bool"),
        "{err}"
    );
    let err = parse("[socket]\nmax_clients = \"many\"\n").unwrap_err();
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn bad_values_are_errors_naming_key_and_line() {
    let cases = [
        ("interval_seconds = 0\n", "line 1: interval_seconds"),
        ("\ninterval_seconds = -3.0\n", "line 2: interval_seconds"),
        ("[spool]\nmax_bytes = 10\n", "line 2: spool.max_bytes"),
        ("[spool]\nmax_bytes = -10\n", "line 2: spool.max_bytes"),
        ("[spool]\nkeep = -1\n", "line 2: spool.keep"),
        (
            "[spool]\npath = \"relative.ndjson\"\n",
            "line 2: spool.path",
        ),
        ("[socket]\nmode = \"rw-rw----\"\n", "line 2: socket.mode"),
        ("[socket]\nmode = \"7777\"\n", "line 2: socket.mode"),
        ("[socket]\nmax_clients = 0\n", "line 2: socket.max_clients"),
        (
            "[socket]\nidle_timeout_seconds = 0\n",
            "line 2: socket.idle_timeout_seconds",
        ),
        ("uri = \"\"\n", "line 1: uri"),
        (
            "[prometheus]\ntextfile = \"virtdiag.prom\"\n",
            "line 2: prometheus.textfile",
        ),
        (
            "[prometheus]\ntextfile = \"/var/lib/prometheus/node-exporter/virtdiag.txt\"\n",
            "line 2: prometheus.textfile",
        ),
    ];
    for (text, expected) in cases {
        let err = parse(text).unwrap_err();
        assert!(err.starts_with(expected), "{text:?}: {err}");
    }
    let err = parse("[spool]\nfsync = \"sometimes\"\n").unwrap_err();
    assert!(err.contains("line 2") && err.contains("sometimes"), "{err}");
}

#[test]
fn missing_default_file_means_defaults_but_a_named_one_is_an_error() {
    let missing = PathBuf::from("/nonexistent/virtdiag.toml");
    let c = load(&Source::Default(missing.clone()), &Overrides::default()).unwrap();
    assert_eq!(c, Config::default());
    let err = load(&Source::Explicit(missing), &Overrides::default()).unwrap_err();
    assert!(err.contains("/nonexistent/virtdiag.toml"), "{err}");
}

#[test]
fn overrides_win_and_are_checked() {
    let overrides = Overrides {
        uri: Some("test:///default".into()),
        read_write: true,
        interval_seconds: Some(Number::Float(0.5)),
        min_collect_interval_seconds: Some(Number::Integer(3)),
        host: Some("h".into()),
        spool_path: Some("/tmp/s".into()),
        socket_path: Some("/tmp/k".into()),
        include: vec!["web-*".into()],
        exclude: vec!["web-test".into()],
        spool_max_bytes: Some(Number::Integer(8192)),
        spool_keep: Some(Number::Integer(2)),
        fsync: Some(Fsync::Never),
        socket_mode: Some("0600".into()),
        socket_group: Some("adm".into()),
        max_clients: Some(Number::Integer(8)),
        idle_timeout_seconds: Some(Number::Float(5.0)),
        prometheus_textfile: Some("/tmp/v.prom".into()),
        groups: Some(vec!["block".into(), "vcpu".into()]),
    };
    let c = load(&Source::Default("/nonexistent".into()), &overrides).unwrap();
    assert_eq!(
        (
            c.uri.as_str(),
            c.read_only,
            c.interval_seconds,
            c.host.as_str()
        ),
        ("test:///default", false, 0.5, "h")
    );
    assert_eq!(c.min_collect_interval_seconds, 3.0);
    assert_eq!(c.domains.include, ["web-*"]);
    assert_eq!(c.domains.exclude, ["web-test"]);
    assert_eq!(
        (c.spool.max_bytes, c.spool.keep, c.spool.fsync),
        (8192, 2, Fsync::Never)
    );
    assert_eq!((c.socket.mode, c.socket.group.as_str()), (0o600, "adm"));
    assert_eq!(
        (c.socket.max_clients, c.socket.idle_timeout_seconds),
        (8, 5.0)
    );
    assert_eq!(c.prometheus.textfile, PathBuf::from("/tmp/v.prom"));
    let bad_flags = [
        (
            Overrides {
                spool_max_bytes: Some(Number::Integer(1)),
                ..Default::default()
            },
            "--max-bytes",
        ),
        (
            Overrides {
                spool_keep: Some(Number::Integer(5000)),
                ..Default::default()
            },
            "--keep",
        ),
        (
            Overrides {
                socket_mode: Some("rw".into()),
                ..Default::default()
            },
            "--socket-mode",
        ),
        (
            Overrides {
                max_clients: Some(Number::Integer(0)),
                ..Default::default()
            },
            "--max-clients",
        ),
        (
            Overrides {
                idle_timeout_seconds: Some(Number::Float(-1.0)),
                ..Default::default()
            },
            "--idle-timeout",
        ),
        (
            Overrides {
                prometheus_textfile: Some("/tmp/.prom".into()),
                ..Default::default()
            },
            "--prometheus-textfile",
        ),
    ];
    for (bad, flag) in bad_flags {
        let err = load(&Source::Default("/nonexistent".into()), &bad).unwrap_err();
        assert!(err.starts_with(flag), "{err}");
    }
    let bad = Overrides {
        interval_seconds: Some(Number::Float(0.0)),
        ..Default::default()
    };
    assert!(load(&Source::Default("/nonexistent".into()), &bad)
        .unwrap_err()
        .starts_with("--interval"));
}

/// The shipped example (`packaging/virtdiag.toml`, also `contrib/virtdiag.example.toml`)
/// names every key with its default: uncommented, it parses back to the defaults.
#[test]
fn the_shipped_example_has_every_key_with_its_default() {
    let example = include_str!("../../packaging/virtdiag.toml");
    let uncommented: String = example
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest) if rest.contains(" = ") && !rest.starts_with(' ') => rest,
            _ => l,
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(parse(&uncommented).unwrap(), Config::default());
    let keys_in = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.trim_start_matches('#').split_once(" = "))
            .map(|(k, _)| k.trim().to_string())
            .filter(|k| !k.contains(' '))
            .collect()
    };
    let documented = keys_in(&uncommented);
    for key in keys_in(&Config::default().to_toml()) {
        assert!(
            documented.contains(&key),
            "{key} is missing from packaging/virtdiag.toml"
        );
    }
}

/// The file's text setting a key (`socket.max_clients`) to a value as written.
fn file_setting(limit: &Limit, value: &str) -> String {
    match limit.key.split_once('.') {
        Some((table, key)) => format!("[{table}]\n{key} = {value}\n"),
        None => format!("{} = {value}\n", limit.key),
    }
}

/// The line of [`file_setting`]'s text that holds the key.
fn setting_line(limit: &Limit) -> usize {
    if limit.key.contains('.') {
        2
    } else {
        1
    }
}

/// Overrides setting the key of `limit` to `value`, as its flag does.
fn flag_setting(limit: &Limit, value: Number) -> Overrides {
    let mut o = Overrides::default();
    let field = match limit.key {
        "interval_seconds" => &mut o.interval_seconds,
        "min_collect_interval_seconds" => &mut o.min_collect_interval_seconds,
        "spool.max_bytes" => &mut o.spool_max_bytes,
        "spool.keep" => &mut o.spool_keep,
        "socket.max_clients" => &mut o.max_clients,
        "socket.idle_timeout_seconds" => &mut o.idle_timeout_seconds,
        other => panic!("no flag for {other} in this test"),
    };
    *field = Some(value);
    o
}

fn with_flags(overrides: &Overrides) -> Result<Config, String> {
    load(&Source::Default("/nonexistent".into()), overrides)
}

/// The value of a numeric key in a configuration.
fn value_of(c: &Config, limit: &Limit) -> f64 {
    match limit.key {
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
    for limit in &LIMITS {
        for bound in [limit.min, limit.max] {
            let written = written(limit, bound);
            let c = parse(&file_setting(limit, &written)).unwrap();
            assert_eq!(value_of(&c, limit), bound, "{} = {written}", limit.key);
            let c = with_flags(&flag_setting(limit, written.parse().unwrap())).unwrap();
            assert_eq!(value_of(&c, limit), bound, "{} {written}", limit.flag);
        }
    }
}

#[test]
fn every_numeric_key_rejects_values_outside_its_range_in_the_file() {
    for limit in &LIMITS {
        let range = format!("from {} to {}", limit.min, limit.max);
        for value in bad_for(limit) {
            let text = file_setting(limit, &value);
            let err = parse(&text).expect_err(&text);
            let at = format!("line {}: {}: ", setting_line(limit), limit.key);
            assert!(err.starts_with(&at), "{text:?}: {err}");
            assert!(
                err.contains(&range) && err.contains("give a"),
                "{text:?}: {err}"
            );
        }
    }
}

#[test]
fn every_numeric_flag_rejects_values_outside_its_range() {
    for limit in &LIMITS {
        let range = format!("from {} to {}", limit.min, limit.max);
        for value in bad_for(limit) {
            let number: Number = value.parse().unwrap();
            let err = with_flags(&flag_setting(limit, number)).expect_err(&value);
            assert!(
                err.starts_with(&format!("{}: ", limit.flag)),
                "{value}: {err}"
            );
            assert!(
                err.contains(&range) && err.contains(limit.key),
                "{value}: {err}"
            );
        }
    }
}

#[test]
fn range_errors_name_the_value_the_range_and_what_to_give() {
    assert_eq!(
        parse("\n[socket]\nidle_timeout_seconds = 1e300\n").unwrap_err(),
        "line 3: socket.idle_timeout_seconds: 1e300 is out of range: \
         give a number of seconds from 1 to 86400"
    );
    assert_eq!(
        parse("interval_seconds = nan\n").unwrap_err(),
        "line 1: interval_seconds: NaN is out of range: give a number of seconds from 0.1 to 86400"
    );
    assert_eq!(
        parse("[spool]\nmax_bytes = 99999999999999999999\n").unwrap_err(),
        "line 2: spool.max_bytes: 99999999999999999999 is out of range: \
         give a whole number of bytes from 4096 to 1125899906842624"
    );
    assert_eq!(
        parse("[spool]\nkeep = 2.5\n").unwrap_err(),
        "line 2: spool.keep: 2.5 is not a whole number: give a whole number of files from 0 to 1000"
    );
    assert_eq!(
        with_flags(&flag_setting(&MAX_CLIENTS, Number::Float(1e19))).unwrap_err(),
        "--max-clients: 1e19 is out of range: give a whole number of clients from 1 to 10000 \
         (it sets socket.max_clients)"
    );
    assert_eq!(
        with_flags(&flag_setting(&MIN_COLLECT_INTERVAL, Number::Integer(3601))).unwrap_err(),
        "--min-collect-interval: 3601 is out of range: give a number of seconds from 0 to 3600 \
         (it sets min_collect_interval_seconds)"
    );
}

#[test]
fn a_number_of_the_wrong_type_names_the_line_and_what_is_expected() {
    let err = parse("\ninterval_seconds = \"10\"\n").unwrap_err();
    assert!(err.contains("line 2") && err.contains("a number"), "{err}");
    let err = parse("[socket]\nmax_clients = [1]\n").unwrap_err();
    assert!(err.contains("line 2") && err.contains("a number"), "{err}");
}

#[test]
fn flag_values_read_like_toml_numbers() {
    let read = |text: &str| text.parse::<Number>();
    assert_eq!(read("5"), Ok(Number::Integer(5)));
    assert_eq!(read("-5"), Ok(Number::Integer(-5)));
    assert_eq!(read("0.5"), Ok(Number::Float(0.5)));
    assert_eq!(read("1e3"), Ok(Number::Float(1000.0)));
    assert_eq!(
        read("99999999999999999999"),
        Ok(Number::Integer(99_999_999_999_999_999_999))
    );
    assert!(matches!(read("nan"), Ok(Number::Float(x)) if x.is_nan()));
    assert_eq!(read("-inf"), Ok(Number::Float(f64::NEG_INFINITY)));
    assert_eq!(read("ten"), Err("'ten' is not a number".to_string()));
    assert_eq!(read(""), Err("'' is not a number".to_string()));
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
fn min_collect_interval_defaults_to_one_second_and_is_read_from_file_and_flag() {
    assert_eq!(Config::default().min_collect_interval_seconds, 1.0);
    let c = parse("min_collect_interval_seconds = 0\n").unwrap();
    assert_eq!(c.min_collect_interval_seconds, 0.0);
    assert_eq!(c.min_collect_interval(), Duration::ZERO);
    let c = parse("min_collect_interval_seconds = -0.0\n").unwrap();
    assert_eq!(c.min_collect_interval(), Duration::ZERO);
    let c = parse("min_collect_interval_seconds = 2.5\n").unwrap();
    assert_eq!(c.min_collect_interval(), Duration::from_millis(2500));

    let path =
        std::env::temp_dir().join(format!("virtdiag-config-test-{}.toml", std::process::id()));
    std::fs::write(&path, "min_collect_interval_seconds = 30\n").unwrap();
    let source = Source::Explicit(path.clone());
    let from_file = load(&source, &Overrides::default());
    let flag = Overrides {
        min_collect_interval_seconds: Some("0.25".parse().unwrap()),
        ..Default::default()
    };
    let from_flag = load(&source, &flag);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(from_file.unwrap().min_collect_interval_seconds, 30.0);
    assert_eq!(from_flag.unwrap().min_collect_interval_seconds, 0.25);
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
fn every_limit_is_a_flag_of_run() {
    use clap::CommandFactory;
    let cli = crate::cli::Cli::command();
    let run = cli.find_subcommand("run").unwrap();
    for limit in &LIMITS {
        let name = limit.flag.trim_start_matches("--");
        assert!(
            run.get_arguments().any(|a| a.get_long() == Some(name)),
            "{} is not a flag of run",
            limit.flag
        );
    }
}

#[test]
fn negative_flag_values_reach_the_range_check() {
    use clap::Parser;
    let cli = crate::cli::Cli::try_parse_from(["virtdiag", "run", "--max-clients", "-5"]).unwrap();
    let crate::cli::Command::Run(args) = cli.command else {
        panic!("not run");
    };
    assert_eq!(args.max_clients, Some(Number::Integer(-5)));
}

/// The comments of the shipped config and the man page state each range as the
/// checks do.
#[test]
fn the_documented_ranges_are_the_checked_ones() {
    let shipped = include_str!("../../packaging/virtdiag.toml");
    let manual = include_str!("../../packaging/man/virtdiag.toml.5.scd");
    for limit in &LIMITS {
        let leaf = limit.key.rsplit('.').next().unwrap();
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

#[test]
fn collect_groups_are_known_names_with_state_always_in() {
    let config = parse("[collect]\ngroups = [\"block\", \"cpu-total\"]\n").unwrap();
    assert_eq!(config.collect.groups, ["state", "cpu-total", "block"]);
    assert_eq!(Config::default().collect.groups.len(), 6);
    let err = parse("[collect]\ngroups = [\"blocks\"]\n").unwrap_err();
    assert!(
        err.contains("collect.groups") && err.contains("unknown group 'blocks'"),
        "{err}"
    );
    let err = parse("[collect]\ngroups = [\"vm\"]\n").unwrap_err();
    assert!(err.contains("does not record yet"), "{err}");
    let overrides = Overrides {
        groups: Some(vec!["nope".into()]),
        ..Overrides::default()
    };
    let err = load(
        &Source::Default("/nonexistent/virtdiag.toml".into()),
        &overrides,
    )
    .unwrap_err();
    assert!(err.starts_with("--groups: unknown group 'nope'"), "{err}");
}
