//! Domain events: registration on a connection, and each callback's arguments decoded
//! into a [`DomainEvent`] in libvirt's own words.
//!
//! The callbacks run on libvirt's event-loop thread ([`super::events`]). They copy what
//! they are given (names, aliases, paths) and hand the event to a [`EventSink`], which
//! must not block: they make no libvirt call that leaves the process (the domain's name,
//! UUID and id are read from the `virDomain` object itself). Registration works on a
//! read-only connection for every event ID used here.
//!
//! Left out on purpose, as they fire every few seconds on a healthy guest or say nothing
//! an operator acts on: BALLOON_CHANGE, RTC_CHANGE, GRAPHICS, TUNABLE, BLOCK_JOB (whose
//! completion JOB_COMPLETED and BLOCK_THRESHOLD cover), PMWAKEUP/PMSUSPEND.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_uint, c_void};
use std::sync::Arc;

use serde_json::{Map, Value};
use virt::connect::Connect;
use virt::sys;

use super::bulk::{decode_param, ParamValue};
use super::LibvirtError;

/// One event as libvirt delivered it.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainEvent {
    /// When the callback ran (RFC 3339, UTC).
    pub ts: String,
    pub name: String,
    pub uuid: String,
    /// The hypervisor's id; None for an inactive domain.
    pub id: Option<u32>,
    /// snake_case: `lifecycle`, `reboot`, `device_added`, ...
    pub event: &'static str,
    /// The event's own fields, in libvirt's words.
    pub fields: Map<String, Value>,
}

/// Where callbacks deliver events. Must not block: it runs on libvirt's event thread.
pub trait EventSink: Send + Sync {
    fn deliver(&self, event: DomainEvent);
}

/// The callbacks registered on one connection; dropping it deregisters them.
pub struct Registration {
    conn: Connect,
    callback_ids: Vec<c_int>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        for id in &self.callback_ids {
            // SAFETY: the connection pointer is valid for as long as `conn` (a counted
            // reference) lives, and each id came from a successful registration on it.
            unsafe { sys::virConnectDomainEventDeregisterAny(self.conn.as_ptr(), *id) };
        }
    }
}

type Opaque = Arc<dyn EventSink>;

/// Registers every event this module decodes, delivering to `sink`. Fails only if none
/// could be registered; an ID the driver refuses is skipped and named in the log.
pub fn register(conn: &Connect, sink: Arc<dyn EventSink>) -> Result<Registration, LibvirtError> {
    let mut registration = Registration {
        conn: conn.clone(),
        callback_ids: Vec::new(),
    };
    let mut last_error = None;
    for (event_id, callback) in callbacks() {
        let opaque: *mut Opaque = Box::into_raw(Box::new(Arc::clone(&sink)));
        // SAFETY: `callback` has the signature libvirt documents for `event_id` (the
        // cast to the generic type is what VIR_DOMAIN_EVENT_CALLBACK does in C);
        // `opaque` is a leaked Box that `free_opaque` reclaims exactly once, when
        // libvirt drops the callback.
        let id = unsafe {
            sys::virConnectDomainEventRegisterAny(
                conn.as_ptr(),
                std::ptr::null_mut(),
                event_id as c_int,
                Some(callback),
                opaque.cast(),
                Some(free_opaque),
            )
        };
        if id < 0 {
            // SAFETY: registration failed, so libvirt did not keep `opaque`.
            drop(unsafe { Box::from_raw(opaque) });
            let e = LibvirtError::last();
            crate::log_debug!("domain event {event_id} not available: {e}");
            last_error = Some(e);
        } else {
            registration.callback_ids.push(id);
        }
    }
    match last_error {
        Some(e) if registration.callback_ids.is_empty() => Err(e),
        _ => Ok(registration),
    }
}

unsafe extern "C" fn free_opaque(opaque: *mut c_void) {
    // SAFETY: `opaque` is the Box leaked in `register`; libvirt calls this once.
    drop(unsafe { Box::from_raw(opaque.cast::<Opaque>()) });
}

type Generic = unsafe extern "C" fn(sys::virConnectPtr, sys::virDomainPtr, *mut c_void);

