//! A/B runs with the process as the unit of evidence.
//!
//! Base and head bench executables are built once (any Criterion 0.5–0.8
//! workspace, with Cargo's `--package`, `--features` and `--bench`), then
//! run as many short processes per side, in ABBA blocks (A B B A, then
//! B A A B, …), so that drift of the machine and any advantage of going
//! first fall on both sides alike. Each process runs every bench still
//! undecided and gives one median per bench; the verdict comes from those
//! per-process medians ([`crate::verdict::processes`]), never from samples
//! pooled within processes, which cannot see the variance between
//! processes.
//!
//! The plan is sequential: a bench is looked at once each side has
//! [`ProcessPlan::looks`] processes, and it stops being measured as soon
//! as its answer is clear (a significant change, an interval inside the
//! reporting floor, or enough power to have seen a change of its
//! threshold with an estimate under the floor). The looks share the
//! false-alarm level (Bonferroni). Within the time budget, undecided
//! benches get more processes, up to [`ProcessPlan::max_processes`] per
//! side.
//!
//! For every regressed bench both builds are then profiled
//! ([`profile::differential_profile`]).

pub mod cargo;
pub mod profile;
pub mod thread_clock;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::baseline::{CriterionBench, read_criterion};
use crate::error::PerfError;
use crate::fingerprint::Fingerprint;
use crate::stats::{median_of, median_standard_error, seed_for};
use crate::verdict::{
    BenchClock, BenchComparison, COMPARE_SCHEMA, COMPARE_VERSION, CompareConfig, Comparison,
    FingerprintCheck, MIN_EFFECT_SHARE, PROCESS_METHOD, SideSamples, StopReason, TARGET_POWER,
    Verdict, WallChange, counted_or_wall, flagged, process_change, sort_benches,
};

pub use cargo::{CargoSelection, CriterionOptions};
pub use profile::differential_flamegraph;

/// One side of an A/B run.
#[derive(Debug, Clone)]
pub struct Side {
    /// The workspace to build (a checkout).
    pub dir: PathBuf,
    /// Extra environment for its runs.
    pub env: Vec<(String, String)>,
}

/// How long each measuring process measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MeasurementTime {
    /// Criterion's options as given ([`AbSpec::criterion`]).
    Given,
    /// Chosen per bench target from one pilot process per side (not part
    /// of the evidence) measured with the given options:
    /// [`measurement_from_pilot`], up to `max_seconds`.
    FromPilot {
        /// The longest measurement time a process may be given, seconds.
        max_seconds: f64,
    },
}

/// The share of the smallest reported change (the bench's floor,
/// [`MIN_EFFECT_SHARE`] × its threshold) that one process's own standard
/// error may reach when the measurement time is chosen from a pilot. At an
/// eighth, the within-process error alone costs little of the power at the
/// first look (8 processes per side): the spread between processes is
/// what the plan should be spending processes on.
pub const WITHIN_PROCESS_ERROR_SHARE: f64 = 0.125;

/// The measurement time for a bench target whose pilot process, measured
/// for `pilot_seconds`, gave each bench's relative standard error of the
/// median and its floor (relative): long enough that every bench's
/// within-process error is at most [`WITHIN_PROCESS_ERROR_SHARE`] of its
/// floor, assuming the error falls as one over the square root of the
/// time; never shorter than the pilot nor longer than `max_seconds`.
pub fn measurement_from_pilot(
    pilot_seconds: f64,
    errors_and_floors: &[(f64, f64)],
    max_seconds: f64,
) -> f64 {
    let worst = errors_and_floors
        .iter()
        .filter(|(_, floor)| *floor > 0.0)
        .map(|(error, floor)| error / (WITHIN_PROCESS_ERROR_SHARE * floor))
        .fold(0.0, f64::max);
    (pilot_seconds * worst * worst).clamp(pilot_seconds, max_seconds.max(pilot_seconds))
}

/// How many processes, and when to look.
#[derive(Debug, Clone)]
pub struct ProcessPlan {
    /// Processes per side before the first look (at least 4; 8 lets the
    /// exact rank test reach the per-look level).
    pub min_processes: usize,
    /// Processes per side at most.
    pub max_processes: usize,
    /// The false-alarm level of one bench's comparison, over all looks.
    pub alpha: f64,
    /// Wall-clock budget for the measuring processes.
    pub budget: Duration,
    /// How long each process measures.
    pub measurement: MeasurementTime,
}

