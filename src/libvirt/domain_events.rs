//! Domain events: registration on a connection, and each callback's arguments copied
//! into a [`RawEvent`], as libvirt passed them.
//!
//! The callbacks run on libvirt's event-loop thread ([`super::events`]). They copy what
//! they are given (numbers as they are, names, aliases and paths as owned strings) and
//! hand it to a [`RawEventSink`], which must not block: they make no libvirt call that
//! leaves the process (the domain's name, UUID and id are read from the `virDomain`
//! object itself). What the numbers mean, and what an event is called in the record, is
//! the collector's business (`collect::events`). Registration works on a read-only
//! connection for every event ID used here.
//!
//! Left out on purpose, as they fire every few seconds on a healthy guest or say nothing
//! an operator acts on: BALLOON_CHANGE, RTC_CHANGE, GRAPHICS, TUNABLE, BLOCK_JOB (whose
//! completion JOB_COMPLETED and BLOCK_THRESHOLD cover), PMWAKEUP/PMSUSPEND.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_uint, c_void};
use std::sync::Arc;

use virt::connect::Connect;
use virt::sys;

use super::LibvirtError;

mod callbacks;

use callbacks::callbacks;

/// One callback's arguments, copied, with the domain it is about.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEvent {
    pub name: String,
    pub uuid: String,
    /// The hypervisor's id; None for an inactive domain.
    pub id: Option<u32>,
    pub args: RawArgs,
}

/// Per event ID (`VIR_DOMAIN_EVENT_ID_*`), the arguments of its callback, named as in
/// libvirt's C API: enum values are the integers passed, strings None for NULL.
#[derive(Debug, Clone, PartialEq)]
pub enum RawArgs {
    Lifecycle {
        event: c_int,
        detail: c_int,
    },
    Reboot,
    ControlError,
    Watchdog {
        action: c_int,
    },
    IoErrorReason {
        src_path: Option<String>,
        dev_alias: Option<String>,
        action: c_int,
        reason: Option<String>,
    },
    DiskChange {
        old_src_path: Option<String>,
        new_src_path: Option<String>,
        dev_alias: Option<String>,
        reason: c_int,
    },
    TrayChange {
        dev_alias: Option<String>,
        reason: c_int,
    },
    DeviceAdded {
        dev_alias: Option<String>,
    },
    DeviceRemoved {
        dev_alias: Option<String>,
    },
    DeviceRemovalFailed {
        dev_alias: Option<String>,
    },
    AgentLifecycle {
        state: c_int,
        reason: c_int,
    },
    MigrationIteration {
        iteration: c_int,
    },
    /// The typed parameters, in the order given; those of an unknown type are left out.
    JobCompleted {
        params: Vec<(String, RawParam)>,
    },
    MetadataChange {
        type_: c_int,
        nsuri: Option<String>,
    },
    BlockThreshold {
        dev: Option<String>,
        path: Option<String>,
        threshold: u64,
        excess: u64,
    },
    MemoryFailure {
        recipient: c_int,
        action: c_int,
        flags: c_uint,
    },
}

/// One typed parameter's value, owned.
#[derive(Debug, Clone, PartialEq)]
pub enum RawParam {
    Int(i32),
    UInt(u32),
    LLong(i64),
    ULLong(u64),
    Double(f64),
    Boolean(bool),
    String(String),
}

/// Where callbacks deliver events. Must not block: it runs on libvirt's event thread.
pub trait RawEventSink: Send + Sync {
    fn deliver(&self, event: RawEvent);
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

type Opaque = Arc<dyn RawEventSink>;

/// Registers every event ID this module has a callback for, delivering to `sink`.
/// Fails only if none could be registered; an ID the driver refuses is skipped and
/// named in the log.
pub fn register(conn: &Connect, sink: Arc<dyn RawEventSink>) -> Result<Registration, LibvirtError> {
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

type Dom = sys::virDomainPtr;

/// Copies the domain's identity and hands the event to the sink.
///
/// # Safety
/// `dom` is the valid domain libvirt passed to the callback; `opaque` is the pointer
/// given at registration.
unsafe fn deliver(dom: Dom, opaque: *mut c_void, args: RawArgs) {
    // SAFETY: `opaque` is the leaked `Box<Opaque>` of `register`, alive until
    // `free_opaque`, which libvirt never runs while a callback runs.
    let sink = unsafe { &*opaque.cast::<Opaque>() };
    // SAFETY: the caller passes the domain libvirt gave the callback.
    let (name, uuid, id) = unsafe { identity(dom) };
    sink.deliver(RawEvent {
        name,
        uuid,
        id,
        args,
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

#[cfg(test)]
mod tests;
