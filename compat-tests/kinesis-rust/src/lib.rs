//! Empty on purpose: this crate is only its integration test, `tests/sdk.rs`, which drives the AWS SDK for Rust
//! against a real `strait dev` process.
