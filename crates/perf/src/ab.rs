//! Interleaved A/B runs: base and head bench binaries built once, then run
//! alternately on one machine (A B, B A, A B, …), so that drift of the
//! machine (another tenant, thermal state, frequency) falls on both sides
//! alike, and so does any advantage of running first or second.
//!
//! Each round runs every bench executable of the base build and the same
//! executable of the head build back to back (in alternating order), with Criterion saving the results as
//! baselines `ab-a-<round>` and `ab-b-<round>` under
//! `<out>/criterion`. A bench's wall-time change is judged on the pooled
//! samples of all rounds, and a regression must also have the same sign in
//! every round ([`crate::verdict::judge`]). The two sides can be two
//! checkouts (`--base-dir`), or one build run with two environments
//! (`--base-env`/`--head-env`), which is how the canary bench's known
//! slowdown is injected.
//!
//! For every regressed bench both builds are then profiled with pprof
//! (Criterion's `--profile-time`), and the two folded stack files are
//! turned into a differential flamegraph with inferno: red frames grew,
//! blue ones shrank.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::baseline::{CriterionBench, read_criterion};
use crate::error::PerfError;
use crate::fingerprint::Fingerprint;
use crate::stats::{median_of, seed_for};
use crate::verdict::{
    BenchComparison, COMPARE_SCHEMA, COMPARE_VERSION, CompareConfig, Comparison, FingerprintCheck,
    Verdict, WallChange, counted_or_wall, sort_benches,
};

/// One side of an A/B run.
#[derive(Debug, Clone)]
pub struct Side {
    /// The workspace to build (a checkout).
    pub dir: PathBuf,
    /// Extra environment for its runs.
    pub env: Vec<(String, String)>,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct AbSpec {
    /// The base (A).
    pub base: Side,
    /// The head (B).
    pub head: Side,
    /// Bench targets to build and run (Cargo `--bench` names); empty:
    /// every bench target of the workspace.
    pub targets: Vec<String>,
    /// A Criterion filter (regex) selecting the benches.
    pub filter: Option<String>,
    /// Rounds of A and B, in alternating order (2 to 50).
    pub rounds: usize,
    /// Use the quick suite settings (`KMIDI_BENCH_QUICK=1`).
    pub quick: bool,
    /// Where results, profiles and flamegraphs go.
    pub out: PathBuf,
    /// Seconds each side is profiled for a regressed bench (0: no
    /// differential flamegraphs).
    pub profile_seconds: f64,
    /// Thresholds.
    pub config: CompareConfig,
}

/// A bench executable of one build, by Cargo target name.
type Executables = BTreeMap<String, PathBuf>;

fn build(dir: &Path, targets: &[String]) -> Result<Executables, PerfError> {
    eprintln!("ab: building the benches of {} once", dir.display());
    let mut args = vec!["bench", "--workspace", "--no-run", "--message-format=json"];
    for t in targets {
        args.extend(["--bench", t.as_str()]);
    }
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(&args)
        .current_dir(dir)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| PerfError::file(dir, format!("cannot run cargo: {e}")))?;
    if !out.status.success() {
        return Err(PerfError::file(
            dir,
            format!("cargo bench --no-run failed ({})", out.status),
        ));
    }
    let mut exes = Executables::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let is_bench = v["reason"] == "compiler-artifact"
            && v["target"]["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bench"));
        if let (true, Some(exe), Some(name)) = (
            is_bench,
            v["executable"].as_str(),
            v["target"]["name"].as_str(),
        ) {
            exes.insert(name.to_string(), PathBuf::from(exe));
        }
    }
    if exes.is_empty() {
        return Err(PerfError::file(dir, "cargo built no bench executable"));
    }
    Ok(exes)
}

fn bench_command(exe: &Path, side: &Side, spec: &AbSpec, home: &Path) -> Command {
    let mut c = Command::new(exe);
    c.current_dir(&side.dir)
        .env("CRITERION_HOME", home)
        .stdin(Stdio::null());
    if spec.quick {
        c.env("KMIDI_BENCH_QUICK", "1");
    }
    for (k, v) in &side.env {
        c.env(k, v);
    }
    c
}

/// The Criterion baseline of one side's round. Both sides' names have the
/// same length on purpose: the name is an argument and a heap string in
/// the bench process, and a one-byte difference shifted the stack and heap
/// layout enough to make one build run 15-47% slower than itself on some
/// benches, in both rounds, whatever the order (the first counterbalanced
/// A/A run, with `ab-base-0` against `ab-new-0`).
fn side_baseline(side: char, round: usize) -> String {
    format!("ab-{side}-{round:02}")
}

