//! The ml crate's tests in one binary (one link instead of 5); the
//! zero-allocation tests and the others a script runs by name keep
//! their own.

mod mel;
mod models;
mod reference_models;
mod session;
mod transcription;
mod worker;
