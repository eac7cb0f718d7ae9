//! Each vocabulary: libvirt's numbers to words, and each word written and read as itself.

use super::*;

#[test]
fn libvirt_numbers_become_the_records_words() {
    assert_eq!(DomainState::from_libvirt(1).as_str(), "running");
    assert_eq!(DomainState::from_libvirt(42), DomainState::Unknown);
    let running = DomainState::Running;
    assert_eq!(StateReason::from_libvirt(running, 1), StateReason::Booted);
    let shutoff = DomainState::Shutoff;
    assert_eq!(StateReason::from_libvirt(shutoff, 2).as_str(), "destroyed");
    let paused = DomainState::Paused;
    assert_eq!(StateReason::from_libvirt(paused, 99), StateReason::Unknown);
    assert_eq!(StateReason::from_libvirt(paused, -1), StateReason::Unknown);
    assert_eq!(StateReason::from_libvirt(paused, 5), StateReason::Ioerror);
    let nostate = DomainState::NoState;
    assert_eq!(StateReason::from_libvirt(nostate, 0), StateReason::Unknown);
    assert_eq!(VcpuState::from_libvirt(1).as_str(), "running");
    assert!(DomainState::Paused.is_active());
    assert!(!DomainState::Shutoff.is_active());
    assert_eq!(JobOperation::from_libvirt(5), JobOperation::MigrationOut);
    assert_eq!(JobOperation::from_libvirt(99), JobOperation::Unknown);
    assert_eq!(ControlReason::from_libvirt(1), ControlReason::Unknown);
    assert_eq!(DiskError::from_libvirt(2), Some(DiskError::NoSpace));
}

#[test]
fn each_word_is_written_and_read_as_itself() {
    fn round_trip<T>(all: &[T], word: fn(&T) -> &'static str)
    where
        T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
    {
        for value in all {
            let json = serde_json::to_string(value).unwrap();
            assert_eq!(json, format!("\"{}\"", word(value)));
            assert_eq!(&serde_json::from_str::<T>(&json).unwrap(), value);
        }
    }
    round_trip(DomainState::ALL, |v| v.as_str());
    round_trip(StateReason::ALL, |v| v.as_str());
    round_trip(VcpuState::ALL, |v| v.as_str());
    round_trip(GuestStats::ALL, |v| v.as_str());
    round_trip(DiskError::ALL, |v| v.as_str());
    round_trip(ControlState::ALL, |v| v.as_str());
    round_trip(ControlReason::ALL, |v| v.as_str());
    round_trip(JobOperation::ALL, |v| v.as_str());
    round_trip(DirtyRateStatus::ALL, |v| v.as_str());
    assert!(serde_json::from_str::<DomainState>("\"dancing\"").is_err());
    assert_eq!(
        StateReason::from_name("ioerror"),
        Some(StateReason::Ioerror)
    );
    assert_eq!(DomainState::Paused, "paused");
}
