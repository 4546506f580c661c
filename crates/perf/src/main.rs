//! `kmidi-perf`: the lab's command line. See `kmidi-perf help`.
//!
//! This file holds the command table and the exit-code rules; each
//! subcommand lives in its own module under `cli/`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kmidi_perf::alloc::LabAllocator;

mod cli;

use cli::{
    ab::AbArgs, analyze::AnalyzeArgs, check::CheckArgs, compare::CompareArgs,
    fingerprint::FingerprintArgs, history::HistoryArgs, iai::IaiArgs, profile::ProfileArgs,
    render::RenderArgs, report::ReportArgs, run::RunArgs, soak::SoakArgs, summary::SummaryArgs,
    transcribe::TranscribeArgs, validate::ValidateArgs,
};

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

#[derive(Subcommand)]
enum Command {
    /// Stream audio through the engine block by block and report deadline figures.
    Run(RunArgs),
    /// Measure each hot path and compare with the targets file: exit 1 on any FAIL.
    Check(CheckArgs),
    /// Run a workload under pprof (flamegraph.svg) or dhat (--memory: dhat-heap.json).
    Profile(ProfileArgs),
    /// Judge two saved baselines bench by bench: exit 1 on any regression.
    Compare(CompareArgs),
    /// Build base and head once, run them as short processes in ABBA blocks and
    /// judge per process: exit 1 on any regression.
    Ab(AbArgs),
    /// Record runs into the SQLite history, or show trends and slow drift.
    History(HistoryArgs),
    /// Write one self-contained HTML report (verdicts, deadlines, trends).
    Report(ReportArgs),
    /// The instruction-count gate: the last `iai` bench run against
    /// benches/iai-baseline.json, thresholds from perf-compare.toml (exit 1
    /// on a regression, a new or a missing bench).
    Iai(IaiArgs),
    /// Median and DSP load at 48 kHz / 512 of every process bench of a
    /// Criterion run.
    Summary(SummaryArgs),
    /// Save this machine's fingerprint for a baseline (run right after saving it).
    Fingerprint(FingerprintArgs),
    /// Run the conformance suite (kmidi's pluginval) over an engine preset or
    /// config, and with --nodes over every node it builds: exit 1 on any failure.
    Validate(ValidateArgs),
    /// Analyse a WAV file with the engine's detectors: chords, key, onsets,
    /// tempo and beats, as JSON and as mir_eval .lab files.
    Analyze(AnalyzeArgs),
    /// Render a WAV file through the engine to a stereo WAV (written atomically).
    Render(RenderArgs),
    /// Minutes of continuous playback in a host (--host sim or jack): a
    /// line a minute, xruns per hour by class, worst-case drift, RSS
    /// growth and a state-drift check.
    Soak(SoakArgs),
    /// Transcribe a WAV file to notes with Basic Pitch: JSON, a mir_eval
    /// .lab file and a Standard MIDI File.
    Transcribe(TranscribeArgs),
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
    let result = match &cli.command {
        Command::Run(a) => cli::run::execute(a),
        Command::Check(a) => cli::check::execute(a),
        Command::Profile(a) => cli::profile::execute(a),
        Command::Compare(a) => cli::compare::execute(a),
        Command::Ab(a) => cli::ab::execute(a),
        Command::History(a) => cli::history::execute(a),
        Command::Report(a) => cli::report::execute(a),
        Command::Iai(a) => cli::iai::execute(a),
        Command::Summary(a) => cli::summary::execute(a),
        Command::Fingerprint(a) => cli::fingerprint::execute(a),
        Command::Validate(a) => cli::validate::execute(a),
        Command::Analyze(a) => cli::analyze::execute(a),
        Command::Transcribe(a) => cli::transcribe::execute(a),
        Command::Soak(a) => cli::soak::execute(a),
        Command::Render(a) => cli::render::execute(a),
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
