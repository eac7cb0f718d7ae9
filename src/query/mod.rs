//! The query socket: the protocol (pure), the answers built from the latest snapshot
//! (pure), one client's framing and output (`conn`), the listening socket and its lock
//! (`listener`), and the server that shares the loop fairly between clients.

pub mod answers;
pub mod budget;
pub mod conn;
pub mod listener;
pub mod protocol;
pub mod server;
pub mod views;