impl Default for ProcessPlan {
    fn default() -> Self {
        Self {
            min_processes: 8,
            max_processes: 32,
            alpha: crate::verdict::DEFAULT_ALPHA,
            budget: Duration::from_secs(20 * 60),
            measurement: MeasurementTime::Given,
        }
    }
}

impl ProcessPlan {
    /// Processes per side at each look: the minimum, then twice the last,
    /// in whole ABBA blocks, up to the maximum. Few looks: each one splits
    /// the false-alarm level further.
    pub fn looks(&self) -> Vec<usize> {
        let mut looks = Vec::new();
        let mut n = self.min_processes.div_ceil(2) * 2;
        while n < self.max_processes {
            looks.push(n);
            n *= 2;
        }
        looks.push(self.max_processes.div_ceil(2) * 2);
        looks
    }

    /// The level each look is held to.
    pub fn alpha_per_look(&self) -> f64 {
        self.alpha / self.looks().len() as f64
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct AbSpec {
    /// The base (A).
    pub base: Side,
    /// The head (B).
    pub head: Side,
    /// What to build.
    pub cargo: CargoSelection,
    /// A Criterion filter (regex) selecting the benches.
    pub filter: Option<String>,
    /// Criterion's options for every process.
    pub criterion: CriterionOptions,
    /// The clock the processes measure with: Criterion's wall time, or the
    /// bench thread's CPU time through a preloaded library
    /// ([`thread_clock`]).
    pub clock: BenchClock,
    /// How many processes, when to look.
    pub plan: ProcessPlan,
    /// Where results, profiles and flamegraphs go.
    pub out: PathBuf,
    /// Seconds each side is profiled for a regressed bench (0: no
    /// differential profiles).
    pub profile_seconds: f64,
    /// Thresholds.
    pub config: CompareConfig,
}

/// The base and head executables of one bench target, and Criterion's
/// options for its processes.
struct Target {
    base: PathBuf,
    head: PathBuf,
    criterion: CriterionOptions,
}

/// One bench's evidence so far.
struct BenchState {
    target: usize,
    base: SideSamples,
    new: SideSamples,
    latest: Option<CriterionBench>,
    decided: Option<WallChange>,
}

#[derive(Clone, Copy, PartialEq)]
enum Which {
    Base,
    Head,
}

/// ABBA, then BAAB: each block gives every side two processes and goes
/// first and last once each.
fn block_order(block: usize) -> [Which; 4] {
    use Which::{Base, Head};
    if block.is_multiple_of(2) {
        [Base, Head, Head, Base]
    } else {
        [Head, Base, Base, Head]
    }
}

/// The target directory one checkout builds in, when it is not cargo's
/// default. Two checkouts of one package in one shared `CARGO_TARGET_DIR`
/// build to the same files, and cargo, which leaves the checkout's path out
/// when it decides what is fresh, then calls the second build fresh: its
/// executable is the first checkout's. So with a shared directory (and no
/// single build), each checkout builds in `<shared>/kmidi-ab/<checkout>`,
/// named by a hash of its path, and keeps it from run to run. Code
/// alignment changes every crate's flags, so it gets directories of its
/// own (`kmidi-ab-aligned`), next to the checkout's `target/` when nothing
/// is shared.
fn target_dir(checkout: &Path, single_build: bool, align_code: bool) -> Option<PathBuf> {
    let shared = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from);
    let leaf = if align_code {
        "kmidi-ab-aligned"
    } else {
        "kmidi-ab"
    };
    let path = checkout
        .canonicalize()
        .unwrap_or_else(|_| checkout.to_path_buf());
    match shared {
        Some(t) if !single_build || align_code => Some(
            t.join(leaf)
                .join(format!("{:016x}", seed_for(&path.to_string_lossy()))),
        ),
        Some(_) => None,
        None if align_code => Some(path.join("target").join(leaf)),
        None => None,
    }
}

/// Decides a bench at a look, or leaves it for more processes.
fn look(
    id: &str,
    s: &BenchState,
    spec: &AbSpec,
    alpha: f64,
    final_reason: Option<StopReason>,
) -> Option<WallChange> {
    let t = spec.config.thresholds(id);
    let mut w = process_change(
        &s.base,
        &s.new,
        spec.clock,
        alpha,
        t.wall_percent,
        seed_for(id),
    );
    let p = w.processes.as_mut()?;
    let stop = stop_reason(
        w.change_percent,
        w.ci_percent,
        p.p_value,
        p.power,
        alpha,
        t.wall_percent,
    )
    .or(final_reason);
    p.stopped = stop?;
    Some(w)
}

/// Why a bench stops at a look, or `None` to give it more processes: a
/// significant change of at least the reporting floor (half the
/// threshold); an interval inside ± the floor; or no significance with
/// the power to see a change of the threshold and an estimate under the
/// floor. An estimate at or above the floor that is not yet significant
/// is measured on: the power was reckoned for the threshold, and an
/// estimate as large as it (a 17% slowdown at p = 0.0047 against a look's
/// 0.0033, in CI) is no evidence that nothing changed.
fn stop_reason(
    change_percent: f64,
    ci_percent: (f64, f64),
    p_value: f64,
    power: f64,
    alpha: f64,
    wall_percent: f64,
) -> Option<StopReason> {
    let floor = wall_percent * MIN_EFFECT_SHARE;
    if flagged(change_percent, p_value, alpha, wall_percent).is_some() {
        Some(StopReason::Significant)
    } else if ci_percent.0 > -floor && ci_percent.1 < floor {
        Some(StopReason::IntervalInsideFloor)
    } else if p_value >= alpha && power >= TARGET_POWER && change_percent.abs() < floor {
        Some(StopReason::PowerReached)
    } else {
        None
    }
}

/// One measuring process; `label` names its Criterion home.
fn run_one(
    spec: &AbSpec,
    which: Which,
    target: &Target,
    label: &str,
    ids: &[&str],
    preload: Option<&Path>,
) -> Result<(BTreeMap<String, CriterionBench>, f64), PerfError> {
    let (side, exe, tag) = match which {
        Which::Base => (&spec.base, &target.base, 'a'),
        Which::Head => (&spec.head, &target.head, 'b'),
    };
    let home = spec.out.join("criterion").join(format!("{tag}-{label}"));
    let cpu_share = cargo::run_process(exe, side, &target.criterion, &home, ids, preload)?;
    Ok((read_criterion(&home, cargo::PROCESS_BASELINE)?, cpu_share))
}

/// Runs the process-level A/B comparison and judges every bench.
///
/// # Errors
/// [`PerfError`] when a build or a bench run fails, when the plan is
/// invalid, or when the filter selects no bench.
pub fn run_ab(spec: &AbSpec) -> Result<Comparison, PerfError> {
    let plan = &spec.plan;
    if plan.min_processes < 4 || plan.max_processes < plan.min_processes {
        return Err(PerfError::invalid(
            "--min-processes/--max-processes",
            format!("{}/{}", plan.min_processes, plan.max_processes),
            "at least 4 processes per side before the first look, and a maximum not below it",
        ));
    }
    for old in ["criterion", "bin"].map(|d| spec.out.join(d)) {
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| PerfError::caused(&old, e))?;
        }
    }
    let bin = spec.out.join("bin");
    let same_build = spec.base.dir.canonicalize().ok() == spec.head.dir.canonicalize().ok();
    let base_exes = cargo::build(
        &spec.base.dir,
        &spec.cargo,
        &bin.join("a"),
        target_dir(&spec.base.dir, same_build, spec.cargo.align_code).as_deref(),
    )?;
    let head_exes = if same_build {
        base_exes.clone()
    } else {
        cargo::build(
            &spec.head.dir,
            &spec.cargo,
            &bin.join("b"),
            target_dir(&spec.head.dir, same_build, spec.cargo.align_code).as_deref(),
        )?
    };
    let preload = match spec.clock {
        BenchClock::Wall => None,
        BenchClock::ThreadCpu => {
            eprintln!("ab: building the thread-clock preload library");
            Some(thread_clock::build(&spec.out.join("thread-clock"))?)
        }
    };
    let root = spec.out.join("criterion");
    let listing = root.join("list");
    let mut targets = Vec::new();
    let mut states: BTreeMap<String, BenchState> = BTreeMap::new();
    for (name, a) in &base_exes {
        let Some(b) = head_exes.get(name) else {
            eprintln!("ab: bench target {name} is only in the base build; skipped");
            continue;
        };
        let in_base = cargo::list_benches(a, &spec.base, spec, &listing)?;
        let in_head = cargo::list_benches(b, &spec.head, spec, &listing)?;
        let both: Vec<String> = in_base
            .into_iter()
            .filter(|id| in_head.contains(id))
            .collect();
        if both.is_empty() {
            continue;
        }
        for id in both {
            states.insert(
                id,
                BenchState {
                    target: targets.len(),
                    base: SideSamples::default(),
                    new: SideSamples::default(),
                    latest: None,
                    decided: None,
                },
            );
        }
        targets.push(Target {
            base: a.clone(),
            head: b.clone(),
            criterion: spec.criterion.clone(),
        });
    }
    if states.is_empty() {
        return Err(PerfError::invalid(
            "--filter",
            spec.filter.as_deref().unwrap_or("(none)"),
            "a Criterion filter matching at least one bench in both builds",
        ));
    }
    if let MeasurementTime::FromPilot { max_seconds } = plan.measurement {
        for (t, target) in targets.iter_mut().enumerate() {
            let ids: Vec<&str> = states
                .iter()
                .filter(|(_, s)| s.target == t)
                .map(|(id, _)| id.as_str())
                .collect();
            let mut errors_and_floors = Vec::new();
            for which in [Which::Base, Which::Head] {
                let (results, _) = run_one(
                    spec,
                    which,
                    target,
                    &format!("pilot-{t}"),
                    &ids,
                    preload.as_deref(),
                )?;
                for (id, r) in results.iter().filter(|(id, _)| ids.contains(&id.as_str())) {
                    let floor = spec.config.thresholds(id).wall_percent * MIN_EFFECT_SHARE / 100.0;
                    errors_and_floors.push((median_standard_error(&r.samples_ns), floor));
                }
            }
            let pilot = spec.criterion.measurement_seconds;
            target.criterion.measurement_seconds =
                measurement_from_pilot(pilot, &errors_and_floors, max_seconds);
            eprintln!(
                "ab: {}: {:.2} s of measurement per process (pilot at {pilot} s)",
                target
                    .base
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                target.criterion.measurement_seconds
            );
        }
    }
    let looks = plan.looks();
    let alpha = plan.alpha_per_look();
    eprintln!(
        "ab: {} benches; looks at {:?} processes per side, each at level {alpha:.1e}; budget {} s",
        states.len(),
        looks,
        plan.budget.as_secs()
    );
    let started = Instant::now();
    let mut count = [0usize; 2];
    let mut block = 0;
    loop {
        for which in block_order(block) {
            let slot = usize::from(which == Which::Head);
            for (t, target) in targets.iter().enumerate() {
                let ids: Vec<&str> = states
                    .iter()
                    .filter(|(_, s)| s.target == t && s.decided.is_none())
                    .map(|(id, _)| id.as_str())
                    .collect();
                if ids.is_empty() {
                    continue;
                }
                let exe = if which == Which::Base {
                    &target.base
                } else {
                    &target.head
                };
                let label = format!("{:04}", count[slot]);
                let (results, cpu_share) =
                    run_one(spec, which, target, &label, &ids, preload.as_deref())?;
                let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
                for id in ids {
                    let Some(r) = results.get(&id) else {
                        return Err(PerfError::file(
                            exe,
                            format!("the process gave no result for {id}"),
                        ));
                    };
                    let s = states
                        .get_mut(&id)
                        .ok_or_else(|| PerfError::file(exe, format!("unexpected bench {id}")))?;
                    let side = if which == Which::Base {
                        &mut s.base
                    } else {
                        s.latest = Some(r.clone());
                        &mut s.new
                    };
                    side.medians_ns.push(median_of(&r.samples_ns));
                    side.errors.push(median_standard_error(&r.samples_ns));
                    side.cpu_shares.push(cpu_share);
                }
            }
            count[slot] += 1;
        }
        block += 1;
        let n = count[0].min(count[1]);
        let elapsed = started.elapsed();
        let per_block = elapsed / block as u32;
        let out_of_time = elapsed + per_block > plan.budget;
        let last = n >= *looks.last().unwrap_or(&n);
        let final_reason = if last {
            Some(StopReason::ProcessLimit)
        } else if out_of_time {
            Some(StopReason::TimeBudget)
        } else {
            None
        };
        if looks.contains(&n) || final_reason.is_some() {
            for (id, s) in states.iter_mut().filter(|(_, s)| s.decided.is_none()) {
                s.decided = look(id, s, spec, alpha, final_reason);
            }
        }
        let open = states.values().filter(|s| s.decided.is_none()).count();
        eprintln!(
            "ab: {n}+{n} processes, {} of {} benches decided, {:.0} s of {} s",
            states.len() - open,
            states.len(),
            elapsed.as_secs_f64(),
            plan.budget.as_secs()
        );
        if open == 0 {
            break;
        }
    }
    let mut benches: Vec<BenchComparison> = Vec::new();
    for (id, s) in &states {
        let Some(wall) = s.decided.clone() else {
            continue;
        };
        benches.push(counted_or_wall(
            id,
            Some(wall),
            None,
            None,
            &spec.config,
            s.latest.as_ref(),
        ));
    }
    if spec.profile_seconds > 0.0 {
        for bench in benches
            .iter_mut()
            .filter(|b| b.verdict == Verdict::Regressed)
        {
            let Some(s) = states.get(&bench.id) else {
                continue;
            };
            let target = &targets[s.target];
            let rel = s
                .latest
                .as_ref()
                .and_then(|l| l.bench_dir.strip_prefix(&root).ok())
                // Under the process's own home (`b-0007/`): the bench's
                // path inside any Criterion home.
                .map(|p| p.iter().skip(1).collect::<PathBuf>())
                .unwrap_or_default();
            eprintln!("ab: profiling {} in both builds", bench.id);
            match profile::differential_profile(spec, &target.base, &target.head, &bench.id, &rel) {
                Ok(svg) => bench.diff_flamegraph = Some(svg),
                Err(e) => eprintln!("ab: no differential profile for {}: {e}", bench.id),
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
        method: PROCESS_METHOD.into(),
        benches,
        only_in_base: Vec::new(),
        only_in_new: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_estimate_short_of_significance_is_measured_on() {
        let alpha = 0.01 / 3.0;
        // The CI run that stopped too soon: +17.3%, p 0.0047, power 1.
        assert_eq!(
            stop_reason(17.3, (7.6, 18.7), 0.0047, 1.0, alpha, 10.0),
            None
        );
        // Significant and past the floor: regressed, stop.
        assert_eq!(
            stop_reason(11.4, (7.8, 18.2), 1.6e-4, 1.0, alpha, 10.0),
            Some(StopReason::Significant)
        );
        // Small estimate with the power to see 10%: unchanged, stop.
        assert_eq!(
            stop_reason(-2.1, (-7.2, -0.1), 0.017, 1.0, alpha, 10.0),
            Some(StopReason::PowerReached)
        );
        // Without the power, a small estimate waits for more processes.
        assert_eq!(stop_reason(-2.1, (-7.2, 6.0), 0.3, 0.5, alpha, 10.0), None);
        // An interval inside ± half the threshold stops whatever the power.
        assert_eq!(
            stop_reason(0.1, (-1.6, 0.8), 0.61, 0.2, alpha, 10.0),
            Some(StopReason::IntervalInsideFloor)
        );
        // Significant but under the floor is not a verdict.
        assert_eq!(stop_reason(3.0, (2.0, 7.0), 1e-4, 1.0, alpha, 10.0), None);
    }

    #[test]
    fn looks_double_in_whole_blocks() {
        let plan = ProcessPlan::default();
        assert_eq!(plan.looks(), vec![8, 16, 32]);
        assert!((plan.alpha_per_look() - 0.01 / 3.0).abs() < 1e-12);
        let small = ProcessPlan {
            min_processes: 4,
            max_processes: 4,
            ..ProcessPlan::default()
        };
        assert_eq!(small.looks(), vec![4]);
    }

    #[test]
    fn the_pilot_buys_time_only_where_a_process_is_too_noisy() {
        // Floor 5%: one process's error may be 0.625%.
        let quiet = [(0.001, 0.05), (0.003, 0.05)];
        assert_eq!(measurement_from_pilot(0.4, &quiet, 4.0), 0.4);
        // 1.25%, twice the allowance: four times the time.
        let noisy = [(0.001, 0.05), (0.0125, 0.05)];
        assert!((measurement_from_pilot(0.4, &noisy, 4.0) - 1.6).abs() < 1e-9);
        // Never past the cap, and a tighter threshold asks for more.
        assert_eq!(measurement_from_pilot(0.4, &[(0.05, 0.05)], 4.0), 4.0);
        assert!(
            measurement_from_pilot(0.4, &[(0.004, 0.025)], 4.0)
                > measurement_from_pilot(0.4, &[(0.004, 0.05)], 4.0)
        );
    }

    #[test]
    fn blocks_alternate_abba_and_baab() {
        use Which::{Base, Head};
        assert!(block_order(0) == [Base, Head, Head, Base]);
        assert!(block_order(1) == [Head, Base, Base, Head]);
    }
}
