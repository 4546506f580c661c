//! The dsp crate's tests in one binary (one link instead of 8); the
//! zero-allocation tests and the others a script runs by name keep
//! their own.

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

use kmidi_dsp::alloc_probe::CountingAllocator;

#[path = "../common/mod.rs"]
mod common;

mod biquad_eq;
mod conformance;
mod dynamics;
mod gain;
mod mixer;
mod properties;
mod regressions;
mod resampler;
