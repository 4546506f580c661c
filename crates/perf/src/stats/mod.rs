//! Statistics: every estimator the lab uses, and its one random generator.
//!
//! * [`block_times`]: per-block times in an HDR histogram, and the deadline
//!   figures (percentiles, xruns, DSP load) against the block period;
//! * [`estimate`]: medians and the bootstrap interval of a change between
//!   two sample sets, from the seeded generator [`rng`];
//! * [`processes`]: the process run as the unit of evidence: per-process
//!   medians, the rank test over them, the shift and its interval, modes
//!   and power;
//! * [`trend`]: slow drift over a history (Mann-Kendall, Theil-Sen).

pub mod block_times;
pub mod estimate;
pub mod processes;
pub mod trend;

pub use block_times::*;
pub use estimate::*;
pub use processes::*;
pub use trend::*;
