//! `virtdiag top` in a real terminal: tmux (80×24, `send-keys`, `capture-pane`)
//! against an agent on the demo host. The tmux test is ignored by a plain `cargo
//! test` because it needs tmux; tests/run.sh installs tmux and runs it with
//! `--ignored`.

#![cfg(feature = "top")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::agent::{demo_config, workdir, Agent};

/// A tmux server of its own (private socket) with one 80×24 shell.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn start(dir: &Path) -> Tmux {
        let tmux = Tmux {
            socket: dir.join("tmux.sock"),
        };
        tmux.open();
        // The server outlives its last session: a `kill-session` followed by `open`
        // would otherwise race the exiting server ("server exited unexpectedly").
        tmux.run(&["set-option", "-s", "exit-empty", "off"]);
        tmux
    }

    /// A new session with one 80×24 shell (again after a `kill-session`).
    fn open(&self) {
        self.run(&[
            "new-session",
            "-d",
            "-x",
            "80",
            "-y",
            "24",
            "-s",
            "top",
            "bash",
            "--norc",
            "--noprofile",
        ]);
    }

    fn run(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux (tests/run.sh installs it)");
        assert!(output.status.success(), "tmux {args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "top"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Types a command line and runs it.
    fn type_line(&self, line: &str) {
        self.keys(&["-l", line]);
        self.keys(&["Enter"]);
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "top"])
    }

    /// `#{alternate_on}` and `#{cursor_flag}`: in the alternate screen, cursor shown.
    fn flags(&self) -> (bool, bool) {
        let text = self.run(&[
            "display",
            "-p",
            "-t",
            "top",
            "#{alternate_on} #{cursor_flag}",
        ]);
        let mut words = text.split_whitespace().map(|w| w == "1");
        (words.next().unwrap(), words.next().unwrap())
    }

    fn pane_pid(&self) -> u32 {
        self.run(&["display", "-p", "-t", "top", "#{pane_pid}"])
            .trim()
            .parse()
            .unwrap()
    }

    /// Waits until `check` holds for the screen; fails with the screen.
    fn wait_for(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "gave up waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .status();
    }
}

