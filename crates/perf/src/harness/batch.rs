//! Batch mode: every WAV in a folder, one engine each.

use std::time::Instant;

use super::drive::{DrivePlan, FeedSource, blocks_for, build};
use super::feed::wav_files;
use super::result::{
    BatchInfo, EngineCounters, InputSource, Merged, RunResult, RunSpec, counters, result_from,
};
use crate::PerfError;
use crate::sys;

/// Every `.wav` of the spec's folder through a fresh engine, one after
/// another, without warm-up (each file is a cold start): the result is
/// their merged block times and summed counters, with files per second.
pub(super) fn run_batch(
    spec: &RunSpec,
    progress: &mut dyn FnMut(u64),
) -> Result<RunResult, PerfError> {
    let InputSource::Folder(dir) = &spec.input else {
        return Err(PerfError::invalid(
            "input",
            "a file or generated material",
            "batch mode reads a folder of WAV files (--input DIR)",
        ));
    };
    let files = wav_files(dir)?;
    let cpu0 = sys::process_cpu_seconds();
    let wall0 = Instant::now();
    let mut merged = Merged::default();
    let mut last: Option<(RunResult, EngineCounters)> = None;
    let mut input_seconds = 0.0;
    for file in &files {
        let one = RunSpec {
            input: InputSource::File(file.clone()),
            ..spec.clone()
        };
        let mut built = build(&one)?;
        let blocks = blocks_for(&one, &built);
        if let FeedSource::File(f) = &built.feed {
            input_seconds +=
                f.frames() as f64 / built.engine.config().effective_input_rate() as f64;
        }
        let plan = DrivePlan {
            warmup_blocks: 0,
            ..one.plan(blocks, false)
        };
        let d = built.drive(&plan, progress)?;
        let r = result_from(
            &one,
            &built.engine,
            dir.display().to_string(),
            &d.times,
            d.totals(0.0, d.wall_seconds),
        );
        let mut c = counters(&built.engine);
        if let Some((_, prev)) = &last {
            c.add(prev);
        }
        merged.add(d.times, d.frames, d.allocations, d.thread_cpu_seconds);
        last = Some((r, c));
    }
    let wall = wall0.elapsed().as_secs_f64();
    let (mut out, counters) = last.ok_or_else(|| PerfError::file(dir, "no .wav files"))?;
    out.input = dir.display().to_string();
    merged.set_totals(
        &mut out,
        spec.safety_margin,
        sys::process_cpu_seconds() - cpu0,
        wall,
    );
    out.engine = counters;
    out.batch = Some(BatchInfo {
        files: files.len(),
        files_per_second: files.len() as f64 / wall.max(1e-9),
        audio_seconds: input_seconds,
    });
    Ok(out)
}
