//! `virConnectGetAllDomainStats`: one call for every domain's statistics.
//!
//! The list libvirt returns is owned by [`BulkStats`] and freed with
//! `virDomainStatsRecordListFree` when it is dropped, which also releases each record's
//! typed parameters and domain reference. Parameters are borrowed from the list, so
//! decoding allocates nothing.

use std::ffi::{c_char, CStr};
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr;

use virt::connect::Connect;
use virt::domain::Domain;
use virt::sys;

use super::LibvirtError;

/// One decoded typed parameter value, borrowed from the stats list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamValue<'a> {
    Int(i32),
    UInt(u32),
    LLong(i64),
    ULLong(u64),
    Double(f64),
    Boolean(bool),
    String(&'a CStr),
}

impl ParamValue<'_> {
    /// The value as an unsigned counter; `None` for negative numbers (libvirt's
    /// "not available") and for non-numeric values.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            ParamValue::Int(v) => u64::try_from(v).ok(),
            ParamValue::UInt(v) => Some(u64::from(v)),
            ParamValue::LLong(v) => u64::try_from(v).ok(),
            ParamValue::ULLong(v) => Some(v),
            ParamValue::Double(_) | ParamValue::Boolean(_) | ParamValue::String(_) => None,
        }
    }

    /// The value as a signed integer (states, reasons).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            ParamValue::Int(v) => Some(i64::from(v)),
            ParamValue::UInt(v) => Some(i64::from(v)),
            ParamValue::LLong(v) => Some(v),
            ParamValue::ULLong(v) => i64::try_from(v).ok(),
            ParamValue::Double(_) | ParamValue::Boolean(_) | ParamValue::String(_) => None,
        }
    }

    /// The value as text, for string parameters (device names and paths).
    pub fn as_str(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            ParamValue::String(s) => Some(s.to_string_lossy()),
            _ => None,
        }
    }
}

/// Decodes one typed parameter: its field name and value. `None` for an unknown type
/// or a field name that is not UTF-8 (libvirt's names are ASCII).
pub fn decode_param(param: &sys::virTypedParameter) -> Option<(&str, ParamValue<'_>)> {
    let name = field_name(&param.field)?;
    let type_ = param.type_ as sys::virTypedParameterType;
    // SAFETY: libvirt sets `type_` to say which union member is valid; each arm reads only
    // the member that matches its type. A string value is a NUL-terminated C string that
    // libvirt owns and keeps alive for as long as the parameter (borrowed by `param`).
    let value = unsafe {
        match type_ {
            sys::VIR_TYPED_PARAM_INT => ParamValue::Int(param.value.i),
            sys::VIR_TYPED_PARAM_UINT => ParamValue::UInt(param.value.ui),
            sys::VIR_TYPED_PARAM_LLONG => ParamValue::LLong(param.value.l),
            sys::VIR_TYPED_PARAM_ULLONG => ParamValue::ULLong(param.value.ul),
            sys::VIR_TYPED_PARAM_DOUBLE => ParamValue::Double(param.value.d),
            sys::VIR_TYPED_PARAM_BOOLEAN => ParamValue::Boolean(param.value.b != 0),
            sys::VIR_TYPED_PARAM_STRING if !param.value.s.is_null() => {
                ParamValue::String(CStr::from_ptr(param.value.s))
            }
            _ => return None,
        }
    };
    Some((name, value))
}

/// The field name of a typed parameter: the bytes of the fixed array up to its NUL.
pub(crate) fn field_name(field: &[c_char]) -> Option<&str> {
    // SAFETY: c_char and u8 have the same size and alignment; the slice covers exactly the
    // borrowed array.
    let bytes = unsafe { std::slice::from_raw_parts(field.as_ptr().cast::<u8>(), field.len()) };
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    std::str::from_utf8(&bytes[..end]).ok()
}

/// The owned result of one bulk statistics call.
pub struct BulkStats {
    list: *mut sys::virDomainStatsRecordPtr,
    len: usize,
}

// SAFETY: the list is owned exclusively by this value and its domains and typed
// parameters are libvirt objects that may be used and freed from any thread; no borrow
// of the list can cross threads with it (records borrow `&self`).
unsafe impl Send for BulkStats {}

impl BulkStats {
    /// Calls `virConnectGetAllDomainStats(conn, groups, flags)` for every domain, active
    /// or not (no domain-filter flags). `groups` are `VIR_DOMAIN_STATS_*` bits.
    pub fn get_all(conn: &Connect, groups: u32, flags: u32) -> Result<Self, LibvirtError> {
        let mut list: *mut sys::virDomainStatsRecordPtr = ptr::null_mut();
        // SAFETY: the connection pointer is valid while `conn` is borrowed; `list` is an
        // out-pointer that libvirt fills with a NULL-terminated array it allocates.
        let count =
            unsafe { sys::virConnectGetAllDomainStats(conn.as_ptr(), groups, &mut list, flags) };
        if count < 0 {
            return Err(LibvirtError::last());
        }
        Ok(Self {
            list,
            len: count as usize,
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The records, borrowed from the list.
    pub fn records(&self) -> impl Iterator<Item = BulkRecord<'_>> {
        (0..self.len).map(move |index| {
            // SAFETY: libvirt returned `len` valid record pointers in `list`, alive until
            // `self` is dropped, which the returned borrow prevents.
            let record = unsafe { &**self.list.add(index) };
            BulkRecord { record }
        })
    }
}

impl Drop for BulkStats {
    fn drop(&mut self) {
        if !self.list.is_null() {
            // SAFETY: `list` came from virConnectGetAllDomainStats and is freed exactly
            // once, here; no borrow of it outlives `self`.
            unsafe { sys::virDomainStatsRecordListFree(self.list) };
        }
    }
}

/// A domain owned by a [`BulkStats`] list, usable while the list lives.
pub struct BorrowedDomain<'a> {
    domain: ManuallyDrop<Domain>,
    _list: PhantomData<&'a BulkStats>,
}

impl Deref for BorrowedDomain<'_> {
    type Target = Domain;

