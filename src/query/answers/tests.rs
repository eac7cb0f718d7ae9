//! Lookups by the selection rule, and the shape of each answer.

use super::*;
use crate::query::views::{View, Wanted};
use crate::record::*;

const UUID_WEB: &str = "6c0c3d8e-3a0f-4b6e-9f4e-2d1f0a9b7c11";

pub(crate) fn record(name: &str, uuid: &str, id: Option<u32>) -> Arc<DomainRecord> {
    Arc::new(DomainRecord {
        kind: "domain",
        schema: 1,
        ts: "t".into(),
        host: "h".into(),
        seq: 3,
        domain: DomainIdentity {
            name: name.into(),
            uuid: uuid.into(),
            id,
            state: DomainState::Running,
            reason: StateReason::Booted,
            transitions: Some(None),
            crashes: Some(None),
        },
        nova: None,
        cpu: None,
        memory: MemoryStats {
            max_kib: Some(1),
            current_kib: None,
            used_kib: None,
            balloon: None,
            bandwidth_monitors: None,
        },
        disks: vec![],
        nics: vec![],
        job: None,
        opt_in: Default::default(),
        collect: CollectInfo {
            sources: GroupSources::default(),
            interval_s: None,
            duration_ms: 0.0,
            missing: vec![],
            control: None,
        },
    })
}

fn latest() -> Latest {
    let records = vec![
        record("web", UUID_WEB, Some(4)),
        record("4", "0b8e6a52-7d14-4c3a-9e21-5f6a7b8c9d01", Some(9)),
    ];
    let mut lines = Vec::new();
    let mut spans = Vec::new();
    for r in &records {
        let start = lines.len();
        serde_json::to_writer(&mut lines, &**r).unwrap();
        lines.push(b'\n');
        spans.push(start..lines.len());
    }
    Latest::new(3, records, Arc::new(lines), spans)
}

fn found(latest: &Latest, target: &str) -> Vec<usize> {
    find(latest, target).unwrap().1
}

#[test]
fn a_pattern_past_the_limit_is_a_bad_argument() {
    let l = latest();
    let mut out = Vec::new();
    let pattern = format!("[{}]", "a".repeat(4094));
    let e = get(&l, &pattern, Format::Json, &mut out).unwrap_err();
    assert_eq!(e.code, ErrorCode::BadArgument);
    assert!(
        e.message.contains("4096 bytes") && e.message.contains("at most 256 bytes"),
        "{}",
        e.message
    );
    assert!(out.is_empty());
}

#[test]
fn finds_by_the_selection_rule() {
    let l = latest();
    assert_eq!(found(&l, "web"), vec![0]);
    assert_eq!(found(&l, UUID_WEB), vec![0]);
    assert_eq!(found(&l, &UUID_WEB.to_uppercase()), vec![0]);
    assert_eq!(found(&l, "9"), vec![1]);
    assert_eq!(found(&l, "4"), vec![0], "id 4 wins over the domain named 4");
    assert_eq!(found(&l, "nope"), Vec::<usize>::new());
    assert_eq!(found(&l, "*"), vec![0, 1]);
}

#[test]
fn get_answers_one_domain_or_says_why_not() {
    let l = latest();
    let mut out = Vec::new();
    let e = get(&l, "*", Format::Json, &mut out).unwrap_err();
    assert_eq!(e.code, ErrorCode::AmbiguousDomain);
    assert!(e.message.contains("matches 2 domains"), "{}", e.message);
    assert!(e.message.contains("'web', '4'"), "{}", e.message);
    assert!(out.is_empty());
    get(&l, "w[a-e]?", Format::Json, &mut out).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["domain"]["name"], "web");
    let e = get(&l, "5", Format::Json, &mut out).unwrap_err();
    assert_eq!(e.code, ErrorCode::UnknownDomain);
    assert!(
        e.message.contains("read as an id, then a name"),
        "{}",
        e.message
    );
}

#[test]
fn names_in_messages_are_capped() {
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
    assert_eq!(
        names_of(names.into_iter()),
        "'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h' and 2 more"
    );
}

#[test]
fn get_all_and_list_answer_whole_lines() {
    let l = latest();
    let mut out = Vec::new();
    get(&l, "web", Format::Json, &mut out).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["domain"]["name"], "web");

    let mut out = Vec::new();
    let e = get(&l, "nope", Format::Json, &mut out).unwrap_err();
    assert_eq!(e.code, ErrorCode::UnknownDomain);
    assert!(out.is_empty());

    assert_eq!(
        l.all(Format::Legacy).err(),
        Some(View::Legacy),
        "not built yet"
    );
    let mut one = Vec::new();
    get(&l, "web", Format::Legacy, &mut one).unwrap();
    l.build(View::Legacy);
    let text = String::from_utf8(l.all(Format::Legacy).unwrap().to_vec()).unwrap();
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[0].as_bytes(),
        &one[..one.len() - 1],
        "one record built alone is the line of the view"
    );
    let json = l.all(Format::Json).unwrap();
    assert!(
        Arc::ptr_eq(json.shared.as_ref().unwrap(), &l.lines_arc()),
        "shared, not copied"
    );
    assert_eq!(String::from_utf8(json.to_vec()).unwrap().lines().count(), 3);
    assert!(lines[0].starts_with("{\"domain\":\"web\",\"uuid\":"));
    assert_eq!(lines[2], r#"{"kind":"end","count":2,"seq":3}"#);
    l.build(View::Nova);
    let nova = String::from_utf8(l.all(Format::Nova).unwrap().to_vec()).unwrap();
    let v: serde_json::Value = serde_json::from_str(nova.lines().next().unwrap()).unwrap();
    assert_eq!(v["diagnostics"]["driver"], "libvirt");

    assert!(l.list().is_err());
    l.build(View::List);
    let out = l.list().unwrap().to_vec();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["count"], 2);
    assert_eq!(v["domains"][1]["name"], "4");
}

#[test]
fn metrics_share_the_domains_and_end_with_eof() {
    let l = latest();
    assert_eq!(l.metrics(b"", true).err(), Some(View::Metrics));
    let domains = l.build(View::Metrics);
    let answer = l.metrics(b"virtdiag_up 1\n", true).unwrap();
    let text = String::from_utf8(answer.to_vec()).unwrap();
    assert!(text.starts_with("# HELP"), "{text}");
    assert!(text.ends_with("virtdiag_up 1\n# EOF\n"), "{text}");
    assert!(Arc::ptr_eq(answer.shared.as_ref().unwrap(), &domains));
    let without = l.metrics(b"virtdiag_up 0\n", false).unwrap();
    assert!(without.shared.is_none(), "no domain series");
    assert_eq!(without.to_vec(), b"virtdiag_up 0\n# EOF\n");
}

#[test]
fn a_view_is_built_once_and_wanted_views_are_taken_once() {
    let l = latest();
    let first = l.build(View::Nova);
    assert!(Arc::ptr_eq(&first, &l.build(View::Nova)));
    assert!(Arc::ptr_eq(&first, &l.built(View::Nova).unwrap()));
    assert_eq!(l.buffers().len(), 2, "the JSON lines and the Nova view");
    let wanted = Wanted::default();
    wanted.mark(View::Metrics);
    wanted.mark(View::Legacy);
    wanted.mark(View::Metrics);
    assert_eq!(wanted.take(), vec![View::Legacy, View::Metrics]);
    assert!(wanted.take().is_empty());
}

#[test]
fn help_lists_every_command() {
    let mut out = Vec::new();
    help(&mut out);
    assert_eq!(
        String::from_utf8(out).unwrap().lines().count(),
        COMMANDS.len() + 1
    );
}
