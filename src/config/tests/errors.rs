//! Errors of the file, the environment and the flags: each names where it was found
//! (the line and key, the flag, the file) and what was wrong, and every one is
//! reported, not just the first.

use super::*;

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
    assert_eq!(why.why.bytes, 302);
    let why = why.to_string();
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
