//! Projections of a record for people and legacy consumers. Pure functions.

pub mod legacy;
pub mod nova;
pub mod prometheus;
pub mod table;

#[cfg(test)]
pub(crate) mod fixture;
