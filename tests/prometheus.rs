//! The Prometheus exposition against the real tools: `promtool check metrics` on the
//! demo host, a host with odd names and a 1000-domain host; the agent's textfile read
//! by a real node_exporter (textfile collector only) and never seen half-written; the
//! `metrics` answer; and a real Prometheus server scraping node_exporter, whose PromQL
//! joins each domain's CPU rate with its OpenStack info series. Loopback and Unix
//! sockets only; every process started here is stopped by its pid.
//!
//! Needs Debian's `prometheus` (promtool, prometheus) and `prometheus-node-exporter`:
//! tests/run.sh installs them.

mod common;

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::agent::{workdir, Agent};
use common::promstack::{self, http_get, wait_for};

/// `virtdiag once --format prometheus` on `uri`.
fn once(uri: &str) -> String {
    let out = Command::new(common::binary())
        .args(["once", "--format", "prometheus", "--sample-interval", "0.1"])
        .args(["--uri", uri])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `promtool check metrics` on `text`; panics with its findings, lint included.
fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus; tests/run.sh installs it)");
    let mut stdin = child.stdin.take().unwrap();
    let input = text.as_bytes().to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let findings = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && findings.trim().is_empty(),
        "promtool check metrics: {findings}"
    );
}

/// A test-driver host whose names need escaping: quotes, backslashes, unicode, and a
/// newline in a Nova display name (libvirt refuses newlines in domain names).
fn odd_host(dir: &Path) -> String {
    let domain = |name: &str, uuid: &str, nova_name: &str| {
        format!(
            "<domain type='test'><name>{name}</name><uuid>{uuid}</uuid>
  <memory unit='MiB'>512</memory><vcpu>1</vcpu><os><type>hvm</type></os>
  <metadata><nova:instance xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.1'>
    <nova:name>{nova_name}</nova:name><nova:flavor name='m1.&quot;odd&quot;'/>
    <nova:owner><nova:user uuid='u1'>b\\ob</nova:user><nova:project uuid='p1'>prøject</nova:project></nova:owner>
  </nova:instance></metadata>
  <devices>
    <disk type='file' device='disk'><source file='/srv/a &quot;b&quot;\\c.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <interface type='bridge'><mac address='52:54:00:00:00:01'/><source bridge='br\"0'/><target dev='tap0'/></interface>
  </devices></domain>\n"
        )
    };
    let xml = format!(
        "<node>\n{}{}{}</node>\n",
        domain(
            "q&quot;uote",
            "00000000-0000-4000-8000-000000000001",
            "two&#10;lines"
        ),
        domain(
            "back\\slash",
            "00000000-0000-4000-8000-000000000002",
            "tab&#9;and \\n"
        ),
        domain(
            "ünïcødé-日本",
            "00000000-0000-4000-8000-000000000003",
            "emoji 🦀"
        ),
    );
    let path = dir.join("odd.xml");
    std::fs::write(&path, xml).unwrap();
    format!("test://{}", path.display())
}

#[test]
fn promtool_accepts_the_demo_host_odd_names_and_1000_domains() {
    let demo = once(&common::demo_uri());
    promtool_check(&demo);
    assert!(demo.contains("virtdiag_domain_openstack_info{domain=\"instance-0000002a\""));
    // The host's series, from the same cycle (the test driver's node: 16 CPUs).
    assert!(demo.contains("\nvirtdiag_node_cpus 16\n"), "{demo}");
    assert!(demo.contains("\nvirtdiag_node_domains{state=\"paused\"} 1\n"));
    assert!(demo.contains("virtdiag_domain_state_info{domain=\"instance-0000002a\""));

    let dir = workdir("prometheus-odd");
    let odd = once(&odd_host(&dir));
    promtool_check(&odd);
    assert!(odd.contains("domain=\"q\\\"uote\""), "{odd}");
    assert!(odd.contains("domain=\"back\\\\slash\""), "{odd}");
    assert!(odd.contains("domain=\"ünïcødé-日本\""), "{odd}");
    assert!(odd.contains("instance_name=\"two\\nlines\""), "{odd}");

    let big = once(&common::fixture_uri(1000));
    promtool_check(&big);
    let domains = big
        .lines()
        .filter(|l| l.starts_with("virtdiag_domain_info_state{"))
        .count();
    assert_eq!(domains, 1000);
}

/// The agent's `metrics` answer, up to its `# EOF`.
fn metrics(agent: &Agent) -> String {
    agent.try_request_text("metrics").unwrap()
}

