//! libvirt's numeric domain and vCPU states and reasons as stable lowercase names.

/// `virDomainState` as a name.
pub fn state_name(state: i32) -> &'static str {
    match state {
        0 => "nostate",
        1 => "running",
        2 => "blocked",
        3 => "paused",
        4 => "shutdown",
        5 => "shutoff",
        6 => "crashed",
        7 => "pmsuspended",
        _ => "unknown",
    }
}

/// Whether a domain in this state has a running hypervisor process to ask for stats.
pub fn state_is_active(state: i32) -> bool {
    matches!(state, 1..=4 | 7)
}

/// The reason that goes with a state (`virDomain<State>Reason`) as a name.
pub fn reason_name(state: i32, reason: i32) -> &'static str {
    const RUNNING: &[&str] = &[
        "unknown",
        "booted",
        "migrated",
        "restored",
        "from_snapshot",
        "unpaused",
        "migration_canceled",
        "save_canceled",
        "wakeup",
        "crashed",
        "postcopy",
        "postcopy_failed",
    ];
    const PAUSED: &[&str] = &[
        "unknown",
        "user",
        "migration",
        "save",
        "dump",
        "ioerror",
        "watchdog",
        "from_snapshot",
        "shutting_down",
        "snapshot",
        "crashed",
        "starting_up",
        "postcopy",
        "postcopy_failed",
        "api_error",
    ];
    const SHUTOFF: &[&str] = &[
        "unknown",
        "shutdown",
        "destroyed",
        "crashed",
        "migrated",
        "saved",
        "failed",
        "from_snapshot",
        "daemon",
    ];
    const SHUTDOWN: &[&str] = &["unknown", "user"];
    const CRASHED: &[&str] = &["unknown", "panicked"];
    const UNKNOWN_ONLY: &[&str] = &["unknown"];
    let table = match state {
        1 => RUNNING,
        3 => PAUSED,
        4 => SHUTDOWN,
        5 => SHUTOFF,
        6 => CRASHED,
        _ => UNKNOWN_ONLY,
    };
    usize::try_from(reason)
        .ok()
        .and_then(|i| table.get(i))
        .copied()
        .unwrap_or("unknown")
}

/// `virVcpuState` as a name.
pub fn vcpu_state_name(state: i32) -> &'static str {
    match state {
        0 => "offline",
        1 => "running",
        2 => "blocked",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(state_name(1), "running");
        assert_eq!(state_name(42), "unknown");
        assert_eq!(reason_name(1, 1), "booted");
        assert_eq!(reason_name(5, 2), "destroyed");
        assert_eq!(reason_name(3, 99), "unknown");
        assert_eq!(reason_name(3, -1), "unknown");
        assert_eq!(vcpu_state_name(1), "running");
        assert!(state_is_active(3));
        assert!(!state_is_active(5));
    }
}
