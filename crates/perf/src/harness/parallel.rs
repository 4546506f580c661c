//! Parallel mode: N engines on N threads at once, against one alone.

use std::time::Instant;

use super::drive::{blocks_for, build};
use super::planned_blocks;
use super::result::{Merged, ParallelInfo, RunResult, RunSpec, result_from};
use super::single::run_one;
use crate::PerfError;
use crate::stats::BlockTimes;
use crate::sys;

/// One engine alone, then `spec.instances` engines at once, one thread
/// each: the result is the instances' merged block times, with each one's
/// speed and the scaling against the one alone.
pub(super) fn run_parallel(
    spec: &RunSpec,
    progress: &mut dyn FnMut(u64),
) -> Result<RunResult, PerfError> {
    if spec.instances == 0 {
        return Err(PerfError::invalid("instances", 0, "1 or more"));
    }
    // One engine alone first: the reference for scaling.
    let single = run_one(spec, false, progress)?;
    let single_speed = 1.0 / single.real_time_factor.max(1e-12);
    let cpu0 = sys::process_cpu_seconds();
    let wall0 = Instant::now();
    let results: Vec<Result<(RunResult, BlockTimes), PerfError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..spec.instances)
            .map(|_| {
                s.spawn(|| -> Result<(RunResult, BlockTimes), PerfError> {
                    let mut built = build(spec)?;
                    let blocks = blocks_for(spec, &built);
                    let d = built.drive(&spec.plan(blocks, false), &mut |_| {})?;
                    let r = result_from(
                        spec,
                        &built.engine,
                        built.input.clone(),
                        &d.times,
                        d.totals(0.0, d.wall_seconds),
                    );
                    Ok((r, d.times))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(PerfError::Profiler("an engine thread panicked".into()))
                })
            })
            .collect()
    });
    let mut merged = Merged::default();
    let mut speeds = Vec::new();
    let mut first: Option<RunResult> = None;
    for r in results {
        let (r, times) = r?;
        progress(planned_blocks(spec) / (spec.instances as u64 + 1));
        speeds.push(1.0 / r.real_time_factor.max(1e-12));
        let frames = (r.audio_seconds * r.sample_rate as f64).round() as u64;
        merged.add(
            times,
            frames,
            r.audio_thread_allocations,
            r.audio_thread_cpu_seconds,
        );
        first.get_or_insert(r);
    }
    let mut out = first.unwrap_or(single);
    let aggregate: f64 = speeds.iter().sum();
    merged.set_totals(
        &mut out,
        spec.safety_margin,
        sys::process_cpu_seconds() - cpu0,
        wall0.elapsed().as_secs_f64(),
    );
    out.parallel = Some(ParallelInfo {
        instances: spec.instances,
        single_speed,
        instance_speeds: speeds,
        aggregate_speed: aggregate,
        scaling_efficiency_percent: 100.0 * aggregate / (spec.instances as f64 * single_speed),
    });
    Ok(out)
}
