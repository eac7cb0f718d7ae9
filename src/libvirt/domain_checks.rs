//! Two per-domain calls made only when a verdict needs them: `virDomainGetDiskErrors`
//! (which disk an I/O-error pause hit, and why) and `virDomainGetJobStats` (a job's
//! progress). The `virt` crate lacks the first and its `job_stats` leaks string
//! parameters and builds a `Vec` from libvirt's allocation (NULL when there is no job).

use std::os::raw::c_int;

use virt::domain::Domain;
use virt::sys;

use super::bulk::decode_param;
use super::LibvirtError;

/// At most this many disk errors are read (one per disk; a domain has a few).
const MAX_DISK_ERRORS: usize = 256;

/// Each disk with an error: its target name and libvirt's code (1 unspecified,
/// 2 no space).
pub fn disk_errors(domain: &Domain) -> Result<Vec<(String, i32)>, LibvirtError> {
    // SAFETY: with a NULL array and maxerrors 0, libvirt returns how many disks have an
    // error and writes nothing; the domain pointer is valid while `domain` is borrowed.
    let count = unsafe { sys::virDomainGetDiskErrors(domain.as_ptr(), std::ptr::null_mut(), 0, 0) };
    if count < 0 {
        return Err(LibvirtError::last());
    }
    let max = usize::try_from(count).unwrap_or(0).min(MAX_DISK_ERRORS);
    if max == 0 {
        return Ok(Vec::new());
    }
    let mut errors: Vec<sys::virDomainDiskError> = Vec::with_capacity(max);
    // SAFETY: `errors` has room for `max` entries; libvirt fills at most `maxerrors`.
    let filled =
        unsafe { sys::virDomainGetDiskErrors(domain.as_ptr(), errors.as_mut_ptr(), max as u32, 0) };
    if filled < 0 {
        return Err(LibvirtError::last());
    }
    let filled = usize::try_from(filled).unwrap_or(0).min(max);
    // SAFETY: libvirt initialised the first `filled` entries.
    unsafe { errors.set_len(filled) };
    let mut out = Vec::with_capacity(filled);
    for error in &errors {
        if !error.disk.is_null() {
            // SAFETY: `disk` is a NUL-terminated string libvirt allocated for the caller.
            let name = unsafe { std::ffi::CStr::from_ptr(error.disk) };
            out.push((name.to_string_lossy().into_owned(), error.error));
            // SAFETY: the caller owns each `disk` string and frees it with free(3);
            // it is not used after this.
            unsafe { nix::libc::free(error.disk.cast()) };
        }
    }
    Ok(out)
}

/// A job as `virDomainGetJobStats` reports it: libvirt's job type (0 none, 1 bounded,
/// 2 unbounded) and its numeric fields by name (`time_elapsed`, `data_total`, ...).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawJob {
    pub kind: i32,
    pub fields: Vec<(String, u64)>,
}

impl RawJob {
    pub fn get(&self, name: &str) -> Option<u64> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
}

/// The domain's current job; `kind` 0 when there is none.
pub fn job_stats(domain: &Domain) -> Result<RawJob, LibvirtError> {
    let mut kind: c_int = 0;
    let mut params: sys::virTypedParameterPtr = std::ptr::null_mut();
    let mut nparams: c_int = 0;
    // SAFETY: libvirt allocates the parameter array and stores it and its length in
    // `params`/`nparams`; the domain pointer is valid while `domain` is borrowed.
    let rc = unsafe {
        sys::virDomainGetJobStats(domain.as_ptr(), &mut kind, &mut params, &mut nparams, 0)
    };
    if rc < 0 {
        return Err(LibvirtError::last());
    }
    let mut job = RawJob {
        kind,
        fields: Vec::new(),
    };
    if !params.is_null() && nparams > 0 {
        // SAFETY: libvirt returned `nparams` initialised parameters at `params`, owned
        // by the caller until freed below.
        let slice = unsafe { std::slice::from_raw_parts(params, nparams as usize) };
        for param in slice {
            if let Some((name, value)) = decode_param(param) {
                if let Some(v) = value.as_u64() {
                    job.fields.push((name.to_string(), v));
                }
            }
        }
    }
    if !params.is_null() {
        // SAFETY: frees the array libvirt allocated (and its strings) exactly once; the
        // slice above is no longer used.
        unsafe { sys::virTypedParamsFree(params, nparams) };
    }
    Ok(job)
}
