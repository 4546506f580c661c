//! `kmidi-perf`: the lab's command line. See `kmidi-perf help`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use kmidi_engine::EngineConfig;
use kmidi_engine::config::PRESETS;
use kmidi_engine::render::{OutputFormat, render_file};
use kmidi_perf::alloc::LabAllocator;
use kmidi_perf::harness::{
    InputSource, Mode, RunSpec, calibrate, material_bytes, planned_blocks, run,
};
use kmidi_perf::machine::Machine;
use kmidi_perf::report::{CheckReport, RunReport, SCHEMA_VERSION, check_table, run_table};
use kmidi_perf::targets::{CheckBudget, Outcome, TargetsFile, check};
use kmidi_perf::{PerfError, write_atomic};

mod verdict_cli;

use verdict_cli::{AbArgs, HistoryCommand, ReportArgs, VerdictOutput};

#[global_allocator]
static ALLOCATOR: LabAllocator = LabAllocator;

#[derive(Parser)]
#[command(
    name = "kmidi-perf",
    version,
    about = "The kmidi performance lab: deadline simulation, targets, profiles"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `kmidi-perf analyze`'s arguments.
#[derive(clap::Args, Clone)]
struct AnalyzeArgs {
    /// Input WAV (8-32-bit int or 32-bit float, any channels and rate).
    input: PathBuf,
    /// Directory for <name>.json, <name>.chords.lab, .key.lab,
    /// .onsets.lab and .beats.lab (written atomically; created if
    /// missing). Without it, the JSON goes to standard output.
    #[arg(long)]
    out_dir: Option<PathBuf>,
    /// Frames per block fed to the detectors, 1 to 8192.
    #[arg(long, default_value_t = 512)]
    block: usize,
    /// The onset detector's threshold (default: its own), 0.1 to 100.
    #[arg(long)]
    onset_threshold: Option<f32>,
    /// Also write the onset envelope (novelty per hop) into the JSON.
    #[arg(long)]
    envelope: bool,
    /// The chord detector's chroma smoothing, ms (default: its own).
    #[arg(long)]
    chord_smoothing_ms: Option<f32>,
    /// Hops a new chord must win before it is reported (default: its own).
    #[arg(long)]
    chord_hold_hops: Option<u32>,
    /// How far back a chord change may move to an onset, ms (0 to 1000;
    /// 0 keeps the detector's own dates; default: the analysis's own).
    #[arg(long)]
    chord_onset_snap_ms: Option<f64>,
}

