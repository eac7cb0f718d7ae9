//! Records read back: every line the agent writes deserializes into its type, and
//! writing that again gives the same bytes.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::json::tests::{full_record, opt_in_record};
use super::*;

/// Serializes, reads back, serializes again: the same bytes.
fn round_trip<T: Serialize + DeserializeOwned>(value: &T) -> T {
    let bytes = serde_json::to_vec(value).unwrap();
    let back: T = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)));
    assert_eq!(
        String::from_utf8(serde_json::to_vec(&back).unwrap()).unwrap(),
        String::from_utf8(bytes).unwrap()
    );
    back
}

fn cycle_record() -> CycleRecord {
    CycleRecord {
        kind: "cycle",
        schema: SCHEMA_VERSION,
        ts: "2026-11-23T19:20:53.123Z".into(),
        host: "h".into(),
        seq: 7,
        uri: "qemu:///system".into(),
        connected: true,
        error: Some("a \"quoted\" error".into()),
        domains: 3,
        duration_ms: 12.5,
        paths: GroupSources {
            kvm: Some(Source::Unsupported),
            ..GroupSources::default()
        },
        node: Some(NodeRecord {
            cpus: Some(8),
            cpu_utilisation_pct: Some(12.25),
            domains: DomainStates {
                running: 2,
                other: 1,
                ..DomainStates::default()
            },
            ..NodeRecord::default()
        }),
        ..CycleRecord::default()
    }
}

#[test]
fn a_domain_record_reads_back_as_itself() {
    let full = full_record();
    let back = round_trip(&full);
    assert_eq!(back.domain, full.domain);
    assert_eq!(back.job, full.job);
    assert_eq!(back.memory, full.memory);
    assert_eq!(back.collect, full.collect);
    let with_opt_in = opt_in_record();
    let back = round_trip(&with_opt_in);
    assert_eq!(back.opt_in, with_opt_in.opt_in);
    assert_eq!(back.collect.sources, with_opt_in.collect.sources);
}

#[test]
fn absent_and_null_opt_in_fields_stay_apart() {
    let mut record = opt_in_record();
    record.opt_in.perf = Some(None);
    record.opt_in.iothreads = None;
    record.domain.transitions = Some(None);
    record.domain.crashes = None;
    let back = round_trip(&record);
    assert_eq!(
        back.opt_in.perf,
        Some(None),
        "null: chosen, nothing reported"
    );
    assert_eq!(back.opt_in.iothreads, None, "absent: not chosen");
    assert_eq!(back.domain.transitions, Some(None));
    assert_eq!(back.domain.crashes, None);
}

#[test]
fn cycle_and_agent_lines_read_back_as_themselves() {
    let cycle = cycle_record();
    assert_eq!(round_trip(&cycle), cycle);
    let agent = AgentRecord::new(
        "2026-11-23T19:20:53.123Z".into(),
        Arc::from("h"),
        "libvirt_connected",
        Some(Arc::from("qemu:///system")),
        "connected".into(),
    );
    assert_eq!(round_trip(&agent), agent);
}

#[test]
fn a_line_of_another_kind_or_an_unknown_word_is_refused() {
    let domain = serde_json::to_string(&full_record()).unwrap();
    let cycle = serde_json::to_string(&cycle_record()).unwrap();
    assert!(serde_json::from_str::<CycleRecord>(&domain).is_err());
    assert!(serde_json::from_str::<DomainRecord>(&cycle).is_err());
    for (from, to) in [
        ("\"state\":\"running\"", "\"state\":\"dancing\""),
        ("\"reason\":\"booted\"", "\"reason\":\"bored\""),
        ("\"kind\":\"domain\"", "\"kind\":\"Domain\""),
    ] {
        assert!(domain.contains(from), "{from}");
        let changed = domain.replacen(from, to, 1);
        assert!(
            serde_json::from_str::<DomainRecord>(&changed).is_err(),
            "{to}"
        );
    }
    let agent = serde_json::to_string(&AgentRecord::new(
        "t".into(),
        "h".into(),
        "started",
        None,
        String::new(),
    ))
    .unwrap();
    let unknown = agent.replace("\"started\"", "\"dancing\"");
    assert!(serde_json::from_str::<AgentRecord>(&unknown).is_err());
}

/// Every detail word of a lifecycle event that changes the state is a word of the
/// record's vocabulary: the event line's `domain.reason` is the detail itself.
#[test]
fn lifecycle_events_give_the_records_words() {
    for kind in 0..12 {
        for detail in 0..10 {
            let event = crate::collect::events::decode::lifecycle(kind, detail);
            let Some((_, reason)) = event.state() else {
                continue;
            };
            match event.detail() {
                Ok(word) => assert_eq!(reason.as_str(), word, "{event:?}"),
                Err(_) => assert_eq!(reason, StateReason::Unknown, "{event:?}"),
            }
        }
    }
}
