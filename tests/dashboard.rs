//! contrib/grafana/virtdiag.json, without Grafana (not installable here): its shape
//! (schema version, the datasource variable, panels with targets on it), and every
//! panel's PromQL run against a real Prometheus that scrapes node_exporter's textfile
//! collector fed by the agent on the demo host. An expression that does not parse
//! fails; one that returns nothing fails unless the test driver cannot give its data,
//! which the table below says for each such panel (tests/e2e checks them on real
//! guests). Loopback only; needs Debian's `prometheus` and `prometheus-node-exporter`.

mod common;

use std::time::{Duration, Instant};

use serde_json::Value;

use common::agent::{workdir, Agent};
use common::promstack::{self, http_get, http_get_status, url_encode, wait_for};

fn dashboard() -> Value {
    let text =
        std::fs::read_to_string(common::repo_root().join("contrib/grafana/virtdiag.json")).unwrap();
    serde_json::from_str(&text).expect("the dashboard is JSON")
}

/// The panels with queries, and each one's (title, refId, expr).
fn queries(dashboard: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            out.push((
                panel["title"].as_str().unwrap().to_string(),
                target["refId"].as_str().unwrap().to_string(),
                target["expr"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

/// Panels (title, refId) the test driver leaves empty, and why.
const EMPTY_ON_THE_TEST_DRIVER: [(&str, &str, &str); 8] = [
    (
        "Host CPU",
        "A",
        "the test driver's node CPU counters never move",
    ),
    (
        "Top guests by steal",
        "A",
        "the test driver has no vCPU delay",
    ),
    ("Steal per vCPU", "A", "the test driver has no vCPU delay"),
    (
        "Top disks by write latency",
        "A",
        "the test driver has no request times",
    ),
    ("Disk latency", "A", "the test driver has no request times"),
    ("Disk latency", "B", "the test driver has no request times"),
    (
        "Disks by time to full",
        "A",
        "the test driver's images do not grow",
    ),
    ("Job progress", "A", "no job runs on the test driver"),
];

/// The alerts panel is empty when nothing fires, which is the test's case.
const EMPTY_WHEN_ALL_IS_WELL: (&str, &str) = ("Firing virtdiag alerts", "A");

#[test]
fn the_dashboard_has_grafanas_shape_and_covers_host_and_domain() {
    let d = dashboard();
    assert!(
        d["schemaVersion"].as_u64().unwrap() >= 36,
        "a current schema"
    );
    assert!(d["uid"].is_string() && d["title"].is_string());
    let variables = d["templating"]["list"].as_array().unwrap();
    let names: Vec<&str> = variables
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert_eq!(names, ["datasource", "instance", "domain"]);
    assert_eq!(variables[0]["type"], "datasource");
    assert_eq!(variables[0]["query"], "prometheus");

    let panels = d["panels"].as_array().unwrap();
    let mut ids = std::collections::HashSet::new();
    let mut titles = Vec::new();
    for panel in panels {
        assert!(ids.insert(panel["id"].as_u64().unwrap()), "unique ids");
        for key in ["h", "w", "x", "y"] {
            assert!(panel["gridPos"][key].is_u64(), "{panel}");
        }
        assert!(
            panel["gridPos"]["x"].as_u64().unwrap() + panel["gridPos"]["w"].as_u64().unwrap() <= 24
        );
        titles.push(panel["title"].as_str().unwrap());
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(panel["datasource"]["uid"], "${datasource}", "{panel}");
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{panel}");
        for target in targets {
            assert_eq!(target["datasource"]["uid"], "${datasource}");
            let expr = target["expr"].as_str().unwrap();
            // Only the dashboard's own variables and Grafana's rate interval.
            let mut rest = expr;
            while let Some(at) = rest.find('$') {
                rest = &rest[at + 1..];
                assert!(
                    ["instance", "domain", "__rate_interval"]
                        .iter()
                        .any(|v| rest.starts_with(v)),
                    "unknown variable in {expr}"
                );
            }
        }
    }
    for wanted in [
        "Host overview",
        "Guests by state",
        "vCPU and memory overcommit",
        "Host CPU",
        "Top guests by CPU",
        "Top guests by steal",
        "Top disks by write latency",
        "Disks by time to full",
        "Domain $domain",
        "CPU per vCPU",
        "Steal per vCPU",
        "QEMU overhead",
        "Memory",
        "Balloon statistics",
        "Disk IOPS",
        "Disk latency",
        "Disk allocation",
        "Network",
    ] {
        assert!(titles.contains(&wanted), "no panel {wanted:?}");
    }
}

/// An expression as Grafana would send it for host `.*` and one domain.
fn concrete(expr: &str, domain: &str) -> String {
    expr.replace("$__rate_interval", "4s")
        .replace("$instance", ".*")
        .replace("$domain", domain)
}

#[test]
fn every_panel_query_parses_and_returns_data_from_a_real_prometheus() {
    let dir = workdir("dashboard");
    let textdir = dir.join("textfile");
    std::fs::create_dir(&textdir).unwrap();
    let textfile = textdir.join("virtdiag.prom");
    let _agent = Agent::start_with(
        &dir,
        &format!("uri = \"{}\"\ninterval_seconds = 1\n", common::demo_uri()),
        &[],
        &["--prometheus-textfile", &textfile.display().to_string()],
    );
    wait_for("the textfile", Duration::from_secs(10), || {
        textfile.exists().then_some(())
    });
    let (_node, node_port) = promstack::node_exporter(&dir, &textdir);
    let rules = common::repo_root().join("contrib/prometheus/virtdiag-alerts.yml");
    let (prometheus, prom_port) = promstack::prometheus(&dir, node_port, &[&rules]);
    // The variables' own queries first: the host and the domain lists.
    let domains = wait_for(
        "the domain variable's values",
        Duration::from_secs(30),
        || {
            let query = url_encode("virtdiag_domain_info_state");
            let body = http_get(prom_port, &format!("/api/v1/series?match[]={query}"))?;
            let value: Value = serde_json::from_str(&body).ok()?;
            let names: Vec<String> = value["data"]
                .as_array()?
                .iter()
                .filter_map(|s| s["domain"].as_str().map(str::to_string))
                .collect();
            (names.len() == 4).then_some(names)
        },
    );
    assert!(domains.contains(&"db-primary".to_string()), "{domains:?}");

    let d = dashboard();
    let all = queries(&d);
    let allowed_empty = |title: &str, ref_id: &str| {
        EMPTY_ON_THE_TEST_DRIVER
            .iter()
            .any(|(t, r, _)| *t == title && *r == ref_id)
            || (title, ref_id) == EMPTY_WHEN_ALL_IS_WELL
    };
    // Rates need a few scrapes: wait until every query that should have data has it.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let mut waiting = Vec::new();
        for (title, ref_id, expr) in &all {
            let query = concrete(expr, "db-primary");
            let (code, body) = http_get_status(
                prom_port,
                &format!("/api/v1/query?query={}", url_encode(&query)),
            )
            .unwrap_or_else(|| panic!("Prometheus answers\n{}", prometheus.log()));
            let value: Value = serde_json::from_str(&body).unwrap();
            assert!(
                code == 200 && value["status"] == "success",
                "{title} {ref_id}: {query}\n{body}"
            );
            let results = value["data"]["result"].as_array().unwrap();
            if allowed_empty(title, ref_id) {
                continue;
            }
            if results.is_empty() {
                waiting.push(format!("{title} {ref_id}: {query}"));
            }
        }
        if waiting.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no data for:\n{}\n{}",
            waiting.join("\n"),
            prometheus.log()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    // The exemptions are only for panels that exist.
    for (title, ref_id, _) in EMPTY_ON_THE_TEST_DRIVER {
        assert!(
            all.iter().any(|(t, r, _)| t == title && r == ref_id),
            "{title} {ref_id}"
        );
    }
}