/// `kmidi-perf run`'s arguments.
#[derive(clap::Args, Clone)]
struct RunArgs {
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

/// The engine rates the lab accepts, Hz.
const RATES_HZ: std::ops::RangeInclusive<u32> = 8_000..=384_000;
/// The block sizes it accepts, frames.
const BLOCK_FRAMES: std::ops::RangeInclusive<usize> = 1..=8192;
/// `--grid`: rates, block sizes (every preset).
const GRID_RATES: [u32; 3] = [44_100, 48_000, 96_000];
const GRID_BLOCKS: [usize; 6] = [64, 128, 256, 512, 1024, 2048];

fn parse_rate(text: &str) -> Result<u32, String> {
    text.trim()
        .parse()
        .ok()
        .filter(|r| RATES_HZ.contains(r))
        .ok_or_else(|| "allowed 8000 to 384000 Hz".to_string())
}

fn parse_block(text: &str) -> Result<usize, String> {
    text.trim()
        .parse()
        .ok()
        .filter(|b| BLOCK_FRAMES.contains(b))
        .ok_or_else(|| "allowed 1 to 8192 frames".to_string())
}

#[derive(clap::Args, Clone)]
struct EngineArgs {
    /// Presets, comma-separated: minimal, band, large (or "all").
    #[arg(long, default_value = "band", value_delimiter = ',')]
    preset: Vec<String>,
    /// An engine config file (TOML) instead of a preset.
    #[arg(long, conflicts_with = "preset")]
    config: Option<PathBuf>,
    /// Engine sample rates, Hz, comma-separated (8000 to 384000).
    #[arg(long, default_value = "48000", value_delimiter = ',', value_parser = parse_rate)]
    rates: Vec<u32>,
    /// Block sizes, frames, comma-separated (1 to 8192).
    #[arg(long, default_value = "512", value_delimiter = ',', value_parser = parse_block)]
    blocks: Vec<usize>,
    /// Run without the ML models (no ONNX Runtime needed).
    #[arg(long)]
    no_ml: bool,
    /// Do not time each stage (saves ~0.2 µs a block).
    #[arg(long)]
    no_stage_timing: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Stream audio through the engine block by block and report deadline figures.
    Run(RunArgs),
    /// Measure each hot path and compare with the targets file: exit 1 on any FAIL.
    Check {
        /// The targets file.
        #[arg(long)]
        targets: Option<PathBuf>,
        /// Seconds each workload is timed (0.05 to 60).
        #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
        seconds: f64,
        /// Judge every limit as written (a report for the machine the
        /// targets name) instead of scaling by this machine's speed.
        #[arg(long)]
        unscaled: bool,
        /// Print JSON (schema kmidi-perf/check) instead of a table.
        #[arg(long)]
        json: bool,
        /// Also write the JSON to this file (atomically).
        #[arg(long)]
        save: Option<PathBuf>,
    },
    /// Run a workload under pprof (flamegraph.svg) or dhat (--memory: dhat-heap.json).
    Profile {
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
    },
    /// Judge two saved baselines bench by bench: exit 1 on any regression.
    Compare {
        /// The base baseline name (as given to --save-baseline).
        base: String,
        /// The new baseline name.
        new: String,
        /// Criterion's directory (default: $CRITERION_HOME or target/criterion).
        #[arg(long)]
        criterion_dir: Option<PathBuf>,
        /// Where gungraun baselines are saved, one folder per name.
        #[arg(long, default_value = "target/gungraun-baselines")]
        gungraun_dir: PathBuf,
        /// Judge only the benches both baselines have, listing the others.
        #[arg(long)]
        allow_missing: bool,
        /// Compare baselines from different machines, marked UNTRUSTED.
        #[arg(long)]
        allow_mismatch: bool,
        /// Take wall-time verdicts from an interleaved run (the JSON of
        /// `kmidi-perf ab --save`) instead of the Criterion baselines; the
        /// baselines then give only instruction and allocation counts.
        #[arg(long)]
        wall_from: Option<PathBuf>,
        #[command(flatten)]
        output: VerdictOutput,
    },
    /// Build base and head once, run them interleaved (A B, B A, ...) and judge:
    /// exit 1 on any regression.
    Ab {
        #[command(flatten)]
        args: AbArgs,
        #[command(flatten)]
        output: VerdictOutput,
    },
    /// Record runs into the SQLite history, or show trends and slow drift.
    History {
        /// The history file.
        #[arg(long, default_value = "perf-history.sqlite", global = true)]
        db: PathBuf,
        #[command(subcommand)]
        command: HistoryCommand,
    },
    /// Write one self-contained HTML report (verdicts, deadlines, trends).
    Report {
        #[command(flatten)]
        args: ReportArgs,
    },
    /// The instruction-count gate: the last `iai` bench run against
    /// benches/iai-baseline.json, thresholds from perf-compare.toml (exit 1
    /// on a regression, a new or a missing bench).
    Iai {
        #[command(flatten)]
        args: verdict_cli::IaiArgs,
        /// Rewrite the baseline from the last run instead of checking it.
        #[arg(long)]
        update: bool,
    },
    /// Median and DSP load at 48 kHz / 512 of every process bench of a
    /// Criterion run.
    Summary {
        /// The Criterion baseline (default: new, the last run).
        #[arg(default_value = "new")]
        baseline: String,
        /// Criterion's directory (default: $CRITERION_HOME or target/criterion).
        #[arg(long)]
        criterion_dir: Option<PathBuf>,
    },
    /// Save this machine's fingerprint for a baseline (run right after saving it).
    Fingerprint {
        /// The baseline name.
        baseline: String,
        /// Criterion's directory (default: $CRITERION_HOME or target/criterion).
        #[arg(long)]
        criterion_dir: Option<PathBuf>,
    },
    /// Run the conformance suite (kmidi's pluginval) over an engine preset or
    /// config, and with --nodes over every node it builds: exit 1 on any failure.
    Validate {
        /// Presets, comma-separated: minimal, band, large (or "all").
        #[arg(long, default_value = "band", value_delimiter = ',')]
        preset: Vec<String>,
        /// An engine config file (TOML) instead of a preset.
        #[arg(long, conflicts_with = "preset")]
        config: Option<PathBuf>,
        /// How hard to try, 1 to 10 (5 is what CI runs, 10 every rate,
        /// channel count and block size with racing automation).
        #[arg(long, default_value_t = 5)]
        strictness: u8,
        /// Also check each node the config builds (EQs, compressors, mixer,
        /// limiter, detectors, input resampler).
        #[arg(long)]
        nodes: bool,
        /// The seed every random choice comes from (a failure prints it).
        #[arg(long, value_parser = parse_seed)]
        seed: Option<u64>,
        /// Run only this check.
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(CONFORMANCE_CHECKS))]
        check: Option<String>,
    },
    /// Analyse a WAV file with the engine's detectors: chords, key, onsets,
    /// tempo and beats, as JSON and as mir_eval .lab files.
    Analyze(AnalyzeArgs),
    /// Render a WAV file through the engine to a stereo WAV (written atomically).
    Render {
        /// Input WAV (8-32-bit int or 32-bit float, any channels and rate).
        input: PathBuf,
        /// Output WAV.
        output: PathBuf,
        #[command(flatten)]
        engine: EngineArgs,
        /// int16, int24, int32 or float32.
        #[arg(long, default_value = "float32")]
        format: OutputFormat,
    },
}

