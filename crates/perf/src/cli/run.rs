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
use super::host::{HostChoice, JackArgs, host_lines, make_host};
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
    /// Run inside an audio host instead of driving the engine directly:
    /// `sim` (kmidi-perf's paced thread) or `jack` (a JACK client). The
    /// host's xruns (by class), jitter, DSP load and output identity are
    /// reported beside the usual figures.
    #[arg(long, value_enum)]
    host: Option<HostChoice>,
    #[command(flatten)]
    jack: JackArgs,
    /// With --host: do not compare the output with an offline render.
    #[arg(long)]
    no_compare: bool,
    /// With --host: exit 1 when more xruns than this are blamed on the
    /// engine.
    #[arg(long)]
    max_engine_xruns: Option<u64>,
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
    if let Some(host) = args.host {
        return execute_on_host(args, host);
    }
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

/// `run --host`: every grid point inside the host, its output compared
/// with the offline render; exit 1 on audio-thread allocations, a
/// different output, a run cut short or too many engine xruns.
fn execute_on_host(args: &RunArgs, host: HostChoice) -> Result<ExitCode, PerfError> {
    use std::sync::Arc;

    use kmidi_perf::host::{HostEvent, Music, RunPlan, Segment, run_on_host};

    if !matches!(args.mode, RunMode::Single | RunMode::Streaming) {
        return Err(PerfError::invalid(
            "--mode",
            format!("{:?}", args.mode).to_lowercase(),
            "a host calls one engine in real time: use --mode single (the default) or streaming with --host",
        ));
    }
    range("--seconds", args.seconds, 0.1, 3600.0)?;
    range("--margin", args.margin, 0.05, 1.0)?;
    let points = engine_grid(&args.engine, args.grid)?;
    let machine = Machine::detect();
    let harness = calibrate(material_bytes(48_000));
    let mut results = Vec::new();
    let mut failed = Vec::new();
    for (label, mut config) in points {
        let (music, input_label, input_frames) = match &args.input {
            Some(p) => {
                let (info, data) = kmidi_engine::render::WavSource::open(p)?.read_all()?;
                config.route_inputs(info.channels);
                config.input_rate = Some(info.sample_rate);
                (
                    Music::File(Arc::new(data)),
                    p.display().to_string(),
                    info.frames,
                )
            }
            None => {
                if let Some(r) = args.input_rate {
                    config.input_rate = Some(r);
                }
                let r = config.effective_input_rate();
                (
                    Music::Generated(r),
                    "generated".to_string(),
                    (args.seconds * f64::from(r)).round() as u64,
                )
            }
        };
        let channels = kmidi_engine::Engine::new(config.clone())?.input_channels();
        let in_rate = config.effective_input_rate();
        let out_frames = input_frames * u64::from(config.sample_rate) / u64::from(in_rate);
        let block = config.block_frames;
        let callbacks = out_frames.div_ceil(block as u64).max(1);
        let plan = RunPlan {
            music,
            channels,
            segments: vec![Segment::Music(input_frames)],
            capture: if args.no_compare {
                vec![]
            } else {
                vec![(0, callbacks * block as u64)]
            },
        };
        let mut h = make_host(host, &args.jack, config.sample_rate, block)?;
        let pb = progress_bar(callbacks, args.json);
        pb.set_message(format!(
            "{label} {} Hz / {block} in {}",
            config.sample_rate,
            host_name(host)
        ));
        let run = run_on_host(
            h.as_mut(),
            &config,
            &plan,
            callbacks,
            args.margin,
            !args.no_compare,
            &mut |e| match e {
                HostEvent::Progress(n) => pb.inc(n),
                HostEvent::Minute(m) => {
                    super::output::line_above(&pb, &super::host::minute_line(m, None))
                }
            },
        );
        pb.finish_and_clear();
        let run = run?;
        drop(h);
        let r = run.result(&label, &config, &input_label, args.margin)?;
        // `result` always fills `host`; the default only keeps the checks
        // total.
        let info = r.host.clone().unwrap_or_else(|| run.info.clone());
        if info.partial {
            failed.push(format!(
                "{label} {} Hz / {block}: {}",
                config.sample_rate,
                info.ended_by.as_deref().unwrap_or("ended early")
            ));
        }
        if info.output_identical == Some(false) {
            failed.push(format!(
                "{label} {} Hz / {block}: the output differs from the offline render at frame {}",
                config.sample_rate,
                info.first_difference_frame.unwrap_or(0)
            ));
        }
        if let Some(max) = args.max_engine_xruns
            && info.engine_xruns > max
        {
            failed.push(format!(
                "{label} {} Hz / {block}: {} xruns blamed on the engine (allowed {max})",
                config.sample_rate, info.engine_xruns
            ));
        }
        if r.audio_thread_allocations > 0 {
            failed.push(format!(
                "{label} {} Hz / {block}: {} allocations on the audio thread (must be 0)",
                config.sample_rate, r.audio_thread_allocations
            ));
        }
        results.push(r);
    }
    let report = RunReport {
        schema: "kmidi-perf/run".into(),
        schema_version: SCHEMA_VERSION,
        machine,
        harness,
        results,
    };
    if !args.json {
        print!("{}", run_table(&report));
        for r in &report.results {
            if let Some(h) = &r.host {
                println!("{} {} Hz / {}:", r.preset, r.sample_rate, r.block_frames);
                print!("{}", host_lines(h));
            }
        }
    }
    emit_json(args.json, args.save.as_deref(), &report)?;
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        for f in &failed {
            eprintln!("kmidi-perf: FAIL: {f}");
        }
        Ok(ExitCode::FAILURE)
    }
}

fn host_name(h: HostChoice) -> &'static str {
    match h {
        HostChoice::Sim => "the simulated host",
        HostChoice::Jack => "JACK",
    }
}
