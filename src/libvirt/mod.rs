//! The only place with `unsafe`: raw libvirt calls the `virt` crate lacks or gets wrong.
//!
//! - [`bulk`]: `virConnectGetAllDomainStats` with its typed parameters, freed properly
//!   (the crate's `all_domain_stats` leaks every record).
//! - [`vcpus`]: `virDomainGetVcpus`, which the crate does not wrap.
//! - [`events`]: libvirt's default event loop on its own thread (keepalive and domain
//!   events need it).
//! - [`domain_events`]: domain event callbacks, registered on a connection; each copies its arguments.
//! - [`control`]: `virDomainGetControlInfo`, why a domain's monitor does not answer.
//! - [`domain_checks`]: `virDomainGetDiskErrors` and `virDomainGetJobStats`, asked only
//!   when a verdict needs them.
//! - [`node`]: the host's CPU and memory totals.
//! - [`errors`]: classification of libvirt errors into what the collector does with them.

pub mod bulk;
pub mod control;
pub mod domain_checks;
pub mod domain_events;
pub mod errors;
pub mod events;
pub mod node;
pub mod vcpus;

pub use errors::{ErrorClass, LibvirtError};
