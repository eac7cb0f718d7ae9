//! Record assembly tests.
