//! The host's totals: `virNodeGetCPUStats` and `virNodeGetMemoryStats`, which the `virt`
//! crate does not wrap (`virNodeGetInfo` it does: `Connect::node_info`).

use std::os::raw::c_int;

use virt::connect::Connect;
use virt::sys;

use super::bulk::field_name;
use super::LibvirtError;

/// At most this many fields are read from either call (libvirt gives four).
const MAX_FIELDS: usize = 16;

/// The host's CPU time over all CPUs since boot, in nanoseconds, as libvirt names it:
/// `kernel`, `user`, `idle`, `iowait` (Linux), or `utilization` on some drivers.
pub fn cpu_stats(conn: &Connect) -> Result<Vec<(String, u64)>, LibvirtError> {
    let mut nparams: c_int = 0;
    // SAFETY: with a NULL array and *nparams == 0 libvirt only writes the number of
    // fields into `nparams`; the connection pointer is valid while `conn` is borrowed.
    let rc = unsafe {
        sys::virNodeGetCPUStats(
            conn.as_ptr(),
            sys::VIR_NODE_CPU_STATS_ALL_CPUS,
            std::ptr::null_mut(),
            &mut nparams,
            0,
        )
    };
    if rc < 0 {
        return Err(LibvirtError::last());
    }
    let count = usize::try_from(nparams).unwrap_or(0).min(MAX_FIELDS);
    if count == 0 {
        return Ok(Vec::new());
    }
    let mut params: Vec<sys::virNodeCPUStats> = vec![
        sys::virNodeCPUStats {
            field: [0; 80],
            value: 0,
        };
        count
    ];
    let mut nparams = count as c_int;
    // SAFETY: `params` holds `nparams` initialised entries and libvirt writes at most
    // `*nparams` of them, then stores how many it wrote.
    let rc = unsafe {
        sys::virNodeGetCPUStats(
            conn.as_ptr(),
            sys::VIR_NODE_CPU_STATS_ALL_CPUS,
            params.as_mut_ptr(),
            &mut nparams,
            0,
        )
    };
    if rc < 0 {
        return Err(LibvirtError::last());
    }
    let written = usize::try_from(nparams).unwrap_or(0).min(count);
    Ok(params[..written]
        .iter()
        .filter_map(|p| Some((field_name(&p.field)?.to_string(), p.value)))
        .collect())
}

/// The host's memory in KiB, as libvirt names it: `total`, `free`, `buffers`, `cached`.
pub fn memory_stats(conn: &Connect) -> Result<Vec<(String, u64)>, LibvirtError> {
    let mut nparams: c_int = 0;
    // SAFETY: as in `cpu_stats`: a NULL array with *nparams == 0 asks for the count.
    let rc = unsafe {
        sys::virNodeGetMemoryStats(
            conn.as_ptr(),
            sys::VIR_NODE_MEMORY_STATS_ALL_CELLS,
            std::ptr::null_mut(),
            &mut nparams,
            0,
        )
    };
    if rc < 0 {
        return Err(LibvirtError::last());
    }
    let count = usize::try_from(nparams).unwrap_or(0).min(MAX_FIELDS);
    if count == 0 {
        return Ok(Vec::new());
    }
    let mut params: Vec<sys::virNodeMemoryStats> = vec![
        sys::virNodeMemoryStats {
            field: [0; 80],
            value: 0,
        };
        count
    ];
    let mut nparams = count as c_int;
    // SAFETY: `params` holds `nparams` initialised entries; libvirt writes at most that
    // many and stores how many it wrote.
    let rc = unsafe {
        sys::virNodeGetMemoryStats(
            conn.as_ptr(),
            sys::VIR_NODE_MEMORY_STATS_ALL_CELLS,
            params.as_mut_ptr(),
            &mut nparams,
            0,
        )
    };
    if rc < 0 {
        return Err(LibvirtError::last());
    }
    let written = usize::try_from(nparams).unwrap_or(0).min(count);
    Ok(params[..written]
        .iter()
        .filter_map(|p| Some((field_name(&p.field)?.to_string(), p.value)))
        .collect())
}