/// Each event ID with its callback, cast to the generic type libvirt takes.
fn callbacks() -> Vec<(u32, Generic)> {
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

/// Builds the event from the domain object and hands it to the sink.
///
/// # Safety
/// `dom` is the valid domain libvirt passed to the callback; `opaque` is the pointer
/// given at registration.
unsafe fn deliver(dom: Dom, opaque: *mut c_void, event: &'static str, fields: Map<String, Value>) {
    // SAFETY: `opaque` is the leaked `Box<Opaque>` of `register`, alive until
    // `free_opaque`, which libvirt never runs while a callback runs.
    let sink = unsafe { &*opaque.cast::<Opaque>() };
    // SAFETY: the caller passes the domain libvirt gave the callback.
    let (name, uuid, id) = unsafe { identity(dom) };
    sink.deliver(DomainEvent {
        ts: crate::clock::now_rfc3339(),
        name,
        uuid,
        id,
        event,
        fields,
    });
}

/// Name, UUID and id, read from the domain object (no call leaves the process).
///
/// # Safety
/// `dom` is a valid domain pointer.
unsafe fn identity(dom: Dom) -> (String, String, Option<u32>) {
    // SAFETY: `dom` is valid; the name is owned by the domain object and copied here.
    let name = unsafe { text(sys::virDomainGetName(dom)) }.unwrap_or_default();
    let mut buf = [0 as c_char; sys::VIR_UUID_STRING_BUFLEN as usize];
    // SAFETY: `buf` has the VIR_UUID_STRING_BUFLEN bytes the call writes.
    let ok = unsafe { sys::virDomainGetUUIDString(dom, buf.as_mut_ptr()) } == 0;
    // SAFETY: on success the buffer holds a NUL-terminated string.
    let uuid = if ok {
        unsafe { text(buf.as_ptr()) }
    } else {
        None
    }
    .unwrap_or_default();
    // SAFETY: `dom` is valid; the id is a field of the object (u32::MAX when inactive).
    let id = unsafe { sys::virDomainGetID(dom) };
    (name, uuid, (id != u32::MAX).then_some(id))
}

/// A C string, copied; None for NULL.
///
/// # Safety
/// `ptr` is NULL or a valid NUL-terminated string.
unsafe fn text(ptr: *const c_char) -> Option<String> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-null and NUL-terminated, per the caller.
    Some(
        unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned(),
    )
}

fn fields<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect()
}

/// An enum value's name from a table, or its number when newer than the table.
fn named(table: &[&str], value: c_int) -> Value {
    usize::try_from(value)
        .ok()
        .and_then(|i| table.get(i))
        .map_or_else(|| Value::from(value), |name| Value::from(*name))
}

fn opt(value: Option<String>) -> Value {
    value.map_or(Value::Null, Value::from)
}

unsafe extern "C" fn lifecycle(_: Conn, dom: Dom, kind: c_int, detail: c_int, opaque: *mut c_void) {
    let (kind_name, detail_name) = crate::record::event::lifecycle_names(kind, detail);
    let fields = fields([("type", kind_name), ("detail", detail_name)]);
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, "lifecycle", fields) }
}

unsafe extern "C" fn reboot(_: Conn, dom: Dom, opaque: *mut c_void) {
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, "reboot", Map::new()) }
}

unsafe extern "C" fn control_error(_: Conn, dom: Dom, opaque: *mut c_void) {
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, "control_error", Map::new()) }
}

unsafe extern "C" fn watchdog(_: Conn, dom: Dom, action: c_int, opaque: *mut c_void) {
    const ACTIONS: &[&str] = &[
        "none",
        "pause",
        "reset",
        "poweroff",
        "shutdown",
        "debug",
        "inject_nmi",
    ];
    let fields = fields([("action", named(ACTIONS, action))]);
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, "watchdog", fields) }
}

unsafe extern "C" fn io_error(
    _: Conn,
    dom: Dom,
    path: *const c_char,
    alias: *const c_char,
    action: c_int,
    reason: *const c_char,
    opaque: *mut c_void,
) {
    const ACTIONS: &[&str] = &["none", "pause", "report"];
    // SAFETY: libvirt passes NULL or valid strings.
    let (path, alias, reason) = unsafe { (text(path), text(alias), text(reason)) };
    let fields = fields([
        ("device", opt(alias)),
        ("path", opt(path)),
        ("action", named(ACTIONS, action)),
        ("reason", opt(reason)),
    ]);
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, "io_error", fields) }
}

unsafe extern "C" fn disk_change(
    _: Conn,
    dom: Dom,
    old: *const c_char,
    new: *const c_char,
    alias: *const c_char,
    reason: c_int,
    opaque: *mut c_void,
) {
    const REASONS: &[&str] = &["missing_on_start", "drop_missing_on_start"];
    // SAFETY: libvirt passes NULL or valid strings.
    let (old, new, alias) = unsafe { (text(old), text(new), text(alias)) };
    let fields = fields([
        ("device", opt(alias)),
        ("old_path", opt(old)),
        ("new_path", opt(new)),
        ("reason", named(REASONS, reason)),
    ]);
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, "disk_change", fields) }
}

unsafe extern "C" fn tray_change(
    _: Conn,
    dom: Dom,
    alias: *const c_char,
    reason: c_int,
    opaque: *mut c_void,
) {
    const REASONS: &[&str] = &["open", "close"];
    // SAFETY: libvirt passes NULL or a valid string.
    let alias = unsafe { text(alias) };
    let fields = fields([("device", opt(alias)), ("reason", named(REASONS, reason))]);
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, "tray_change", fields) }
}

