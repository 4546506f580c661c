//! `kmidi-perf ab`: build base and head once, run each as many short
//! processes in ABBA blocks, and judge on per-process medians.

use std::path::PathBuf;
use std::process::ExitCode;

use kmidi_perf::PerfError;
use kmidi_perf::ab::{
    AbSpec, CargoSelection, CriterionOptions, MeasurementTime, ProcessPlan, Side, run_ab,
};
use kmidi_perf::verdict::BenchClock;

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
    /// Bench targets to build and run, comma-separated (Cargo's `--bench`;
    /// default: all).
    #[arg(long = "bench", alias = "benches", value_delimiter = ',')]
    benches: Vec<String>,
    /// Packages whose benches to build (Cargo's `--package`, repeatable;
    /// default: the whole workspace).
    #[arg(long = "package", short = 'p')]
    packages: Vec<String>,
    /// Cargo features to enable in both builds, comma-separated (e.g.
    /// rubato's bench_asyncro).
    #[arg(long, value_delimiter = ',')]
    features: Vec<String>,
    /// Criterion filter (regex) selecting the benches.
    #[arg(long)]
    filter: Option<String>,
    /// Build both sides with functions aligned to 64 bytes and jump
    /// targets to 32, so a change in one function does not move the code
    /// alignment of the others (a separate build directory).
    #[arg(long)]
    align_code: bool,
    /// The clock the processes measure with: wall (Criterion's own) or
    /// thread-cpu (the bench thread's CPU time, through a preloaded
    /// clock_gettime; the bench code is unchanged). thread-cpu does not
    /// count time other tenants held the CPU: use it on a shared runner.
    #[arg(long, value_enum, default_value_t = BenchClock::Wall)]
    clock: BenchClock,
    /// Criterion's --warm-up-time for each process, seconds.
    #[arg(long, default_value_t = 0.2)]
    warm_up_time: f64,
    /// Criterion's --measurement-time for each process, seconds; or
    /// `auto`: one pilot process per side and bench target (not evidence),
    /// measured for 0.4 s (0.1 with --quick), chooses each target's time so
    /// that a process's own error stays under an eighth of the smallest
    /// change reported, up to --max-measurement-time.
    #[arg(long, default_value = "0.4")]
    measurement_time: MeasurementArg,
    /// The longest measurement time `--measurement-time auto` may choose,
    /// seconds.
    #[arg(long, default_value_t = 4.0)]
    max_measurement_time: f64,
    /// Criterion's --sample-size for each process (at least 10).
    #[arg(long, default_value_t = 10)]
    sample_size: usize,
    /// Any further argument for every bench executable, passed as it is
    /// (repeatable), e.g. --criterion-arg=--noise-threshold=0.05.
    #[arg(long, allow_hyphen_values = true)]
    criterion_arg: Vec<String>,
    /// Processes per side before the first look.
    #[arg(long, default_value_t = 8)]
    min_processes: usize,
    /// Processes per side at most.
    #[arg(long, default_value_t = 32)]
    max_processes: usize,
    /// Minutes the measuring processes may take; undecided benches are
    /// judged on what they have when it runs out.
    #[arg(long, default_value_t = 20.0)]
    budget_minutes: f64,
    /// Quick settings: 0.05 s warm-up and 0.1 s measurement per process.
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

/// `--measurement-time`: seconds, or `auto`.
#[derive(Clone, Copy, Debug)]
enum MeasurementArg {
    Auto,
    Seconds(f64),
}

impl std::str::FromStr for MeasurementArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(Self::Auto);
        }
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map(Self::Seconds)
            .ok_or_else(|| format!("`{s}` is neither seconds (e.g. 0.4) nor `auto`"))
    }
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

/// Runs both sides as short processes in ABBA blocks and prints the
/// verdicts: exit 1 on any regression.
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
    range("--budget-minutes", args.budget_minutes, 0.1, 24.0 * 60.0)?;
    range("--warm-up-time", args.warm_up_time, 0.0, 600.0)?;
    let (measurement_seconds, measurement) = match args.measurement_time {
        MeasurementArg::Seconds(t) => {
            range("--measurement-time", t, 0.01, 600.0)?;
            (t, MeasurementTime::Given)
        }
        MeasurementArg::Auto => {
            range(
                "--max-measurement-time",
                args.max_measurement_time,
                0.1,
                600.0,
            )?;
            (
                if args.quick { 0.1 } else { 0.4 },
                MeasurementTime::FromPilot {
                    max_seconds: args.max_measurement_time,
                },
            )
        }
    };
    if args.sample_size < 10 {
        return Err(PerfError::invalid(
            "--sample-size",
            args.sample_size,
            "at least 10 (Criterion's minimum)",
        ));
    }
    let criterion = if args.quick {
        CriterionOptions {
            warm_up_seconds: 0.05,
            measurement_seconds: 0.1,
            sample_size: args.sample_size,
            extra: args.criterion_arg.clone(),
        }
    } else {
        CriterionOptions {
            warm_up_seconds: args.warm_up_time,
            measurement_seconds,
            sample_size: args.sample_size,
            extra: args.criterion_arg.clone(),
        }
    };
    let spec = AbSpec {
        base: Side {
            dir: args.base_dir.clone(),
            env: parse_env(&args.base_env)?,
        },
        head: Side {
            dir: args.head_dir.clone(),
            env: parse_env(&args.head_env)?,
        },
        cargo: CargoSelection {
            packages: args.packages.clone(),
            features: args.features.clone(),
            targets: args.benches.clone(),
            align_code: args.align_code,
        },
        filter: args.filter.clone(),
        criterion,
        clock: args.clock,
        plan: ProcessPlan {
            min_processes: args.min_processes,
            max_processes: args.max_processes,
            alpha: kmidi_perf::verdict::DEFAULT_ALPHA,
            budget: std::time::Duration::from_secs_f64(args.budget_minutes * 60.0),
            measurement,
        },
        out: std::path::absolute(&args.out).map_err(|e| PerfError::caused(&args.out, e))?,
        profile_seconds: args.profile_seconds,
        config: load_config(args.output.config.as_deref())?,
    };
    let c = run_ab(&spec)?;
    args.output.emit(&c, &spec.out.join("criterion"))
}
