//! The core's rules, fed inputs and read by their effects: no socket, thread or libvirt.

use std::cell::RefCell;
use std::collections::HashSet;

use super::*;
use crate::collect::Snapshot;
use crate::config::{self, Reload, KEYS};
use crate::query::answers::tests::record;
use crate::record::CycleRecord;

/// The loop's side, as the core sees it.
#[derive(Default)]
struct FakeWorld {
    clients: HashSet<usize>,
    watching: RefCell<Vec<Format>>,
}

impl World for FakeWorld {
    fn clients(&self) -> ClientStatus {
        ClientStatus {
            connected: self.clients.len(),
            ..ClientStatus::default()
        }
    }
    fn spool(&self) -> SpoolStats {
        SpoolStats::default()
    }
    fn textfile(&self) -> crate::daemon::textfile::TextfileStats {
        Default::default()
    }
    fn has_client(&self, token: Token) -> bool {
        self.clients.contains(&token.0)
    }
    fn watching(&self, format: Format) -> bool {
        self.watching.borrow().contains(&format)
    }
}

fn core(config: Config) -> Core {
    let status = Status::new(&config, SpoolStats::default());
    Core::new(
        config,
        Arc::from("h"),
        PathBuf::from("/etc/virtdiag/virtdiag.toml"),
        status,
        Instant::now(),
    )
}

fn latest(seq: u64) -> Latest {
    Latest::serialize(
        seq,
        vec![
            record("web", "6c0c3d8e-3a0f-4b6e-9f4e-2d1f0a9b7c11", Some(1)),
            record("db", "0b8e6a52-7d14-4c3a-9e21-5f6a7b8c9d01", Some(2)),
        ],
        None,
    )
}

fn cycle(latest: Latest, served_request: u64, connected: bool) -> Input {
    let seq = latest.seq();
    let cycle = CycleRecord {
        kind: "cycle",
        ts: "2026-12-06T10:00:00.000Z".into(),
        seq,
        connected,
        error: (!connected).then(|| "libvirt is unreachable".to_string()),
        ..CycleRecord::default()
    };
    Input::Cycle(
        Box::new(Cycle {
            snapshot: Snapshot {
                seq,
                records: latest.records().to_vec(),
                cycle,
                events: Vec::new(),
            },
            latest,
            served_request,
        }),
        Losses::default(),
    )
}

fn sends(effects: &[Effect]) -> Vec<(Token, Vec<u8>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(token, payload) => Some((*token, payload.to_vec())),
            _ => None,
        })
        .collect()
}

fn builds(effects: &[Effect]) -> Vec<(u64, View)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Build(latest, view) => Some((latest.seq(), *view)),
            _ => None,
        })
        .collect()
}

fn request(core: &mut Core, world: &FakeWorld, token: usize, request: Request) -> Vec<Effect> {
    core.handle(Input::Request(Token(token), request), world, Instant::now())
}

#[test]
fn a_view_nobody_asked_for_is_built_off_the_loop_once_while_its_clients_wait() {
    let world = FakeWorld::default();
    let mut core = core(Config::default());
    core.handle(cycle(latest(1), 0, true), &world, Instant::now());
    let nova = Request::All {
        format: Format::Nova,
    };
    let first = request(&mut core, &world, 20, nova.clone());
    let second = request(&mut core, &world, 21, nova);
    assert!(sends(&first).is_empty() && sends(&second).is_empty());
    assert!(first.iter().any(|e| matches!(e, Effect::Hold(Token(20)))));
    assert_eq!(builds(&first), vec![(1, View::Nova)]);
    assert!(builds(&second).is_empty(), "one build for both clients");

    // The builder's work, then its report.
    core.latest().build(View::Nova);
    let effects = core.handle(Input::Built(1, View::Nova), &world, Instant::now());
    let answered = sends(&effects);
    assert_eq!(answered.len(), 2);
    for (_, bytes) in &answered {
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(text.lines().count(), 3, "two records and the end line");
        assert!(text.ends_with("{\"kind\":\"end\",\"count\":2,\"seq\":1}\n"));
    }
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Release(Token(21)))));
    // Asked for since the last cycle: the collector builds it with the next one.
    let wanted = core.wanted().take();
    assert!(wanted.contains(&View::Nova), "{wanted:?}");
}

#[test]
fn a_built_view_is_answered_at_once_and_json_never_waits() {
    let world = FakeWorld::default();
    let mut core = core(Config::default());
    let l = latest(4);
    l.build(View::List);
    core.handle(cycle(l, 0, true), &world, Instant::now());
    let effects = request(&mut core, &world, 20, Request::List);
    assert!(builds(&effects).is_empty());
    assert_eq!(sends(&effects).len(), 1);
    let effects = request(
        &mut core,
        &world,
        20,
        Request::All {
            format: Format::Json,
        },
    );
    assert!(builds(&effects).is_empty());
    assert_eq!(sends(&effects).len(), 1);
}

