//! `kmidi-perf history`: record runs into the SQLite history, or show
//! trends and slow drift.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kmidi_perf::PerfError;
use kmidi_perf::baseline::Baseline;
use kmidi_perf::compare::Comparison;
use kmidi_perf::fingerprint::Fingerprint;
use kmidi_perf::history::{
    History, RunRecord, baseline_metrics, comparison_verdicts, run_metrics, trends,
};
use kmidi_perf::machine::rfc3339_now;
use kmidi_perf::report::RunReport;
use kmidi_perf::stats::{DEFAULT_DRIFT_PERCENT, DEFAULT_STEP_PERCENT};

use super::args::range;
use super::output::{default_criterion_dir, read_document};

/// `kmidi-perf history`'s arguments.
#[derive(clap::Args, Clone)]
pub struct HistoryArgs {
    /// The history file.
    #[arg(long, default_value = "perf-history.sqlite", global = true)]
    db: PathBuf,
    #[command(subcommand)]
    command: HistoryCommand,
}

/// `kmidi-perf history` subcommands.
#[derive(clap::Subcommand, Clone)]
enum HistoryCommand {
    /// Store a baseline's metrics, a run's deadline figures and a
    /// comparison's verdicts as one run (one transaction).
    Record(RecordArgs),
    /// One metric per bench over the last runs, with sparklines and drift.
    Trend(TrendArgs),
}

/// `kmidi-perf history record`'s arguments.
#[derive(clap::Args, Clone)]
struct RecordArgs {
    /// A saved baseline to record (Criterion + gungraun).
    #[arg(long)]
    baseline: Option<String>,
    /// A `kmidi-perf run --json` file to record.
    #[arg(long)]
    run: Option<PathBuf>,
    /// A `compare --json` file whose verdicts to record.
    #[arg(long)]
    compare: Option<PathBuf>,
    /// The commit measured (default: git HEAD, or the baseline's fingerprint).
    #[arg(long)]
    commit: Option<String>,
    /// Criterion's directory (default: $CRITERION_HOME or target/criterion).
    #[arg(long)]
    criterion_dir: Option<PathBuf>,
    /// Where gungraun baselines are saved.
    #[arg(long, default_value = "target/gungraun-baselines")]
    gungraun_dir: PathBuf,
}

/// `kmidi-perf history trend`'s arguments.
#[derive(clap::Args, Clone)]
struct TrendArgs {
    /// Benches to show (`*` wildcards; default: all).
    #[arg(long)]
    bench: Option<String>,
    /// The metric (wall_median_ns, instructions, allocations,
    /// block_p99_us, dsp_load_mean_percent, ...).
    #[arg(long, default_value = "wall_median_ns")]
    metric: String,
    /// How many of the latest runs (2 to 10000).
    #[arg(long, default_value_t = 30)]
    last: usize,
    /// Fitted change over the window that counts as a slow drift, %.
    #[arg(long, default_value_t = DEFAULT_DRIFT_PERCENT)]
    drift: f64,
    /// A single step beyond this is a step change, not a drift, %.
    #[arg(long, default_value_t = DEFAULT_STEP_PERCENT)]
    step: f64,
    /// Exit 1 when any bench drifts.
    #[arg(long)]
    fail_on_drift: bool,
    /// Print JSON instead of the table.
    #[arg(long)]
    json: bool,
}

/// Runs the history subcommand.
pub fn execute(args: &HistoryArgs) -> Result<ExitCode, PerfError> {
    match &args.command {
        HistoryCommand::Record(r) => record(&args.db, r),
        HistoryCommand::Trend(t) => trend(&args.db, t),
    }
}

/// Reads and checks every input, then records them as one run.
fn record(db: &Path, args: &RecordArgs) -> Result<ExitCode, PerfError> {
    if args.baseline.is_none() && args.run.is_none() && args.compare.is_none() {
        return Err(PerfError::invalid(
            "history record",
            "nothing to record",
            "--baseline NAME, --run run.json and/or --compare compare.json",
        ));
    }
    let criterion_dir = args
        .criterion_dir
        .clone()
        .unwrap_or_else(default_criterion_dir);
    // Read and check every input before the database is touched.
    let mut metrics = Vec::new();
    let mut fingerprint = None;
    let mut source = Vec::new();
    if let Some(name) = &args.baseline {
        let b = Baseline::read(&criterion_dir, &args.gungraun_dir, name)?;
        metrics.extend(baseline_metrics(&b));
        fingerprint = Fingerprint::load(&criterion_dir, name)?;
        source.push(format!("baseline {name}"));
    }
    let run_machine = match &args.run {
        Some(p) => {
            let r: RunReport = read_document(p, "kmidi-perf/run")?;
            metrics.extend(run_metrics(&r));
            source.push(format!("run {}", p.display()));
            Some(r.machine)
        }
        None => None,
    };
    let verdicts = match &args.compare {
        Some(p) => {
            let c: Comparison = read_document(p, "kmidi-perf/compare")?;
            source.push(format!("compare {}", p.display()));
            if fingerprint.is_none() {
                fingerprint = c.new_fingerprint.clone();
            }
            comparison_verdicts(&c)
        }
        None => Vec::new(),
    };
    let fingerprint = fingerprint.unwrap_or_else(Fingerprint::detect);
    let git_commit = args
        .commit
        .clone()
        .or_else(|| run_machine.as_ref().map(|m| m.git_commit.clone()))
        .unwrap_or_else(|| fingerprint.git_commit.clone());
    let record = RunRecord {
        git_commit,
        recorded_at: rfc3339_now(),
        source: source.join(", "),
        fingerprint: Some(
            serde_json::to_string(&fingerprint)
                .map_err(|e| PerfError::Profiler(format!("cannot encode JSON: {e}")))?,
        ),
        metrics,
        verdicts,
    };
    let mut h = History::open(db)?;
    let id = h.record(&record)?;
    println!(
        "{}: run {id} recorded ({} metrics, {} verdicts, commit {}); {} runs in all",
        db.display(),
        record.metrics.len(),
        record.verdicts.len(),
        &record.git_commit[..record.git_commit.len().min(10)],
        h.runs()?
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints the trends: exit 1 with `--fail-on-drift` when any bench drifts.
fn trend(db: &Path, args: &TrendArgs) -> Result<ExitCode, PerfError> {
    if !(2..=10_000).contains(&args.last) {
        return Err(PerfError::invalid("--last", args.last, "2 to 10000 runs"));
    }
    range("--drift", args.drift, 0.1, 1000.0)?;
    range("--step", args.step, 0.1, 1000.0)?;
    let h = History::open_existing(db)?;
    let ts = trends(
        &h,
        args.bench.as_deref(),
        &args.metric,
        args.last,
        args.drift,
        args.step,
    )?;
    if ts.is_empty() {
        return Err(PerfError::file(
            db,
            format!(
                "no bench{} has metric {:?}",
                args.bench
                    .as_deref()
                    .map(|b| format!(" matching {b:?}"))
                    .unwrap_or_default(),
                args.metric
            ),
        ));
    }
    if args.json {
        let text = serde_json::to_string_pretty(&ts)
            .map_err(|e| PerfError::Profiler(format!("cannot encode JSON: {e}")))?;
        println!("{text}");
    } else {
        print!(
            "{}",
            kmidi_perf::render::trend::table(&ts, &args.metric, args.last)
        );
    }
    let drifting = ts.iter().any(|t| t.slow_drift);
    Ok(if args.fail_on_drift && drifting {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
