//! `virtdiag completions bash|zsh|fish`: the committed scripts the packages install
//! (packaging/completions/) are what the binary prints, and bash completes with the
//! one it ships.

mod common;

use std::process::Command;

fn script(shell: &str) -> String {
    let output = Command::new(common::binary())
        .args(["completions", shell])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
#[cfg_attr(
    not(feature = "top"),
    ignore = "the packaged scripts are the default build's, with `top`"
)]
fn the_packaged_scripts_are_current() {
    for (shell, file) in [
        ("bash", "virtdiag.bash"),
        ("zsh", "_virtdiag"),
        ("fish", "virtdiag.fish"),
    ] {
        let path = common::repo_root().join("packaging/completions").join(file);
        let committed = std::fs::read_to_string(&path).unwrap();
        assert!(
            committed == script(shell),
            "{} is stale: run packaging/completions/generate.sh",
            path.display()
        );
    }
    let unknown = Command::new(common::binary())
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(64));
}

/// What bash's programmable completion offers for the words of `line` (the last one
/// being completed), with the packaged script loaded.
fn bash_complete(line: &[&str]) -> Vec<String> {
    let path = common::repo_root().join("packaging/completions/virtdiag.bash");
    let words = line
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let program = format!(
        "source '{}'; COMP_WORDS=({words}); COMP_CWORD={}; \
         _virtdiag virtdiag '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        path.display(),
        line.len() - 1,
        line[line.len() - 1],
        line[line.len() - 2],
    );
    let output = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
#[cfg_attr(not(feature = "top"), ignore = "completes `top`, a default feature")]
fn bash_completes_commands_and_flags() {
    assert_eq!(bash_complete(&["virtdiag", "to"]), ["top"]);
    let commands = bash_complete(&["virtdiag", ""]);
    for command in ["run", "check-config", "query", "once", "top", "completions"] {
        assert!(
            commands.iter().any(|c| c == command),
            "{command}: {commands:?}"
        );
    }
    assert_eq!(bash_complete(&["virtdiag", "query", "--ch"]), ["--check"]);
    let shells = bash_complete(&["virtdiag", "completions", ""]);
    let shells: Vec<&String> = shells.iter().filter(|w| !w.starts_with('-')).collect();
    assert_eq!(shells, ["bash", "zsh", "fish"]);
}
