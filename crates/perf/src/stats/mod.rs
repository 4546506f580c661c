//! Statistics: every estimator the lab uses, and its one random generator.
//!
//! * [`block_times`]: per-block times in an HDR histogram, and the deadline
//!   figures (percentiles, xruns, DSP load) against the block period;
//! * [`estimate`]: medians and the bootstrap interval of a change between
//!   two sample sets, from the seeded generator [`rng`];
//! * [`trend`]: slow drift over a history (Mann-Kendall, Theil-Sen).

pub mod block_times;
pub mod estimate;
pub mod trend;

pub use block_times::*;
pub use estimate::*;
pub use trend::*;
