//! `kmidi-perf render`: a WAV file through the engine to a stereo WAV.

use std::path::PathBuf;
use std::process::ExitCode;

use kmidi_engine::render::{OutputFormat, render_file};
use kmidi_perf::PerfError;

use super::args::{EngineArgs, one_point};

/// `kmidi-perf render`'s arguments.
#[derive(clap::Args, Clone)]
pub struct RenderArgs {
    /// Input WAV (8-32-bit int or 32-bit float, any channels and rate).
    input: PathBuf,
    /// Output WAV.
    output: PathBuf,
    #[command(flatten)]
    engine: EngineArgs,
    /// int16, int24, int32 or float32.
    #[arg(long, default_value = "float32")]
    format: OutputFormat,
}

/// Renders the input and prints what was written.
pub fn execute(args: &RenderArgs) -> Result<ExitCode, PerfError> {
    let (_, config) = one_point(&args.engine, "render")?;
    let r = render_file(config, &args.input, &args.output, args.format)?;
    println!(
        "{}: {:.2} s of {} ch {} Hz {} → {} frames at {} Hz, {:.0}× real time",
        args.output.display(),
        r.input.seconds(),
        r.input.channels,
        r.input.sample_rate,
        r.input.format,
        r.output_frames,
        r.output_rate,
        r.speed()
    );
    Ok(ExitCode::SUCCESS)
}
