//! `virDomainGetVcpus`: per-vCPU state and CPU time, which the `virt` crate does not wrap.

use virt::domain::Domain;
use virt::sys;

use super::LibvirtError;

/// One vCPU as libvirt reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VcpuInfo {
    pub number: u32,
    /// `virVcpuState`: 0 offline, 1 running, 2 blocked.
    pub state: i32,
    pub cpu_time_ns: u64,
}

/// Reads up to `max` vCPUs of a running domain.
pub fn get_vcpus(domain: &Domain, max: u32) -> Result<Vec<VcpuInfo>, LibvirtError> {
    if max == 0 {
        return Ok(Vec::new());
    }
    let mut infos: Vec<sys::virVcpuInfo> = Vec::with_capacity(max as usize);
    // SAFETY: `infos` has room for `max` entries and libvirt writes at most `maxinfo`
    // of them; no CPU map is requested (NULL, length 0). The domain pointer is valid
    // while `domain` is borrowed.
    let count = unsafe {
        sys::virDomainGetVcpus(
            domain.as_ptr(),
            infos.as_mut_ptr(),
            max as i32,
            std::ptr::null_mut(),
            0,
        )
    };
    if count < 0 {
        return Err(LibvirtError::last());
    }
    let count = (count as usize).min(max as usize);
    // SAFETY: libvirt initialised the first `count` entries.
    unsafe { infos.set_len(count) };
    Ok(infos
        .iter()
        .map(|info| VcpuInfo {
            number: info.number,
            state: info.state,
            cpu_time_ns: info.cpuTime,
        })
        .collect())
}
