//! `run`'s include and exclude lists follow the one selection rule of `once --domain`
//! and `get` (docs/collection.md): a UUID, an id, a glob or a name, and a Nova display
//! name, which the agent knows only after reading the domain's XML.

mod common;

use common::agent::{demo_config, workdir, Agent};

/// The domains of the agent's last cycle, sorted.
fn collected(dir_name: &str, flags: &[&str]) -> Vec<String> {
    let dir = workdir(dir_name);
    let mut agent = Agent::start_with(&dir, &demo_config(0.2), &[], flags);
    agent.wait_cycles(2);
    let mut names: Vec<String> = agent
        .request("all")
        .iter()
        .filter(|l| l["kind"] == "domain")
        .map(|l| l["domain"]["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn include_and_exclude_take_display_names_ids_uuids_and_globs() {
    // The demo host: instance-0000002a (Nova display name web-1, id 1), db-primary (id 2),
    // build-runner (id 3, paused), spare (shut off).
    assert_eq!(
        collected("select-display", &["--include", "web-1"]),
        ["instance-0000002a"]
    );
    assert_eq!(collected("select-id", &["--include", "2"]), ["db-primary"]);
    assert_eq!(
        collected(
            "select-uuid",
            &["--include", "9A8B7C6D-5E4F-4A3B-9C2D-1E0F9A8B7C6D"]
        ),
        ["spare"]
    );
    assert_eq!(
        collected("select-glob", &["--exclude", "[bs]*", "--exclude", "web-?"]),
        ["db-primary"]
    );
}
