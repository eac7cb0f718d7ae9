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
    let empty = sys::virNodeCPUStats {
        field: [0; 80],
        value: 0,
    };
    read_fields(
        empty,
        |params, nparams| {
            // SAFETY: `params` is NULL with *nparams == 0 (libvirt then only writes the
            // count) or holds *nparams entries, of which libvirt writes at most that many
            // and stores how many; the connection is valid while `conn` is borrowed.
            unsafe {
                sys::virNodeGetCPUStats(
                    conn.as_ptr(),
                    sys::VIR_NODE_CPU_STATS_ALL_CPUS,
                    params,
                    nparams,
                    0,
                )
            }
        },
        |p| (&p.field[..], p.value),
    )
}

/// The host's memory in KiB, as libvirt names it: `total`, `free`, `buffers`, `cached`.
pub fn memory_stats(conn: &Connect) -> Result<Vec<(String, u64)>, LibvirtError> {
    let empty = sys::virNodeMemoryStats {
        field: [0; 80],
        value: 0,
    };
    read_fields(
        empty,
        |params, nparams| {
            // SAFETY: as in `cpu_stats`.
            unsafe {
                sys::virNodeGetMemoryStats(
                    conn.as_ptr(),
                    sys::VIR_NODE_MEMORY_STATS_ALL_CELLS,
                    params,
                    nparams,
                    0,
                )
            }
        },
        |p| (&p.field[..], p.value),
    )
}

/// The two-step read both calls share: the count first (NULL array), then the fields.
fn read_fields<T: Clone>(
    empty: T,
    call: impl Fn(*mut T, *mut c_int) -> c_int,
    named: impl Fn(&T) -> (&[std::os::raw::c_char], u64),
) -> Result<Vec<(String, u64)>, LibvirtError> {
    let mut nparams: c_int = 0;
    if call(std::ptr::null_mut(), &mut nparams) < 0 {
        return Err(LibvirtError::last());
    }
    let count = usize::try_from(nparams).unwrap_or(0).min(MAX_FIELDS);
    if count == 0 {
        return Ok(Vec::new());
    }
    let mut params = vec![empty; count];
    let mut nparams = count as c_int;
    if call(params.as_mut_ptr(), &mut nparams) < 0 {
        return Err(LibvirtError::last());
    }
    let written = usize::try_from(nparams).unwrap_or(0).min(count);
    Ok(params[..written]
        .iter()
        .filter_map(|p| {
            let (field, value) = named(p);
            Some((field_name(field)?.to_string(), value))
        })
        .collect())
}
