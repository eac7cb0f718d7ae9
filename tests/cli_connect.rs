//! The libvirt URI as virsh takes it: `-c/--connect` (alias `--uri`), then
//! `LIBVIRT_DEFAULT_URI`, then the config file's `uri`, then qemu:///system; the same
//! for `run` (shown by `check-config`, which resolves it as `run` does) and `once`.

mod common;

use std::process::Command;

/// The `uri` line of `check-config`'s effective configuration.
fn effective_uri(config: &std::path::Path, env: Option<&str>, flags: &[&str]) -> String {
    let mut command = Command::new(common::binary());
    command
        .arg("check-config")
        .arg("--config")
        .arg(config)
        .args(flags);
    command.env_remove("LIBVIRT_DEFAULT_URI");
    if let Some(uri) = env {
        command.env("LIBVIRT_DEFAULT_URI", uri);
    }
    let out = command.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("uri = "))
        .unwrap_or_else(|| panic!("no uri in {text} {}", String::from_utf8_lossy(&out.stderr)))
        .trim_matches('"')
        .to_string()
}

#[test]
fn flag_then_environment_then_file_then_default() {
    let dir = common::agent::workdir("connect");
    let with_uri = dir.join("with-uri.toml");
    std::fs::write(&with_uri, "uri = \"test:///file\"\n").unwrap();
    let without = dir.join("without.toml");
    std::fs::write(&without, "interval_seconds = 5\n").unwrap();

    assert_eq!(effective_uri(&without, None, &[]), "qemu:///system");
    assert_eq!(effective_uri(&with_uri, None, &[]), "test:///file");
    assert_eq!(
        effective_uri(&with_uri, Some("test:///env"), &[]),
        "test:///env"
    );
    assert_eq!(
        effective_uri(&with_uri, Some(""), &[]),
        "test:///file",
        "empty is unset"
    );
    let flagged = ["-c", "test:///flag"];
    assert_eq!(
        effective_uri(&with_uri, Some("test:///env"), &flagged),
        "test:///flag"
    );
    let long = ["--connect", "test:///long"];
    assert_eq!(effective_uri(&with_uri, None, &long), "test:///long");
    let alias = ["--uri", "test:///alias"];
    assert_eq!(effective_uri(&with_uri, None, &alias), "test:///alias");
}

#[test]
fn once_takes_the_environment_and_the_short_flag() {
    let run = |env: Option<&str>, flags: &[&str]| {
        let mut command = Command::new(common::binary());
        command
            .args(["once", "--sample-interval", "0", "--format", "legacy"])
            .args(flags);
        command.env_remove("LIBVIRT_DEFAULT_URI");
        if let Some(uri) = env {
            command.env("LIBVIRT_DEFAULT_URI", uri);
        }
        command.output().unwrap()
    };
    let out = run(Some("test:///default"), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"test\""));
    let out = run(
        Some("qemu+unix:///system?socket=/nonexistent/sock"),
        &["-c", "test:///default"],
    );
    assert!(
        out.status.success(),
        "the flag wins: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // An unreachable daemon: 69, and the message says what to check.
    let out = run(Some("qemu+unix:///system?socket=/nonexistent/sock"), &[]);
    assert_eq!(out.status.code(), Some(69));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/sock"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line, no libvirt noise: {err}");
}
