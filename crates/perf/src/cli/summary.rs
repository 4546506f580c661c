//! `kmidi-perf summary`: a Criterion run's process benches as median and
//! DSP load.

use std::path::PathBuf;
use std::process::ExitCode;

use kmidi_perf::PerfError;
use kmidi_perf::summary::{load_summary, table};

use super::output::default_criterion_dir;

/// `kmidi-perf summary`'s arguments.
#[derive(clap::Args, Clone)]
pub struct SummaryArgs {
    /// The Criterion baseline (default: new, the last run).
    #[arg(default_value = "new")]
    baseline: String,
    /// Criterion's directory (default: $CRITERION_HOME or target/criterion).
    #[arg(long)]
    criterion_dir: Option<PathBuf>,
}

/// Prints the summary table.
pub fn execute(args: &SummaryArgs) -> Result<ExitCode, PerfError> {
    let dir = args
        .criterion_dir
        .clone()
        .unwrap_or_else(default_criterion_dir);
    let rows = load_summary(&dir, &args.baseline)?;
    print!("{}", table(&rows, &args.baseline));
    Ok(ExitCode::SUCCESS)
}
