//! `kmidi-perf fingerprint <baseline>`: save this machine's fingerprint
//! beside a baseline.

use std::path::PathBuf;
use std::process::ExitCode;

use kmidi_perf::PerfError;
use kmidi_perf::fingerprint::Fingerprint;

use super::output::default_criterion_dir;

/// `kmidi-perf fingerprint`'s arguments.
#[derive(clap::Args, Clone)]
pub struct FingerprintArgs {
    /// The baseline name.
    baseline: String,
    /// Criterion's directory (default: $CRITERION_HOME or target/criterion).
    #[arg(long)]
    criterion_dir: Option<PathBuf>,
}

/// Detects and saves the fingerprint.
pub fn execute(args: &FingerprintArgs) -> Result<ExitCode, PerfError> {
    let name = args.baseline.as_str();
    if name.is_empty() || name.contains(['/', '\\']) {
        return Err(PerfError::invalid(
            "baseline",
            name,
            "a plain baseline name",
        ));
    }
    let dir = args
        .criterion_dir
        .clone()
        .unwrap_or_else(default_criterion_dir);
    let fp = Fingerprint::detect();
    let path = fp.save(&dir, name)?;
    println!(
        "{}: {} ({} CPUs), {}, calibration loop {:.0} µs",
        path.display(),
        fp.cpu_model,
        fp.logical_cpus,
        fp.rustc,
        fp.calibration_ns / 1e3
    );
    Ok(ExitCode::SUCCESS)
}