    fn deref(&self) -> &Domain {
        &self.domain
    }
}

/// One domain's record within a [`BulkStats`].
pub struct BulkRecord<'a> {
    record: &'a sys::virDomainStatsRecord,
}

impl<'a> BulkRecord<'a> {
    /// The record's domain, borrowed from the list: no reference is taken or released
    /// (each is a libvirt API call). Clone it to keep it beyond the list.
    pub fn domain(&self) -> BorrowedDomain<'a> {
        BorrowedDomain {
            // SAFETY: `dom` is a valid domain pointer whose reference the list holds for
            // 'a; ManuallyDrop keeps the wrapper from releasing that reference.
            domain: ManuallyDrop::new(unsafe { Domain::from_ptr(self.record.dom) }),
            _list: PhantomData,
        }
    }

    /// The record's typed parameters, decoded; unknown types are skipped.
    pub fn params(&self) -> impl Iterator<Item = (&'a str, ParamValue<'a>)> {
        let params: &'a [sys::virTypedParameter] = if self.record.params.is_null()
            || self.record.nparams <= 0
        {
            &[]
        } else {
            // SAFETY: libvirt guarantees `params` points to `nparams` parameters that
            // live as long as the list this record is borrowed from.
            unsafe { std::slice::from_raw_parts(self.record.params, self.record.nparams as usize) }
        };
        params.iter().filter_map(decode_param)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(name: &str, type_: sys::virTypedParameterType) -> sys::virTypedParameter {
        let mut field = [0 as c_char; 80];
        for (slot, byte) in field.iter_mut().zip(name.bytes()) {
            *slot = byte as c_char;
        }
        sys::virTypedParameter {
            field,
            type_: type_ as i32,
            value: sys::_virTypedParameterValue { ul: 0 },
        }
    }

    #[test]
    fn decodes_every_numeric_type() {
        let mut p = param("block.0.rd.bytes", sys::VIR_TYPED_PARAM_ULLONG);
        p.value.ul = u64::MAX;
        assert_eq!(
            decode_param(&p),
            Some(("block.0.rd.bytes", ParamValue::ULLong(u64::MAX)))
        );

        let mut p = param("state.state", sys::VIR_TYPED_PARAM_INT);
        p.value.i = -1;
        let (_, value) = decode_param(&p).unwrap();
        assert_eq!(value.as_u64(), None, "negative means not available");
        assert_eq!(value.as_i64(), Some(-1));

        let mut p = param("vcpu.current", sys::VIR_TYPED_PARAM_UINT);
        p.value.ui = 4;
        assert_eq!(decode_param(&p).unwrap().1.as_u64(), Some(4));

        let mut p = param("block.0.errors", sys::VIR_TYPED_PARAM_LLONG);
        p.value.l = 7;
        assert_eq!(decode_param(&p).unwrap().1.as_u64(), Some(7));

        let mut p = param("x", sys::VIR_TYPED_PARAM_DOUBLE);
        p.value.d = 1.5;
        assert_eq!(decode_param(&p).unwrap().1, ParamValue::Double(1.5));
        assert_eq!(decode_param(&p).unwrap().1.as_u64(), None);

        let mut p = param("y", sys::VIR_TYPED_PARAM_BOOLEAN);
        p.value.b = 1;
        assert_eq!(decode_param(&p).unwrap().1, ParamValue::Boolean(true));
    }

    #[test]
    fn decodes_strings_and_rejects_unknown_types() {
        let text = c"/var/lib/images/disk 0.qcow2";
        let mut p = param("block.1.path", sys::VIR_TYPED_PARAM_STRING);
        p.value.s = text.as_ptr() as *mut c_char;
        let (name, value) = decode_param(&p).unwrap();
        assert_eq!(name, "block.1.path");
        assert_eq!(value.as_str().unwrap(), "/var/lib/images/disk 0.qcow2");

        let mut p = param("block.1.path", sys::VIR_TYPED_PARAM_STRING);
        p.value.s = ptr::null_mut();
        assert_eq!(decode_param(&p), None, "a NULL string is skipped");

        let p = param("future", 99);
        assert_eq!(decode_param(&p), None);
    }

    #[test]
    fn field_name_stops_at_nul_and_handles_a_full_array() {
        let p = param(&"a".repeat(80), sys::VIR_TYPED_PARAM_INT);
        assert_eq!(decode_param(&p).unwrap().0.len(), 80);
        let p = param("net.0.name", sys::VIR_TYPED_PARAM_INT);
        assert_eq!(decode_param(&p).unwrap().0, "net.0.name");
    }
}
