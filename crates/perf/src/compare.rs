//! Verdicts: one per bench, from wall time, instruction count and heap
//! allocations, and one exit code for a pull request.
//!
//! This module is the entry point that gathers the pieces: thresholds and
//! the judge live in [`crate::verdict`], the estimators in [`crate::stats`],
//! the table and Markdown in [`crate::render::comparison`].
//!
//! A bench **regressed** when any of its signals did:
//!
//! * **wall time** (Criterion): the median grew by more than the bench's
//!   threshold (default 10%) *and* the 95% bootstrap interval of the change
//!   excludes zero. Process-level A/B runs ([`crate::ab`]) are judged on
//!   per-process medians instead ([`crate::verdict::processes`]);
//! * **instructions** (callgrind `Ir`): grew by more than the instruction
//!   threshold (default 0.5%; counts are deterministic, so a small threshold
//!   is safe and a 1% growth is always caught);
//! * **allocations** (DHAT heap blocks): any more than the base (the audio
//!   path must not allocate, so one extra block is a finding).
//!
//! It **improved** when a signal moved the other way by the same rules and
//! none regressed. Thresholds come from `perf-compare.toml`:
//!
//! ```toml
//! schema_version = 1
//! [defaults]
//! wall_percent = 10.0
//! instructions_percent = 0.5
//! extra_allocations = 0
//! [[bench]]
//! match = "canary/*"       # `*` matches any run of characters
//! wall_percent = 5.0
//! ```
//!
//! ```
//! use kmidi_perf::compare::{Thresholds, WallChange, judge, Verdict};
//! let base = vec![100.0, 101.0, 99.0, 100.5, 100.2, 99.8, 100.1, 99.9];
//! let slow: Vec<f64> = base.iter().map(|x| x * 1.2).collect();
//! let wall = WallChange::from_samples(&base, &slow, 100.0, 120.0, 7);
//! let (verdict, reasons) = judge(Some(&wall), None, None, &Thresholds::default());
//! assert_eq!(verdict, Verdict::Regressed);
//! assert!(reasons[0].contains("wall time +20"));
//! ```

pub use crate::render::comparison::{format_ns, markdown, table};
pub use crate::stats::{BOOTSTRAP_RESAMPLES, median_of, seed_for};
pub use crate::verdict::*;
