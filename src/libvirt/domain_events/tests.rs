//! Every event ID's callback, called as libvirt calls it (on the test driver's domain),
//! through the collector's router to the event line: held byte for byte against
//! `tests/golden/event_lines.txt` (`ts` masked). Each line is written twice, the second
//! time after the rate limit held one back (`suppressed`). `VIRTDIAG_BLESS=1` rewrites
//! the file after a deliberate change.

use std::ffi::CString;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::callbacks::*;
use super::*;
use crate::collect::events::{EventSink, ReceivedEvent};

struct Keep(Mutex<Vec<ReceivedEvent>>);

impl EventSink for Keep {
    fn deliver(&self, e: ReceivedEvent) {
        self.0.lock().unwrap().push(e);
    }
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// A typed parameter as libvirt fills one in: `set` writes the value of type `type_`.
fn param(
    name: &str,
    type_: u32,
    set: impl FnOnce(&mut sys::virTypedParameter),
) -> sys::virTypedParameter {
    // SAFETY: the parameter is plain data (numbers, a name array, a union of numbers and
    // a pointer); all zeroes is a valid value of each.
    let mut p: sys::virTypedParameter = unsafe { std::mem::zeroed() };
    for (i, b) in name.bytes().enumerate() {
        p.field[i] = b as c_char;
    }
    p.type_ = type_ as c_int;
    set(&mut p);
    p
}

#[test]
fn every_event_ids_callback_makes_its_line() {
    use crate::collect::inventory::{DiskInfo, Inventory, NicInfo};

    let keep = Arc::new(Keep(Mutex::new(Vec::new())));
    let router = Arc::new(crate::collect::events::EventRouter::new(keep.clone()));
    let inventory = Inventory {
        nics: vec![NicInfo {
            dev: Some("tap7".into()),
            mac: Some("52:54:00:00:00:07".into()),
            alias: Some("net1".into()),
            ..Default::default()
        }],
        disks: vec![DiskInfo {
            dev: Some("vda".into()),
            alias: Some("virtio-disk0".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let conn = Connect::open(Some("test:///default")).unwrap();
    let domain = conn.lookup_domain_by_name("test").unwrap();
    // SAFETY: the pointer of a domain that outlives every use below.
    let d = unsafe { domain.as_ptr() };
    // SAFETY: a valid domain.
    let (_, uuid, _) = unsafe { identity(d) };
    router.set_aliases(&uuid, crate::collect::events::device_aliases(&inventory));
    let sink: Arc<dyn RawEventSink> = router.clone();
    let opaque: *mut c_void = Box::into_raw(Box::new(sink)).cast();
    let (n, z) = (std::ptr::null_mut(), std::ptr::null());
    let (path, disk, enospc) = (c("/var/lib/x.qcow2"), c("virtio-disk0"), c("enospc"));
    let (nic, unknown) = (c("net1"), c("ua-x"));
    let (old, new, cdrom) = (c("/old.iso"), c("/new.iso"), c("ide0-0-0"));
    let text = c("text value");
    let mut params = vec![
        param("type", sys::VIR_TYPED_PARAM_INT, |p| p.value.i = 3),
        param("operation", sys::VIR_TYPED_PARAM_INT, |p| p.value.i = -5),
        param("time_elapsed", sys::VIR_TYPED_PARAM_ULLONG, |p| {
            p.value.ul = u64::MAX
        }),
        param("downtime", sys::VIR_TYPED_PARAM_LLONG, |p| p.value.l = -7),
        param("uint", sys::VIR_TYPED_PARAM_UINT, |p| {
            p.value.ui = 4000000000
        }),
        param("compression_rate", sys::VIR_TYPED_PARAM_DOUBLE, |p| {
            p.value.d = 0.1
        }),
        param("big", sys::VIR_TYPED_PARAM_DOUBLE, |p| p.value.d = 1e300),
        param("whole", sys::VIR_TYPED_PARAM_DOUBLE, |p| p.value.d = 3.0),
        param("nan", sys::VIR_TYPED_PARAM_DOUBLE, |p| p.value.d = f64::NAN),
        param("inf", sys::VIR_TYPED_PARAM_DOUBLE, |p| {
            p.value.d = f64::INFINITY
        }),
        param("flag", sys::VIR_TYPED_PARAM_BOOLEAN, |p| p.value.b = 1),
        param("off", sys::VIR_TYPED_PARAM_BOOLEAN, |p| p.value.b = 0),
        param("str", sys::VIR_TYPED_PARAM_STRING, |p| {
            p.value.s = text.as_ptr() as *mut c_char
        }),
        param("nullstr", sys::VIR_TYPED_PARAM_STRING, |p| {
            p.value.s = std::ptr::null_mut()
        }),
        param("badtype", 99, |p| p.value.i = 1),
        param("type", sys::VIR_TYPED_PARAM_INT, |p| p.value.i = 2),
        param("esc\"ape", sys::VIR_TYPED_PARAM_INT, |p| p.value.i = 1),
    ];
    let ns = c("http://openstack.org/xmlns/libvirt/nova/1.1");
    let (vda1, backing) = (c("vda[1]"), c("/var/lib/a.qcow2"));
    // SAFETY: each callback gets what libvirt passes it: a valid domain, NULL or valid
    // strings, `params.len()` valid parameters (or NULL), and the opaque of a sink,
    // freed once at the end.
    unsafe {
        for kind in 0..10 {
            for detail in 0..11 {
                lifecycle(n, d, kind, detail, opaque);
            }
        }
        lifecycle(n, d, -1, -1, opaque);
        reboot(n, d, opaque);
        control_error(n, d, opaque);
        for action in -1..8 {
            watchdog(n, d, action, opaque);
        }
        for action in 0..4 {
            io_error(
                n,
                d,
                path.as_ptr(),
                disk.as_ptr(),
                action,
                enospc.as_ptr(),
                opaque,
            );
        }
        io_error(n, d, z, z, 1, z, opaque);
        io_error(
            n,
            d,
            path.as_ptr(),
            nic.as_ptr(),
            2,
            enospc.as_ptr(),
            opaque,
        );
        for reason in 0..3 {
            disk_change(
                n,
                d,
                old.as_ptr(),
                new.as_ptr(),
                cdrom.as_ptr(),
                reason,
                opaque,
            );
        }
        disk_change(n, d, z, z, z, 0, opaque);
        disk_change(n, d, old.as_ptr(), z, disk.as_ptr(), 1, opaque);
        for reason in 0..3 {
            tray_change(n, d, cdrom.as_ptr(), reason, opaque);
        }
        tray_change(n, d, z, 0, opaque);
        tray_change(n, d, disk.as_ptr(), 0, opaque);
        for alias in [nic.as_ptr(), disk.as_ptr(), unknown.as_ptr(), z] {
            device_added(n, d, alias, opaque);
            device_removed(n, d, alias, opaque);
            device_removal_failed(n, d, alias, opaque);
        }
        for state in 0..4 {
            for reason in 0..4 {
                agent_lifecycle(n, d, state, reason, opaque);
            }
        }
        migration_iteration(n, d, 4, opaque);
        migration_iteration(n, d, -2, opaque);
        job_completed(n, d, params.as_mut_ptr(), params.len() as c_int, opaque);
        job_completed(n, d, std::ptr::null_mut(), 3, opaque);
        job_completed(n, d, params.as_mut_ptr(), 0, opaque);
        for kind in 0..4 {
            metadata_change(n, d, kind, ns.as_ptr(), opaque);
        }
        metadata_change(n, d, 0, z, opaque);
        block_threshold(n, d, vda1.as_ptr(), backing.as_ptr(), 1024, 512, opaque);
        block_threshold(n, d, z, z, u64::MAX, 0, opaque);
        block_threshold(n, d, disk.as_ptr(), z, 1, 2, opaque);
        for recipient in 0..3 {
            for action in 0..5 {
                let flags = (recipient + action) as c_uint % 4;
                memory_failure(n, d, recipient, action, flags, opaque);
            }
        }
        memory_failure(n, d, 0, 0, 0xff, opaque);
        free_opaque(opaque);
    }
    let events = std::mem::take(&mut *keep.0.lock().unwrap());
    let host: Arc<str> = Arc::from("h");
    let latest = crate::query::answers::Latest::default();
    let mut out = Vec::new();
    for mut event in events {
        event.ts = "T".into();
        let mut lines = crate::daemon::events::EventLines::default();
        let t0 = Instant::now();
        out.extend(lines.line(event.clone(), &host, &latest, t0).unwrap());
        for _ in 0..20 {
            lines.line(event.clone(), &host, &latest, t0);
        }
        let later = t0 + Duration::from_secs(1);
        out.extend(lines.line(event, &host, &latest, later).unwrap());
    }
    let out = String::from_utf8(out).unwrap();
    let golden =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/event_lines.txt");
    if std::env::var_os("VIRTDIAG_BLESS").is_some() {
        std::fs::write(&golden, &out).unwrap();
    }
    let want = std::fs::read_to_string(&golden).unwrap();
    for (i, (got, want)) in out.lines().zip(want.lines()).enumerate() {
        assert_eq!(got, want, "line {}", i + 1);
    }
    assert_eq!(out.lines().count(), want.lines().count());
}
