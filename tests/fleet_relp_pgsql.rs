//! A fleet on loopback, end to end: three agents with three host names on three
//! test-driver hosts, rotating fast; each host's rsyslog (contrib/rsyslog-relp/host.conf)
//! relays its spool over RELP to one central rsyslog (central.conf), which writes into a
//! PostgreSQL started here on a Unix socket (contrib/postgresql/schema.sql). Through
//! rotations by the agents and by logrotate, a 20 s outage of PostgreSQL with a restart
//! of the central rsyslog the moment the database is back, and a short outage the
//! central rides out on its own, every record of every host must be in the table exactly
//! once, valid against the schema and equal to its spool line; then the example
//! queries of contrib/postgresql/queries.sql must answer sensibly. Each rsyslog also
//! keeps a copy of the lines it handled, so that a lost record is reported with the
//! stage that dropped it.

mod common;
mod fleet;

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::agent::{workdir, Agent};
use fleet::postgres::Postgres;
use fleet::Daemon;

const DATABASE: &str = "virtdiag";
const OUTAGE: Duration = Duration::from_secs(20);
/// Long enough for the central to try a write and hold the record in its retry loop.
const SHORT_OUTAGE: Duration = Duration::from_secs(3);

/// One hypervisor host of the fleet: its agent and the rsyslog that relays its spool.
struct Host {
    name: String,
    agent: Agent,
    rsyslog: Daemon,
    /// Where logrotate moves the spool.
    olddir: PathBuf,
    /// The host rsyslog's work directory (imfile's state files).
    rsyslog_work: PathBuf,
    /// The host rsyslog's copy of every line it relayed.
    relayed: PathBuf,
}

/// The name of the copy of each line an rsyslog handled, in its directory.
const RELAYED: &str = "relayed.ndjson";
const RECEIVED: &str = "received.ndjson";

/// `config` with an omfile action inserted before the line that starts with `before`,
/// keeping a copy of each message's text in `copy`: what a host relayed, what the
/// central received, for [`stage_of_loss`].
fn with_copy(config: &str, before: &str, copy: &Path) -> String {
    assert!(config.contains(before), "the config has {before}");
    let action = format!(
        "  action(type=\"omfile\" file=\"{}\" template=\"virtdiag_copy\")\n",
        copy.display()
    );
    format!(
        "template(name=\"virtdiag_copy\" type=\"string\" string=\"%msg%\\n\")\n{}",
        config.replacen(before, &format!("{action}{before}"), 1)
    )
}

/// The identities of the records in an rsyslog's copy (`with_copy`).
fn copied_identities(copy: &Path) -> HashSet<String> {
    std::fs::read_to_string(copy)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line.trim()).ok())
        .map(|value| fleet::identity(&value))
        .collect()
}

/// Which stage dropped a record that is not in the table: the host rsyslog never read
/// it (imfile), read it but the central never received it (omrelp/imrelp), or the
/// central received it and never wrote it (its action queue, ompgsql).
fn stage_of_loss(
    line: &fleet::SpoolLine,
    relayed: &HashSet<String>,
    received: &HashSet<String>,
) -> &'static str {
    let identity = fleet::identity(&line.value());
    if received.contains(&identity) {
        "received by the central, never written to PostgreSQL"
    } else if relayed.contains(&identity) {
        "relayed by its host, never received by the central"
    } else {
        "never read by its host's rsyslog (imfile)"
    }
}

/// A test-driver node of `count` domains whose names and UUIDs are the host's own.
fn node_uri(dir: &Path, host_number: usize, count: usize) -> String {
    let xml = common::fixture::node_xml(count)
        .replace("<name>vm-", &format!("<name>hv{host_number}-vm-"))
        .replace("<uuid>00000000-", &format!("<uuid>{host_number:08x}-"));
    let path = dir.join("node.xml");
    std::fs::write(&path, xml).unwrap();
    format!("test://{}", path.display())
}

/// The imfile input of an rsyslog config without its comments and ruleset name.
fn imfile_input(relative: &str) -> String {
    let text = std::fs::read_to_string(common::repo_root().join(relative)).unwrap();
    let start = text.find("input(type=\"imfile\"").unwrap();
    let end = start + text[start..].find(')').unwrap();
    text[start..=end]
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with("ruleset="))
        .collect::<Vec<_>>()
        .join("\n")
}

