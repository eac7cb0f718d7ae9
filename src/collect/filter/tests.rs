//! The selection rule's precedence, rung by rung.

use super::*;

const WEB_UUID: &str = "6c0c3d8e-3a0f-4b6e-9f4e-2d1f0a9b7c11";

/// A host where names, ids and display names collide on purpose.
fn host() -> Vec<Candidate<'static>> {
    vec![
        Candidate {
            name: "instance-0000002a",
            uuid: WEB_UUID,
            id: Some(1),
            display_name: Some("web"),
        },
        Candidate {
            name: "1",
            uuid: "0b8e6a52-7d14-4c3a-9e21-5f6a7b8c9d01",
            id: Some(7),
            display_name: None,
        },
        Candidate {
            name: "web",
            uuid: "3d4c5b6a-1e2f-4a3b-8c7d-9e0f1a2b3c4d",
            id: None,
            display_name: None,
        },
        // A domain whose name looks like another's UUID.
        Candidate {
            name: "6C0C3D8E-3A0F-4B6E-9F4E-2D1F0A9B7C11",
            uuid: "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
            id: None,
            display_name: Some("db"),
        },
        Candidate {
            name: "instance-0000002b",
            uuid: "11111111-2222-4333-8444-555555555555",
            id: Some(3),
            display_name: Some("db"),
        },
        Candidate {
            name: "odd[1]",
            uuid: "22222222-2222-4333-8444-555555555555",
            id: None,
            display_name: None,
        },
    ]
}

fn resolve(text: &str) -> Vec<usize> {
    Selector::parse(text).unwrap().resolve(host().into_iter())
}

fn lists(include: &[&str], exclude: &[&str]) -> DomainFilter {
    let parse = |texts: &[&str]| {
        Selector::parse_all(&texts.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    };
    DomainFilter {
        include: parse(include),
        exclude: parse(exclude),
    }
}

fn shape(text: &str) -> Shape {
    Selector::parse(text).unwrap().shape().clone()
}

#[test]
fn shapes() {
    assert_eq!(shape(WEB_UUID), Shape::Uuid);
    assert_eq!(shape("6c0c3d8e3a0f4b6e9f4e2d1f0a9b7c11"), Shape::Uuid);
    assert_eq!(shape("42"), Shape::Id(42));
    assert_eq!(shape("99999999999"), Shape::Name, "beyond any id: a name");
    assert!(matches!(shape("web-*"), Shape::Glob(_)));
    assert!(matches!(shape("db[12]"), Shape::Glob(_)));
    assert_eq!(shape("web"), Shape::Name);
    assert_eq!(shape(""), Shape::Name);
}

#[test]
fn every_shape_is_bounded_in_length() {
    for long in [
        format!("[{}]", "a".repeat(MAX_PATTERN_BYTES)),
        "w".repeat(MAX_PATTERN_BYTES + 1),
        "1".repeat(MAX_PATTERN_BYTES + 1),
    ] {
        assert_eq!(Selector::parse(&long), Err(TooLong { bytes: long.len() }));
    }
    assert!(Selector::parse(&"w".repeat(MAX_PATTERN_BYTES)).is_ok());
    let refused = Selector::parse_all(&["web".into(), "*".repeat(300)]).unwrap_err();
    assert_eq!(refused.why, TooLong { bytes: 300 });
    let why = refused.to_string();
    assert!(
        why.starts_with(&format!("'{}…': ", "*".repeat(32))),
        "{why}"
    );
    assert!(why.contains("300 bytes"), "{why}");
}

#[test]
fn a_uuid_names_only_by_uuid() {
    assert_eq!(resolve(WEB_UUID), vec![0]);
    assert_eq!(
        resolve(&WEB_UUID.to_uppercase()),
        vec![0],
        "never the domain of that name"
    );
    assert_eq!(resolve(&WEB_UUID.replace('-', "")), vec![0]);
    assert!(resolve("00000000-0000-4000-8000-000000000000").is_empty());
}

#[test]
fn digits_are_an_id_first_then_a_name() {
    assert_eq!(resolve("1"), vec![0], "id 1, not the domain named 1");
    assert_eq!(resolve("7"), vec![1]);
    let without_id_1: Vec<_> = host().into_iter().filter(|d| d.id != Some(1)).collect();
    assert_eq!(
        Selector::parse("1")
            .unwrap()
            .resolve(without_id_1.into_iter()),
        vec![0],
        "no id 1: the domain named 1"
    );
    assert!(resolve("5").is_empty());
}

#[test]
fn globs_match_names_and_display_names() {
    assert_eq!(resolve("instance-*"), vec![0, 4]);
    assert_eq!(resolve("instance-0000002[!a]"), vec![4]);
    assert_eq!(resolve("w?b"), vec![0, 2], "a display name counts");
    assert_eq!(resolve("d[a-c]"), vec![3, 4]);
    assert_eq!(
        resolve("odd[1]"),
        vec![5],
        "no glob match: the literal name"
    );
    assert!(resolve("nothing-*").is_empty());
}

#[test]
fn a_name_first_then_display_names() {
    assert_eq!(resolve("web"), vec![2], "the name wins over a display name");
    assert_eq!(resolve("db"), vec![3, 4], "display names may be shared");
    assert_eq!(resolve("instance-0000002a"), vec![0]);
    assert!(resolve("Web").is_empty(), "names are exact");
}

#[test]
fn lists_test_each_domain_alone() {
    let filter = lists(&["web-*", &WEB_UUID.to_uppercase(), "7"], &["web-test*"]);
    let domain = |name, uuid, id| Candidate {
        name,
        uuid,
        id,
        display_name: None,
    };
    assert!(filter.selects(&domain("web-1", "x", None)));
    assert!(!filter.selects(&domain("web-test-1", "x", None)));
    assert!(!filter.selects(&domain("db-1", "x", None)));
    assert!(filter.selects(&domain("db-1", WEB_UUID, None)));
    assert!(filter.selects(&domain("db-2", "x", Some(7))), "by id");
    assert!(filter.selects(&domain("7", "x", None)), "or by name");
    assert!(DomainFilter::default().matches("anything", "x"));
    let by_display = lists(&["shop-*"], &[]);
    assert!(by_display.selects(&Candidate {
        name: "instance-00000001",
        uuid: "x",
        id: None,
        display_name: Some("shop-front"),
    }));
    assert!(
        !by_display.matches("instance-00000001", "x"),
        "unknown display name"
    );
}

#[test]
fn display_names_matter_only_to_names_and_globs() {
    assert!(!DomainFilter::default().needs_display_names());
    assert!(!lists(&[WEB_UUID, "12"], &[]).needs_display_names());
    assert!(lists(&[WEB_UUID], &["web-*"]).needs_display_names());
    assert!(lists(&["shop"], &[]).needs_display_names());
}
