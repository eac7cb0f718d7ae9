//! The callback of each domain event ID: it copies its arguments into a [`RawArgs`]
//! and delivers them ([`super::deliver`]).

use std::os::raw::{c_char, c_int, c_uint, c_void};

use virt::sys;

use super::{deliver, text, RawArgs, RawParam};
use crate::libvirt::bulk::{decode_param, ParamValue};

type Generic = unsafe extern "C" fn(sys::virConnectPtr, sys::virDomainPtr, *mut c_void);

/// Each event ID with its callback, cast to the generic type libvirt takes.
pub(super) fn callbacks() -> Vec<(u32, Generic)> {
    // SAFETY (for every transmute below): function pointers of different signatures
    // have the same size and representation; libvirt calls each with the arguments of
    // its event ID, which is the signature of the function registered for it.
    macro_rules! generic {
        ($f:expr, $t:ty) => {
            unsafe { std::mem::transmute::<$t, Generic>($f) }
        };
    }
    type Cb<A> = unsafe extern "C" fn(sys::virConnectPtr, sys::virDomainPtr, A, *mut c_void);
    type Alias = *const c_char;
    vec![
        (
            sys::VIR_DOMAIN_EVENT_ID_LIFECYCLE,
            generic!(lifecycle as Lifecycle, Lifecycle),
        ),
        (sys::VIR_DOMAIN_EVENT_ID_REBOOT, reboot as Generic),
        (
            sys::VIR_DOMAIN_EVENT_ID_CONTROL_ERROR,
            control_error as Generic,
        ),
        (
            sys::VIR_DOMAIN_EVENT_ID_WATCHDOG,
            generic!(watchdog as Cb<c_int>, Cb<c_int>),
        ),
        (
            sys::VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON,
            generic!(io_error as IoError, IoError),
        ),
        (
            sys::VIR_DOMAIN_EVENT_ID_DISK_CHANGE,
            generic!(disk_change as DiskChange, DiskChange),
        ),
        (
            sys::VIR_DOMAIN_EVENT_ID_TRAY_CHANGE,
            generic!(tray_change as TrayChange, TrayChange),
        ),
        (
            sys::VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
            generic!(device_added as Cb<Alias>, Cb<Alias>),
        ),
        (
            sys::VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
            generic!(device_removed as Cb<Alias>, Cb<Alias>),
        ),
        (
            sys::VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED,
            generic!(device_removal_failed as Cb<Alias>, Cb<Alias>),
        ),
        (
            sys::VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE,
            generic!(agent_lifecycle as TwoInts, TwoInts),
        ),
        (
            sys::VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION,
            generic!(migration_iteration as Cb<c_int>, Cb<c_int>),
        ),
        (
            sys::VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
            generic!(job_completed as JobCompleted, JobCompleted),
        ),
        (
            sys::VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
            generic!(metadata_change as Metadata, Metadata),
        ),
        (
            sys::VIR_DOMAIN_EVENT_ID_BLOCK_THRESHOLD,
            generic!(block_threshold as Threshold, Threshold),
        ),
        (
            sys::VIR_DOMAIN_EVENT_ID_MEMORY_FAILURE,
            generic!(memory_failure as MemoryFailure, MemoryFailure),
        ),
    ]
}

type Conn = sys::virConnectPtr;
type Dom = sys::virDomainPtr;
type Lifecycle = unsafe extern "C" fn(Conn, Dom, c_int, c_int, *mut c_void);
type TwoInts = Lifecycle;
type IoError = unsafe extern "C" fn(
    Conn,
    Dom,
    *const c_char,
    *const c_char,
    c_int,
    *const c_char,
    *mut c_void,
);
type DiskChange = unsafe extern "C" fn(
    Conn,
    Dom,
    *const c_char,
    *const c_char,
    *const c_char,
    c_int,
    *mut c_void,
);
type TrayChange = unsafe extern "C" fn(Conn, Dom, *const c_char, c_int, *mut c_void);
type JobCompleted = unsafe extern "C" fn(Conn, Dom, sys::virTypedParameterPtr, c_int, *mut c_void);
type Metadata = unsafe extern "C" fn(Conn, Dom, c_int, *const c_char, *mut c_void);
type Threshold =
    unsafe extern "C" fn(Conn, Dom, *const c_char, *const c_char, u64, u64, *mut c_void);
type MemoryFailure = unsafe extern "C" fn(Conn, Dom, c_int, c_int, c_uint, *mut c_void);

pub(super) unsafe extern "C" fn lifecycle(
    _: Conn,
    dom: Dom,
    event: c_int,
    detail: c_int,
    opaque: *mut c_void,
) {
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, RawArgs::Lifecycle { event, detail }) }
}

pub(super) unsafe extern "C" fn reboot(_: Conn, dom: Dom, opaque: *mut c_void) {
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, RawArgs::Reboot) }
}

pub(super) unsafe extern "C" fn control_error(_: Conn, dom: Dom, opaque: *mut c_void) {
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, RawArgs::ControlError) }
}

pub(super) unsafe extern "C" fn watchdog(_: Conn, dom: Dom, action: c_int, opaque: *mut c_void) {
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, RawArgs::Watchdog { action }) }
}

