//! Config parsing: defaults, every key, and errors that name the key and the line;
//! the ranges of the numeric keys, from the file and from the flags.

use std::time::Instant;

use super::keys::*;
use super::*;

/// Overrides as `run` parses these flags.
fn flags(args: &[&str]) -> Overrides {
    Overrides::from_flags(args.iter().copied()).unwrap()
}

/// The strings of a domain list.
fn texts(selectors: &[crate::collect::filter::Selector]) -> Vec<&str> {
    selectors.iter().map(|s| s.text()).collect()
}

/// The one problem of a configuration that has exactly one.
fn only(err: Error) -> Problem {
    assert_eq!(err.problems.len(), 1, "{err}");
    err.problems.into_iter().next().unwrap()
}

/// The line, the key and what is wrong of the one problem of a file's text, which
/// must be a bad value.
fn bad_value(text: &str) -> (usize, String, Invalid) {
    match only(parse(text).expect_err(text)) {
        Problem::Value {
            line, key, invalid, ..
        } => (line, key, invalid),
        other => panic!("{text:?}: {other:?}"),
    }
}

/// The numeric keys and their ranges.
fn numeric_keys() -> impl Iterator<Item = (&'static Key, Limit)> {
    KEYS.iter().filter_map(|k| Some((k, k.limit?)))
}

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
    assert_eq!(texts(&c.domains.include), ["instance-*"]);
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
    let err = only(parse("uri = \"x\"\n\n[spool]\nmax_byte = 5\n").unwrap_err());
    assert!(
        matches!(&err, Problem::UnknownKey { line: 4, key, table, .. }
            if key == "spool.max_byte" && table == "spool"),
        "{err:?}"
    );
}

#[test]
fn wrong_types_are_errors_naming_key_and_line() {
    let (line, key, invalid) = bad_value("read_only = \"yes\"\n");
    assert_eq!((line, key.as_str()), (1, "read_only"));
    assert!(matches!(invalid, Invalid::NotBoolean), "{invalid:?}");
    let (line, key, invalid) = bad_value("[socket]\nmax_clients = \"many\"\n");
    assert_eq!((line, key.as_str()), (2, "socket.max_clients"));
    assert!(matches!(invalid, Invalid::Type(_)), "{invalid:?}");
}

#[test]
fn bad_values_are_errors_naming_key_and_line() {
    let out_of_range = |i: &Invalid| matches!(i, Invalid::OutOfRange { .. });
    type Expected = fn(&Invalid) -> bool;
    let cases: [(&str, usize, &str, Expected); 14] = [
        (
            "interval_seconds = 0\n",
            1,
            "interval_seconds",
            out_of_range,
        ),
        (
            "\ninterval_seconds = -3.0\n",
            2,
            "interval_seconds",
            out_of_range,
        ),
        (
            "[spool]\nmax_bytes = 10\n",
            2,
            "spool.max_bytes",
            out_of_range,
        ),
        (
            "[spool]\nmax_bytes = -10\n",
            2,
            "spool.max_bytes",
            out_of_range,
        ),
        ("[spool]\nkeep = -1\n", 2, "spool.keep", out_of_range),
        (
            "[spool]\npath = \"relative.ndjson\"\n",
            2,
            "spool.path",
            |i| matches!(i, Invalid::NotAbsolute(_)),
        ),
        ("[socket]\nmode = \"rw-rw----\"\n", 2, "socket.mode", |i| {
            matches!(i, Invalid::NotOctal(_))
        }),
        ("[socket]\nmode = \"7777\"\n", 2, "socket.mode", |i| {
            matches!(i, Invalid::ModeBits(_))
        }),
        (
            "[socket]\nmax_clients = 0\n",
            2,
            "socket.max_clients",
            out_of_range,
        ),
        (
            "[socket]\nidle_timeout_seconds = 0\n",
            2,
            "socket.idle_timeout_seconds",
            out_of_range,
        ),
        ("uri = \"\"\n", 1, "uri", |i| matches!(i, Invalid::EmptyUri)),
        (
            "[prometheus]\ntextfile = \"virtdiag.prom\"\n",
            2,
            "prometheus.textfile",
            |i| matches!(i, Invalid::NotAbsolute(_)),
        ),
        (
            "[prometheus]\ntextfile = \"/var/lib/prometheus/node-exporter/virtdiag.txt\"\n",
            2,
            "prometheus.textfile",
            |i| matches!(i, Invalid::NotProm(_)),
        ),
        (
            "[spool]\nfsync = \"sometimes\"\n",
            2,
            "spool.fsync",
            |i| matches!(i, Invalid::NotOneOf { given, .. } if given == "sometimes"),
        ),
    ];
    for (text, line, key, expected) in cases {
        let (at, named, invalid) = bad_value(text);
        assert_eq!((at, named.as_str()), (line, key), "{text:?}");
        assert!(expected(&invalid), "{text:?}: {invalid:?}");
    }
}

