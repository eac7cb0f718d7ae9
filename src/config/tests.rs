//! Config parsing: defaults, every key, the flags and the environment over the file,
//! and the documentation of the keys. The errors ([`errors`]) and the numeric keys'
//! ranges ([`ranges`]) have their own files.

mod errors;
mod ranges;

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
        matches!(&invalid, Invalid::Group(unknown) if unknown.name == "blocks"),
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
