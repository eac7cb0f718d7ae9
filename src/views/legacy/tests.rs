//! Legacy view tests.
