//! virtdiag: a host agent for libvirt guest diagnostics.
//!
//! The collector ([`collect`]) takes one snapshot of every domain per cycle through
//! libvirt ([`libvirt`] holds the raw calls); each snapshot is a list of
//! [`record`]s, the one schema every output is made of. [`views`] project a record for
//! people and legacy consumers. [`daemon`] is the long-running agent: the event loop
//! that owns the [`spool`], the [`query`] socket and the signals, with the collector on
//! a thread of its own. [`commands`] are the CLI's subcommands.
#![deny(unsafe_op_in_unsafe_fn)]

pub mod chunk;
pub mod cli;
pub mod clock;
pub mod collect;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod error;
pub mod escape;
pub mod host;
pub mod libvirt;
pub mod log;
pub mod notify;
pub mod query;
pub mod rates;
pub mod record;
pub mod spool;
pub mod views;
