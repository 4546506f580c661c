//! `kmidi-perf iai`: the instruction-count gate, or `--update` to rewrite
//! its baseline.

use std::path::PathBuf;
use std::process::ExitCode;

use kmidi_perf::PerfError;
use kmidi_perf::fingerprint::rustc_on_path;
use kmidi_perf::instructions::{IaiBaseline, check, read_counts};

use super::output::load_config;

/// `kmidi-perf iai`'s arguments.
#[derive(clap::Args, Clone)]
pub struct IaiArgs {
    /// gungraun's summaries of the last `iai` bench run.
    #[arg(long, default_value = "target/gungraun/kmidi-benches/iai")]
    summaries: PathBuf,
    /// The committed instruction counts.
    #[arg(long, default_value = "benches/iai-baseline.json")]
    baseline: PathBuf,
    /// Per-bench thresholds (default: perf-compare.toml if present).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Rewrite the baseline from the last run instead of checking it.
    #[arg(long)]
    update: bool,
}

/// Gates the last run against the baseline (exit 1 on a regression, a new
/// or a missing bench), or rewrites the baseline keeping its other fields.
pub fn execute(args: &IaiArgs) -> Result<ExitCode, PerfError> {
    let now = read_counts(&args.summaries)?;
    let rustc = rustc_on_path();
    if args.update {
        let counts = now
            .iter()
            .map(|(k, b)| (k.clone(), b.instructions))
            .collect();
        let base = match IaiBaseline::read(&args.baseline) {
            Ok(mut old) => {
                old.benchmarks = counts;
                old.rustc = Some(rustc);
                old
            }
            Err(_) if !args.baseline.exists() => IaiBaseline::new(counts, &rustc),
            Err(e) => return Err(e),
        };
        base.write(&args.baseline)?;
        println!(
            "iai: wrote {} counts to {}",
            base.benchmarks.len(),
            args.baseline.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let base = IaiBaseline::read(&args.baseline)?;
    if let Some(old) = base.rustc.as_deref().filter(|r| *r != rustc) {
        eprintln!(
            "iai: warning: the baseline was recorded with {old}, this is {rustc}; counts move with the toolchain"
        );
    }
    let config = load_config(args.config.as_deref())?;
    let gate = check(&now, &base, &config);
    print!("{}", gate.table());
    Ok(if gate.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
