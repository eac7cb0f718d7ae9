//! What a person should do when a command cannot reach the agent: the same words for
//! `query`, `query status --check` and `top`.

use std::io;
use std::path::Path;

/// "cannot connect to the agent at PATH: WHY; WHAT TO DO".
pub fn agent_unreachable(socket: &Path, error: &io::Error) -> String {
    let socket = socket.display();
    let advice = match error.kind() {
        io::ErrorKind::NotFound => format!(
            "no socket there: the agent is not running (systemctl status virtdiag), or it \
             listens elsewhere (--socket, {})",
            crate::cli::SOCKET_ENV
        ),
        io::ErrorKind::ConnectionRefused => {
            "nothing listens there: the agent is not running (systemctl status virtdiag)".into()
        }
        io::ErrorKind::PermissionDenied => "this user may not use the socket: join its group \
             (usermod -aG virtdiag $USER, then log in again) or run as root"
            .into(),
        _ => "systemctl status virtdiag says whether the agent runs".into(),
    };
    format!("cannot connect to the agent at {socket}: {error}; {advice}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_fix_for_each_failure() {
        let path = Path::new("/run/virtdiag/virtdiag.sock");
        let said = |kind| agent_unreachable(path, &io::Error::from(kind));
        assert!(said(io::ErrorKind::NotFound).contains("systemctl status virtdiag"));
        assert!(said(io::ErrorKind::NotFound).contains("VIRTDIAG_SOCKET"));
        assert!(said(io::ErrorKind::ConnectionRefused).contains("not running"));
        assert!(said(io::ErrorKind::PermissionDenied).contains("usermod -aG virtdiag"));
    }
}