#[test]
fn collect_requests_share_one_on_demand_cycle() {
    let world = FakeWorld::default();
    let mut core = core(Config {
        min_collect_interval_seconds: 0.0,
        ..Config::default()
    });
    let collect = Request::Collect {
        format: Format::Json,
    };
    let collects = |effects: &[Effect]| -> Vec<u64> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Collect(request) => Some(*request),
                _ => None,
            })
            .collect()
    };
    let answered =
        |effects: &[Effect]| -> Vec<Token> { sends(effects).into_iter().map(|(t, _)| t).collect() };
    assert_eq!(
        collects(&request(&mut core, &world, 20, collect.clone())),
        [1]
    );
    // While cycle 1 runs, the next two share one deferred cycle.
    let second = request(&mut core, &world, 21, collect.clone());
    assert!(collects(&second).is_empty());
    assert!(second.iter().any(|e| matches!(e, Effect::Hold(Token(21)))));
    assert!(collects(&request(&mut core, &world, 22, collect)).is_empty());
    let effects = core.handle(cycle(latest(1), 1, true), &world, Instant::now());
    assert_eq!(answered(&effects), [Token(20)]);
    let effects = core.handle(Input::Tick, &world, Instant::now());
    assert_eq!(collects(&effects), [2]);
    let effects = core.handle(cycle(latest(2), 2, true), &world, Instant::now());
    assert_eq!(answered(&effects), [Token(21), Token(22)]);
}

#[test]
fn watchers_get_each_cycle_in_their_format_and_only_the_cycle_line_when_disconnected() {
    let world = FakeWorld::default();
    world.watching.borrow_mut().push(Format::Json);
    world.watching.borrow_mut().push(Format::Legacy);
    let mut core = core(Config::default());
    let effects = core.handle(cycle(latest(1), 0, true), &world, Instant::now());
    let broadcasts: Vec<Format> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::BroadcastCycle(format, _) => Some(*format),
            _ => None,
        })
        .collect();
    assert_eq!(broadcasts, vec![Format::Json], "legacy waits for its view");
    assert_eq!(builds(&effects), vec![(1, View::Legacy)]);
    core.latest().build(View::Legacy);
    let effects = core.handle(Input::Built(1, View::Legacy), &world, Instant::now());
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::BroadcastCycle(Format::Legacy, _))));

    let effects = core.handle(cycle(latest(2), 0, false), &world, Instant::now());
    for effect in &effects {
        if let Effect::BroadcastCycle(_, payload) = effect {
            assert!(payload.shared.is_none());
            let text = String::from_utf8(payload.to_vec()).unwrap();
            assert_eq!(text.lines().count(), 1, "only the cycle line: {text}");
        }
    }
}

#[test]
fn while_libvirt_is_unreachable_metrics_carry_no_domain_series() {
    let world = FakeWorld::default();
    let mut core = core(Config::default());
    let l = latest(1);
    l.build(View::Metrics);
    core.handle(cycle(l, 0, true), &world, Instant::now());
    let text = |effects: Vec<Effect>| String::from_utf8(sends(&effects)[0].1.clone()).unwrap();
    let before = text(request(&mut core, &world, 20, Request::Metrics));
    assert!(before.contains("virtdiag_domain_info"), "{before}");
    assert!(before.contains("virtdiag_last_success_timestamp_seconds 1796551200"));
    core.handle(cycle(latest(2), 0, false), &world, Instant::now());
    let after = text(request(&mut core, &world, 20, Request::Metrics));
    assert!(!after.contains("virtdiag_domain_"), "{after}");
    assert!(after.contains("virtdiag_up 0"));
    assert!(after.contains("virtdiag_last_success_timestamp_seconds 1796551200"));
    assert!(after.ends_with("# EOF\n"));
}

