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
