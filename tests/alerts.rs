//! The alert rules of contrib/prometheus/virtdiag-alerts.yml against the real promtool:
//! `promtool check rules`, then `promtool test rules` on
//! tests/alerts/virtdiag-alerts.test.yml, which shows each alert firing and not firing.
//! Also: exactly the alerts operators were promised, each with a runbook section in
//! docs/alerts.md. Needs Debian's `prometheus` package (tests/run.sh installs it).

mod common;

use std::process::Command;

/// The alerts, by name, as docs/alerts.md and the dashboards refer to them.
const ALERTS: [&str; 12] = [
    "VirtdiagDown",
    "VirtdiagCycleStale",
    "LibvirtUnreachable",
    "DomainMonitorStuck",
    "DomainPausedOnIOError",
    "DomainCrashed",
    "DomainStateFlapping",
    "VcpuStealHigh",
    "DiskFullSoon",
    "DiskLatencyHigh",
    "BalloonStatsOff",
    "HostVcpuOvercommitHigh",
];

fn promtool(args: &[&str]) -> String {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(common::repo_root())
        .output()
        .expect("promtool (Debian package prometheus; tests/run.sh installs it)");
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "promtool {args:?}:\n{text}");
    text
}

fn read(path: &str) -> String {
    std::fs::read_to_string(common::repo_root().join(path)).unwrap()
}

#[test]
fn the_rules_are_valid_and_each_alert_fires_and_stays_quiet_as_its_tests_say() {
    let checked = promtool(&["check", "rules", "contrib/prometheus/virtdiag-alerts.yml"]);
    assert!(checked.contains("SUCCESS: 12 rules found"), "{checked}");
    let tested = promtool(&["test", "rules", "tests/alerts/virtdiag-alerts.test.yml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");

    // Each alert has at least one case where it fires and one where it does not.
    let tests = read("tests/alerts/virtdiag-alerts.test.yml");
    let lines: Vec<&str> = tests.lines().map(str::trim).collect();
    for alert in ALERTS {
        let (mut fires, mut quiet) = (0, 0);
        for (i, line) in lines.iter().enumerate() {
            if *line != format!("alertname: {alert}") {
                continue;
            }
            match lines.get(i + 1) {
                Some(&"exp_alerts: []") => quiet += 1,
                Some(&"exp_alerts:") => fires += 1,
                other => panic!("{alert}: unexpected {other:?} after the alert name"),
            }
        }
        assert!(
            fires >= 1 && quiet >= 1,
            "{alert}: {fires} firing, {quiet} quiet cases"
        );
    }
}

#[test]
fn exactly_the_promised_alerts_each_with_a_runbook_section() {
    let rules = read("contrib/prometheus/virtdiag-alerts.yml");
    let names: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    let mut expected = ALERTS.to_vec();
    expected.sort_unstable();
    assert_eq!(sorted, expected);

    // `virtdiag top` marks a row at the steal alert's threshold.
    let steal = virtdiag::commands::top::verdict::STEAL_ALERT_PCT / 100.0;
    assert!(
        rules.contains(&format!(
            "rate(virtdiag_domain_vcpu_delay_seconds_total[5m]) > {steal:.2}"
        )),
        "VcpuStealHigh's threshold is top's {steal}"
    );

    let runbooks = read("docs/alerts.md");
    let headings: Vec<String> = runbooks
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| h.trim().to_lowercase())
        .collect();
    let urls: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("runbook_url: "))
        .collect();
    assert_eq!(urls.len(), ALERTS.len(), "one runbook_url per alert");
    for (alert, url) in names.iter().zip(&urls) {
        assert_eq!(
            *url,
            format!("docs/alerts.md#{}", alert.to_lowercase()),
            "{alert}"
        );
        assert!(
            headings.contains(&alert.to_lowercase()),
            "docs/alerts.md has no section `## {alert}`"
        );
        let section = runbooks
            .split("\n## ")
            .find(|s| s.starts_with(alert))
            .unwrap();
        for part in ["Meaning", "Confirm", "Act", "Threshold"] {
            assert!(
                section.contains(&format!("**{part}**")),
                "{alert}: its runbook lacks **{part}**"
            );
        }
    }
}
