//! libvirt errors, read once and classified by what the collector should do about them.

use std::fmt;

use virt::sys;

/// What a failed call means for the collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The domain vanished or stopped between listing and the call: normal churn.
    Churn,
    /// The driver or hypervisor does not implement the call: remember, do not retry.
    Unsupported,
    /// The connection to libvirt is gone or broken: reconnect next cycle.
    Connection,
    /// Anything else: this field of this domain is missing for this cycle.
    Other,
}

/// One libvirt error: its number, its message and its class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibvirtError {
    pub code: i32,
    pub message: String,
}

impl LibvirtError {
    /// The calling thread's last libvirt error (call right after a failed raw call).
    pub fn last() -> Self {
        Self::from(virt::error::Error::last_error())
    }

    pub fn class(&self) -> ErrorClass {
        let code = self.code as sys::virErrorNumber;
        match code {
            sys::VIR_ERR_NO_DOMAIN | sys::VIR_ERR_OPERATION_INVALID => ErrorClass::Churn,
            sys::VIR_ERR_NO_SUPPORT
            | sys::VIR_ERR_OPERATION_UNSUPPORTED
            | sys::VIR_ERR_ARGUMENT_UNSUPPORTED => ErrorClass::Unsupported,
            sys::VIR_ERR_NO_CONNECT
            | sys::VIR_ERR_INVALID_CONN
            | sys::VIR_ERR_SYSTEM_ERROR
            | sys::VIR_ERR_RPC
            | sys::VIR_ERR_AUTH_FAILED => ErrorClass::Connection,
            _ => ErrorClass::Other,
        }
    }
}

impl From<virt::error::Error> for LibvirtError {
    fn from(error: virt::error::Error) -> Self {
        Self {
            code: error.code().to_raw() as i32,
            message: error.message().to_string(),
        }
    }
}

impl fmt::Display for LibvirtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (libvirt error {})", self.message, self.code)
    }
}

impl std::error::Error for LibvirtError {}

/// What a person should check when connecting to `uri` failed with `error`.
pub fn connect_advice(uri: &str, error: &LibvirtError) -> String {
    let message = error.message.as_str();
    let code = error.code as sys::virErrorNumber;
    if message.contains("Permission denied") {
        return format!(
            "this user may not use libvirt's socket: a read-only connection (the default) \
             needs read access to libvirt-sock-ro; --read-write needs root or the group \
             libvirt (virsh -c '{uri}' list shows the same)"
        );
    }
    if message.contains("No such file or directory") || message.contains("Connection refused") {
        return "no libvirt daemon answers there: is libvirtd or virtqemud running? \
                (systemctl status libvirtd virtqemud)"
            .to_string();
    }
    match code {
        sys::VIR_ERR_NO_CONNECT | sys::VIR_ERR_INVALID_ARG => format!(
            "is '{uri}' a libvirt URI this host knows? e.g. qemu:///system or test:///default \
             (virsh -c '{uri}' uri checks it)"
        ),
        sys::VIR_ERR_AUTH_FAILED | sys::VIR_ERR_AUTH_CANCELLED => {
            "libvirt refused the credentials: check polkit or SASL, or use the read-only \
             connection (leave out --read-write)"
                .to_string()
        }
        _ => format!("virsh -c '{uri}' list should show the same problem"),
    }
}

/// Stops libvirt from printing every error to stderr; the collector reports them itself.
pub fn silence_default_handler() {
    virt::error::clear_error_callback();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: sys::virErrorNumber) -> LibvirtError {
        LibvirtError {
            code: code as i32,
            message: String::new(),
        }
    }

    #[test]
    fn connection_failures_name_what_to_check() {
        let failed = |code, message: &str| LibvirtError {
            code: code as i32,
            message: message.to_string(),
        };
        let missing = failed(
            sys::VIR_ERR_SYSTEM_ERROR,
            "Failed to connect socket to '/run/libvirt/libvirt-sock-ro': No such file or directory",
        );
        assert!(connect_advice("qemu:///system", &missing).contains("systemctl status libvirtd"));
        let denied = failed(
            sys::VIR_ERR_SYSTEM_ERROR,
            "Failed to connect socket: Permission denied",
        );
        assert!(connect_advice("qemu:///system", &denied).contains("group libvirt"));
        let unknown = failed(sys::VIR_ERR_NO_CONNECT, "no connection driver available");
        assert!(connect_advice("bogus:///", &unknown).contains("'bogus:///' a libvirt URI"));
    }

    #[test]
    fn classifies_churn_unsupported_and_connection_errors() {
        assert_eq!(error(sys::VIR_ERR_NO_DOMAIN).class(), ErrorClass::Churn);
        assert_eq!(
            error(sys::VIR_ERR_OPERATION_INVALID).class(),
            ErrorClass::Churn
        );
        assert_eq!(
            error(sys::VIR_ERR_NO_SUPPORT).class(),
            ErrorClass::Unsupported
        );
        assert_eq!(
            error(sys::VIR_ERR_OPERATION_UNSUPPORTED).class(),
            ErrorClass::Unsupported
        );
        assert_eq!(
            error(sys::VIR_ERR_SYSTEM_ERROR).class(),
            ErrorClass::Connection
        );
        assert_eq!(
            error(sys::VIR_ERR_INTERNAL_ERROR).class(),
            ErrorClass::Other
        );
    }
}