pub(super) unsafe extern "C" fn io_error(
    _: Conn,
    dom: Dom,
    src_path: *const c_char,
    dev_alias: *const c_char,
    action: c_int,
    reason: *const c_char,
    opaque: *mut c_void,
) {
    // SAFETY: libvirt passes NULL or valid strings.
    let (src_path, dev_alias, reason) = unsafe { (text(src_path), text(dev_alias), text(reason)) };
    let args = RawArgs::IoErrorReason {
        src_path,
        dev_alias,
        action,
        reason,
    };
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, args) }
}

pub(super) unsafe extern "C" fn disk_change(
    _: Conn,
    dom: Dom,
    old_src_path: *const c_char,
    new_src_path: *const c_char,
    dev_alias: *const c_char,
    reason: c_int,
    opaque: *mut c_void,
) {
    // SAFETY: libvirt passes NULL or valid strings.
    let (old_src_path, new_src_path, dev_alias) =
        unsafe { (text(old_src_path), text(new_src_path), text(dev_alias)) };
    let args = RawArgs::DiskChange {
        old_src_path,
        new_src_path,
        dev_alias,
        reason,
    };
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, args) }
}

pub(super) unsafe extern "C" fn tray_change(
    _: Conn,
    dom: Dom,
    dev_alias: *const c_char,
    reason: c_int,
    opaque: *mut c_void,
) {
    // SAFETY: libvirt passes NULL or a valid string.
    let dev_alias = unsafe { text(dev_alias) };
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, RawArgs::TrayChange { dev_alias, reason }) }
}

pub(super) unsafe extern "C" fn device_added(
    _: Conn,
    dom: Dom,
    alias: *const c_char,
    opaque: *mut c_void,
) {
    // SAFETY: libvirt passes NULL or a valid string.
    let dev_alias = unsafe { text(alias) };
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, RawArgs::DeviceAdded { dev_alias }) }
}

pub(super) unsafe extern "C" fn device_removed(
    _: Conn,
    dom: Dom,
    alias: *const c_char,
    opaque: *mut c_void,
) {
    // SAFETY: libvirt passes NULL or a valid string.
    let dev_alias = unsafe { text(alias) };
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, RawArgs::DeviceRemoved { dev_alias }) }
}

pub(super) unsafe extern "C" fn device_removal_failed(
    _: Conn,
    dom: Dom,
    alias: *const c_char,
    opaque: *mut c_void,
) {
    // SAFETY: libvirt passes NULL or a valid string.
    let dev_alias = unsafe { text(alias) };
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, RawArgs::DeviceRemovalFailed { dev_alias }) }
}

pub(super) unsafe extern "C" fn agent_lifecycle(
    _: Conn,
    dom: Dom,
    state: c_int,
    reason: c_int,
    opaque: *mut c_void,
) {
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, RawArgs::AgentLifecycle { state, reason }) }
}

pub(super) unsafe extern "C" fn migration_iteration(
    _: Conn,
    dom: Dom,
    iteration: c_int,
    opaque: *mut c_void,
) {
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, RawArgs::MigrationIteration { iteration }) }
}

pub(super) unsafe extern "C" fn job_completed(
    _: Conn,
    dom: Dom,
    params: sys::virTypedParameterPtr,
    nparams: c_int,
    opaque: *mut c_void,
) {
    let mut copied = Vec::new();
    if !params.is_null() {
        // SAFETY: libvirt passes `nparams` valid typed parameters at `params`.
        let params = unsafe { std::slice::from_raw_parts(params, nparams.max(0) as usize) };
        copied.reserve(params.len());
        for param in params {
            if let Some((name, value)) = decode_param(param) {
                copied.push((name.to_string(), owned(&value)));
            }
        }
    }
    let args = RawArgs::JobCompleted { params: copied };
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, args) }
}

fn owned(value: &ParamValue<'_>) -> RawParam {
    match *value {
        ParamValue::Int(v) => RawParam::Int(v),
        ParamValue::UInt(v) => RawParam::UInt(v),
        ParamValue::LLong(v) => RawParam::LLong(v),
        ParamValue::ULLong(v) => RawParam::ULLong(v),
        ParamValue::Double(v) => RawParam::Double(v),
        ParamValue::Boolean(v) => RawParam::Boolean(v),
        ParamValue::String(s) => RawParam::String(s.to_string_lossy().into_owned()),
    }
}

pub(super) unsafe extern "C" fn metadata_change(
    _: Conn,
    dom: Dom,
    type_: c_int,
    nsuri: *const c_char,
    opaque: *mut c_void,
) {
    // SAFETY: libvirt passes NULL or a valid string.
    let nsuri = unsafe { text(nsuri) };
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, RawArgs::MetadataChange { type_, nsuri }) }
}

pub(super) unsafe extern "C" fn block_threshold(
    _: Conn,
    dom: Dom,
    dev: *const c_char,
    path: *const c_char,
    threshold: u64,
    excess: u64,
    opaque: *mut c_void,
) {
    // SAFETY: libvirt passes NULL or valid strings.
    let (dev, path) = unsafe { (text(dev), text(path)) };
    let args = RawArgs::BlockThreshold {
        dev,
        path,
        threshold,
        excess,
    };
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, args) }
}

pub(super) unsafe extern "C" fn memory_failure(
    _: Conn,
    dom: Dom,
    recipient: c_int,
    action: c_int,
    flags: c_uint,
    opaque: *mut c_void,
) {
    let args = RawArgs::MemoryFailure {
        recipient,
        action,
        flags,
    };
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, args) }
}
