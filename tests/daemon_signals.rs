//! Signals, reloads and configuration errors of `virtdiag run` and `check-config`.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::agent::{demo_config, workdir, Agent};
use serde_json::Value;

#[test]
fn sigterm_exits_0_quickly_and_removes_the_socket() {
    let dir = workdir("term");
    let mut agent = Agent::start(&dir, &demo_config(0.2));
    agent.wait_cycles(1);
    let started = Instant::now();
    let status = agent.stop(Duration::from_secs(2));
    assert!(status.success(), "{status}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(!agent.socket.exists());
    let lines = agent.spool_lines();
    assert_eq!(lines.last().unwrap()["event"], "stopping");
}

#[test]
fn sigint_also_stops_cleanly() {
    let dir = workdir("int");
    let mut agent = Agent::start(&dir, &demo_config(0.2));
    agent.signal(2);
    let deadline = Instant::now() + Duration::from_secs(2);
    while agent.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!agent.socket.exists());
}

#[test]
fn sighup_reloads_the_config_and_keeps_the_old_one_when_broken() {
    let dir = workdir("hup");
    let mut agent = Agent::start(&dir, &demo_config(0.5));
    assert_eq!(agent.status()["interval_seconds"], 0.5);

    std::fs::write(&agent.config, demo_config(0.2)).unwrap();
    agent.signal(1);
    agent.wait_until("the new interval", Duration::from_secs(5), |a| {
        a.status()["interval_seconds"] == 0.2
    });

    std::fs::write(
        &agent.config,
        format!("{}bogus_key = 1\n", demo_config(3.0)),
    )
    .unwrap();
    agent.signal(1);
    agent.wait_until("the reload failure", Duration::from_secs(5), |a| {
        a.log().contains("reload failed")
    });
    assert_eq!(
        agent.status()["interval_seconds"],
        0.2,
        "the old config is kept"
    );
    assert!(agent.log().contains("bogus_key"), "the error names the key");
    let before = agent.cycles();
    agent.wait_cycles(before + 2);
    let events = agent.events();
    assert!(
        events.contains(&"reloaded".to_string()) && events.contains(&"reload_failed".to_string())
    );
}

#[test]
fn sighup_gives_the_socket_its_new_mode_and_group() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = workdir("hup-socket");
    let mut agent = Agent::start(&dir, &demo_config(0.5));
    let mode = |agent: &Agent| {
        std::fs::metadata(&agent.socket)
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&agent), 0o660);
    std::fs::write(
        &agent.config,
        format!(
            "{}[socket]\nmode = \"0600\"\ngroup = \"nogroup\"\n",
            demo_config(0.5)
        ),
    )
    .unwrap();
    agent.signal(1);
    agent.wait_until("the socket's new mode", Duration::from_secs(5), |a| {
        mode(a) == 0o600
    });
    let gid = std::fs::metadata(&agent.socket).unwrap().gid();
    let nogroup = std::fs::read_to_string("/etc/group")
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("nogroup:x:")?
                .split(':')
                .next()?
                .parse::<u32>()
                .ok()
        })
        .unwrap();
    assert_eq!(gid, nogroup);
    // Logged through the log thread, which may write it a moment after the change.
    agent.wait_until("the reload's log line", Duration::from_secs(5), |a| {
        a.log().contains("applied: socket.mode, socket.group")
    });
    assert_eq!(agent.status()["restart_needed"], serde_json::json!([]));
    // Still answering on the socket it bound.
    assert_eq!(agent.request("version")[0]["kind"], "version");
}

#[test]
fn sigusr1_triggers_a_cycle_now() {
    let dir = workdir("usr1");
    let mut agent = Agent::start(&dir, &demo_config(3600.0));
    agent.wait_cycles(1);
    agent.signal(10);
    agent.wait_until("a second cycle", Duration::from_secs(5), |a| {
        a.cycles() >= 2
    });
}

#[test]
fn the_sequence_continues_across_restarts() {
    let dir = workdir("restart");
    let mut agent = Agent::start(&dir, &demo_config(0.2));
    agent.wait_cycles(3);
    assert!(agent.stop(Duration::from_secs(2)).success());
    let mut agent = Agent::start(&dir, &demo_config(0.2));
    agent.wait_cycles(2);
    assert!(agent.stop(Duration::from_secs(2)).success());
    let seqs = agent.cycle_seqs();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
}

#[test]
fn the_first_cycle_after_a_restart_has_rates() {
    let dir = workdir("restart-rates");
    let mut agent = Agent::start(&dir, &demo_config(0.3));
    agent.wait_cycles(2);
    assert!(agent.stop(Duration::from_secs(2)).success());
    let last_before = *agent.cycle_seqs().last().unwrap();

    let mut agent = Agent::start(&dir, &demo_config(0.3));
    agent.wait_cycles(1);
    assert!(agent.stop(Duration::from_secs(2)).success());
    let first_after: Vec<Value> = agent
        .spool_lines()
        .into_iter()
        .filter(|l| l["kind"] == "domain" && l["seq"] == last_before + 1)
        .collect();
    let running: Vec<&Value> = first_after
        .iter()
        .filter(|r| r["domain"]["state"] == "running")
        .collect();
    assert!(!running.is_empty(), "{first_after:?}");
    for record in running {
        let interval = record["collect"]["interval_s"].as_f64();
        assert!(
            interval.is_some_and(|s| s > 0.0 && s < 10.0),
            "no baseline across the restart: {record}"
        );
        assert!(
            record["cpu"]["utilisation_pct"].is_number(),
            "no CPU rate across the restart: {record}"
        );
    }
    assert!(agent
        .log()
        .contains("rates continue from the spool's last cycle"));
}

