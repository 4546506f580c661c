//! `kmidi-perf profile`: one workload under pprof (a flamegraph) or dhat
//! (a heap profile).

use std::path::PathBuf;
use std::process::ExitCode;

use kmidi_perf::PerfError;
use kmidi_perf::harness::{InputSource, Mode, RunSpec};
use kmidi_perf::profile::{cpu_flamegraph, heap_profile};

use super::args::{EngineArgs, one_point, range};

/// `kmidi-perf profile`'s arguments.
#[derive(clap::Args, Clone)]
pub struct ProfileArgs {
    #[command(flatten)]
    engine: EngineArgs,
    /// Seconds of generated audio.
    #[arg(long, default_value_t = 20.0, allow_negative_numbers = true)]
    seconds: f64,
    /// Profile the heap with dhat instead of the CPU with pprof.
    #[arg(long)]
    memory: bool,
    /// Where to write the profile.
    #[arg(long, default_value = "target/kmidi-perf")]
    out: PathBuf,
}

/// Profiles one grid point and prints where the profile went.
pub fn execute(args: &ProfileArgs) -> Result<ExitCode, PerfError> {
    range("--seconds", args.seconds, 0.1, 3600.0)?;
    let (label, config) = one_point(&args.engine, "profile")?;
    let spec = RunSpec {
        label,
        config,
        mode: Mode::Single,
        input: InputSource::Generated { rate: None },
        seconds: args.seconds,
        safety_margin: 0.8,
        load_threads: 0,
        instances: 1,
        warmup_blocks: 20,
    };
    if args.memory {
        let (path, totals, r) = heap_profile(&spec, &args.out)?;
        println!(
            "{}: {} allocations, {:.1} MB in total, {:.1} MB at peak over {} blocks (build and run); view with dhat's dh_view.html",
            path.display(),
            totals.total_blocks,
            totals.total_bytes as f64 / 1048576.0,
            totals.max_bytes as f64 / 1048576.0,
            r.blocks.blocks
        );
    } else {
        let (path, r) = cpu_flamegraph(&spec, &args.out)?;
        println!(
            "{}: {} blocks of {} at {} Hz / {} frames, median {:.2} µs",
            path.display(),
            r.blocks.blocks,
            r.preset,
            r.sample_rate,
            r.block_frames,
            r.blocks.median_us
        );
    }
    Ok(ExitCode::SUCCESS)
}