#[test]
fn sighup_reads_the_configuration_off_the_loop_one_read_at_a_time() {
    let world = FakeWorld::default();
    let mut core = core(Config::default());
    let loads = |effects: &[Effect]| {
        effects
            .iter()
            .filter(|e| matches!(e, Effect::LoadConfig))
            .count()
    };
    let first = core.handle(Input::Reload, &world, Instant::now());
    assert!(first.iter().any(|e| matches!(e, Effect::ReopenSpool)));
    assert_eq!(loads(&first), 1);
    let second = core.handle(Input::Reload, &world, Instant::now());
    assert_eq!(loads(&second), 0, "one read at a time");
    let loaded = |config: Config| Input::Loaded(Box::new(Ok(Loaded { config, gid: None })));
    let done = core.handle(loaded(Config::default()), &world, Instant::now());
    assert_eq!(
        loads(&done),
        1,
        "the SIGHUP that came meanwhile reads again"
    );
    let done = core.handle(loaded(Config::default()), &world, Instant::now());
    assert!(done
        .iter()
        .any(|e| matches!(e, Effect::Notify(s) if s == "READY=1")));
    let failed = core.handle(Input::Reload, &world, Instant::now());
    assert_eq!(loads(&failed), 1);
    let kept = core.handle(
        Input::Loaded(Box::new(Err(crate::config::parse(
            "interval_seconds = 0\n",
        )
        .unwrap_err()
        .into()))),
        &world,
        Instant::now(),
    );
    assert!(kept
        .iter()
        .any(|e| matches!(e, Effect::Log(Level::Error, m) if m.contains("keeping the old one"))));
}

#[test]
fn a_reload_changes_the_socket_file_in_place_and_names_what_needs_a_restart() {
    let world = FakeWorld::default();
    let mut core = core(Config::default());
    let mut new = Config::default();
    new.socket.mode = 0o600;
    new.socket.path = PathBuf::from("/run/elsewhere.sock");
    core.handle(Input::Reload, &world, Instant::now());
    let effects = core.handle(
        Input::Loaded(Box::new(Ok(Loaded {
            config: new.clone(),
            gid: Some(0),
        }))),
        &world,
        Instant::now(),
    );
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::SocketAccess {
            mode: 0o600,
            gid: Some(0)
        }
    )));
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Log(Level::Warning, m) if m.contains("socket.path"))));
    assert_eq!(core.status(&world).restart_needed, vec!["socket.path"]);
    // Back to the running path: nothing waits for a restart any more.
    core.handle(Input::Reload, &world, Instant::now());
    core.handle(
        Input::Loaded(Box::new(Ok(Loaded {
            config: Config::default(),
            gid: None,
        }))),
        &world,
        Instant::now(),
    );
    assert!(core.status(&world).restart_needed.is_empty());
}

/// A value other than the default for every key, as a line of the file.
const CHANGED: [(&str, &str); 18] = [
    ("uri", r#"uri = "test:///other""#),
    ("read_only", "read_only = false"),
    ("interval_seconds", "interval_seconds = 7"),
    (
        "min_collect_interval_seconds",
        "min_collect_interval_seconds = 3",
    ),
    ("host", r#"host = "elsewhere""#),
    ("domains.include", r#"domains.include = ["web-*"]"#),
    ("domains.exclude", r#"domains.exclude = ["db-*"]"#),
    ("spool.path", r#"spool.path = "/var/tmp/other.ndjson""#),
    ("spool.max_bytes", "spool.max_bytes = 8192"),
    ("spool.keep", "spool.keep = 2"),
    ("spool.fsync", r#"spool.fsync = "never""#),
    ("socket.path", r#"socket.path = "/run/other.sock""#),
    ("socket.mode", r#"socket.mode = "0600""#),
    ("socket.group", r#"socket.group = "root""#),
    ("socket.max_clients", "socket.max_clients = 5"),
    (
        "socket.idle_timeout_seconds",
        "socket.idle_timeout_seconds = 9",
    ),
    (
        "prometheus.textfile",
        r#"prometheus.textfile = "/var/tmp/x.prom""#,
    ),
    ("collect.groups", r#"collect.groups = ["state"]"#),
];

#[test]
fn the_reload_plan_applies_every_key_as_its_table_entry_says() {
    let old = Config::default();
    assert_eq!(plan(&old, &old), Plan::default(), "nothing changed");
    assert_eq!(
        CHANGED.len(),
        KEYS.len(),
        "every key has a changed value here"
    );
    for key in &KEYS {
        let line = CHANGED
            .iter()
            .find(|(name, _)| *name == key.name)
            .unwrap_or_else(|| panic!("{} has no changed value in this test", key.name))
            .1;
        let new = config::parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let plan = plan(&old, &new);
        let expected = match key.reload {
            Reload::Live => Plan {
                live: vec![key.name],
                ..Plan::default()
            },
            Reload::Socket => Plan {
                socket: vec![key.name],
                ..Plan::default()
            },
            Reload::Restart => Plan {
                restart: vec![key.name],
                ..Plan::default()
            },
        };
        assert_eq!(plan, expected, "{line}");
    }
    // The rule for the socket's keys, stated where the keys are.
    let reload_of = |name| config::keys::key(name).unwrap().reload;
    assert_eq!(reload_of("socket.mode"), Reload::Socket);
    assert_eq!(reload_of("socket.group"), Reload::Socket);
    assert_eq!(reload_of("socket.path"), Reload::Restart);
}
