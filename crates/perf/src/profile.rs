//! `kmidi-perf profile`: a workload under pprof (CPU flamegraph) or dhat
//! (heap profile).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::PerfError;
use crate::alloc::set_heap_profiling;
use crate::harness::{RunResult, RunSpec, run};

/// Samples per second: a prime, so sampling does not lock step with the
/// block period.
pub const SAMPLE_HZ: i32 = 997;

/// Runs `spec` under pprof's SIGPROF sampler and writes
/// `out_dir/flamegraph.svg` (atomically). Returns its path and the run.
///
/// # Errors
/// [`PerfError::Profiler`] if pprof cannot start or report;
/// [`PerfError::File`] if the SVG cannot be written; anything `run` returns.
pub fn cpu_flamegraph(spec: &RunSpec, out_dir: &Path) -> Result<(PathBuf, RunResult), PerfError> {
    let guard = pprof::ProfilerGuardBuilder::default()
        .frequency(SAMPLE_HZ)
        .blocklist(&["libc", "libgcc", "pthread", "vdso"])
        .build()
        .map_err(|e| PerfError::Profiler(e.to_string()))?;
    let result = run(spec, &mut |_| {})?;
    let report = guard
        .report()
        .build()
        .map_err(|e| PerfError::Profiler(e.to_string()))?;
    let mut svg = Vec::new();
    report
        .flamegraph(&mut svg)
        .map_err(|e| PerfError::Profiler(e.to_string()))?;
    let path = out_dir.join("flamegraph.svg");
    crate::write_atomic(&path, &svg)?;
    Ok((path, result))
}

/// Heap totals from a dhat run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapTotals {
    /// Allocations over the whole run (building the engine included).
    pub total_blocks: u64,
    /// Bytes allocated over the run.
    pub total_bytes: u64,
    /// Most bytes live at once.
    pub max_bytes: usize,
}

/// Runs `spec` under dhat and writes `out_dir/dhat-heap.json` (view it
/// with dhat's viewer, dh_view.html). Only works in a binary whose global
/// allocator is [`LabAllocator`](crate::alloc::LabAllocator).
///
/// # Errors
/// [`PerfError::Profiler`] if the allocator is not installed (dhat saw no
/// allocation); [`PerfError::File`] if the file cannot be written.
pub fn heap_profile(
    spec: &RunSpec,
    out_dir: &Path,
) -> Result<(PathBuf, HeapTotals, RunResult), PerfError> {
    std::fs::create_dir_all(out_dir).map_err(|e| PerfError::caused(out_dir, e))?;
    let path = out_dir.join("dhat-heap.json");
    // dhat writes the file itself, to the pending file's path.
    let (pending, file) = kmidi_dsp::atomic_file::AtomicFile::create(&path)
        .map_err(|e| PerfError::caused(&path, e))?;
    drop(file);
    let temp = pending.temp_path().to_path_buf();
    set_heap_profiling(true);
    let profiler = dhat::Profiler::builder().file_name(&temp).build();
    let result = run(spec, &mut |_| {});
    let stats = dhat::HeapStats::get();
    drop(profiler);
    set_heap_profiling(false);
    let result = result?;
    if stats.total_blocks == 0 {
        return Err(PerfError::Profiler(
            "dhat saw no allocations: the binary's global allocator is not kmidi_perf::alloc::LabAllocator".into(),
        ));
    }
    pending.commit().map_err(|e| PerfError::caused(&path, e))?;
    let _ = std::io::stderr().flush();
    Ok((
        path,
        HeapTotals {
            total_blocks: stats.total_blocks,
            total_bytes: stats.total_bytes,
            max_bytes: stats.max_bytes,
        },
        result,
    ))
}