#[test]
fn missing_default_file_means_defaults_but_a_named_one_is_an_error() {
    let missing = PathBuf::from("/nonexistent/virtdiag.toml");
    let c = load(&Source::Default(missing.clone()), &Overrides::default()).unwrap();
    assert_eq!(c, Config::default());
    let err = load(&Source::Explicit(missing.clone()), &Overrides::default()).unwrap_err();
    assert!(
        matches!(only(err), Problem::Unreadable { path, .. } if path == missing),
        "the file named"
    );
}

#[test]
fn overrides_win_and_are_checked() {
    let overrides = flags(&[
        "-c",
        "test:///default",
        "--read-write",
        "--interval",
        "0.5",
        "--min-collect-interval",
        "3",
        "--host",
        "h",
        "--spool",
        "/tmp/s",
        "--socket",
        "/tmp/k",
        "--include",
        "web-*",
        "--exclude",
        "web-test",
        "--max-bytes",
        "8KiB",
        "--keep",
        "2",
        "--fsync",
        "never",
        "--socket-mode",
        "0600",
        "--socket-group",
        "adm",
        "--max-clients",
        "8",
        "--idle-timeout",
        "5",
        "--prometheus-textfile",
        "/tmp/v.prom",
        "--groups",
        "block,vcpu",
    ]);
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
    assert_eq!(texts(&c.domains.include), ["web-*"]);
    assert_eq!(texts(&c.domains.exclude), ["web-test"]);
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
        ("--max-bytes", "1"),
        ("--keep", "5000"),
        ("--socket-mode", "rw"),
        ("--max-clients", "0"),
        ("--idle-timeout", "-1"),
        ("--prometheus-textfile", "/tmp/.prom"),
        ("--interval", "0"),
    ];
    for (flag, value) in bad_flags {
        let err = only(with_flags(&flags(&[flag, value])).unwrap_err());
        assert!(
            matches!(&err, Problem::Flag { flag: named, .. } if named == flag),
            "{err:?}"
        );
    }
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
fn file_setting(key: &Key, value: &str) -> String {
    match key.name.split_once('.') {
        Some((table, leaf)) => format!("[{table}]\n{leaf} = {value}\n"),
        None => format!("{} = {value}\n", key.name),
    }
}

/// The line of [`file_setting`]'s text that holds the key.
fn setting_line(key: &Key) -> usize {
    if key.name.contains('.') {
        2
    } else {
        1
    }
}

/// Overrides setting `key` to `value`, as its flag does.
fn flag_setting(key: &Key, value: &str) -> Overrides {
    flags(&[&key.flag_name(), value])
}