#[test]
fn a_second_agent_on_the_same_socket_is_refused() {
    let dir = workdir("twice");
    let mut agent = Agent::start(&dir, &demo_config(1.0));
    agent.wait_cycles(1);
    let out = Command::new(common::binary())
        .args(["run", "--config"])
        .arg(&agent.config)
        .arg("--spool")
        .arg(dir.join("other.ndjson"))
        .arg("--socket")
        .arg(&agent.socket)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(73));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("locked by pid {}", agent.pid())),
        "the refusal names the agent holding the socket: {err}"
    );
    assert_eq!(
        agent.request("version")[0]["kind"],
        "version",
        "the first agent is untouched"
    );
}

#[test]
fn a_stale_socket_file_is_replaced_but_a_regular_file_is_not() {
    let dir = workdir("stale");
    let socket = dir.join("virtdiag.sock");
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let mut agent = Agent::start(&dir, &demo_config(1.0));
    agent.wait_cycles(1);
    assert!(agent.stop(Duration::from_secs(2)).success());

    std::fs::write(&socket, "not a socket").unwrap();
    let out = Command::new(common::binary())
        .args(["run", "--uri", "test:///default", "--spool"])
        .arg(dir.join("d.ndjson"))
        .arg("--socket")
        .arg(&socket)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(73));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a socket"));
    assert_eq!(std::fs::read_to_string(&socket).unwrap(), "not a socket");
}

#[test]
fn flags_override_every_kind_of_key() {
    let dir = workdir("flags");
    let config = format!("{}[socket]\nmax_clients = 64\n", demo_config(5.0));
    let flags = [
        "--interval",
        "0.2",
        "--include",
        "db-*",
        "--include",
        "spare",
        "--exclude",
        "spare",
        "--max-clients",
        "7",
        "--idle-timeout",
        "9",
        "--socket-mode",
        "0600",
        "--fsync",
        "never",
        "--keep",
        "2",
        "--max-bytes",
        "100000",
    ];
    let mut agent = Agent::start_with(&dir, &config, &[], &flags);
    agent.wait_cycles(2);
    let status = agent.status();
    assert_eq!(status["interval_seconds"], 0.2);
    assert_eq!(status["clients"]["max"], 7);
    let list = &agent.request("list")[0];
    assert_eq!(list["count"], 1);
    assert_eq!(list["domains"][0]["name"], "db-primary");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&agent.socket).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    let out = Command::new(common::binary())
        .args([
            "run",
            "--uri",
            "test:///default",
            "--max-clients",
            "0",
            "--socket",
        ])
        .arg(dir.join("other.sock"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-clients"));
}

#[test]
fn a_missing_spool_directory_exits_73_cantcreat() {
    let dir = workdir("nospool");
    let out = Command::new(common::binary())
        .args([
            "run",
            "--uri",
            "test:///default",
            "--spool",
            "/nonexistent/dir/d.ndjson",
            "--socket",
        ])
        .arg(dir.join("v.sock"))
        .output()
        .unwrap();
    // An I/O failure, which a restart may cure: not 78, which systemd never restarts.
    assert_eq!(out.status.code(), Some(73));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("spool.path /nonexistent/dir/d.ndjson"),
        "{err}"
    );
}

