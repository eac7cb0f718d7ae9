//! Config parsing: defaults, every key, and errors that name the key and the line.

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
"#;
    let c = parse(text).unwrap();
    assert_eq!(c.uri, "test:///default");
    assert!(!c.read_only);
    assert_eq!(c.interval_seconds, 2.5);
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
        interval_seconds: Some(0.5),
        host: Some("h".into()),
        spool_path: Some("/tmp/s".into()),
        socket_path: Some("/tmp/k".into()),
        include: vec!["web-*".into()],
        exclude: vec!["web-test".into()],
        spool_max_bytes: Some(8192),
        spool_keep: Some(2),
        fsync: Some(Fsync::Never),
        socket_mode: Some("0600".into()),
        socket_group: Some("adm".into()),
        max_clients: Some(8),
        idle_timeout_seconds: Some(5.0),
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
    let bad_flags = [
        (
            Overrides {
                spool_max_bytes: Some(1),
                ..Default::default()
            },
            "--max-bytes",
        ),
        (
            Overrides {
                spool_keep: Some(5000),
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
                max_clients: Some(0),
                ..Default::default()
            },
            "--max-clients",
        ),
        (
            Overrides {
                idle_timeout_seconds: Some(-1.0),
                ..Default::default()
            },
            "--idle-timeout",
        ),
    ];
    for (bad, flag) in bad_flags {
        let err = load(&Source::Default("/nonexistent".into()), &bad).unwrap_err();
        assert!(err.starts_with(flag), "{err}");
    }
    let bad = Overrides {
        interval_seconds: Some(0.0),
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
