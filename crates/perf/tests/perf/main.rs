//! The perf crate's tests in one binary (one link instead of 4); the
//! zero-allocation tests and the others a script runs by name keep
//! their own.

#[global_allocator]
static ALLOCATOR: LabAllocator = LabAllocator;

use kmidi_perf::alloc::LabAllocator;

mod cli;
mod harness;
mod host;
mod validate;
mod verdicts;
