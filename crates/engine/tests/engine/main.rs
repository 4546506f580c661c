//! The engine crate's tests in one binary (one link instead of 2); the
//! zero-allocation tests and the others a script runs by name keep
//! their own.

mod analyze;
mod engine;
mod transcribe;
