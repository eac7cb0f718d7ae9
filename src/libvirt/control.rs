//! `virDomainGetControlInfo`: whether a domain's monitor is free, busy with a job,
//! occupied by a call, or broken, and since when. It never waits for the monitor, so it
//! can say why a domain's statistics did not come.

use virt::domain::Domain;
use virt::sys;

use super::LibvirtError;

/// The state of a domain's control interface, in libvirt's numbers (the collector
/// names them: [`crate::record::ControlState`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlInfo {
    /// `virDomainControlState`.
    pub state: u32,
    /// `virDomainControlErrorReason`, meaningful in the error state.
    pub details: u32,
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
    Ok(ControlInfo {
        state: info.state,
        details: info.details,
        since_ms: info.stateTime,
    })
}
