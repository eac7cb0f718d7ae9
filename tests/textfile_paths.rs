//! The textfile's directory, shared with another user: sticky and world-writable (mode
//! 1777), as node_exporter's textfile directory sometimes is. The agent runs as one
//! unprivileged user (uid 65533, through `setpriv`), and `nobody` (uid 65534) takes
//! names there first: files, a directory and symlinks at the names a predictable
//! temporary file would have. And the paths no two keys may share, refused by
//! `check-config` and `run` (status 78).
//!
//! Runs as root (as tests/run.sh does): only root can act as two users.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::agent::{workdir, Agent};

const AGENT_UID: u32 = 65533;
const OTHER_UID: u32 = 65534;

/// The words that run a command as `uid`, with no groups.
fn as_user(uid: u32) -> Vec<String> {
    vec![
        "setpriv".into(),
        format!("--reuid={uid}"),
        format!("--regid={uid}"),
        "--clear-groups".into(),
    ]
}

/// Runs `script` with `sh` as `uid` in `dir`.
fn sh_as(uid: u32, dir: &Path, script: &str) {
    let words = as_user(uid);
    let status = Command::new(&words[0])
        .args(&words[1..])
        .args(["sh", "-euc", script])
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "{script}");
}

/// The agent's directory (owned by the agent's user) with a sticky world-writable
/// `textfile` directory in it.
fn shared_dir(name: &str) -> (PathBuf, PathBuf) {
    assert_eq!(
        nix::unistd::geteuid().as_raw(),
        0,
        "runs as root, to act as two users"
    );
    let dir = workdir(name);
    std::os::unix::fs::chown(&dir, Some(AGENT_UID), Some(AGENT_UID)).unwrap();
    let shared = dir.join("textfile");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    (dir, shared)
}

fn start(dir: &Path, textfile: &Path) -> Agent {
    let wrapper = as_user(AGENT_UID);
    let wrapper: Vec<&str> = wrapper.iter().map(String::as_str).collect();
    Agent::start_with(
        dir,
        &format!(
            "uri = \"{}\"\ninterval_seconds = 0.2\n",
            common::fixture_uri(20)
        ),
        &wrapper,
        &["--prometheus-textfile", &textfile.display().to_string()],
    )
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn another_users_files_directories_and_symlinks_do_not_stop_the_textfile() {
    let (dir, shared) = shared_dir("textfile-shared");
    let textfile = shared.join("virtdiag.prom");
    // What another user leaves at every name a predictable scheme would use.
    sh_as(
        OTHER_UID,
        &shared,
        "echo keep > victim
         : > .virtdiag.prom.tmp
         mkdir virtdiag.prom.tmp .virtdiag.prom.new
         ln -s victim .virtdiag.prom.swp
         ln -s /nonexistent .virtdiag.prom
         for i in 0 1 2 3 4 5 6 7 8 9; do : > .virtdiag.prom.$i.tmp; done",
    );
    let theirs = names(&shared);
    let mut agent = start(&dir, &textfile);
    agent.wait_until("the textfile", Duration::from_secs(10), |_| {
        textfile.exists()
    });
    let first = agent.cycles();
    agent.wait_cycles(first + 5);
    let meta = std::fs::symlink_metadata(&textfile).unwrap();
    assert!(meta.file_type().is_file());
    assert_eq!((meta.uid(), meta.mode() & 0o7777), (AGENT_UID, 0o644));
    let text = std::fs::read_to_string(&textfile).unwrap();
    assert!(text.contains("\nvirtdiag_up 1\n"), "{text}");
    assert!(
        text.contains("\nvirtdiag_textfile_errors_total 0\n"),
        "{text}"
    );
    let status = agent.status();
    assert_eq!(status["textfile"]["errors"], 0, "{status}");
    assert!(
        status["textfile"]["written"].as_u64().unwrap() >= 5,
        "{status}"
    );
    // Theirs untouched, nothing followed, nothing of ours left but the textfile.
    assert_eq!(
        std::fs::read_to_string(shared.join("victim")).unwrap(),
        "keep\n"
    );
    let mut now = names(&shared);
    now.retain(|n| n != "virtdiag.prom");
    assert_eq!(now, theirs, "at most the textfile was added");
    assert!(agent.stop(Duration::from_secs(3)).success());
    assert!(!textfile.exists(), "removed at stop");
    assert_eq!(names(&shared), theirs);
}

#[test]
fn the_textfiles_own_name_taken_by_another_user_is_a_counted_failure() {
    let (dir, shared) = shared_dir("textfile-taken");
    let textfile = shared.join("virtdiag.prom");
    // A file of theirs at the textfile's name: in a sticky directory the agent cannot
    // replace it.
    sh_as(OTHER_UID, &shared, "echo 'theirs 1' > virtdiag.prom");
    let mut agent = start(&dir, &textfile);
    agent.wait_until("three failures in a row", Duration::from_secs(10), |a| {
        a.status()["textfile"]["consecutive_errors"].as_u64() >= Some(3)
    });
    let status = agent.status();
    let textfile_status = &status["textfile"];
    assert_eq!(textfile_status["written"], 0, "{status}");
    assert_eq!(textfile_status["path"], textfile.display().to_string());
    assert!(
        textfile_status["last_error"]
            .as_str()
            .unwrap()
            .contains("Operation not permitted"),
        "{status}"
    );
    let errors = textfile_status["errors"].as_u64().unwrap();
    let text = agent.try_request_text("metrics").unwrap();
    let counted: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("virtdiag_textfile_errors_total "))
        .expect("the counter is there")
        .parse()
        .unwrap();
    assert!(counted >= errors, "{counted} < {errors}");
    assert!(agent.log().contains("failures in a row"), "{}", agent.log());
    assert_eq!(
        std::fs::read_to_string(&textfile).unwrap(),
        "theirs 1\n",
        "theirs is left as it is"
    );
    assert_eq!(names(&shared), ["virtdiag.prom"], "no temporary file left");
    assert!(agent.stop(Duration::from_secs(3)).success());
}

#[test]
fn no_two_of_spool_socket_and_textfile_may_share_a_path() {
    let dir = workdir("textfile-clash");
    let config = dir.join("c.toml");
    std::fs::write(&config, "").unwrap();
    let config = config.display().to_string();
    let at = |name: &str| dir.join(name).display().to_string();
    let cases = [
        (
            [
                "--spool",
                &at("x.prom"),
                "--prometheus-textfile",
                &at("x.prom"),
            ],
            "spool.path",
            "prometheus.textfile",
        ),
        (
            [
                "--socket",
                &at("x.prom"),
                "--prometheus-textfile",
                &at("./x.prom"),
            ],
            "socket.path",
            "prometheus.textfile",
        ),
        (
            ["--spool", &at("x.sock"), "--socket", &at("x.sock")],
            "spool.path",
            "socket.path",
        ),
    ];
    for (flags, first, second) in &cases {
        for command in ["check-config", "run"] {
            let mut words = vec![command, "--config", &config];
            words.extend_from_slice(flags);
            let out = Command::new(common::binary())
                .args(&words)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(78), "{words:?}: {err}");
            assert!(
                err.contains(&format!("{first}: ")) && err.contains(&format!("is also {second}")),
                "{words:?}: {err}"
            );
        }
    }
    assert_eq!(names(&dir), ["c.toml"], "nothing was created");
}
