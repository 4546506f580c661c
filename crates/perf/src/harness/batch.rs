//! Batch mode: every WAV in a folder, one engine each.

use std::time::Instant;

use super::drive::{FeedSource, blocks_for, build};
use super::feed::wav_files;
use super::result::{
    BatchInfo, EngineCounters, InputSource, RunResult, RunSpec, Totals, counters, result_from,
};
use crate::PerfError;
use crate::stats::BlockTimes;
use crate::sys;

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
    let mut merged: Option<BlockTimes> = None;
    let mut last: Option<(RunResult, EngineCounters)> = None;
    let mut allocations = 0;
    let mut thread_cpu = 0.0;
    let mut frames = 0;
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
        let d = built.drive(blocks, spec.safety_margin, false, 0, progress)?;
        allocations += d.allocations;
        thread_cpu += d.thread_cpu_seconds;
        frames += d.frames;
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
        match merged.as_mut() {
            Some(m) => m.merge(&d.times),
            None => merged = Some(d.times),
        }
        last = Some((r, c));
    }
    let wall = wall0.elapsed().as_secs_f64();
    let times = merged.unwrap_or_else(|| BlockTimes::new(1.0, spec.safety_margin));
    let (mut out, counters) = last.ok_or_else(|| PerfError::file(dir, "no .wav files"))?;
    out.input = dir.display().to_string();
    out.set_totals(
        &times,
        Totals {
            frames,
            allocations,
            thread_cpu,
            process_cpu: sys::process_cpu_seconds() - cpu0,
            wall,
        },
    );
    out.engine = counters;
    out.batch = Some(BatchInfo {
        files: files.len(),
        files_per_second: files.len() as f64 / wall.max(1e-9),
        audio_seconds: input_seconds,
    });
    Ok(out)
}
