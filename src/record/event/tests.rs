//! The event line's bytes: the words, the numbers of values newer than the tables, the
//! fields in alphabetical order with `suppressed` among them.

use super::*;
use crate::record::{DomainState, StateReason};

fn line(event: DomainEvent, suppressed: u64) -> String {
    let record = EventRecord::new(
        Arc::from("T"),
        Arc::from("h"),
        DomainIdentity {
            name: Arc::from("vm"),
            uuid: Arc::from("u"),
            id: None,
            state: DomainState::Paused,
            reason: StateReason::Ioerror,
            transitions: None,
            crashes: None,
        },
        None,
        event,
        suppressed,
    );
    serde_json::to_string(&record).unwrap()
}

const HEAD: &str = r#"{"kind":"event","schema":1,"ts":"T","host":"h","domain":{"name":"vm","uuid":"u","id":null,"state":"paused","reason":"ioerror"},"nova":null,"#;

#[test]
fn a_lifecycle_event_is_written_in_libvirts_words_and_a_state() {
    let event = Lifecycle::Suspended(Known::Named(SuspendedDetail::IoError));
    assert_eq!(
        event.state(),
        Some((DomainState::Paused, StateReason::Ioerror))
    );
    assert_eq!(
        line(DomainEvent::Lifecycle(event), 0),
        format!(r#"{HEAD}"event":"lifecycle","detail":"ioerror","type":"suspended"}}"#)
    );
    let defined = Lifecycle::Defined(Known::Named(DefinedDetail::Updated));
    assert_eq!(defined.state(), None, "defining leaves the state as it was");
    // Newer libvirt: numbers, not a panic.
    let newer = Lifecycle::Unknown {
        kind: 42,
        detail: 7,
    };
    assert_eq!(newer.state(), None);
    assert_eq!(
        line(DomainEvent::Lifecycle(newer), 3),
        format!(r#"{HEAD}"event":"lifecycle","detail":7,"suppressed":3,"type":42}}"#)
    );
    let stopped = Lifecycle::Stopped(Known::Number(99));
    assert_eq!(
        stopped.state(),
        Some((DomainState::Shutoff, StateReason::Unknown))
    );
}

#[test]
fn device_fields_and_suppressed_take_their_alphabetical_place() {
    let event = DomainEvent::IoError {
        device: Device {
            alias: Some("virtio-disk0".into()),
            target: Some(Arc::from("vda")),
            mac: None,
        },
        path: None,
        action: Known::Named(IoErrorAction::Pause),
        reason: Some("enospc".into()),
    };
    assert_eq!(
        line(event, 2),
        format!(
            r#"{HEAD}"event":"io_error","action":"pause","device":"virtio-disk0","path":null,"reason":"enospc","suppressed":2,"target":"vda"}}"#
        )
    );
    let stats = [
        ("b".to_string(), JobStat::Float(f64::NAN)),
        ("a".to_string(), JobStat::Signed(-1)),
    ];
    let event = DomainEvent::JobCompleted {
        stats: stats.into_iter().collect(),
    };
    assert_eq!(
        line(event, 1),
        format!(r#"{HEAD}"event":"job_completed","stats":{{"a":-1,"b":null}},"suppressed":1}}"#)
    );
}

/// Every line of the golden file (each event ID, numbers newer than the tables, nulls,
/// `suppressed`) reads into its type and writes back to the same bytes.
#[test]
fn every_golden_event_line_reads_back_to_the_same_bytes() {
    let golden = include_str!("../../../tests/golden/event_lines.txt");
    let mut names = std::collections::BTreeSet::new();
    for (n, text) in golden.lines().enumerate() {
        let record: EventRecord =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("line {}: {e}\n{text}", n + 1));
        assert_eq!(
            serde_json::to_string(&record).unwrap(),
            text,
            "line {}",
            n + 1
        );
        names.insert(record.event.name());
    }
    assert_eq!(golden.lines().count(), 390);
    assert_eq!(names.len(), 16, "every event ID: {names:?}");
}

#[test]
fn a_number_where_a_word_is_expected_is_kept_as_the_number() {
    let event: DomainEvent = serde_json::from_str(r#"{"event":"watchdog","action":12}"#).unwrap();
    assert_eq!(
        event,
        DomainEvent::Watchdog {
            action: Known::Number(12)
        }
    );
    let event: DomainEvent =
        serde_json::from_str(r#"{"event":"lifecycle","type":"started","detail":"booted"}"#)
            .unwrap();
    assert_eq!(
        event,
        DomainEvent::Lifecycle(Lifecycle::Started(Known::Named(StartedDetail::Booted)))
    );
}

#[test]
fn what_the_agent_does_not_write_does_not_read() {
    let good = line(DomainEvent::Reboot, 0);
    assert!(serde_json::from_str::<EventRecord>(&good).is_ok());
    let bad = [
        // another kind of line
        good.replace(r#""kind":"event""#, r#""kind":"domain""#),
        // another schema
        good.replace(r#""schema":1"#, r#""schema":2"#),
        // an event name the agent does not write
        good.replace(r#""event":"reboot""#, r#""event":"reboots""#),
        good.replace(r#","event":"reboot""#, ""),
        // a word not in the table
        good.replace(
            r#""event":"reboot""#,
            r#""event":"watchdog","action":"explode""#,
        ),
        // a detail word of another type
        good.replace(
            r#""event":"reboot""#,
            r#""event":"lifecycle","detail":"booted","type":"stopped""#,
        ),
        // a word for the detail of a type newer than the tables
        good.replace(
            r#""event":"reboot""#,
            r#""event":"lifecycle","detail":"booted","type":42"#,
        ),
        // fields of the wrong type, or missing
        good.replace(
            r#""event":"reboot""#,
            r#""event":"migration_iteration","iteration":"3""#,
        ),
        good.replace(
            r#""event":"reboot""#,
            r#""event":"watchdog","action":4294967296"#,
        ),
        good.replace(
            r#""event":"reboot""#,
            r#""event":"memory_failure","action":"fatal","action_required":1,"recipient":"guest","recursive":false"#,
        ),
        good.replace(r#""event":"reboot""#, r#""event":"watchdog""#),
        good.replace(r#""event":"reboot""#, r#""event":"reboot","suppressed":-1"#),
        // a count the writer leaves out
        good.replace(r#""event":"reboot""#, r#""event":"reboot","suppressed":0"#),
    ];
    for text in bad {
        assert!(
            serde_json::from_str::<EventRecord>(&text).is_err(),
            "read: {text}"
        );
    }
}

#[test]
fn a_field_of_another_event_does_not_read() {
    let good = line(DomainEvent::Reboot, 0);
    for extra in [
        r#""event":"reboot","action":"pause""#,
        r#""event":"io_error","action":"pause","device":null,"iteration":3,"path":null,"reason":null"#,
        r#""event":"device_added","device":"net1","stats":{}"#,
        r#""event":"migration_iteration","iteration":3,"mac":"m""#,
    ] {
        let text = good.replace(r#""event":"reboot""#, extra);
        assert!(
            serde_json::from_str::<EventRecord>(&text).is_err(),
            "read: {text}"
        );
    }
}