#[test]
fn node_exporter_serves_the_textfile_and_prometheus_joins_cpu_with_openstack_info() {
    let dir = workdir("prometheus-pipeline");
    let textdir = dir.join("textfile");
    std::fs::create_dir(&textdir).unwrap();
    let textfile = textdir.join("virtdiag.prom");
    let agent = Agent::start_with(
        &dir,
        &format!("uri = \"{}\"\ninterval_seconds = 1\n", common::demo_uri()),
        &[],
        &["--prometheus-textfile", &textfile.display().to_string()],
    );

    // The socket's answer: the exposition, then # EOF.
    let answer = wait_for(
        "a metrics answer with domains",
        Duration::from_secs(10),
        || {
            let text = metrics(&agent);
            text.contains("virtdiag_domain_info_state{").then_some(text)
        },
    );
    assert!(answer.ends_with("\n# EOF\n"), "{answer}");
    promtool_check(&answer);
    assert!(answer.contains("\nvirtdiag_up 1\n"), "{answer}");

    // The textfile: whole, mode 0644, and nothing else left in the directory.
    wait_for("the textfile", Duration::from_secs(10), || {
        textfile.exists().then_some(())
    });
    assert_eq!(std::fs::metadata(&textfile).unwrap().mode() & 0o777, 0o644);
    promtool_check(&std::fs::read_to_string(&textfile).unwrap());

    let (node, node_port) = promstack::node_exporter(&dir, &textdir);
    let scraped = wait_for("node_exporter's /metrics", Duration::from_secs(10), || {
        http_get(node_port, "/metrics")
    });
    assert!(
        scraped.contains("\nnode_textfile_scrape_error 0\n"),
        "{scraped}\n{}",
        node.log()
    );
    assert!(
        scraped.contains("virtdiag_domain_openstack_info{domain=\"instance-0000002a\""),
        "{scraped}"
    );

    // A Prometheus server scrapes node_exporter; PromQL joins each domain's CPU rate
    // with its OpenStack metadata.
    let (prometheus, prom_port) = promstack::prometheus(&dir, node_port, &[]);
    let query = "rate(virtdiag_domain_info_cpu_time_seconds_total[10s])%20*%20on(domain,uuid)%20\
                 group_left(instance_name,project_name)%20virtdiag_domain_openstack_info";
    let result = wait_for(
        "a PromQL join of CPU rate and OpenStack info",
        Duration::from_secs(40),
        || {
            let body = http_get(prom_port, &format!("/api/v1/query?query={query}"))?;
            let value: serde_json::Value = serde_json::from_str(&body).ok()?;
            let series = value["data"]["result"].as_array()?.clone();
            (!series.is_empty()).then_some(series)
        },
    );
    assert_eq!(
        result.len(),
        1,
        "only the Nova instance has info: {result:?}"
    );
    let metric = &result[0]["metric"];
    assert_eq!(metric["domain"], "instance-0000002a");
    assert_eq!(metric["instance_name"], "web-1");
    assert_eq!(metric["project_name"], "webshop");
    let rate: f64 = result[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(rate >= 0.0, "{result:?}\n{}", prometheus.log());

    // libvirt becomes unreachable: the domain series leave the textfile and `metrics`,
    // so Prometheus marks them stale instead of drawing flat lines; the health series
    // say since when.
    std::fs::write(
        &agent.config,
        format!(
            "uri = \"test://{}\"\ninterval_seconds = 1\n",
            dir.join("no-such-node.xml").display()
        ),
    )
    .unwrap();
    agent.signal(1);
    let answer = wait_for("metrics without domains", Duration::from_secs(10), || {
        let text = metrics(&agent);
        (!text.contains("virtdiag_domain_")).then_some(text)
    });
    assert!(answer.contains("\nvirtdiag_up 0\n"), "{answer}");
    assert!(
        answer.contains("\nvirtdiag_last_success_timestamp_seconds "),
        "{answer}"
    );
    promtool_check(&answer);
    let query_now = |q: &str| -> Option<Vec<serde_json::Value>> {
        let body = http_get(prom_port, &format!("/api/v1/query?query={q}"))?;
        let value: serde_json::Value = serde_json::from_str(&body).ok()?;
        value["data"]["result"].as_array().cloned()
    };
    wait_for(
        "the domain series to go stale in Prometheus",
        Duration::from_secs(20),
        || query_now("virtdiag_domain_info_state").filter(|r| r.is_empty()),
    );
    let age = wait_for(
        "the age of the last good cycle in Prometheus",
        Duration::from_secs(20),
        || {
            let result = query_now("time()%20-%20virtdiag_last_success_timestamp_seconds")?;
            let age: f64 = result.first()?["value"][1].as_str()?.parse().ok()?;
            (age > 1.0).then_some(age)
        },
    );
    assert!(age < 120.0, "{age}");
    let up = query_now("virtdiag_up").unwrap();
    assert_eq!(up[0]["value"][1], "0", "{up:?}");
}

#[test]
fn the_textfile_is_never_seen_half_written() {
    let dir = workdir("prometheus-torn");
    let textfile = dir.join("virtdiag.prom");
    let mut agent = Agent::start_with(
        &dir,
        &format!(
            "uri = \"{}\"\ninterval_seconds = 0.2\n",
            common::fixture_uri(300)
        ),
        &[],
        &["--prometheus-textfile", &textfile.display().to_string()],
    );
    wait_for("the textfile", Duration::from_secs(10), || {
        textfile.exists().then_some(())
    });
    let first_cycles = agent.cycles();
    let last_family = "# TYPE virtdiag_snapshot_age_seconds gauge\n";
    let mut reads = 0;
    let mut seen = std::collections::HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(&textfile).unwrap();
        let tail = &text[text.len().saturating_sub(200)..];
        assert!(
            text.starts_with("# HELP virtdiag_domain_info_state ")
                && tail.contains(last_family)
                && text.ends_with('\n'),
            "a torn read of {} bytes",
            text.len()
        );
        seen.insert(text.len());
        reads += 1;
    }
    assert!(agent.cycles() >= first_cycles + 5, "cycles ran meanwhile");
    assert!(
        reads > 20 && seen.len() > 1,
        "{reads} reads, {} versions",
        seen.len()
    );
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("prom"))
        .collect();
    assert!(
        names == ["virtdiag.prom"] || names.len() == 2,
        "only the textfile, and at most a temporary file being written: {names:?}"
    );
    // A stopped agent leaves no stale series behind.
    assert!(agent.stop(Duration::from_secs(3)).success());
    assert!(!textfile.exists(), "the textfile outlived the agent");
}