fn parse_seed(text: &str) -> Result<u64, String> {
    let t = text.trim();
    match t.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse(),
    }
    .map_err(|_| format!("{text:?} is not a seed: a decimal or 0x-hex number"))
}

/// The checks the suite knows, for `--check`.
const CONFORMANCE_CHECKS: [&str; 12] = [
    "rates",
    "channels",
    "blocks",
    "partition",
    "oversized",
    "reprepare",
    "reset",
    "automation",
    "poison",
    "latency",
    "allocations",
    "syscalls",
];

fn cmd_validate(
    preset: &[String],
    config: Option<PathBuf>,
    strictness: u8,
    nodes: bool,
    seed: Option<u64>,
    check: Option<String>,
) -> Result<ExitCode, PerfError> {
    use kmidi_perf::validate::{EngineSource, suite, validate};
    range("--strictness", strictness as f64, 1.0, 10.0)?;
    let sources: Vec<(String, EngineSource)> = match config {
        Some(path) => {
            let c = EngineConfig::from_file(&path)?;
            let name = path
                .file_stem()
                .map_or("config".into(), |s| s.to_string_lossy().into_owned());
            vec![(name, EngineSource::Config(c))]
        }
        None => preset_names(preset)?
            .into_iter()
            .map(|n| (n.clone(), EngineSource::Preset(n)))
            .collect(),
    };
    let mut suite = suite(strictness, seed);
    if let Some(c) = check {
        suite = suite.only(c);
    }
    let start = std::time::Instant::now();
    let mut failed = 0;
    let mut total = 0;
    for (label, source) in &sources {
        let (reports, notes) = validate(label, source, &suite, nodes);
        for note in notes {
            println!("note: {note}");
        }
        for report in reports {
            println!("{report}\n");
            total += 1;
            if !report.passed() {
                failed += 1;
            }
        }
    }
    println!(
        "validate: {total} processors, {failed} failing, strictness {strictness}, {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn range(what: &'static str, v: f64, lo: f64, hi: f64) -> Result<(), PerfError> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(PerfError::Invalid {
            what,
            value: v.to_string(),
            allowed: format!("allowed {lo} to {hi}"),
        })
    }
}

/// The presets named (`all` = every one), each checked to exist.
fn preset_names(names: &[String]) -> Result<Vec<String>, PerfError> {
    let names: Vec<String> = if names.iter().any(|n| n.trim() == "all") {
        PRESETS.iter().map(|s| s.to_string()).collect()
    } else {
        names.iter().map(|s| s.trim().to_string()).collect()
    };
    for n in &names {
        EngineConfig::preset(n)?;
    }
    Ok(names)
}

