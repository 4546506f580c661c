//! The groove crate's tests in one binary (one link instead of 5); the
//! zero-allocation tests and the others a script runs by name keep
//! their own.

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

use kmidi_dsp::alloc_probe::CountingAllocator;

mod conformance;
mod drums;
mod regressions;
mod smf;
mod timing;