fn start_central(dir: &Path, port: u16, postgres: &Postgres) -> Daemon {
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let conninfo = postgres.uri(DATABASE);
    let config = fleet::shipped_config(
        "contrib/rsyslog-relp/central.conf",
        &[(
            "/var/log/virtdiag-central/unparsed.log",
            &dir.join("unparsed.log"),
        )],
    )
    .replace(
        "port=\"2514\" address=\"0.0.0.0\"",
        &format!("port=\"{port}\" address=\"127.0.0.1\""),
    )
    .replace(
        "conninfo=\"postgresql:///virtdiag?host=/run/postgresql&user=rsyslog\"",
        &format!("conninfo=\"{conninfo}\""),
    );
    assert!(config.contains(&conninfo) && config.contains("address=\"127.0.0.1\""));
    let config = with_copy(
        &config,
        "  action(type=\"mmjsonparse\"",
        &dir.join(RECEIVED),
    );
    let conf = dir.join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!("global(workDirectory=\"{}\")\n{config}", work.display()),
    )
    .unwrap();
    fleet::rsyslog("central-rsyslogd", &conf, dir)
}

fn start_host(root: &Path, number: usize, domains: usize, relp_port: u16) -> Host {
    let name = format!("hv{number}.fleet.test");
    let dir = root.join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let uri = node_uri(&dir, number, domains);
    let agent = Agent::start(&dir, &fleet::rotating_config(&uri, &name, 0.25, 150_000));
    let work = dir.join("rsyslog-work");
    std::fs::create_dir_all(&work).unwrap();
    let config = fleet::shipped_config(
        "contrib/rsyslog-relp/host.conf",
        &[("/var/log/virtdiag/diagnostics.ndjson", &agent.spool)],
    )
    .replace(
        "target=\"central.example.net\" port=\"2514\"",
        &format!("target=\"127.0.0.1\" port=\"{relp_port}\""),
    );
    assert!(config.contains("target=\"127.0.0.1\""));
    let relayed = dir.join(RELAYED);
    let config = with_copy(&config, "  action(type=\"omrelp\"", &relayed);
    let conf = dir.join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!("global(workDirectory=\"{}\")\n{config}", work.display()),
    )
    .unwrap();
    let rsyslog = fleet::rsyslog("host-rsyslogd", &conf, &dir);
    Host {
        name,
        agent,
        rsyslog,
        olddir: dir.join("old"),
        rsyslog_work: work,
        relayed,
    }
}

/// An external logrotate of `host`'s spool, run just after the agent's own rotation and
/// once imfile has read the new file (its state file, named by the file's inode, is
/// there). A file the agent creates and logrotate moves away before imfile opened it is
/// never read, by imfile or any tailer that follows a name (docs/shipping.md, "Two
/// rotations in the same instant"); the agent's next rotation is a second or more away.
fn logrotate_once_tailed(host: &mut Host) {
    fleet::wait_rotations(&mut host.agent, 1, Duration::from_secs(30));
    let inode = std::fs::metadata(&host.agent.spool).unwrap().ino();
    let state_prefix = format!("imfile-state:{inode}:");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_dir(&host.rsyslog_work).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(&state_prefix)
    }) {
        assert!(
            Instant::now() < deadline,
            "imfile of {} did not read the new spool file",
            host.name
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    fleet::logrotate(&host.agent, &host.olddir);
}

/// The named queries of contrib/postgresql/queries.sql, each with the file's preamble
/// (the defaults of its psql variables).
fn example_queries() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(common::repo_root().join("contrib/postgresql/queries.sql"))
        .unwrap();
    let mut parts = text.split("-- name: ");
    let preamble = parts.next().unwrap().to_string();
    parts
        .map(|part| {
            let (name, body) = part.split_once('\n').unwrap();
            (name.trim().to_string(), format!("{preamble}{body}"))
        })
        .collect()
}

/// The rows in the store.
fn row_count(postgres: &Postgres) -> u64 {
    postgres
        .sql(DATABASE, "SELECT count(*) FROM virtdiag_records")
        .trim()
        .parse()
        .unwrap()
}

