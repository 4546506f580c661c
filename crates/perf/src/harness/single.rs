//! Single mode: one input, as fast as possible (and the paced loop that
//! streaming mode reuses).

use std::time::Instant;

use super::drive::{blocks_for, build};
use super::result::{RunResult, RunSpec, StreamingInfo, result_from};
use crate::PerfError;
use crate::sys;

pub(super) fn run_one(
    spec: &RunSpec,
    pace: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<RunResult, PerfError> {
    let mut built = build(spec)?;
    let blocks = blocks_for(spec, &built);
    let cpu0 = sys::process_cpu_seconds();
    let wall0 = Instant::now();
    let d = built.drive(&spec.plan(blocks, pace), progress)?;
    let mut r = result_from(
        spec,
        &built.engine,
        built.input.clone(),
        &d.times,
        d.totals(
            sys::process_cpu_seconds() - cpu0,
            wall0.elapsed().as_secs_f64(),
        ),
    );
    if let Some(w) = d.wake_late {
        let s = w.summary();
        r.streaming = Some(StreamingInfo {
            load_threads: spec.load_threads,
            wake_late_median_us: s.median_us,
            wake_late_p99_us: s.p99_us,
            wake_late_max_us: s.max_us,
            deadline_misses: d.deadline_misses,
        });
    }
    Ok(r)
}
