//! The query socket: the protocol (pure), the answers built from the latest snapshot
//! (pure), and the server that owns the connections.

pub mod answers;
pub mod protocol;
pub mod server;
