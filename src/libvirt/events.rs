//! libvirt's default event loop, run on a thread of its own.
//!
//! Keepalive on remote connections (the only way to notice a hung libvirtd) needs an
//! event loop registered before the connection is opened and run continuously.

use std::sync::OnceLock;
use std::thread;

use virt::sys;

use super::LibvirtError;

static EVENT_LOOP: OnceLock<Result<(), LibvirtError>> = OnceLock::new();

/// Registers the default event implementation and starts the thread that runs it.
/// Idempotent: later calls return the first call's result.
pub fn ensure_event_loop() -> Result<(), LibvirtError> {
    EVENT_LOOP
        .get_or_init(|| {
            // SAFETY: registering the default implementation takes no arguments and is
            // done once per process, before any connection that uses it is opened.
            if unsafe { sys::virEventRegisterDefaultImpl() } < 0 {
                return Err(LibvirtError::last());
            }
            thread::Builder::new()
                .name("libvirt-events".into())
                .spawn(|| loop {
                    // SAFETY: the default implementation was registered above; running one
                    // iteration at a time from this single thread is the documented use.
                    if unsafe { sys::virEventRunDefaultImpl() } < 0 {
                        thread::sleep(std::time::Duration::from_millis(100));
                    }
                })
                .map(|_| ())
                .map_err(|e| LibvirtError {
                    code: -1,
                    message: format!("cannot start the libvirt event thread: {e}"),
                })
        })
        .clone()
}
