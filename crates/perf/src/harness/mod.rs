//! The real-time host simulation: feed an
//! [`Engine`](kmidi_engine::Engine) block by block, time
//! every callback, count the audio thread's allocations, and turn it all
//! into deadline figures.
//!
//! One module per job: the result types ([`RunResult`]), input feeds, the timed
//! block loop (`drive`), one module per run mode (single, streaming,
//! parallel, batch) and the harness's calibration of itself.

use crate::PerfError;

mod batch;
mod calibration;
mod drive;
mod feed;
mod parallel;
mod result;
mod single;
mod streaming;

use batch::run_batch;
pub(crate) use drive::{BlockIo, wait_until};
use parallel::run_parallel;
use single::run_one;
use streaming::run_streaming;

pub use calibration::{HarnessCalibration, calibrate, material_bytes, noop_process};
pub use drive::{Drive, DrivePlan, drive, time_block};
pub use feed::{Feed, FileFeed, wav_files};
pub use result::{
    BatchInfo, EngineCounters, InputSource, Mode, ModelInUse, ParallelInfo, RunResult, RunSpec,
    StageShare, StreamingInfo,
};
pub(crate) use result::{Totals, result_from};

/// Blocks a spec will time (for progress bars).
pub fn planned_blocks(spec: &RunSpec) -> u64 {
    let per = (spec.seconds * spec.config.sample_rate as f64 / spec.config.block_frames as f64)
        .ceil() as u64;
    match spec.mode {
        Mode::Parallel => per * (spec.instances as u64 + 1),
        _ => per,
    }
}

/// Runs one grid point in its mode.
///
/// # Errors
/// [`PerfError`] for an engine that cannot be built (bad config, missing
/// ONNX Runtime), an unreadable input, or a rejected block.
pub fn run(spec: &RunSpec, progress: &mut dyn FnMut(u64)) -> Result<RunResult, PerfError> {
    match spec.mode {
        Mode::Single => run_one(spec, false, progress),
        Mode::Streaming => run_streaming(spec, progress),
        Mode::Parallel => run_parallel(spec, progress),
        Mode::Batch => run_batch(spec, progress),
    }
}
