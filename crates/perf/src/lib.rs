//! # kmidi-perf
//!
//! The performance lab's library (the `kmidi-perf` binary is a thin CLI
//! over it), laid out as criterion.rs lays out its own: measuring,
//! statistics, verdicts, rendering.
//!
//! **Measuring**
//! * [`harness`]: a real-time host simulation. It feeds a
//!   [`kmidi_engine::Engine`] block by block in four modes (single, batch,
//!   streaming paced at real time with optional competing load, parallel
//!   instances), times every callback into an HDR histogram, counts the
//!   audio thread's allocations, and reports DSP load, xruns, real-time
//!   factor, CPU time and peak memory.
//! * [`host`]: audio hosts behind one interface: the simulated host (a
//!   paced thread of this process) and, with the `jack` feature, a JACK
//!   client; input and output through wait-free rings, the server's xruns
//!   classed engine or host, callback-start jitter, output identity with
//!   the offline render, and the soak.
//! * [`targets`]: `check` against a committed targets file.
//! * [`validate`]: the conformance suite over an engine and its nodes.
//! * [`profile`]: CPU flamegraphs (pprof) and heap profiles (dhat).
//! * [`alloc`]: the counting allocator; [`sys`]: CPU time and memory
//!   readings; [`machine`]: what a run ran on; [`realtime`]: the reference
//!   stream (48 kHz / 512) that DSP load is reported against.
//!
//! **Statistics**
//! * [`stats`]: every estimator (block-time histograms, medians and the
//!   bootstrap, trend tests) and the one random generator.
//!
//! **Verdicts**
//! * [`baseline`]: Criterion's and gungraun's saved files;
//!   [`fingerprint`]: the machine a baseline was saved on.
//! * [`verdict`]: thresholds (`perf-compare.toml`) and the judge;
//!   [`compare`] gathers them for two saved baselines, [`ab`] for many
//!   short processes of two builds in ABBA blocks.
//! * [`instructions`]: the one instruction-count gate (the `iai` bench
//!   against `benches/iai-baseline.json`).
//! * [`history`]: the SQLite history of runs and its drift detection.
//!
//! **Rendering**
//! * [`render`]: a comparison's table and Markdown; [`report`]: run and
//!   check tables and versioned JSON; [`html`]: the self-contained HTML
//!   report; [`summary`]: a Criterion run as DSP load per block.
//!
//! ```
//! use kmidi_engine::EngineConfig;
//! use kmidi_perf::harness::{run, InputSource, Mode, RunSpec};
//!
//! let mut config = EngineConfig::preset("minimal")?;
//! config.stage_timing = true;
//! let spec = RunSpec {
//!     label: "minimal".into(),
//!     config,
//!     mode: Mode::Single,
//!     input: InputSource::Generated { rate: None },
//!     seconds: 1.0,
//!     safety_margin: 0.8,
//!     load_threads: 0,
//!     instances: 1,
//!     warmup_blocks: 10,
//! };
//! let result = run(&spec, &mut |_| {})?;
//! assert_eq!(result.blocks.blocks, 94); // ceil(1 s × 48 kHz / 512)
//! assert!(result.blocks.median_us > 0.0);
//! assert_eq!(result.stages.len(), 8);
//! # Ok::<(), kmidi_perf::PerfError>(())
//! ```
#![warn(missing_docs)]

pub mod ab;
pub mod alloc;
pub mod baseline;
pub mod compare;
mod error;
pub mod fingerprint;
pub mod harness;
pub mod history;
pub mod host;
pub mod html;
pub mod instructions;
pub mod machine;
pub mod profile;
pub mod realtime;
pub mod render;
pub mod report;
pub mod stats;
pub mod summary;
pub mod sys;
pub mod targets;
pub mod validate;
pub mod verdict;

pub use error::{PerfError, write_atomic};
