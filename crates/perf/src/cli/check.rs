//! `kmidi-perf check`: measure each hot path and judge it against the
//! targets file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::ProgressBar;
use kmidi_perf::PerfError;
use kmidi_perf::machine::Machine;
use kmidi_perf::report::{CheckReport, SCHEMA_VERSION, check_table};
use kmidi_perf::targets::{CheckBudget, Outcome, TargetsFile, check};

use super::args::range;
use super::output::emit_json;

/// `kmidi-perf check`'s arguments.
#[derive(clap::Args, Clone)]
pub struct CheckArgs {
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
}

/// `perf-targets.toml` here, else the workspace's.
fn default_targets() -> PathBuf {
    let local = PathBuf::from("perf-targets.toml");
    if local.is_file() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../perf-targets.toml")
}

/// Measures and judges every target: exit 1 on any FAIL.
pub fn execute(args: &CheckArgs) -> Result<ExitCode, PerfError> {
    range("--seconds", args.seconds, 0.05, 60.0)?;
    let path = args.targets.clone().unwrap_or_else(default_targets);
    let file = TargetsFile::load(&path)?;
    let machine = Machine::detect();
    let pb = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    let budget = CheckBudget {
        seconds: args.seconds,
    };
    let (results, scale) = check(&file, budget, args.unscaled, &mut |w| {
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
    if !args.json {
        print!("{}", check_table(&report));
    }
    emit_json(args.json, args.save.as_deref(), &report)?;
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
