//! `kmidi-perf ab`: build base and head once, run them interleaved and
//! judge.

use std::path::PathBuf;
use std::process::ExitCode;

use kmidi_perf::PerfError;
use kmidi_perf::ab::{AbSpec, Side, run_ab};

use super::args::range;
use super::output::{VerdictOutput, load_config};

/// `kmidi-perf ab`'s arguments.
#[derive(clap::Args, Clone)]
pub struct AbArgs {
    /// The base checkout (A).
    #[arg(long, default_value = ".")]
    base_dir: PathBuf,
    /// The head checkout (B).
    #[arg(long, default_value = ".")]
    head_dir: PathBuf,
    /// Environment for the base runs, KEY=VALUE (repeatable).
    #[arg(long)]
    base_env: Vec<String>,
    /// Environment for the head runs, KEY=VALUE (repeatable).
    #[arg(long)]
    head_env: Vec<String>,
    /// Bench targets to build and run, comma-separated (e.g. canary,dsp;
    /// default: all).
    #[arg(long, value_delimiter = ',')]
    benches: Vec<String>,
    /// Criterion filter (regex) selecting the benches.
    #[arg(long)]
    filter: Option<String>,
    /// Rounds of A and B, in alternating order (2 to 50); a regression must be beyond the
    /// threshold in every round.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Quick suite settings (0.1 s warm-up, 0.3 s measurement, 10 samples).
    #[arg(long)]
    quick: bool,
    /// Seconds to profile each side of a regressed bench for its
    /// differential flamegraph (0: none).
    #[arg(long, default_value_t = 3.0)]
    profile_seconds: f64,
    /// Output directory.
    #[arg(long, default_value = "target/kmidi-perf/ab")]
    out: PathBuf,
    #[command(flatten)]
    output: VerdictOutput,
}

/// `KEY=VALUE` pairs.
fn parse_env(list: &[String]) -> Result<Vec<(String, String)>, PerfError> {
    list.iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(PerfError::invalid("--base-env/--head-env", kv, "KEY=VALUE")),
        })
        .collect()
}

/// Runs both sides interleaved and prints the verdicts: exit 1 on any
/// regression.
pub fn execute(args: &AbArgs) -> Result<ExitCode, PerfError> {
    range("--profile-seconds", args.profile_seconds, 0.0, 60.0)?;
    for dir in [&args.base_dir, &args.head_dir] {
        if !dir.join("Cargo.toml").is_file() {
            return Err(PerfError::file(
                dir,
                "not a Cargo workspace (no Cargo.toml)",
            ));
        }
    }
    let spec = AbSpec {
        base: Side {
            dir: args.base_dir.clone(),
            env: parse_env(&args.base_env)?,
        },
        head: Side {
            dir: args.head_dir.clone(),
            env: parse_env(&args.head_env)?,
        },
        targets: args.benches.clone(),
        filter: args.filter.clone(),
        rounds: args.rounds,
        quick: args.quick,
        out: std::path::absolute(&args.out).map_err(|e| PerfError::caused(&args.out, e))?,
        profile_seconds: args.profile_seconds,
        config: load_config(args.output.config.as_deref())?,
    };
    let c = run_ab(&spec)?;
    args.output.emit(&c, &spec.out.join("criterion"))
}