/// The child processes of `parent` (from /proc).
fn children(parent: u32) -> Vec<u32> {
    let path = format!("/proc/{parent}/task/{parent}/children");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The domain names of the table, top to bottom.
fn names(screen: &str) -> Vec<String> {
    screen
        .lines()
        .skip_while(|l| !l.starts_with("NAME "))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// The first line of the screen that starts with `prefix` (what the shell printed,
/// not the typed command line).
fn said(screen: &str, prefix: &str) -> Option<String> {
    screen
        .lines()
        .find(|l| l.starts_with(prefix))
        .map(str::to_string)
}

/// Waits for the run labelled `label` to end; checks its exit status and that the
/// terminal's settings came back as they were. Returns the screen.
fn finished(tmux: &Tmux, label: &str, code: i32) -> String {
    let tty = format!("{label}:tty=");
    let screen = tmux.wait_for(&format!("{label} to end"), |s| said(s, &tty).is_some());
    assert_eq!(
        said(&screen, &format!("{label}:exit=")),
        Some(format!("{label}:exit={code}")),
        "{screen}"
    );
    assert_eq!(said(&screen, &tty), Some(format!("{tty}same")), "{screen}");
    screen
}

/// The number after "cycle " in the header.
fn cycle_seq(screen: &str) -> Option<u64> {
    let rest = screen.lines().next()?.split("cycle ").nth(1)?;
    rest.split(':').next()?.parse().ok()
}

#[test]
#[ignore = "needs tmux: tests/run.sh installs it and runs this with --ignored"]
fn top_in_tmux_sorts_filters_redraws_and_always_restores_the_terminal() {
    let dir = workdir("top-tmux");
    let mut agent = Agent::start(&dir, &demo_config(1.0));
    agent.wait_cycles(2);
    let tmux = Tmux::start(&dir);
    let binary = common::binary();
    // Each run prints its exit status and whether the tty settings came back whole.
    let run_top = |label: &str, socket: &Path| {
        tmux.type_line(&format!(
            "clear; stty -g > {before}; VIRTDIAG_SOCKET={socket} RUST_BACKTRACE=0 {binary} top; \
             echo {label}:exit=$?; stty -g | cmp -s - {before} && echo {label}:tty=same \
             || echo {label}:tty=changed",
            before = dir.join("stty.before").display(),
            socket = socket.display(),
            binary = binary.display(),
        ));
    };

    run_top("quit", &agent.socket);
    let screen = tmux.wait_for("four domains", |s| names(s).len() == 4);
    let header = screen.lines().next().unwrap();
    assert!(header.contains("libvirt connected"), "{screen}");
    assert!(header.contains("4 domains, 2 running"), "{screen}");
    assert!(screen.contains("NAME "), "{screen}");
    assert!(
        screen.contains("IOPS R/W") && screen.contains("RX/s"),
        "{screen}"
    );
    assert!(tmux.flags().0, "in the alternate screen");
    let db = screen
        .lines()
        .find(|l| l.starts_with("db-primary"))
        .unwrap();
    let cells: Vec<&str> = db.split_whitespace().collect();
    assert_eq!(&cells[1..3], ["running", "4"], "{db}");
    assert!(cells[4].ends_with("/4.0G"), "memory used/max: {db}");
    let spare = screen.lines().find(|l| l.starts_with("spare")).unwrap();
    assert!(spare.contains("shutoff"), "{spare}");

    // Wider than 85 columns, the steal column appears (the demo host has no steal
    // figures: "-"); back in 80 it goes.
    tmux.run(&["resize-window", "-t", "top", "-x", "100", "-y", "24"]);
    let wide = tmux.wait_for("the steal column", |s| s.contains(" STL% "));
    let db = wide.lines().find(|l| l.starts_with("db-primary")).unwrap();
    assert_eq!(db.split_whitespace().nth(4), Some("-"), "{wide}");
    tmux.run(&["resize-window", "-t", "top", "-x", "80", "-y", "24"]);
    tmux.wait_for("80 columns again", |s| !s.contains("STL%"));

    // Redraws each cycle.
    let first = cycle_seq(&screen).expect("a cycle number in the header");
    tmux.wait_for("a later cycle", |s| cycle_seq(s).is_some_and(|n| n > first));
    // Under the header, the host line of the latest cycle: the demo host's guests by
    // state and the test driver's node (16 CPUs).
    let host = tmux.wait_for("the host line", |s| {
        s.lines().nth(1).is_some_and(|l| l.contains(" | vCPU "))
    });
    let line = host.lines().nth(1).unwrap();
    assert!(
        line.starts_with("2 running, 1 paused, 1 off, 0 crashed | vCPU "),
        "{host}"
    );
    assert!(line.contains("/16 ("), "{host}");

    // Sort by name (key 1), then again for the reverse order; by vCPUs (key 3).
    tmux.keys(&["1"]);
    let sorted = tmux.wait_for("name order", |s| {
        names(s).first().map(String::as_str) == Some("build-runner")
    });
    assert_eq!(names(&sorted)[3], "spare", "{sorted}");
    tmux.keys(&["1"]);
    tmux.wait_for("reverse name order", |s| {
        names(s).first().map(String::as_str) == Some("spare")
    });
    tmux.keys(&["3"]);
    tmux.wait_for("most vCPUs first", |s| {
        names(s).first().map(String::as_str) == Some("db-primary")
    });

    // Filter by a glob, then clear it.
    tmux.keys(&["/"]);
    tmux.keys(&["-l", "sp*"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("only spare", |s| names(s) == ["spare"]);
    tmux.keys(&["/", "BSpace", "BSpace", "BSpace", "Enter"]);
    tmux.wait_for("all four again", |s| names(s).len() == 4);

    // q quits with 0; the terminal is as it was.
    tmux.keys(&["q"]);
    finished(&tmux, "quit", 0);
    assert_eq!(tmux.flags(), (false, true), "normal screen, cursor shown");

    // SIGINT from outside.
    run_top("sigint", &agent.socket);
    tmux.wait_for("four domains", |s| names(s).len() == 4);
    let top = children(tmux.pane_pid());
    assert_eq!(top.len(), 1, "one child of the shell: top");
    agent_signal(top[0], "INT");
    finished(&tmux, "sigint", 0);
    assert_eq!(tmux.flags(), (false, true), "normal screen, cursor shown");

    // A panic (F12, debug builds only) still restores the terminal.
    if cfg!(debug_assertions) && std::env::var_os("VIRTDIAG_BIN").is_none() {
        run_top("panic", &agent.socket);
        tmux.wait_for("four domains", |s| names(s).len() == 4);
        tmux.keys(&["F12"]);
        let after = finished(&tmux, "panic", 101);
        assert!(after.contains("deliberate panic"), "{after}");
        assert_eq!(tmux.flags(), (false, true), "normal screen, cursor shown");
    }

    // The terminal hangs up under a running top (ssh dropped): it ends, and does not
    // spin.
    run_top("hangup", &agent.socket);
    tmux.wait_for("four domains", |s| names(s).len() == 4);
    let top = children(tmux.pane_pid());
    assert_eq!(top.len(), 1, "one child of the shell: top");
    let stat = format!("/proc/{}/stat", top[0]);
    tmux.run(&["kill-session", "-t", "top"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::read_to_string(&stat).is_ok_and(|s| !s.contains(") Z ")) {
        if Instant::now() > deadline {
            agent_signal(top[0], "KILL");
            panic!("top still ran (spinning) 5 s after its terminal hung up");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    tmux.open();

    // The agent goes away while top runs: it says so, and quits cleanly.
    run_top("gone", &agent.socket);
    tmux.wait_for("four domains", |s| names(s).len() == 4);
    agent.stop(Duration::from_secs(5));
    tmux.wait_for("the agent is gone", |s| s.contains("retrying"));
    tmux.keys(&["q"]);
    finished(&tmux, "gone", 0);

    // No agent at all: exit 69 before the terminal is touched.
    tmux.type_line(&format!(
        "clear; {} top --socket {}; echo none:exit=$?",
        binary.display(),
        dir.join("nothing.sock").display()
    ));
    let after = tmux.wait_for("no agent to end", |s| said(s, "none:exit=").is_some());
    assert!(
        said(&after, "none:exit=").as_deref() == Some("none:exit=69"),
        "{after}"
    );
    assert!(after.contains("cannot connect to the agent"), "{after}");
}

fn agent_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn top_refuses_a_pipe() {
    let output = Command::new(common::binary())
        .args(["top", "--socket", "/nonexistent/virtdiag.sock"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("virtdiag query watch"), "{stderr}");
}

#[test]
#[ignore = "needs tmux: tests/run.sh installs it and runs this with --ignored"]
fn top_says_when_the_stream_falls_silent_and_escapes_names() {
    use std::io::Write;
    let dir = workdir("top-silent");
    // An agent that answers, sends one cycle, then falls silent: status says 0.25 s.
    let socket = common::fake::script(&dir, "silent-watch.sock", |request, stream| {
        // A whole record (every field a record cannot leave out) and cycle line.
        let domain = "{\"kind\":\"domain\",\"schema\":1,\"ts\":\"t\",\"host\":\"vm\",\"seq\":1,\
                      \"domain\":{\"name\":\"db\u{9b}2J\u{202e}x\",\"uuid\":\"u\",\"id\":1,\
                      \"state\":\"running\",\"reason\":\"booted\"},\"memory\":{},\"disks\":[],\
                      \"nics\":[],\"collect\":{\"sources\":{\"state\":\"bulk\",\"cpu\":\"bulk\",\
                      \"vcpus\":\"bulk\",\"balloon\":\"bulk\",\"disks\":\"bulk\",\"nics\":\"bulk\"},\
                      \"duration_ms\":0.1,\"missing\":[]}}\n";
        let cycle = serde_json::to_string(&virtdiag::record::CycleRecord {
            kind: "cycle",
            host: "vm".into(),
            seq: 1,
            connected: true,
            ..Default::default()
        })
        .unwrap();
        let answer = match request {
            "status" => common::fake::status_line(0.25),
            "watch" => format!(
                "{domain}{cycle}
"
            ),
            _ => format!(
                "{domain}{{\"kind\":\"end\",\"count\":1,\"seq\":1}}
"
            ),
        };
        let _ = stream.write_all(answer.as_bytes());
        if request == "watch" {
            std::thread::sleep(Duration::from_secs(3600));
        }
    });
    let tmux = Tmux::start(&dir);
    tmux.type_line(&format!(
        "clear; {} top --timeout 1 --socket {}; echo silent:exit=$?",
        common::binary().display(),
        socket.display()
    ));
    // 3 × 0.25 s + 1 s of silence, then the footer says so and top reconnects.
    let screen = tmux.wait_for("the silence to be named", |s| {
        s.contains("no more cycles from the agent: nothing for 1.8 s")
    });
    assert!(
        screen.contains("agent unreachable, retrying: no more cycles"),
        "{screen}"
    );
    assert!(screen.contains("db\\x9b2J\\u202e "), "{screen}");
    tmux.keys(&["q"]);
    tmux.wait_for("top to end", |s| said(s, "silent:exit=0").is_some());
}
