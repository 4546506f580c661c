//! `kmidi-perf run`: stream audio through the engine block by block and
//! report deadline figures.

use std::path::PathBuf;
use std::process::ExitCode;

use kmidi_perf::PerfError;
use kmidi_perf::harness::{
    InputSource, Mode, RunSpec, calibrate, material_bytes, planned_blocks, run, wav_files,
};
use kmidi_perf::machine::Machine;
use kmidi_perf::report::{RunReport, SCHEMA_VERSION, run_table};

use super::args::{EngineArgs, engine_grid, parse_rate, range};
use super::output::{emit_json, progress_bar};

/// `kmidi-perf run`'s arguments.
#[derive(clap::Args, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    engine: EngineArgs,
    /// The full grid: 44.1/48/96 kHz × 64..2048 frames × all presets.
    #[arg(long)]
    grid: bool,
    /// How the host drives the engine.
    #[arg(long, value_enum, default_value_t = RunMode::Single)]
    mode: RunMode,
    /// A WAV file (single, streaming, parallel) or a folder of them
    /// (batch); without it, generated music is used.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Rate of the generated input, Hz (resampled to the engine rate).
    #[arg(long, value_parser = parse_rate)]
    input_rate: Option<u32>,
    /// Seconds of generated audio per run (0.1 to 3600).
    #[arg(long, default_value_t = 20.0, allow_negative_numbers = true)]
    seconds: f64,
    /// Safety margin: blocks over this share of the period are counted (0.05 to 1).
    #[arg(long, default_value_t = 0.8, allow_negative_numbers = true)]
    margin: f64,
    /// Streaming: busy threads competing with the audio thread (0 to 64).
    #[arg(long, default_value_t = 0)]
    load_threads: usize,
    /// Parallel: engine instances (1 to 256; default: one per CPU).
    #[arg(long)]
    instances: Option<usize>,
    /// Print JSON (schema kmidi-perf/run) instead of tables.
    #[arg(long)]
    json: bool,
    /// Also write the JSON to this file (atomically).
    #[arg(long)]
    save: Option<PathBuf>,
}

/// `--mode` of `kmidi-perf run`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum RunMode {
    /// One engine, blocks back to back, each timed.
    Single,
    /// Every WAV of a folder, one after another.
    Batch,
    /// Blocks paced at real time, optionally with competing load.
    Streaming,
    /// Several engine instances at once, one thread each.
    Parallel,
}

impl From<RunMode> for Mode {
    fn from(m: RunMode) -> Self {
        match m {
            RunMode::Single => Mode::Single,
            RunMode::Batch => Mode::Batch,
            RunMode::Streaming => Mode::Streaming,
            RunMode::Parallel => Mode::Parallel,
        }
    }
}

impl RunArgs {
    /// The input the flags name, checked against the mode.
    fn source(&self, mode: Mode) -> Result<InputSource, PerfError> {
        Ok(match (&self.input, mode) {
            (Some(p), Mode::Batch) => {
                if !p.is_dir() {
                    return Err(PerfError::file(p, "batch mode needs a folder of WAV files"));
                }
                InputSource::Folder(p.clone())
            }
            (None, Mode::Batch) => {
                return Err(PerfError::invalid(
                    "--input",
                    "(none)",
                    "batch mode needs --input DIR, a folder of WAV files",
                ));
            }
            (Some(p), _) => {
                if p.is_dir() {
                    return Err(PerfError::file(
                        p,
                        "is a folder: use --mode batch, or give one WAV file",
                    ));
                }
                InputSource::File(p.clone())
            }
            (None, _) => InputSource::Generated {
                rate: self.input_rate,
            },
        })
    }
}

/// Runs every grid point; exit 1 if the audio thread allocated.
pub fn execute(args: &RunArgs) -> Result<ExitCode, PerfError> {
    let mode = Mode::from(args.mode);
    range("--seconds", args.seconds, 0.1, 3600.0)?;
    range("--margin", args.margin, 0.05, 1.0)?;
    range("--load-threads", args.load_threads as f64, 0.0, 64.0)?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let instances = args.instances.unwrap_or(cpus);
    range("--instances", instances as f64, 1.0, 256.0)?;
    let source = args.source(mode)?;
    let points = engine_grid(&args.engine, args.grid)?;
    // Check every input file before the first long run.
    match &source {
        InputSource::File(p) => {
            kmidi_engine::render::WavSource::open(p)?;
        }
        InputSource::Folder(d) => {
            for f in wav_files(d)? {
                kmidi_engine::render::WavSource::open(&f)?;
            }
        }
        InputSource::Generated { .. } => {}
    }
    let machine = Machine::detect();
    let max_rate = points
        .iter()
        .map(|(_, c)| c.sample_rate)
        .max()
        .unwrap_or(48_000);
    let harness = calibrate(material_bytes(
        args.input_rate.unwrap_or(max_rate).max(max_rate),
    ));
    let specs: Vec<RunSpec> = points
        .into_iter()
        .map(|(label, config)| RunSpec {
            label,
            config,
            mode,
            input: source.clone(),
            seconds: args.seconds,
            safety_margin: args.margin,
            load_threads: args.load_threads,
            instances,
            warmup_blocks: 20,
        })
        .collect();
    let total: u64 = specs.iter().map(planned_blocks).sum();
    let pb = progress_bar(total, args.json);
    let mut results = Vec::new();
    for spec in &specs {
        pb.set_message(format!(
            "{} {} Hz / {}",
            spec.label, spec.config.sample_rate, spec.config.block_frames
        ));
        match run(spec, &mut |n| pb.inc(n)) {
            Ok(r) => results.push(r),
            Err(e) => {
                pb.finish_and_clear();
                return Err(e);
            }
        }
    }
    pb.finish_and_clear();
    let allocations: u64 = results.iter().map(|r| r.audio_thread_allocations).sum();
    let report = RunReport {
        schema: "kmidi-perf/run".into(),
        schema_version: SCHEMA_VERSION,
        machine,
        harness,
        results,
    };
    if !args.json {
        print!("{}", run_table(&report));
    }
    emit_json(args.json, args.save.as_deref(), &report)?;
    if allocations > 0 {
        eprintln!("kmidi-perf: FAIL: {allocations} allocations on the audio thread (must be 0)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