/// The (label, config) pairs of the grid, at each rate and block.
fn engine_grid(args: &EngineArgs, full: bool) -> Result<Vec<(String, EngineConfig)>, PerfError> {
    let all = ["all".to_string()];
    let (rates, blocks, presets): (&[u32], &[usize], &[String]) = if full {
        (&GRID_RATES, &GRID_BLOCKS, &all)
    } else {
        (&args.rates, &args.blocks, &args.preset)
    };
    // A config file is used as written; a preset is voiced for each rate.
    let bases: Vec<(String, Option<EngineConfig>)> = match &args.config {
        Some(path) => {
            let c = EngineConfig::from_file(path)?;
            let name = path
                .file_stem()
                .map_or("config".into(), |s| s.to_string_lossy().into_owned());
            vec![(name, Some(c))]
        }
        None => preset_names(presets)?
            .into_iter()
            .map(|n| (n, None))
            .collect(),
    };
    let mut out = Vec::new();
    for (name, base) in &bases {
        for &rate in rates {
            for &block in blocks {
                let mut c = match base {
                    Some(c) => c.clone(),
                    None => EngineConfig::preset_at(name, rate)?,
                };
                if args.config.is_none() || rates.len() > 1 || rate != 48_000 {
                    c.sample_rate = rate;
                }
                if args.config.is_none() || blocks.len() > 1 || block != 512 {
                    c.block_frames = block;
                }
                if args.no_ml {
                    c.ml.harmony = false;
                    c.ml.dynamics = false;
                }
                c.stage_timing = !args.no_stage_timing;
                c.validate()?;
                out.push((name.clone(), c));
            }
        }
    }
    Ok(out)
}

/// The grid of a command that takes exactly one point.
fn one_point(args: &EngineArgs, command: &str) -> Result<Vec<(String, EngineConfig)>, PerfError> {
    let points = engine_grid(args, false)?;
    if points.len() != 1 {
        return Err(PerfError::invalid(
            "--preset/--rates/--blocks",
            format!("{} combinations", points.len()),
            format!("{command} takes one preset, one rate and one block size"),
        ));
    }
    Ok(points)
}

fn progress_bar(total: u64, hidden: bool) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} blocks {msg}",
    ) {
        pb.set_style(style);
    }
    pb
}

fn emit_json(
    json: bool,
    save: Option<&Path>,
    value: &impl serde::Serialize,
) -> Result<(), PerfError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| PerfError::Profiler(format!("cannot encode JSON: {e}")))?;
    if let Some(path) = save {
        write_atomic(path, text.as_bytes())?;
    }
    if json {
        println!("{text}");
    }
    Ok(())
}

