//! `kmidi-perf report`: one self-contained HTML report of verdicts,
//! deadlines and trends.

use std::path::PathBuf;
use std::process::ExitCode;

use kmidi_perf::compare::Comparison;
use kmidi_perf::history::{History, trends};
use kmidi_perf::html::{ReportInputs, render};
use kmidi_perf::report::RunReport;
use kmidi_perf::stats::{DEFAULT_DRIFT_PERCENT, DEFAULT_STEP_PERCENT};
use kmidi_perf::{PerfError, write_atomic};

use super::output::{default_criterion_dir, read_document};

/// `kmidi-perf report`'s arguments.
#[derive(clap::Args, Clone)]
pub struct ReportArgs {
    /// A `compare --json` (or `ab --json`) file.
    #[arg(long)]
    compare: Option<PathBuf>,
    /// A `run --json` file.
    #[arg(long)]
    run: Option<PathBuf>,
    /// A history file for the trends.
    #[arg(long)]
    history: Option<PathBuf>,
    /// The metric whose trends are drawn.
    #[arg(long, default_value = "wall_median_ns")]
    metric: String,
    /// How many of the latest runs the trends cover.
    #[arg(long, default_value_t = 30)]
    last: usize,
    /// Criterion's directory, for links (default: $CRITERION_HOME or target/criterion).
    #[arg(long)]
    criterion_dir: Option<PathBuf>,
    /// The HTML file to write (atomically).
    #[arg(long, default_value = "target/kmidi-perf/report.html")]
    out: PathBuf,
}

/// Reads every input, renders the report and writes it.
pub fn execute(args: &ReportArgs) -> Result<ExitCode, PerfError> {
    let start = std::time::Instant::now();
    if !(2..=10_000).contains(&args.last) {
        return Err(PerfError::invalid("--last", args.last, "2 to 10000 runs"));
    }
    let comparison = args
        .compare
        .as_deref()
        .map(|p| read_document::<Comparison>(p, "kmidi-perf/compare"))
        .transpose()?;
    let run = args
        .run
        .as_deref()
        .map(|p| read_document::<RunReport>(p, "kmidi-perf/run"))
        .transpose()?;
    let trends = match &args.history {
        Some(db) => trends(
            &History::open_existing(db)?,
            None,
            &args.metric,
            args.last,
            DEFAULT_DRIFT_PERCENT,
            DEFAULT_STEP_PERCENT,
        )?,
        None => Vec::new(),
    };
    let inputs = ReportInputs {
        comparison,
        run,
        trends,
        criterion_dir: Some(
            args.criterion_dir
                .clone()
                .unwrap_or_else(default_criterion_dir),
        ),
    };
    let html = render(&inputs, &args.out)?;
    write_atomic(&args.out, html.as_bytes())?;
    let abs = std::path::absolute(&args.out).unwrap_or_else(|_| args.out.clone());
    println!(
        "report: file://{} ({} KB in {:.2} s)",
        abs.display(),
        html.len() / 1024,
        start.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
