//! `virDomainGetControlInfo`: whether a domain's monitor is free, busy with a job,
//! occupied by a call, or broken, and since when. It never waits for the monitor, so it
//! can say why a domain's statistics did not come.

use virt::domain::Domain;
use virt::sys;

use super::LibvirtError;

/// The state of a domain's control interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlInfo {
    /// `ok`, `job`, `occupied` or `error`.
    pub state: &'static str,
    /// For `error`: `none`, `unknown`, `monitor` or `internal`.
    pub error_reason: Option<&'static str>,
    /// How long the domain has been in this state, in milliseconds (0 for `ok`).
    pub since_ms: u64,
}

pub fn get_control_info(domain: &Domain) -> Result<ControlInfo, LibvirtError> {
    let mut info = sys::virDomainControlInfo {
        state: 0,
        details: 0,
        stateTime: 0,
    };
    // SAFETY: `info` is a valid, writable virDomainControlInfo; the domain pointer is
    // valid while `domain` is borrowed; flags must be 0.
    if unsafe { sys::virDomainGetControlInfo(domain.as_ptr(), &mut info, 0) } < 0 {
        return Err(LibvirtError::last());
    }
    const STATES: [&str; 4] = ["ok", "job", "occupied", "error"];
    const REASONS: [&str; 4] = ["none", "unknown", "monitor", "internal"];
    let state = STATES
        .get(info.state as usize)
        .copied()
        .unwrap_or("unknown");
    Ok(ControlInfo {
        state,
        error_reason: (state == "error").then(|| {
            REASONS
                .get(info.details as usize)
                .copied()
                .unwrap_or("unknown")
        }),
        since_ms: info.stateTime,
    })
}
