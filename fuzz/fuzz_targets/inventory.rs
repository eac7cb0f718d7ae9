//! Domain XML inventory: `virtdiag::collect::inventory::parse` on arbitrary text.
//!
//! The input bytes are read as UTF-8 with invalid sequences replaced, so every input
//! reaches the parser; `fuzz/dict/inventory.dict` and the seeds (the demo host's and the
//! test fixtures' domain XML) steer the mutations towards domain XML with devices,
//! memory units and Nova metadata. Checks:
//! - `parse` never panics and its error displays;
//! - what it returns is consistent: a current vCPU count whenever a maximum is known,
//!   a device kind on every disk, a memory size that fits in KiB, and the same result
//!   for the same text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use virtdiag::collect::inventory::parse;

fuzz_target!(|data: &[u8]| {
    let xml = String::from_utf8_lossy(data);
    match parse(&xml) {
        Ok(inventory) => {
            if inventory.vcpus_max.is_some() {
                assert!(inventory.vcpus_current.is_some());
            }
            if let Some(kib) = inventory.max_memory_kib {
                assert!(kib <= u64::MAX / 1024);
            }
            for disk in &inventory.disks {
                assert!(disk.device.is_some(), "a disk without a device kind");
            }
            assert_eq!(parse(&xml).ok(), Some(inventory), "not deterministic");
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
});