fn cmd_run(args: RunArgs) -> Result<ExitCode, PerfError> {
    let RunArgs {
        engine,
        grid,
        mode,
        input,
        input_rate,
        seconds,
        margin,
        load_threads,
        instances,
        json,
        save,
    } = args;
    let engine = &engine;
    let mode = Mode::from(mode);
    range("--seconds", seconds, 0.1, 3600.0)?;
    range("--margin", margin, 0.05, 1.0)?;
    range("--load-threads", load_threads as f64, 0.0, 64.0)?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let instances = instances.unwrap_or(cpus);
    range("--instances", instances as f64, 1.0, 256.0)?;
    let source = match (&input, mode) {
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
        (None, _) => InputSource::Generated { rate: input_rate },
    };
    let points = engine_grid(engine, grid)?;
    // Check every input file before the first long run.
    match &source {
        InputSource::File(p) => {
            kmidi_engine::render::WavSource::open(p)?;
        }
        InputSource::Folder(d) => {
            for f in kmidi_perf::harness::wav_files(d)? {
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
    let harness = calibrate(material_bytes(input_rate.unwrap_or(max_rate).max(max_rate)));
    let specs: Vec<RunSpec> = points
        .into_iter()
        .map(|(label, config)| RunSpec {
            label,
            config,
            mode,
            input: source.clone(),
            seconds,
            safety_margin: margin,
            load_threads,
            instances,
            warmup_blocks: 20,
        })
        .collect();
    let total: u64 = specs.iter().map(planned_blocks).sum();
    let pb = progress_bar(total, json);
    let mut results = Vec::new();
    for spec in &specs {
        pb.set_message(format!(
            "{} {} Hz / {}",
            spec.label, spec.config.sample_rate, spec.config.block_frames
        ));
        let r = run(spec, &mut |n| pb.inc(n));
        match r {
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
    if !json {
        print!("{}", run_table(&report));
    }
    emit_json(json, save.as_deref(), &report)?;
    if allocations > 0 {
        eprintln!("kmidi-perf: FAIL: {allocations} allocations on the audio thread (must be 0)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn default_targets() -> PathBuf {
    let local = PathBuf::from("perf-targets.toml");
    if local.is_file() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../perf-targets.toml")
}

fn cmd_check(
    targets: Option<PathBuf>,
    seconds: f64,
    unscaled: bool,
    json: bool,
    save: Option<PathBuf>,
) -> Result<ExitCode, PerfError> {
    range("--seconds", seconds, 0.05, 60.0)?;
    let path = targets.unwrap_or_else(default_targets);
    let file = TargetsFile::load(&path)?;
    let machine = Machine::detect();
    let pb = if json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    let (results, scale) = check(&file, CheckBudget { seconds }, unscaled, &mut |w| {
        pb.set_message(format!("measuring {w}"));
        pb.tick();
    })?;
    pb.finish_and_clear();
    let passed = results.iter().all(|r| r.verdict == Outcome::Pass);
    let report = CheckReport {
        schema: "kmidi-perf/check".into(),
        schema_version: SCHEMA_VERSION,
        machine,
        targets_file: path.display().to_string(),
        scale,
        results,
        passed,
    };
    if !json {
        print!("{}", check_table(&report));
    }
    emit_json(json, save.as_deref(), &report)?;
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn cmd_profile(
    engine: &EngineArgs,
    seconds: f64,
    memory: bool,
    out: &Path,
) -> Result<ExitCode, PerfError> {
    range("--seconds", seconds, 0.1, 3600.0)?;
    let mut points = one_point(engine, "profile")?;
    let (label, config) = points.remove(0);
    let spec = RunSpec {
        label,
        config,
        mode: Mode::Single,
        input: InputSource::Generated { rate: None },
        seconds,
        safety_margin: 0.8,
        load_threads: 0,
        instances: 1,
        warmup_blocks: 20,
    };
    if memory {
        let (path, totals, r) = kmidi_perf::profile::heap_profile(&spec, out)?;
        println!(
            "{}: {} allocations, {:.1} MB in total, {:.1} MB at peak over {} blocks (build and run); view with dhat's dh_view.html",
            path.display(),
            totals.total_blocks,
            totals.total_bytes as f64 / 1048576.0,
            totals.max_bytes as f64 / 1048576.0,
            r.blocks.blocks
        );
    } else {
        let (path, r) = kmidi_perf::profile::cpu_flamegraph(&spec, out)?;
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

fn cmd_render(
    input: &Path,
    output: &Path,
    engine: &EngineArgs,
    format: OutputFormat,
) -> Result<ExitCode, PerfError> {
    let mut points = one_point(engine, "render")?;
    let (_, config) = points.remove(0);
    let r = render_file(config, input, output, format)?;
    println!(
        "{}: {:.2} s of {} ch {} Hz {} → {} frames at {} Hz, {:.0}× real time",
        output.display(),
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

fn cmd_analyze(args: &AnalyzeArgs) -> Result<ExitCode, PerfError> {
    use kmidi_engine::analyze::{AnalysisConfig, analyze_wav};
    let mut config = AnalysisConfig {
        block_frames: args.block,
        keep_envelope: args.envelope,
        ..AnalysisConfig::default()
    };
    if let Some(ms) = args.chord_onset_snap_ms {
        config.chord_onset_snap_ms = ms;
    }
    if let Some(t) = args.onset_threshold {
        config.onsets.threshold = t;
    }
    if let Some(ms) = args.chord_smoothing_ms {
        config.chords.smoothing_ms = ms;
    }
    if let Some(h) = args.chord_hold_hops {
        config.chords.hold_hops = h;
    }
    let input = args.input.as_path();
    let out_dir = args.out_dir.as_deref();
    let a = analyze_wav(input, &config)?;
    let json = serde_json::to_string_pretty(&a)
        .map_err(|e| PerfError::file(input, format!("analysis cannot be written as JSON: {e}")))?;
    let Some(dir) = out_dir else {
        println!("{json}");
        return Ok(ExitCode::SUCCESS);
    };
    let stem = input
        .file_stem()
        .map_or_else(|| "analysis".into(), |s| s.to_string_lossy().into_owned());
    for (suffix, text) in [
        ("json", json + "\n"),
        ("chords.lab", a.chords_lab()),
        ("key.lab", a.key_lab()),
        ("onsets.lab", a.onsets_lab()),
        ("beats.lab", a.beats_lab()),
    ] {
        write_atomic(&dir.join(format!("{stem}.{suffix}")), text.as_bytes())?;
    }
    println!(
        "{}: {} chord segments, key {}, {} onsets, {} beats, tempo {} -> {}/{stem}.*",
        input.display(),
        a.chords.len(),
        a.key.as_deref().unwrap_or("none"),
        a.onsets_s.len(),
        a.beats_s.len(),
        a.tempo_bpm.map_or("none".into(), |t| format!("{t:.1} BPM")),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `--flag = "value": allowed ...` for clap's bad-value errors.
fn value_error_line(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    let arg = match e.get(ContextKind::InvalidArg)? {
        ContextValue::String(a) => a.split_whitespace().next().unwrap_or(a).to_string(),
        _ => return None,
    };
    let value = match e.get(ContextKind::InvalidValue)? {
        ContextValue::String(v) => v.clone(),
        _ => return None,
    };
    let allowed = match e.get(ContextKind::ValidValue) {
        Some(ContextValue::Strings(v)) => format!("allowed {}", v.join(", ")),
        _ => std::error::Error::source(e)?.to_string(),
    };
    Some(format!("{arg} = \"{value}\": {allowed}"))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
                || e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // A bad value reads as the lab's own errors do:
            // `--rates = "abc": allowed 8000 to 384000 Hz, comma-separated`.
            if let Some(line) = value_error_line(&e) {
                eprintln!("kmidi-perf: {line}");
                return ExitCode::from(2);
            }
            // Otherwise one line: clap's first line names the bad argument.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!(
                "kmidi-perf: {} (see kmidi-perf help)",
                first.trim_start_matches("error: ")
            );
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Run(args) => cmd_run(args),
        Command::Check {
            targets,
            seconds,
            unscaled,
            json,
            save,
        } => cmd_check(targets, seconds, unscaled, json, save),
        Command::Profile {
            engine,
            seconds,
            memory,
            out,
        } => cmd_profile(&engine, seconds, memory, &out),
        Command::Render {
            input,
            output,
            engine,
            format,
        } => cmd_render(&input, &output, &engine, format),
        Command::Analyze(args) => cmd_analyze(&args),
        Command::Validate {
            preset,
            config,
            strictness,
            nodes,
            seed,
            check,
        } => cmd_validate(&preset, config, strictness, nodes, seed, check),
        Command::Compare {
            base,
            new,
            criterion_dir,
            gungraun_dir,
            allow_missing,
            allow_mismatch,
            wall_from,
            output,
        } => verdict_cli::cmd_compare(
            &base,
            &new,
            criterion_dir,
            &gungraun_dir,
            allow_missing,
            allow_mismatch,
            wall_from.as_deref(),
            &output,
        ),
        Command::Ab { args, output } => verdict_cli::cmd_ab(&args, &output),
        Command::History { db, command } => verdict_cli::cmd_history(&db, &command),
        Command::Report { args } => verdict_cli::cmd_report(&args),
        Command::Fingerprint {
            baseline,
            criterion_dir,
        } => verdict_cli::cmd_fingerprint(&baseline, criterion_dir),
        Command::Iai { args, update } => verdict_cli::cmd_iai(&args, update),
        Command::Summary {
            baseline,
            criterion_dir,
        } => verdict_cli::cmd_summary(&baseline, criterion_dir),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // 2, not 1: exit 1 means "a target failed" or "a bench
            // regressed", so a gate can tell a verdict from a broken run.
            eprintln!("kmidi-perf: error: {e}");
            ExitCode::from(2)
        }
    }
}
