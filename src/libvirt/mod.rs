//! The only place with `unsafe`: raw libvirt calls the `virt` crate lacks or gets wrong.
//!
//! - [`bulk`]: `virConnectGetAllDomainStats` with its typed parameters, freed properly
//!   (the crate's `all_domain_stats` leaks every record).
//! - [`vcpus`]: `virDomainGetVcpus`, which the crate does not wrap.
//! - [`events`]: libvirt's default event loop on its own thread (keepalive needs it)
//!   and lifecycle callbacks.
//! - [`errors`]: classification of libvirt errors into what the collector does with them.

pub mod bulk;
pub mod errors;
pub mod events;
pub mod vcpus;

pub use errors::{ErrorClass, LibvirtError};