/// [`bench_command`] with `args` and then the spec's Criterion filter.
fn filtered_command(exe: &Path, side: &Side, spec: &AbSpec, home: &Path, args: &[&str]) -> Command {
    let mut c = bench_command(exe, side, spec, home);
    c.args(args);
    if let Some(f) = &spec.filter {
        c.arg(f);
    }
    c
}

fn list_benches(
    exe: &Path,
    side: &Side,
    spec: &AbSpec,
    home: &Path,
) -> Result<Vec<String>, PerfError> {
    let out = filtered_command(exe, side, spec, home, &["--bench", "--list"])
        .stderr(Stdio::null())
        .output()
        .map_err(|e| PerfError::file(exe, format!("cannot run: {e}")))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": benchmark"))
        .map(str::to_string)
        .collect())
}

fn run_side(
    exe: &Path,
    side: &Side,
    spec: &AbSpec,
    home: &Path,
    baseline: &str,
) -> Result<(), PerfError> {
    let out = filtered_command(
        exe,
        side,
        spec,
        home,
        &["--bench", "--save-baseline", baseline],
    )
    .stdout(Stdio::null())
    .output()
    .map_err(|e| PerfError::file(exe, format!("cannot run: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(PerfError::file(
            exe,
            format!("bench run failed ({}): {last}", out.status),
        ));
    }
    Ok(())
}

fn pooled(runs: &[&CriterionBench]) -> Vec<f64> {
    runs.iter()
        .flat_map(|b| b.samples_ns.iter().copied())
        .collect()
}

/// Writes a differential flamegraph of `before` → `after` folded stacks.
///
/// # Errors
/// [`PerfError::File`] naming the file that could not be read or written.
pub fn differential_flamegraph(
    before: &Path,
    after: &Path,
    out: &Path,
    title: &str,
) -> Result<(), PerfError> {
    for p in [before, after] {
        if !p.is_file() {
            return Err(PerfError::file(
                p,
                "no folded stacks here (was the bench profiled?)",
            ));
        }
    }
    let mut diff = Vec::new();
    inferno::differential::from_files(
        inferno::differential::Options::default(),
        before,
        after,
        &mut diff,
    )
    .map_err(|e| PerfError::file(after, format!("cannot diff the stacks: {e}")))?;
    if diff.is_empty() {
        return Err(PerfError::file(after, "both profiles are empty"));
    }
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_string();
    options.subtitle = Some("red: more samples in the new build, blue: fewer".into());
    let mut svg = Vec::new();
    inferno::flamegraph::from_reader(&mut options, diff.as_slice(), &mut svg)
        .map_err(|e| PerfError::file(out, format!("cannot draw the flamegraph: {e}")))?;
    crate::write_atomic(out, &svg)
}

fn profile_side(
    exe: &Path,
    side: &Side,
    spec: &AbSpec,
    home: &Path,
    id: &str,
) -> Result<(), PerfError> {
    let mut c = bench_command(exe, side, spec, home);
    let exact = format!("{:.1}", spec.profile_seconds);
    c.args(["--bench", "--profile-time", &exact, "--exact", id]);
    let out = c
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| PerfError::file(exe, format!("cannot run: {e}")))?;
    if !out.success() {
        return Err(PerfError::file(
            exe,
            format!("profiling {id} failed ({out})"),
        ));
    }
    Ok(())
}