#[test]
fn check_config_prints_the_effective_config_or_exits_78_naming_the_key() {
    let dir = workdir("check");
    let good = dir.join("good.toml");
    std::fs::write(&good, "interval_seconds = 5\n[socket]\nmode = \"0600\"\n").unwrap();
    let out = Command::new(common::binary())
        .args(["check-config", "--config"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("interval_seconds = 5.0"));
    assert!(text.contains("mode = \"0600\""));

    for (body, expected) in [
        ("interval_seconds = 5\n[spool]\nkeep = \"five\"\n", "line 3"),
        ("[socket]\nmodes = \"0600\"\n", "modes"),
        ("[socket]\nmax_clients = 0\n", "socket.max_clients"),
        ("not toml at all", "line 1"),
    ] {
        let bad = dir.join("bad.toml");
        std::fs::write(&bad, body).unwrap();
        let out = Command::new(common::binary())
            .args(["check-config", "--config"])
            .arg(&bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(78), "{body}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(expected) && err.contains("bad.toml"),
            "{body}: {err}"
        );
    }
    let out = Command::new(common::binary())
        .args(["check-config", "--config", "/nonexistent.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
}

#[test]
fn check_config_reports_every_error_the_group_and_the_directories() {
    let dir = workdir("check-all");
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "interval_seconds = 0\nbogus = 1\n[spool]\nmax_bytes = \"5 lots\"\n",
    )
    .unwrap();
    let out = Command::new(common::binary())
        .args(["check-config", "--keep", "-3", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    assert!(
        lines[0].contains("bad.toml: line 1: interval_seconds"),
        "{err}"
    );
    assert!(lines[1].contains("line 2: unknown key 'bogus'"), "{err}");
    assert!(
        lines[2].contains("line 4: spool.max_bytes: '5 lots' is not a size"),
        "{err}"
    );
    assert!(lines[3].contains("--keep: -3 is out of range"), "{err}");

    // A group the system's database does not know is an error; directories that
    // cannot take the files are warnings; a missing default file is said so.
    let out = Command::new(common::binary())
        .args(["check-config", "--socket-group", "no-such-group-virtdiag"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no group named 'no-such-group-virtdiag' in the system's group database"),
        "{err}"
    );
    let out = Command::new(common::binary())
        .args(["check-config", "--config", "/nonexistent/virtdiag.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78), "a named file must exist");
    let group = nix::unistd::Group::from_gid(nix::unistd::getgid())
        .unwrap()
        .unwrap()
        .name;
    let out = Command::new(common::binary())
        .args([
            "check-config",
            "--socket-group",
            &group,
            "--spool",
            "/nonexistent/d/s.ndjson",
        ])
        .arg("--socket")
        .arg(dir.join("v.sock"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("warning: spool.path /nonexistent/d/s.ndjson: the directory /nonexistent/d does not exist")
            && err.contains("--spool"),
        "{err}"
    );
    assert!(!err.contains("socket.path"), "{err}");
    let text = String::from_utf8_lossy(&out.stdout);
    if !std::path::Path::new(virtdiag::config::DEFAULT_CONFIG_PATH).exists() {
        assert!(
            text.starts_with("# no file at /etc/virtdiag/virtdiag.toml, using the defaults"),
            "{text}"
        );
    }
}

#[test]
fn the_agent_starts_before_libvirt_exists_and_reports_why() {
    let dir = workdir("nolibvirt");
    let missing = dir.join("later.xml");
    let config = format!(
        "uri = \"test://{}\"\nread_only = false\ninterval_seconds = 0.2\n",
        missing.display()
    );
    let mut agent = Agent::start(&dir, &config);
    agent.wait_cycles(2);
    let status = agent.status();
    assert_eq!(status["connected"], false);
    assert!(
        status["disconnect_reason"]
            .as_str()
            .unwrap()
            .contains("later.xml"),
        "{status}"
    );
    // libvirt "appears": the next cycle connects.
    std::fs::copy(common::repo_root().join("contrib/demo/node.xml"), &missing).unwrap();
    agent.wait_until("a connection", Duration::from_secs(10), |a| {
        a.status()["connected"] == true
    });
    agent.wait_until("records", Duration::from_secs(10), |a| {
        a.request("list")[0]["count"] == 4
    });
    let events = agent.events();
    assert_eq!(
        events[..3],
        ["started", "libvirt_disconnected", "libvirt_connected"]
    );
}

#[test]
fn an_agent_leaves_a_socket_that_is_no_longer_its_own() {
    let dir = workdir("not-mine");
    let mut first = Agent::start(&dir, &demo_config(1.0));
    // Someone removes the first agent's socket and its lock file; a second agent takes
    // the path.
    std::fs::remove_file(&first.socket).unwrap();
    std::fs::remove_file(dir.join("virtdiag.sock.lock")).unwrap();
    let second_dir = dir.join("second");
    std::fs::create_dir_all(&second_dir).unwrap();
    let mut second = Command::new(common::binary())
        .args(["run", "--uri", &common::demo_uri(), "--spool"])
        .arg(second_dir.join("d.ndjson"))
        .arg("--socket")
        .arg(&first.socket)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    first.wait_until("the second agent to answer", Duration::from_secs(10), |a| {
        a.try_request("version").is_ok()
    });
    assert!(first.stop(Duration::from_secs(5)).success());
    assert!(
        first
            .log()
            .contains("no longer the socket this agent bound"),
        "{}",
        first.log()
    );
    assert_eq!(first.request("status")[0]["pid"], second.id());
    let _ = Command::new("kill").arg(second.id().to_string()).status();
    let _ = second.wait();
}

#[test]
fn max_clients_beyond_the_open_file_limit_exits_78() {
    let dir = workdir("nofile");
    let out = Command::new("prlimit")
        .arg("--nofile=256:256")
        .arg(common::binary())
        .args([
            "run",
            "--uri",
            &common::demo_uri(),
            "--max-clients",
            "1000",
            "--spool",
        ])
        .arg(dir.join("d.ndjson"))
        .arg("--socket")
        .arg(dir.join("v.sock"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(err.contains("socket.max_clients = 1000"), "{err}");
    assert!(err.contains("open-file limit is 256"), "{err}");
}
