//! The subcommands of `kmidi-perf`, one module each, with their clap
//! arguments and the function that runs them. Arguments and output that
//! several share live in [`args`] and [`output`].
//!
//! Every `execute` returns the process's exit code: 0 for a pass, 1 for a
//! verdict (a failed target, a regression, a conformance failure); an
//! `Err` (a broken run) becomes 2 in `main`.

pub mod ab;
pub mod analyze;
pub mod args;
pub mod check;
pub mod compare;
pub mod fingerprint;
pub mod history;
pub mod host;
pub mod iai;
pub mod output;
pub mod profile;
pub mod render;
pub mod report;
pub mod run;
pub mod soak;
pub mod summary;
pub mod transcribe;
pub mod validate;
