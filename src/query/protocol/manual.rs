//! virtdiag-protocol(7) held to the types: every command `help` lists, every error
//! code and every key of `status` is in the page (its scdoc source and the page
//! generated from it), and the page documents no code the agent cannot send.

use super::status::tests::{example, keys};
use super::{ErrorCode, Kind, List, ListedDomain, COMMANDS, METRICS_END};

const SOURCE: &str = include_str!("../../../packaging/man/virtdiag-protocol.7.scd");
const PAGE: &str = include_str!("../../../packaging/man/virtdiag-protocol.7");

/// The text of the source from the heading `# NAME` to the next heading.
fn section(name: &str) -> &'static str {
    let start = SOURCE
        .find(&format!("\n# {name}\n"))
        .unwrap_or_else(|| panic!("no section {name}"));
    let rest = &SOURCE[start + name.len() + 4..];
    &rest[..rest.find("\n# ").unwrap_or(rest.len())]
}

/// The paragraph of the source that the term `*word*` opens (up to the next term).
fn entry(section: &'static str, word: &str) -> Option<&'static str> {
    let start = section.find(&format!("\n*{word}*"))?;
    let rest = &section[start + 1..];
    let end = rest[1..].find("\n*").map_or(rest.len(), |e| e + 1);
    Some(&rest[..end])
}

/// The words the page sets in bold in the generated page, as `\fBword\fR`.
fn bold_in_page(word: &str) -> bool {
    PAGE.contains(&format!("\\fB{word}\\fR"))
}

#[test]
fn every_command_is_a_request_of_the_page() {
    let requests = section("REQUESTS");
    for (usage, _) in COMMANDS {
        let word = usage.split_whitespace().next().unwrap();
        assert!(
            entry(requests, word).is_some(),
            "'{word}' is not a request of virtdiag-protocol.7.scd"
        );
        assert!(bold_in_page(word), "'{word}' is not in virtdiag-protocol.7");
    }
}

#[test]
fn the_error_codes_of_the_page_are_the_enum() {
    let errors = section("ERRORS");
    let documented: Vec<&str> = errors
        .lines()
        .filter_map(|l| l.strip_prefix('*')?.strip_suffix('*'))
        .collect();
    let codes: Vec<String> = ErrorCode::ALL.iter().map(|c| c.wire()).collect();
    assert_eq!(
        documented, codes,
        "the codes of virtdiag-protocol.7.scd, in order, against ErrorCode::ALL"
    );
    for code in &codes {
        assert!(bold_in_page(code), "'{code}' is not in virtdiag-protocol.7");
    }
}

#[test]
fn every_key_of_status_is_in_the_page() {
    let status = entry(section("REQUESTS"), "status").unwrap();
    let mut all = Vec::new();
    keys(&serde_json::to_value(example()).unwrap(), "", &mut all);
    for key in all.iter().filter(|k| *k != "kind") {
        let word = key.rsplit('.').next().unwrap();
        assert!(
            status.contains(&format!("*{word}*")),
            "status key '{key}' is not under status in virtdiag-protocol.7.scd"
        );
        assert!(bold_in_page(word), "'{key}' is not in virtdiag-protocol.7");
    }
}

#[test]
fn every_kind_and_the_metrics_trailer_are_in_the_page() {
    let kinds = [
        Kind::Help,
        Kind::Version,
        Kind::Status,
        Kind::List,
        Kind::End,
        Kind::Domain,
        Kind::Cycle,
        Kind::Event,
    ];
    // A kind added to the enum must be added above: this match has no wildcard.
    let _listed = |kind: Kind| match kind {
        Kind::Help
        | Kind::Version
        | Kind::Status
        | Kind::List
        | Kind::End
        | Kind::Domain
        | Kind::Cycle
        | Kind::Event
        | Kind::Unknown => (),
    };
    for kind in kinds {
        let member = format!("\"kind\":{}", serde_json::to_string(&kind).unwrap());
        assert!(
            SOURCE.contains(&member),
            "{member} is not in virtdiag-protocol.7.scd"
        );
    }
    let trailer = METRICS_END.trim_end();
    assert!(SOURCE.contains(&format!("*{trailer}*")), "{trailer}");
}

#[test]
fn every_key_of_list_is_in_the_page() {
    let list = entry(section("REQUESTS"), "list").unwrap();
    let answer = List {
        seq: 1,
        count: 1,
        domains: vec![ListedDomain {
            name: "a".into(),
            uuid: "u".into(),
            id: Some(1),
            state: "running".into(),
            reason: "booted".into(),
            transitions: Some(0),
            crashes: Some(0),
        }],
    };
    let mut all = Vec::new();
    keys(&serde_json::to_value(answer).unwrap(), "", &mut all);
    assert!(all.contains(&"domains.crashes".to_string()), "{all:?}");
    for key in all.iter().filter(|k| *k != "kind") {
        let word = key.rsplit('.').next().unwrap();
        assert!(
            list.contains(&format!("*{word}*")),
            "list key '{key}' is not under list in virtdiag-protocol.7.scd"
        );
    }
}