/// The three device events carry only the device's alias.
///
/// # Safety
/// The arguments are a device callback's own.
unsafe fn device_event(dom: Dom, alias: *const c_char, opaque: *mut c_void, event: &'static str) {
    // SAFETY: libvirt passes NULL or a valid string.
    let alias = unsafe { text(alias) };
    // SAFETY: per the caller.
    unsafe { deliver(dom, opaque, event, fields([("device", opt(alias))])) }
}

unsafe extern "C" fn device_added(_: Conn, dom: Dom, alias: *const c_char, opaque: *mut c_void) {
    // SAFETY: the arguments are the callback's own.
    unsafe { device_event(dom, alias, opaque, "device_added") }
}

unsafe extern "C" fn device_removed(_: Conn, dom: Dom, alias: *const c_char, opaque: *mut c_void) {
    // SAFETY: the arguments are the callback's own.
    unsafe { device_event(dom, alias, opaque, "device_removed") }
}

unsafe extern "C" fn device_removal_failed(
    _: Conn,
    dom: Dom,
    alias: *const c_char,
    opaque: *mut c_void,
) {
    // SAFETY: the arguments are the callback's own.
    unsafe { device_event(dom, alias, opaque, "device_removal_failed") }
}

unsafe extern "C" fn agent_lifecycle(
    _: Conn,
    dom: Dom,
    state: c_int,
    reason: c_int,
    opaque: *mut c_void,
) {
    const STATES: &[&str] = &["unknown", "connected", "disconnected"];
    const REASONS: &[&str] = &["unknown", "domain_started", "channel"];
    let fields = fields([
        ("state", named(STATES, state)),
        ("reason", named(REASONS, reason)),
    ]);
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, "agent_lifecycle", fields) }
}

unsafe extern "C" fn migration_iteration(_: Conn, dom: Dom, iteration: c_int, opaque: *mut c_void) {
    let fields = fields([("iteration", Value::from(iteration))]);
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, "migration_iteration", fields) }
}

unsafe extern "C" fn job_completed(
    _: Conn,
    dom: Dom,
    params: sys::virTypedParameterPtr,
    nparams: c_int,
    opaque: *mut c_void,
) {
    let mut stats = Map::new();
    if !params.is_null() {
        // SAFETY: libvirt passes `nparams` valid typed parameters at `params`.
        let params = unsafe { std::slice::from_raw_parts(params, nparams.max(0) as usize) };
        for param in params {
            if let Some((name, value)) = decode_param(param) {
                stats.insert(name.to_string(), param_value(&value));
            }
        }
    }
    let fields = fields([("stats", Value::Object(stats))]);
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, "job_completed", fields) }
}

fn param_value(value: &ParamValue<'_>) -> Value {
    match *value {
        ParamValue::Int(v) => Value::from(v),
        ParamValue::UInt(v) => Value::from(v),
        ParamValue::LLong(v) => Value::from(v),
        ParamValue::ULLong(v) => Value::from(v),
        ParamValue::Double(v) => serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        ParamValue::Boolean(v) => Value::from(v),
        ParamValue::String(s) => Value::from(s.to_string_lossy().into_owned()),
    }
}

unsafe extern "C" fn metadata_change(
    _: Conn,
    dom: Dom,
    kind: c_int,
    namespace: *const c_char,
    opaque: *mut c_void,
) {
    const KINDS: &[&str] = &["description", "title", "element"];
    // SAFETY: libvirt passes NULL or a valid string.
    let namespace = unsafe { text(namespace) };
    let fields = fields([("type", named(KINDS, kind)), ("namespace", opt(namespace))]);
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, "metadata_changed", fields) }
}

unsafe extern "C" fn block_threshold(
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
    let fields = fields([
        ("device", opt(dev)),
        ("path", opt(path)),
        ("threshold_bytes", Value::from(threshold)),
        ("excess_bytes", Value::from(excess)),
    ]);
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, "block_threshold", fields) }
}

unsafe extern "C" fn memory_failure(
    _: Conn,
    dom: Dom,
    recipient: c_int,
    action: c_int,
    flags: c_uint,
    opaque: *mut c_void,
) {
    const RECIPIENTS: &[&str] = &["hypervisor", "guest"];
    const ACTIONS: &[&str] = &["ignore", "inject", "fatal", "reset"];
    let fields = fields([
        ("recipient", named(RECIPIENTS, recipient)),
        ("action", named(ACTIONS, action)),
        ("action_required", Value::from(flags & 1 != 0)),
        ("recursive", Value::from(flags & 2 != 0)),
    ]);
    // SAFETY: the arguments are the callback's own.
    unsafe { deliver(dom, opaque, "memory_failure", fields) }
}
