//! Projections of a record for people and legacy consumers. Pure functions.

pub mod legacy;
pub mod table;
