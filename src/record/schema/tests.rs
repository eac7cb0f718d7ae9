//! The committed schema is the generated one, and it holds the record to its words.

use std::path::Path;

use serde_json::Value;

use super::generate;
use crate::record::json::tests::{full_record, opt_in_record};
use crate::record::{AgentRecord, CycleRecord};

fn committed_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/record.schema.json")
}

#[test]
fn the_committed_schema_is_the_one_the_types_give() {
    let generated = serde_json::to_string_pretty(&generate()).unwrap() + "\n";
    let path = committed_path();
    if std::env::var_os("VIRTDIAG_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap();
    assert!(
        committed == generated,
        "docs/record.schema.json differs from the schema of the record's types; \
         `VIRTDIAG_BLESS=1 cargo test --lib record::schema` rewrites it"
    );
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&generate()).expect("the schema itself is valid")
}

#[test]
fn records_validate_and_a_wrong_word_or_key_does_not() {
    let validator = validator();
    let mut lines: Vec<Value> = [full_record(), opt_in_record()]
        .iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect();
    lines.push(
        serde_json::to_value(CycleRecord {
            kind: "cycle",
            schema: 1,
            ts: "2026-11-23T19:20:53.123Z".into(),
            host: "h".into(),
            seq: 1,
            ..CycleRecord::default()
        })
        .unwrap(),
    );
    lines.push(
        serde_json::to_value(AgentRecord::new(
            "2026-11-23T19:20:53.123Z".into(),
            "h".into(),
            "started",
            None,
            String::new(),
        ))
        .unwrap(),
    );
    for line in &lines {
        let errors: Vec<String> = validator.iter_errors(line).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:#?}\nin {line}");
    }
    let domain = &lines[0];
    let broken = |path: &[&str], value: Value| {
        let mut line = domain.clone();
        let mut at = &mut line;
        for key in &path[..path.len() - 1] {
            at = &mut at[*key];
        }
        at[path[path.len() - 1]] = value;
        line
    };
    for (path, value) in [
        (&["domain", "state"][..], Value::from("dancing")),
        (&["domain", "reason"][..], Value::from("bored")),
        (&["kind"][..], Value::from("cycle")),
        (&["seq"][..], Value::from(0)),
        (&["ts"][..], Value::from("yesterday")),
        (&["cpu", "utilisation_pct"][..], Value::from(-1.0)),
        (&["memory", "surprise"][..], Value::from(1)),
        (&["collect", "sources", "cpu"][..], Value::from("guessed")),
    ] {
        assert!(
            !validator.is_valid(&broken(path, value.clone())),
            "{path:?} = {value}"
        );
    }
    let mut missing = domain.clone();
    missing["domain"].as_object_mut().unwrap().remove("crashes");
    assert!(
        !validator.is_valid(&missing),
        "a domain line without `crashes`"
    );
    missing = domain.clone();
    missing.as_object_mut().unwrap().remove("job");
    assert!(!validator.is_valid(&missing), "a domain line without `job`");
    let mut shrinking = domain.clone();
    shrinking["disks"][0]["growth_bytes_per_s"] = Value::from(-5.0);
    assert!(validator.is_valid(&shrinking), "a disk may shrink");
}
