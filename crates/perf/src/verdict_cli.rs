//! The verdict commands of the `kmidi-perf` binary: `compare`, `ab`,
//! `fingerprint`, `history` and `report`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kmidi_perf::ab::{AbSpec, Side, run_ab};
use kmidi_perf::baseline::{Baseline, read_gungraun};
use kmidi_perf::compare::{
    CompareConfig, CompareOptions, Comparison, FingerprintCheck, compare, markdown, sort_benches,
    table,
};
use kmidi_perf::fingerprint::Fingerprint;
use kmidi_perf::{PerfError, write_atomic};

/// Output options shared by `compare` and `ab`.
#[derive(clap::Args, Clone)]
pub struct VerdictOutput {
    /// Print Markdown for a pull-request comment instead of the table.
    #[arg(long, conflicts_with = "json")]
    pub markdown: bool,
    /// Print JSON (schema kmidi-perf/compare) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON to this file (atomically).
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Also write the Markdown to this file (atomically).
    #[arg(long)]
    pub save_markdown: Option<PathBuf>,
    /// URL prefix for report and flamegraph links in the Markdown (where
    /// the Criterion directory is published); default: local paths.
    #[arg(long)]
    pub link_base: Option<String>,
    /// Per-bench thresholds (default: perf-compare.toml if present).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// `$CRITERION_HOME`, else `target/criterion`.
pub fn default_criterion_dir() -> PathBuf {
    std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

fn load_config(path: Option<&Path>) -> Result<CompareConfig, PerfError> {
    match path {
        Some(p) => CompareConfig::from_file(p),
        None => {
            let local = Path::new("perf-compare.toml");
            if local.is_file() {
                CompareConfig::from_file(local)
            } else {
                Ok(CompareConfig::default())
            }
        }
    }
}

fn emit(c: &Comparison, out: &VerdictOutput, criterion_dir: &Path) -> Result<ExitCode, PerfError> {
    let json = serde_json::to_string_pretty(c).expect("plain data serializes");
    let md = markdown(c, criterion_dir, out.link_base.as_deref());
    if let Some(p) = &out.save {
        write_atomic(p, json.as_bytes())?;
    }
    if let Some(p) = &out.save_markdown {
        write_atomic(p, md.as_bytes())?;
    }
    if out.json {
        println!("{json}");
    } else if out.markdown {
        print!("{md}");
    } else {
        print!("{}", table(c));
    }
    Ok(if c.regressed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `kmidi-perf compare <base> <new>`.
#[allow(clippy::too_many_arguments)]
pub fn cmd_compare(
    base: &str,
    new: &str,
    criterion_dir: Option<PathBuf>,
    gungraun_dir: &Path,
    allow_missing: bool,
    allow_mismatch: bool,
    wall_from: Option<&Path>,
    out: &VerdictOutput,
) -> Result<ExitCode, PerfError> {
    let criterion_dir = criterion_dir.unwrap_or_else(default_criterion_dir);
    let config = load_config(out.config.as_deref())?;
    let interleaved = match wall_from {
        Some(p) => {
            let ab: Comparison = read_document(p, "kmidi-perf/compare")?;
            if ab.method != "interleaved" {
                return Err(PerfError::file(
                    p,
                    format!(
                        "method {:?}: --wall-from takes the JSON of kmidi-perf ab --save",
                        ab.method
                    ),
                ));
            }
            Some(ab)
        }
        None => None,
    };
    let options = CompareOptions {
        config,
        allow_missing,
    };
    let c = match &interleaved {
        // Wall time comes from the interleaved run; the baselines give the
        // instruction and allocation counts.
        Some(ab) => {
            let a = Baseline {
                name: base.into(),
                wall: Default::default(),
                counted: read_gungraun(gungraun_dir, base)?,
            };
            let b = Baseline {
                name: new.into(),
                wall: Default::default(),
                counted: read_gungraun(gungraun_dir, new)?,
            };
            let mut c = if a.is_empty() && b.is_empty() {
                ab.clone()
            } else {
                let mut c = compare(&a, &b, None, None, &options)?;
                c.benches.extend(ab.benches.iter().cloned());
                c
            };
            // Both sides of an interleaved run ran on this one machine.
            c.base = base.into();
            c.new = new.into();
            c.fingerprint = ab.fingerprint.clone();
            c.base_fingerprint = ab.base_fingerprint.clone();
            c.new_fingerprint = ab.new_fingerprint.clone();
            c.method = "interleaved".into();
            sort_benches(&mut c.benches);
            c
        }
        None => {
            let a = Baseline::read(&criterion_dir, gungraun_dir, base)?;
            let b = Baseline::read(&criterion_dir, gungraun_dir, new)?;
            let fa = Fingerprint::load(&criterion_dir, base)?;
            let fb = Fingerprint::load(&criterion_dir, new)?;
            compare(&a, &b, fa, fb, &options)?
        }
    };

    if let FingerprintCheck::Mismatch { differences } = &c.fingerprint
        && !allow_mismatch
    {
        return Err(PerfError::invalid(
            "fingerprints",
            format!(
                "{} vs {}: {}",
                Fingerprint::path(&criterion_dir, base).display(),
                Fingerprint::path(&criterion_dir, new).display(),
                differences.join("; ")
            ),
            "baselines from the same kind of machine; pass --allow-mismatch to compare anyway, marked UNTRUSTED",
        ));
    }
    if let Some(w) = c.fingerprint_warning() {
        eprintln!("kmidi-perf: {w}");
    }
    emit(&c, out, &criterion_dir)
}

fn parse_env(list: &[String]) -> Result<Vec<(String, String)>, PerfError> {
    list.iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(PerfError::invalid("--base-env/--head-env", kv, "KEY=VALUE")),
        })
        .collect()
}

/// Arguments of `kmidi-perf ab`.
#[derive(clap::Args, Clone)]
pub struct AbArgs {
    /// The base checkout (A).
    #[arg(long, default_value = ".")]
    pub base_dir: PathBuf,
    /// The head checkout (B).
    #[arg(long, default_value = ".")]
    pub head_dir: PathBuf,
    /// Environment for the base runs, KEY=VALUE (repeatable).
    #[arg(long)]
    pub base_env: Vec<String>,
    /// Environment for the head runs, KEY=VALUE (repeatable).
    #[arg(long)]
    pub head_env: Vec<String>,
    /// Bench targets to build and run, comma-separated (e.g. canary,dsp;
    /// default: all).
    #[arg(long, value_delimiter = ',')]
    pub benches: Vec<String>,
    /// Criterion filter (regex) selecting the benches.
    #[arg(long)]
    pub filter: Option<String>,
    /// Rounds of A and B, in alternating order (2 to 50); a regression must be beyond the
    /// threshold in every round.
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
    /// Quick suite settings (0.1 s warm-up, 0.3 s measurement, 10 samples).
    #[arg(long)]
    pub quick: bool,
    /// Seconds to profile each side of a regressed bench for its
    /// differential flamegraph (0: none).
    #[arg(long, default_value_t = 3.0)]
    pub profile_seconds: f64,
    /// Output directory.
    #[arg(long, default_value = "target/kmidi-perf/ab")]
    pub out: PathBuf,
}

/// `kmidi-perf ab`.
pub fn cmd_ab(args: &AbArgs, out: &VerdictOutput) -> Result<ExitCode, PerfError> {
    crate::range("--profile-seconds", args.profile_seconds, 0.0, 60.0)?;
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
        config: load_config(out.config.as_deref())?,
    };
    let c = run_ab(&spec)?;
    emit(&c, out, &spec.out.join("criterion"))
}

/// `kmidi-perf fingerprint <baseline>`.
pub fn cmd_fingerprint(name: &str, criterion_dir: Option<PathBuf>) -> Result<ExitCode, PerfError> {
    if name.is_empty() || name.contains(['/', '\\']) {
        return Err(PerfError::invalid(
            "baseline",
            name,
            "a plain baseline name",
        ));
    }
    let dir = criterion_dir.unwrap_or_else(default_criterion_dir);
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

/// Where `kmidi-perf iai` reads and writes.
#[derive(clap::Args, Clone)]
pub struct IaiArgs {
    /// gungraun's summaries of the last `iai` bench run.
    #[arg(long, default_value = "target/gungraun/kmidi-benches/iai")]
    pub summaries: PathBuf,
    /// The committed instruction counts.
    #[arg(long, default_value = "benches/iai-baseline.json")]
    pub baseline: PathBuf,
    /// Per-bench thresholds (default: perf-compare.toml if present).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// `kmidi-perf iai`: the instruction-count gate, or `--update` to rewrite
/// the baseline (keeping its other fields).
pub fn cmd_iai(args: &IaiArgs, update: bool) -> Result<ExitCode, PerfError> {
    use kmidi_perf::fingerprint::rustc_on_path;
    use kmidi_perf::instructions::{IaiBaseline, check, read_counts};
    let now = read_counts(&args.summaries)?;
    let rustc = rustc_on_path();
    if update {
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

/// `kmidi-perf summary`: a Criterion run as DSP load.
pub fn cmd_summary(name: &str, criterion_dir: Option<PathBuf>) -> Result<ExitCode, PerfError> {
    let dir = criterion_dir.unwrap_or_else(default_criterion_dir);
    let rows = kmidi_perf::summary::load_summary(&dir, name)?;
    print!("{}", kmidi_perf::summary::table(&rows, name));
    Ok(ExitCode::SUCCESS)
}

/// `kmidi-perf history` subcommands.
#[derive(clap::Subcommand, Clone)]
pub enum HistoryCommand {
    /// Store a baseline's metrics, a run's deadline figures and a
    /// comparison's verdicts as one run (one transaction).
    Record {
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
    },
    /// One metric per bench over the last runs, with sparklines and drift.
    Trend {
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
        #[arg(long, default_value_t = 5.0)]
        drift: f64,
        /// A single step beyond this is a step change, not a drift, %.
        #[arg(long, default_value_t = 10.0)]
        step: f64,
        /// Exit 1 when any bench drifts.
        #[arg(long)]
        fail_on_drift: bool,
        /// Print JSON instead of the table.
        #[arg(long)]
        json: bool,
    },
}

fn read_document<T: for<'de> serde::Deserialize<'de>>(
    path: &Path,
    schema: &str,
) -> Result<T, PerfError> {
    let text = std::fs::read_to_string(path).map_err(|e| PerfError::caused(path, e))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| PerfError::file(path, format!("not JSON: {e}")))?;
    if v["schema"] != schema {
        return Err(PerfError::file(
            path,
            format!("schema {}: expected {schema}", v["schema"]),
        ));
    }
    serde_json::from_value(v).map_err(|e| {
        PerfError::file(
            path,
            format!("not a {schema} document this kmidi-perf reads: {e}"),
        )
    })
}

/// `kmidi-perf history ...`.
pub fn cmd_history(db: &Path, command: &HistoryCommand) -> Result<ExitCode, PerfError> {
    use kmidi_perf::history::{
        History, RunRecord, baseline_metrics, comparison_verdicts, run_metrics, sparkline, trends,
    };
    match command {
        HistoryCommand::Record {
            baseline,
            run,
            compare,
            commit,
            criterion_dir,
            gungraun_dir,
        } => {
            if baseline.is_none() && run.is_none() && compare.is_none() {
                return Err(PerfError::invalid(
                    "history record",
                    "nothing to record",
                    "--baseline NAME, --run run.json and/or --compare compare.json",
                ));
            }
            let criterion_dir = criterion_dir.clone().unwrap_or_else(default_criterion_dir);
            // Read and check every input before the database is touched.
            let mut metrics = Vec::new();
            let mut fingerprint = None;
            let mut source = Vec::new();
            if let Some(name) = baseline {
                let b = Baseline::read(&criterion_dir, gungraun_dir, name)?;
                metrics.extend(baseline_metrics(&b));
                fingerprint = Fingerprint::load(&criterion_dir, name)?;
                source.push(format!("baseline {name}"));
            }
            let run_machine = match run {
                Some(p) => {
                    let r: kmidi_perf::report::RunReport = read_document(p, "kmidi-perf/run")?;
                    metrics.extend(run_metrics(&r));
                    source.push(format!("run {}", p.display()));
                    Some(r.machine)
                }
                None => None,
            };
            let verdicts = match compare {
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
            let git_commit = commit
                .clone()
                .or_else(|| run_machine.as_ref().map(|m| m.git_commit.clone()))
                .unwrap_or_else(|| fingerprint.git_commit.clone());
            let record = RunRecord {
                git_commit,
                recorded_at: kmidi_perf::machine::rfc3339_now(),
                source: source.join(", "),
                fingerprint: Some(
                    serde_json::to_string(&fingerprint).expect("plain data serializes"),
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
        HistoryCommand::Trend {
            bench,
            metric,
            last,
            drift,
            step,
            fail_on_drift,
            json,
        } => {
            if !(2..=10_000).contains(last) {
                return Err(PerfError::invalid("--last", last, "2 to 10000 runs"));
            }
            crate::range("--drift", *drift, 0.1, 1000.0)?;
            crate::range("--step", *step, 0.1, 1000.0)?;
            let h = History::open_existing(db)?;
            let ts = trends(&h, bench.as_deref(), metric, *last, *drift, *step)?;
            if ts.is_empty() {
                return Err(PerfError::file(
                    db,
                    format!(
                        "no bench{} has metric {metric:?}",
                        bench
                            .as_deref()
                            .map(|b| format!(" matching {b:?}"))
                            .unwrap_or_default()
                    ),
                ));
            }
            let drifting = ts.iter().filter(|t| t.slow_drift).count();
            if *json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&ts).expect("plain data serializes")
                );
            } else {
                let width = ts.iter().map(|t| t.bench.len()).max().unwrap_or(5);
                println!(
                    "{metric} over the last {last} runs ({} benches, {drifting} drifting)",
                    ts.len()
                );
                println!(
                    "{:<width$}  {:<20}  {:>5}  {:>8}  {:>8}  flag",
                    "bench", "trend", "runs", "fitted", "step"
                );
                for t in &ts {
                    let xs: Vec<f64> = t.points.iter().map(|p| p.value).collect();
                    let flag = if t.slow_drift {
                        format!("SLOW DRIFT (p = {:.4})", t.trend_p_value)
                    } else if t.step_change {
                        "step".into()
                    } else {
                        String::new()
                    };
                    let spark: String = sparkline(&xs);
                    println!(
                        "{:<width$}  {:<20}  {:>5}  {:>+7.1}%  {:>+7.1}%  {flag}",
                        t.bench,
                        spark
                            .chars()
                            .rev()
                            .take(20)
                            .collect::<Vec<_>>()
                            .into_iter()
                            .rev()
                            .collect::<String>(),
                        xs.len(),
                        t.fitted_change_percent,
                        t.largest_step_percent
                    );
                }
            }
            Ok(if *fail_on_drift && drifting > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

/// Arguments of `kmidi-perf report`.
#[derive(clap::Args, Clone)]
pub struct ReportArgs {
    /// A `compare --json` (or `ab --json`) file.
    #[arg(long)]
    pub compare: Option<PathBuf>,
    /// A `run --json` file.
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// A history file for the trends.
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// The metric whose trends are drawn.
    #[arg(long, default_value = "wall_median_ns")]
    pub metric: String,
    /// How many of the latest runs the trends cover.
    #[arg(long, default_value_t = 30)]
    pub last: usize,
    /// Criterion's directory, for links (default: $CRITERION_HOME or target/criterion).
    #[arg(long)]
    pub criterion_dir: Option<PathBuf>,
    /// The HTML file to write (atomically).
    #[arg(long, default_value = "target/kmidi-perf/report.html")]
    pub out: PathBuf,
}

/// `kmidi-perf report`.
pub fn cmd_report(args: &ReportArgs) -> Result<ExitCode, PerfError> {
    use kmidi_perf::html::{ReportInputs, render};
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
        .map(|p| read_document::<kmidi_perf::report::RunReport>(p, "kmidi-perf/run"))
        .transpose()?;
    let trends = match &args.history {
        Some(db) => {
            let h = kmidi_perf::history::History::open_existing(db)?;
            kmidi_perf::history::trends(&h, None, &args.metric, args.last, 5.0, 10.0)?
        }
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
