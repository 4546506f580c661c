//! The harmony crate's tests in one binary (one link instead of 5); the
//! zero-allocation tests and the others a script runs by name keep
//! their own.

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

use kmidi_dsp::alloc_probe::CountingAllocator;

#[path = "../common/mod.rs"]
mod common;

mod conformance;
mod detection;
mod latency;
mod pitch_interval;
mod theory;
