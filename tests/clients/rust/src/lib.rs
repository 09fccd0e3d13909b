//! Tests of the generated Rust client live in `tests/`.
