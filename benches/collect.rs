//! Placeholder, replaced by the collector benchmark.
fn main() {}