fn with_flags(overrides: &Overrides) -> Result<Config, Error> {
    load(&Source::Default("/nonexistent".into()), overrides)
}

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
fn a_number_of_the_wrong_type_names_the_line_and_what_is_expected() {
    for text in [
        "\ninterval_seconds = \"10\"\n",
        "[socket]\nmax_clients = [1]\n",
    ] {
        let (line, _, invalid) = bad_value(text);
        assert_eq!(line, 2, "{text:?}");
        assert!(
            matches!(&invalid, Invalid::Type(why) if why.contains("a number")),
            "{invalid:?}"
        );
    }
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
    let flag = flags(&["--min-collect-interval", "0.25"]);
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
fn every_key_is_a_flag_of_run() {
    use clap::CommandFactory;
    let cli = crate::cli::Cli::command();
    let run = cli.find_subcommand("run").unwrap();
    for key in &KEYS {
        assert!(
            run.get_arguments()
                .any(|a| a.get_long() == Some(key.flag.long)),
            "{} is not a flag of run",
            key.flag_name()
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
    let shipped = include_str!("../../packaging/virtdiag.toml");
    let manual = include_str!("../../packaging/man/virtdiag.toml.5.scd");
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

#[test]
fn collect_groups_are_known_names_with_state_always_in() {
    let config = parse("[collect]\ngroups = [\"block\", \"cpu-total\"]\n").unwrap();
    assert_eq!(config.collect.groups, ["state", "cpu-total", "block"]);
    let default_groups: Vec<&str> = crate::collect::stats::Group::DEFAULT
        .iter()
        .map(|g| g.name())
        .collect();
    assert_eq!(Config::default().collect.groups, default_groups);
    let (_, key, invalid) = bad_value("[collect]\ngroups = [\"blocks\"]\n");
    assert_eq!(key, "collect.groups");
    assert!(
        matches!(&invalid, Invalid::Group(why) if why.contains("unknown group 'blocks'")),
        "{invalid:?}"
    );
    let opt_in = parse("[collect]\ngroups = [\"vm\"]\n").unwrap();
    assert_eq!(opt_in.collect.groups, ["state", "vm"]);
    let overrides = flags(&["--groups", "nope"]);
    let err = load(
        &Source::Default("/nonexistent/virtdiag.toml".into()),
        &overrides,
    )
    .unwrap_err();
    assert!(
        matches!(only(err), Problem::Flag { flag, invalid: Invalid::Group(_), .. }
            if flag == "--groups"),
        "--groups nope"
    );
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let text = "interval_seconds = 0\nbogus = 1\n[spool]\nkeep = -1\nmax_byte = 5\n[socket]\nmode = \"x\"\n";
    // One line each, the unknown keys with the keys there are: what an operator reads.
    let err = parse(text).unwrap_err().to_string();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 5, "{err}");
    assert!(lines[0].starts_with("line 1: interval_seconds: "), "{err}");
    assert!(
        lines[1].starts_with("line 2: unknown key 'bogus'; the keys are uri, read_only"),
        "{err}"
    );
    assert!(lines[2].starts_with("line 4: spool.keep: "), "{err}");
    assert!(
        lines[3].starts_with(
            "line 5: unknown key 'spool.max_byte'; the keys of [spool] are path, max_bytes"
        ),
        "{err}"
    );
    assert!(lines[4].starts_with("line 7: socket.mode: "), "{err}");
    // Flag errors follow the file's, all in one answer.
    let path =
        std::env::temp_dir().join(format!("virtdiag-config-all-{}.toml", std::process::id()));
    std::fs::write(&path, "interval_seconds = 0\n").unwrap();
    let err = load(
        &Source::Explicit(path.clone()),
        &flags(&["--keep", "-1", "--fsync", "x"]),
    );
    std::fs::remove_file(&path).unwrap();
    let err = err.unwrap_err();
    assert!(
        matches!(
            &err.problems[..],
            [
                Problem::Value { file: Some(file), line: 1, .. },
                Problem::Flag { flag: keep, .. },
                Problem::Flag { flag: fsync, invalid: Invalid::NotOneOf { .. }, .. },
            ] if *file == path && keep == "--keep" && fsync == "--fsync"
        ),
        "{err:?}"
    );
    assert!(err
        .to_string()
        .starts_with(&format!("{}: line 1: ", path.display())));
}

#[test]
fn sizes_take_units_and_zero_turns_rotation_off() {
    let max =
        |text: &str| parse(&format!("[spool]\nmax_bytes = {text}\n")).map(|c| c.spool.max_bytes);
    assert_eq!(max("\"64MiB\"").ok(), Some(64 << 20));
    assert_eq!(max("\"64M\"").ok(), Some(64 << 20));
    assert_eq!(max("\"1 GiB\"").ok(), Some(1 << 30));
    assert_eq!(max("\"1.5G\"").ok(), Some(3 << 29));
    assert_eq!(max("\"10MB\"").ok(), Some(10_000_000));
    assert_eq!(max("\"8192\"").ok(), Some(8192));
    assert_eq!(max("8192").ok(), Some(8192));
    assert_eq!(max("0").ok(), Some(0));
    assert_eq!(max("\"0\"").ok(), Some(0));
    // What to give instead is the contract of these messages.
    let err = max("\"64 lots\"").unwrap_err().to_string();
    assert!(
        err.contains("'64 lots' is not a size") && err.contains("KiB"),
        "{err}"
    );
    let err = max("\"1KiB\"").unwrap_err().to_string();
    assert!(
        err.contains("1024 is out of range") && err.contains("or 0 for no built-in rotation"),
        "{err}"
    );
    let c = with_flags(&flags(&["--max-bytes", "2GiB"])).unwrap();
    assert_eq!(c.spool.max_bytes, 2 << 30);
    assert_eq!(Config::default().spool.max_bytes, 64 << 20);
}

#[test]
fn the_uri_comes_from_the_flag_then_the_environment_then_the_file() {
    let path =
        std::env::temp_dir().join(format!("virtdiag-config-uri-{}.toml", std::process::id()));
    std::fs::write(&path, "uri = \"test:///file\"\n").unwrap();
    let source = Source::Explicit(path.clone());
    let uri_key = keys::key("uri").unwrap();
    let env = |flags: Overrides| Overrides {
        env: vec![(uri_key, "test:///env".to_string())],
        ..flags
    };
    let from = |o: &Overrides| load(&source, o).unwrap().uri;
    assert_eq!(from(&Overrides::default()), "test:///file");
    assert_eq!(from(&env(Overrides::default())), "test:///env");
    assert_eq!(from(&env(flags(&["-c", "test:///flag"]))), "test:///flag");
    assert_eq!(
        from(&env(flags(&["--uri", "test:///alias"]))),
        "test:///alias"
    );
    std::fs::remove_file(&path).unwrap();
    assert_eq!(Config::default().uri, keys::DEFAULT_URI);
}

#[test]
fn every_key_has_a_default_the_man_page_states() {
    let manual = include_str!("../../packaging/man/virtdiag.toml.5.scd");
    for key in &KEYS {
        let leaf = key.name.rsplit('.').next().unwrap();
        assert!(
            manual.contains(&format!("\n*{leaf}* = ")),
            "virtdiag.toml(5) does not document {}",
            key.name
        );
    }
}

/// The man page's example of the defaults is the defaults.
#[test]
fn the_man_pages_defaults_are_the_defaults() {
    let manual = include_str!("../../packaging/man/virtdiag.toml.5.scd");
    let start = manual.find("The defaults, written out:").unwrap();
    let block = manual[start..].split("```").nth(1).unwrap();
    assert_eq!(parse(block).unwrap(), Config::default());
    for key in &KEYS {
        let leaf = key.name.rsplit('.').next().unwrap();
        assert!(
            block.contains(&format!("\n{leaf} = {}\n", key.default)),
            "the man page's defaults do not say {leaf} = {}",
            key.default
        );
    }
}

#[test]
fn the_man_page_names_every_key_a_reload_does_not_apply_at_once() {
    let manual = include_str!("../../packaging/man/virtdiag.toml.5.scd");
    let section = manual
        .split("# RELOAD")
        .nth(1)
        .and_then(|rest| rest.split("\n# ").next())
        .expect("virtdiag.toml(5) has a RELOAD section");
    for key in &KEYS {
        let named = section.contains(&format!("*{}*", key.name));
        assert_eq!(
            named,
            key.reload != crate::config::Reload::Live,
            "virtdiag.toml(5) RELOAD and the key table disagree on {}",
            key.name
        );
    }
}

#[test]
fn a_domain_pattern_past_the_limit_is_refused_with_its_key() {
    let long = format!("[{}]", "a".repeat(300));
    let errors = parse(&format!(
        "[domains]\ninclude = [\"web-*\"]\nexclude = [\"{long}\"]\n"
    ))
    .unwrap_err();
    let Problem::Value {
        line: 3,
        key,
        invalid: Invalid::Selector(why),
        ..
    } = only(errors)
    else {
        panic!("not a refused selector on line 3");
    };
    assert_eq!(key, "domains.exclude");
    assert!(
        why.starts_with("'[aaa") && why.contains("302 bytes") && why.contains("at most 256"),
        "{why}"
    );
    let mut config = Config::default();
    let errors = apply(&mut config, &flags(&["--include", &long]));
    assert!(
        matches!(&errors[..], [Problem::Flag { flag, invalid: Invalid::Selector(_), .. }]
            if flag == "--include"),
        "{errors:?}"
    );
}
