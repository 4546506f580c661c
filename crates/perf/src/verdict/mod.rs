//! Verdicts: baselines judged against thresholds.
//!
//! * [`thresholds`]: `perf-compare.toml`, per-bench thresholds;
//! * [`judgement`]: the verdict of one bench and the comparison of two runs;
//! * [`processes`]: the rule when the evidence is many processes per side;
//! * the baseline readers are [`crate::baseline`] and
//!   [`crate::fingerprint`]; the instruction-count gate over the committed
//!   counts is [`crate::instructions`].

pub mod judgement;
pub mod processes;
pub mod thresholds;

pub use judgement::*;
pub use processes::*;
pub use thresholds::*;
