//! Shared helpers of the integration tests: fixtures for libvirt's test driver, the
//! record schema validator, and the built binary.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

pub mod agent;
pub mod fake;
pub mod fixture;
pub mod procfs;
pub mod promstack;
pub mod siege;

/// The repository root.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The demo host of `contrib/demo/node.xml` as a test-driver URI.
pub fn demo_uri() -> String {
    format!(
        "test://{}",
        repo_root().join("contrib/demo/node.xml").display()
    )
}

/// A test-driver URI for a generated node of `count` domains (written once per run).
pub fn fixture_uri(count: usize) -> String {
    let path = fixture::write(Path::new(env!("CARGO_TARGET_TMPDIR")), count);
    format!("test://{}", path.display())
}

/// A collector on `uri` with every statistics group and no filter.
pub fn collector(uri: &str) -> virtdiag::collect::Collector {
    virtdiag::collect::Collector::new(virtdiag::collect::CollectorConfig {
        uri: uri.to_string(),
        read_only: false,
        host: "test-host".into(),
        filter: virtdiag::collect::DomainFilter::default(),
        groups: virtdiag::collect::stats::Group::all_bits(),
    })
}

/// The compiled record schema (`docs/record.schema.json`).
pub fn schema() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let text = std::fs::read_to_string(repo_root().join("docs/record.schema.json")).unwrap();
        let schema: Value = serde_json::from_str(&text).unwrap();
        jsonschema::validator_for(&schema).expect("the schema itself is valid")
    })
}

/// Panics with every schema violation of `line` if it does not validate.
pub fn assert_valid(line: &Value) {
    let errors: Vec<String> = schema()
        .iter_errors(line)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "schema violations: {errors:#?}\nin {line}"
    );
}

/// Parses NDJSON text into values, failing on any line that is not JSON.
pub fn parse_lines(text: &str) -> Vec<Value> {
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("line {} is not JSON ({e}): {line}", i + 1))
        })
        .collect()
}

/// The built `virtdiag` binary, or the one `VIRTDIAG_BIN` names (tests/run.sh runs
/// the attack suite against the release build, as the service runs).
pub fn binary() -> PathBuf {
    std::env::var_os("VIRTDIAG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_virtdiag")))
}