/// Waits until the table holds `expected` rows, or its count has not changed for 15 s;
/// at most 90 s. Returns the row count.
fn wait_for_rows(postgres: &Postgres, expected: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut last = (row_count(postgres), Instant::now());
    loop {
        let rows = row_count(postgres);
        if rows != last.0 {
            last = (rows, Instant::now());
        }
        let settled = last.1.elapsed() > Duration::from_secs(15);
        if rows >= expected || settled || Instant::now() > deadline {
            return rows;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn rows(output: &str) -> Vec<Vec<String>> {
    output
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect()
}

#[test]
#[ignore = "needs rsyslog-relp, rsyslog-pgsql and postgresql-15; tests/run.sh installs them and runs it"]
fn a_fleet_delivers_every_record_once_through_a_database_outage_and_a_central_restart() {
    let started = Instant::now();
    let root = workdir("fleet");
    assert_eq!(
        imfile_input("contrib/rsyslog/virtdiag.conf"),
        imfile_input("contrib/rsyslog-relp/host.conf"),
        "host.conf tails the spool as contrib/rsyslog/virtdiag.conf does"
    );

    let postgres = Postgres::start("fleet-pg", fleet::free_loopback_port(), DATABASE);
    let schema =
        std::fs::read_to_string(common::repo_root().join("contrib/postgresql/schema.sql")).unwrap();
    postgres.sql(DATABASE, &schema);

    let relp_port = fleet::free_loopback_port();
    let central_dir = root.join("central");
    std::fs::create_dir_all(&central_dir).unwrap();
    let mut central = start_central(&central_dir, relp_port, &postgres);

    let mut hosts: Vec<Host> = [(1, 3), (2, 5), (3, 8)]
        .into_iter()
        .map(|(number, domains)| start_host(&root, number, domains, relp_port))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while row_count(&postgres) == 0 {
        assert!(Instant::now() < deadline, "nothing arrived in PostgreSQL");
        std::thread::sleep(Duration::from_millis(200));
    }
    fleet::wait_rotations(&mut hosts[0].agent, 2, Duration::from_secs(30));
    logrotate_once_tailed(&mut hosts[1]);
    std::thread::sleep(Duration::from_secs(3));

    // PostgreSQL away for 20 s while every agent keeps writing and rotating. The
    // central's action queue spills to disk meanwhile, so two workers (the memory
    // part's and the disk part's) each hold a record in their retry loops.
    postgres.stop_server();
    std::thread::sleep(OUTAGE);
    postgres.start_server();
    // The central restarts the moment the database is back, before its workers' next
    // retry: its shutdown waits for them to write what they hold (docs/shipping.md).
    let stopping = Instant::now();
    central.terminate(Duration::from_secs(20));
    eprintln!("fleet: the central stopped in {:?}", stopping.elapsed());
    std::thread::sleep(Duration::from_secs(2));
    central = start_central(&central_dir, relp_port, &postgres);
    logrotate_once_tailed(&mut hosts[2]);

    // A short outage without a restart: the central resumes writing on its own.
    let rows_before_outage = row_count(&postgres);
    postgres.stop_server();
    std::thread::sleep(SHORT_OUTAGE);
    postgres.start_server();
    let deadline = Instant::now() + Duration::from_secs(30);
    while row_count(&postgres) <= rows_before_outage {
        assert!(
            Instant::now() < deadline,
            "the central did not resume writing"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    fleet::wait_rotations(&mut hosts[0].agent, 1, Duration::from_secs(30));

    // One host goes silent: the example query names it, and only it.
    assert!(hosts[2].agent.stop(Duration::from_secs(3)).success());
    let silent = example_queries()
        .into_iter()
        .find(|(name, _)| name == "silent_hosts")
        .unwrap()
        .1;
    let deadline = Instant::now() + Duration::from_secs(30);
    let silent_hosts = loop {
        std::thread::sleep(Duration::from_millis(500));
        let answer = rows(&postgres.script(DATABASE, &silent, &[("silence", "3 seconds")]));
        let names: Vec<String> = answer.iter().map(|r| r[0].clone()).collect();
        if names == [hosts[2].name.clone()] || Instant::now() > deadline {
            break answer;
        }
    };
    assert_eq!(
        silent_hosts
            .iter()
            .map(|r| r[0].as_str())
            .collect::<Vec<_>>(),
        [hosts[2].name.as_str()],
        "silent_hosts names the stopped host only: {silent_hosts:?}"
    );
    assert_eq!(silent_hosts[0][3], "stopping", "its last agent event");

    for host in &mut hosts[..2] {
        assert!(host.agent.stop(Duration::from_secs(3)).success());
    }
    for host in &mut hosts {
        host.rsyslog.assert_running();
    }
    central.assert_running();

    let written: Vec<fleet::SpoolLine> = hosts
        .iter()
        .flat_map(|h| fleet::written_lines(&h.agent, &h.olddir))
        .collect();
    let arrived = wait_for_rows(&postgres, written.len() as u64);
    let records = postgres.sql(DATABASE, "SELECT record FROM virtdiag_records ORDER BY id");
    let received = common::parse_lines(&records);
    assert_eq!(
        std::fs::read_to_string(central_dir.join("unparsed.log")).unwrap_or_default(),
        "",
        "the central parsed every line"
    );
    let lost = fleet::missing(&written, &received);
    if !lost.is_empty() {
        let relayed: HashSet<String> = hosts
            .iter()
            .flat_map(|h| copied_identities(&h.relayed))
            .collect();
        let received_by_central = copied_identities(&central_dir.join(RECEIVED));
        for line in &lost {
            eprintln!(
                "fleet: LOST {}: {}: {}",
                line.origin,
                fleet::identity(&line.value()),
                stage_of_loss(line, &relayed, &received_by_central)
            );
        }
    }
    let checked = fleet::assert_delivered_exactly_once(&written, &received);
    assert_eq!(arrived as usize, received.len());
    let columns_agree = postgres.sql(
        DATABASE,
        "SELECT count(*) FROM virtdiag_records
         WHERE host <> record->>'host' OR kind <> record->>'kind'
            OR ts <> (record->>'ts')::timestamptz",
    );
    assert_eq!(
        columns_agree.trim(),
        "0",
        "ts, host and kind columns match the record"
    );

    // The other example queries answer for every host and for a known domain.
    for (name, query) in example_queries() {
        let answer = rows(&postgres.script(DATABASE, &query, &[("domain", "hv2-vm-00001")]));
        match name.as_str() {
            "busiest_domains_per_host" => {
                let mut named: Vec<&str> = answer.iter().map(|r| r[0].as_str()).collect();
                named.dedup();
                assert_eq!(
                    named,
                    hosts.iter().map(|h| h.name.as_str()).collect::<Vec<_>>()
                );
                assert_eq!(answer.len(), 3 + 5 + 5, "top five per host: {answer:?}");
                assert!(
                    answer.iter().all(|r| r[2].parse::<f64>().is_ok()),
                    "{answer:?}"
                );
            }
            "domain_over_time" => {
                assert!(!answer.is_empty());
                assert!(answer.iter().all(|r| r[1] == hosts[1].name), "{answer:?}");
                assert!(
                    answer.iter().all(|r| r[2].parse::<f64>().is_ok()),
                    "{answer:?}"
                );
            }
            "missing_cycles" => assert!(answer.is_empty(), "no cycle is missing: {answer:?}"),
            "incomplete_cycles" => {
                assert!(answer.is_empty(), "no domain line is missing: {answer:?}");
                // And it finds one that is: the first domain row, removed.
                let removed = rows(&postgres.sql(
                    DATABASE,
                    "DELETE FROM virtdiag_records WHERE id =
                         (SELECT min(id) FROM virtdiag_records WHERE kind = 'domain')
                     RETURNING host, record ->> 'seq'",
                ));
                let found: Vec<Vec<String>> = rows(&postgres.sql(DATABASE, &query))
                    .into_iter()
                    .map(|r| r[..2].to_vec())
                    .collect();
                assert_eq!(found, removed, "the cycle of the removed domain line");
            }
            "silent_hosts" => {}
            other => panic!("queries.sql has a query this test does not check: {other}"),
        }
    }
    eprintln!(
        "fleet: {checked} records from 3 hosts, each once in PostgreSQL and unchanged, in {:?}",
        started.elapsed()
    );
}