/// Runs the interleaved A/B comparison and judges every bench.
///
/// # Errors
/// [`PerfError`] when a build or a bench run fails, or when the filter
/// selects no bench.
pub fn run_ab(spec: &AbSpec) -> Result<Comparison, PerfError> {
    if !(2..=50).contains(&spec.rounds) {
        return Err(PerfError::invalid(
            "--rounds",
            spec.rounds,
            "2 to 50 (sign agreement needs at least two)",
        ));
    }
    let base_exes = build(&spec.base.dir, &spec.targets)?;
    let same_build = spec.base.dir.canonicalize().ok() == spec.head.dir.canonicalize().ok();
    let head_exes = if same_build {
        base_exes.clone()
    } else {
        build(&spec.head.dir, &spec.targets)?
    };
    let home = spec.out.join("criterion");
    if home.exists() {
        std::fs::remove_dir_all(&home).map_err(|e| PerfError::caused(&home, e))?;
    }
    let mut pairs = Vec::new();
    for (name, a) in &base_exes {
        let Some(b) = head_exes.get(name) else {
            eprintln!("ab: bench target {name} is only in the base build; skipped");
            continue;
        };
        let ids = list_benches(a, &spec.base, spec, &home)?;
        if !ids.is_empty() && !list_benches(b, &spec.head, spec, &home)?.is_empty() {
            pairs.push((name.clone(), a.clone(), b.clone(), ids));
        }
    }
    if pairs.is_empty() {
        return Err(PerfError::invalid(
            "--filter",
            spec.filter.as_deref().unwrap_or("(none)"),
            "a Criterion filter matching at least one bench in both builds",
        ));
    }
    for round in 0..spec.rounds {
        for (name, a, b, _) in &pairs {
            let (base_run, new_run) = (side_baseline('a', round), side_baseline('b', round));
            // Counterbalanced: A B in even rounds, B A in odd ones, so an
            // effect of going first or second (caches, clock boost, the
            // previous process) falls on each side once and the rounds
            // disagree instead of confirming it.
            if round % 2 == 0 {
                eprintln!("ab: round {}/{}: {name} A then B", round + 1, spec.rounds);
                run_side(a, &spec.base, spec, &home, &base_run)?;
                run_side(b, &spec.head, spec, &home, &new_run)?;
            } else {
                eprintln!("ab: round {}/{}: {name} B then A", round + 1, spec.rounds);
                run_side(b, &spec.head, spec, &home, &new_run)?;
                run_side(a, &spec.base, spec, &home, &base_run)?;
            }
        }
    }
    let mut base_rounds = Vec::new();
    let mut new_rounds = Vec::new();
    for round in 0..spec.rounds {
        base_rounds.push(read_criterion(&home, &side_baseline('a', round))?);
        new_rounds.push(read_criterion(&home, &side_baseline('b', round))?);
    }
    let mut benches: Vec<BenchComparison> = Vec::new();
    for (id, first) in &base_rounds[0] {
        let a: Vec<&CriterionBench> = base_rounds.iter().filter_map(|r| r.get(id)).collect();
        let b: Vec<&CriterionBench> = new_rounds.iter().filter_map(|r| r.get(id)).collect();
        if a.len() != spec.rounds || b.len() != spec.rounds {
            continue;
        }
        let (pa, pb) = (pooled(&a), pooled(&b));
        let mut wall =
            WallChange::from_samples(&pa, &pb, median_of(&pa), median_of(&pb), seed_for(id));
        wall.rounds_percent = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (median_of(&y.samples_ns) / median_of(&x.samples_ns) - 1.0) * 100.0)
            .collect();
        let mut latest = (*b[b.len() - 1]).clone();
        latest.has_throughput = first.has_throughput;
        benches.push(counted_or_wall(
            id,
            Some(wall),
            None,
            None,
            &spec.config,
            Some(&latest),
        ));
    }
    if spec.profile_seconds > 0.0 {
        for bench in benches
            .iter_mut()
            .filter(|b| b.verdict == Verdict::Regressed)
        {
            let Some((_, a, b, _)) = pairs.iter().find(|p| p.3.contains(&bench.id)) else {
                continue;
            };
            let rel = base_rounds[0][&bench.id]
                .bench_dir
                .strip_prefix(&home)
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let (pa, pb) = (spec.out.join("profile-base"), spec.out.join("profile-new"));
            eprintln!("ab: profiling {} in both builds", bench.id);
            profile_side(a, &spec.base, spec, &pa, &bench.id)?;
            profile_side(b, &spec.head, spec, &pb, &bench.id)?;
            let out = spec.out.join("diff").join(&rel).join("diff-flamegraph.svg");
            let before = pa.join(&rel).join("profile").join("stacks.folded");
            let after = pb.join(&rel).join("profile").join("stacks.folded");
            match differential_flamegraph(
                &before,
                &after,
                &out,
                &format!("{}: base → head", bench.id),
            ) {
                Ok(()) => bench.diff_flamegraph = Some(out),
                Err(e) => eprintln!("ab: no differential flamegraph for {}: {e}", bench.id),
            }
        }
    }
    sort_benches(&mut benches);
    let fp = Fingerprint::detect();
    let describe = |s: &Side| {
        let mut d = s.dir.display().to_string();
        for (k, v) in &s.env {
            d.push_str(&format!(" {k}={v}"));
        }
        d
    };
    Ok(Comparison {
        schema: COMPARE_SCHEMA.into(),
        schema_version: COMPARE_VERSION,
        base: describe(&spec.base),
        new: describe(&spec.head),
        base_fingerprint: Some(fp.clone()),
        new_fingerprint: Some(fp),
        fingerprint: FingerprintCheck::Match,
        method: "interleaved".into(),
        benches,
        only_in_base: Vec::new(),
        only_in_new: Vec::new(),
    })
}
