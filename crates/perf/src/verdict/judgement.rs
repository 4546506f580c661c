//! The judge: one verdict per bench from its wall time, instruction count
//! and heap blocks against its thresholds, and the comparison of two
//! baselines (or of a process-level A/B run) with the machines' fingerprints.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::baseline::{Baseline, CountedBench, CriterionBench};
use crate::error::PerfError;
use crate::fingerprint::Fingerprint;
use crate::realtime::BLOCK_PERIOD_NS;
use crate::stats::{median_change, seed_for};
use crate::verdict::thresholds::{CompareConfig, Thresholds};

/// Schema tag of `compare --json`.
pub const COMPARE_SCHEMA: &str = "kmidi-perf/compare";
/// Version of [`COMPARE_SCHEMA`].
pub const COMPARE_VERSION: u32 = 1;

/// The three verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// A signal got worse beyond its threshold.
    Regressed,
    /// A signal got better beyond its threshold and none got worse.
    Improved,
    /// Within thresholds, or not significant.
    Unchanged,
}

impl Verdict {
    /// The word used in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
        }
    }
}

/// A wall-time change between two sample sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WallChange {
    /// Base median, ns per iteration.
    pub base_ns: f64,
    /// New median, ns per iteration.
    pub new_ns: f64,
    /// Change of the median, percent.
    pub change_percent: f64,
    /// 95% bootstrap interval of the change, percent.
    pub ci_percent: (f64, f64),
    /// Process-level runs (`ab`): the per-process evidence; then the
    /// medians above are the geometric means of the fastest half of the per-process medians,
    /// and the change and its interval are theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<crate::verdict::processes::ProcessEvidence>,
}

/// A change in a count (instructions or heap blocks).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CountChange {
    /// Base count.
    pub base: u64,
    /// New count.
    pub new: u64,
    /// Change, percent (0 when both are 0; 100 per block from 0).
    pub change_percent: f64,
}

impl CountChange {
    /// The change from `base` to `new`.
    pub fn new(base: u64, new: u64) -> Self {
        let change_percent = if base == 0 {
            if new == 0 { 0.0 } else { 100.0 * new as f64 }
        } else {
            (new as f64 / base as f64 - 1.0) * 100.0
        };
        Self {
            base,
            new,
            change_percent,
        }
    }
}

impl WallChange {
    /// The change from `base` to `new` samples (ns per iteration), with a
    /// percentile-bootstrap 95% interval of the ratio of medians
    /// ([`crate::stats::median_change`]). `base_ns` and `new_ns` are the
    /// medians to report (Criterion's estimates).
    pub fn from_samples(base: &[f64], new: &[f64], base_ns: f64, new_ns: f64, seed: u64) -> Self {
        let (change_percent, ci_percent) = median_change(base, new, seed);
        Self {
            base_ns,
            new_ns,
            change_percent,
            ci_percent,
            processes: None,
        }
    }
}

/// Judges one bench from its signals. Returns the verdict and one reason
/// per signal that moved beyond its threshold.
pub fn judge(
    wall: Option<&WallChange>,
    instructions: Option<&CountChange>,
    allocations: Option<&CountChange>,
    t: &Thresholds,
) -> (Verdict, Vec<String>) {
    let mut worse = Vec::new();
    let mut better = Vec::new();
    if let Some(w) = wall {
        let (lo, hi) = w.ci_percent;
        if let Some(p) = &w.processes {
            let text = format!(
                "wall time {:+.1}% [{:+.1}%, {:+.1}%] over {}+{} processes, permutation p = {:.2e} (level {:.1e}, power {:.0}%){}",
                w.change_percent,
                lo,
                hi,
                p.base_medians_ns.len(),
                p.new_medians_ns.len(),
                p.p_value,
                p.alpha,
                p.power * 100.0,
                if p.unstable() {
                    format!("; unstable: {}", p.modes_text())
                } else {
                    String::new()
                }
            );
            match crate::verdict::processes::flagged(
                w.change_percent,
                p.p_value,
                p.alpha,
                t.wall_percent,
            ) {
                Some(true) => worse.push(format!(
                    "{text} ≥ {}%",
                    t.wall_percent * crate::verdict::processes::MIN_EFFECT_SHARE
                )),
                Some(false) => better.push(text),
                None => {}
            }
        } else {
            let text = format!(
                "wall time {:+.1}% [{:+.1}%, {:+.1}%]",
                w.change_percent, lo, hi
            );
            if w.change_percent > t.wall_percent && lo > 0.0 {
                worse.push(format!("{text} > {}%", t.wall_percent));
            } else if w.change_percent < -t.wall_percent && hi < 0.0 {
                better.push(text);
            }
        }
    }
    if let Some(c) = instructions {
        let text = format!(
            "instructions {:+.2}% ({} -> {})",
            c.change_percent, c.base, c.new
        );
        if c.change_percent > t.instructions_percent {
            worse.push(format!("{text} > {}%", t.instructions_percent));
        } else if c.change_percent < -t.instructions_percent {
            better.push(text);
        }
    }
    if let Some(c) = allocations {
        let text = format!("heap blocks {} -> {}", c.base, c.new);
        if c.new > c.base.saturating_add(t.extra_allocations) {
            worse.push(text);
        } else if c.new < c.base {
            better.push(text);
        }
    }
    if !worse.is_empty() {
        (Verdict::Regressed, worse)
    } else if !better.is_empty() {
        (Verdict::Improved, better)
    } else {
        (Verdict::Unchanged, Vec::new())
    }
}

/// One bench's comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchComparison {
    /// Criterion `full_id` or `iai/<group>/<function>.<id>`.
    pub id: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, one entry per signal beyond its threshold.
    pub reasons: Vec<String>,
    /// The thresholds applied.
    pub thresholds: Thresholds,
    /// Wall time, for Criterion benches.
    pub wall: Option<WallChange>,
    /// Instruction count, for gungraun benches.
    pub instructions: Option<CountChange>,
    /// Heap blocks, for gungraun benches run with DHAT.
    pub allocations: Option<CountChange>,
    /// DSP load at 48 kHz / 512 (median ÷ 10.667 ms), base and new, percent,
    /// for per-block process benches (those declaring a throughput).
    pub dsp_load_percent: Option<(f64, f64)>,
    /// Criterion's HTML report of the bench, when it exists.
    pub report: Option<PathBuf>,
    /// The bench's flamegraph (`--profile-time`), when one exists.
    pub flamegraph: Option<PathBuf>,
    /// Differential flamegraph base → new, when captured.
    pub diff_flamegraph: Option<PathBuf>,
}

/// Whether the two baselines were measured on the same kind of machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum FingerprintCheck {
    /// Both fingerprints exist and match.
    Match,
    /// They differ: the comparison is untrusted.
    Mismatch {
        /// What differs.
        differences: Vec<String>,
    },
    /// One or both baselines have no fingerprint: unverified.
    Unknown {
        /// The baselines without one.
        missing: Vec<String>,
    },
}

/// A whole comparison, as `compare --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Always [`COMPARE_SCHEMA`].
    pub schema: String,
    /// Always [`COMPARE_VERSION`].
    pub schema_version: u32,
    /// Base baseline name.
    pub base: String,
    /// New baseline name.
    pub new: String,
    /// Base fingerprint, when saved.
    pub base_fingerprint: Option<Fingerprint>,
    /// New fingerprint, when saved.
    pub new_fingerprint: Option<Fingerprint>,
    /// The fingerprint check.
    pub fingerprint: FingerprintCheck,
    /// How the wall times were measured: `baselines`, or `processes`
    /// ([`crate::verdict::PROCESS_METHOD`], `kmidi-perf ab`).
    pub method: String,
    /// Every bench in both, regressions first.
    pub benches: Vec<BenchComparison>,
    /// Benches only the base has (allowed with `--allow-missing`).
    pub only_in_base: Vec<String>,
    /// Benches only the new baseline has.
    pub only_in_new: Vec<String>,
}

/// Options of [`compare`].
#[derive(Debug, Clone, Default)]
pub struct CompareOptions {
    /// Thresholds per bench.
    pub config: CompareConfig,
    /// Compare even when the bench sets differ (the extra benches are
    /// listed, not judged).
    pub allow_missing: bool,
}

fn flamegraph_of(bench: &CriterionBench) -> Option<PathBuf> {
    let p = bench.bench_dir.join("profile").join("flamegraph.svg");
    p.is_file().then_some(p)
}

fn report_of(bench: &CriterionBench) -> Option<PathBuf> {
    let p = bench.bench_dir.join("report").join("index.html");
    p.is_file().then_some(p)
}

fn wall_bench(
    id: &str,
    b: &CriterionBench,
    n: &CriterionBench,
    config: &CompareConfig,
) -> BenchComparison {
    let wall = WallChange::from_samples(
        &b.samples_ns,
        &n.samples_ns,
        b.median_ns,
        n.median_ns,
        seed_for(id),
    );
    counted_or_wall(id, Some(wall), None, None, config, Some(n))
}

fn counted_bench(
    id: &str,
    b: &CountedBench,
    n: &CountedBench,
    config: &CompareConfig,
) -> BenchComparison {
    let instructions = CountChange::new(b.instructions, n.instructions);
    let allocations = match (b.allocations, n.allocations) {
        (Some(x), Some(y)) => Some(CountChange::new(x, y)),
        _ => None,
    };
    counted_or_wall(id, None, Some(instructions), allocations, config, None)
}

/// Builds one bench's comparison from whichever signals it has.
pub fn counted_or_wall(
    id: &str,
    wall: Option<WallChange>,
    instructions: Option<CountChange>,
    allocations: Option<CountChange>,
    config: &CompareConfig,
    criterion: Option<&CriterionBench>,
) -> BenchComparison {
    let thresholds = config.thresholds(id);
    let (verdict, reasons) = judge(
        wall.as_ref(),
        instructions.as_ref(),
        allocations.as_ref(),
        &thresholds,
    );
    let dsp_load_percent = criterion
        .filter(|c| c.has_throughput)
        .and(wall.as_ref())
        .map(|w| {
            (
                w.base_ns / BLOCK_PERIOD_NS * 100.0,
                w.new_ns / BLOCK_PERIOD_NS * 100.0,
            )
        });
    BenchComparison {
        id: id.to_string(),
        verdict,
        reasons,
        thresholds,
        wall,
        instructions,
        allocations,
        dsp_load_percent,
        report: criterion.and_then(report_of),
        flamegraph: criterion.and_then(flamegraph_of),
        diff_flamegraph: None,
    }
}

/// The fingerprint check of two baselines.
pub fn check_fingerprints(
    base: &str,
    base_fp: Option<&Fingerprint>,
    new: &str,
    new_fp: Option<&Fingerprint>,
) -> FingerprintCheck {
    match (base_fp, new_fp) {
        (Some(a), Some(b)) => {
            let differences = a.differences(b);
            if differences.is_empty() {
                FingerprintCheck::Match
            } else {
                FingerprintCheck::Mismatch { differences }
            }
        }
        _ => FingerprintCheck::Unknown {
            missing: [(base, base_fp), (new, new_fp)]
                .into_iter()
                .filter(|(_, f)| f.is_none())
                .map(|(n, _)| n.to_string())
                .collect(),
        },
    }
}

/// Sorts regressions first, then improvements, then the rest, by id.
pub fn sort_benches(benches: &mut [BenchComparison]) {
    benches.sort_by(|a, b| a.verdict.cmp(&b.verdict).then_with(|| a.id.cmp(&b.id)));
}

/// Compares two baselines read with [`Baseline::read`].
///
/// # Errors
/// [`PerfError::Invalid`] when the bench sets differ and
/// `allow_missing` is off (the message names the first bench missing and
/// where it is saved), or when no bench is in both.
pub fn compare(
    base: &Baseline,
    new: &Baseline,
    base_fp: Option<Fingerprint>,
    new_fp: Option<Fingerprint>,
    options: &CompareOptions,
) -> Result<Comparison, PerfError> {
    let base_ids: BTreeSet<&String> = base.wall.keys().chain(base.counted.keys()).collect();
    let new_ids: BTreeSet<&String> = new.wall.keys().chain(new.counted.keys()).collect();
    let only_in_base: Vec<String> = base_ids
        .difference(&new_ids)
        .map(|s| s.to_string())
        .collect();
    let only_in_new: Vec<String> = new_ids
        .difference(&base_ids)
        .map(|s| s.to_string())
        .collect();
    let where_saved = |b: &Baseline, id: &str| {
        b.wall
            .get(id)
            .map(|c| c.dir.display().to_string())
            .or_else(|| b.counted.get(id).map(|c| c.file.display().to_string()))
            .unwrap_or_default()
    };
    if !options.allow_missing && (!only_in_base.is_empty() || !only_in_new.is_empty()) {
        let (side, other, first, count) = if let Some(f) = only_in_base.first() {
            (base, &new.name, f, only_in_base.len())
        } else {
            (new, &base.name, &only_in_new[0], only_in_new.len())
        };
        return Err(PerfError::invalid(
            "bench sets",
            format!(
                "{count} bench(es) of {:?} are not in {other:?}, first {first} ({})",
                side.name,
                where_saved(side, first)
            ),
            "the same benches in both baselines (run the same suite for both, or pass --allow-missing to judge only the common ones)",
        ));
    }
    let mut benches = Vec::new();
    for (id, b) in &base.wall {
        if let Some(n) = new.wall.get(id) {
            benches.push(wall_bench(id, b, n, &options.config));
        }
    }
    for (id, b) in &base.counted {
        if let Some(n) = new.counted.get(id) {
            benches.push(counted_bench(id, b, n, &options.config));
        }
    }
    if benches.is_empty() {
        return Err(PerfError::invalid(
            "bench sets",
            format!("{:?} and {:?} have no bench in common", base.name, new.name),
            "baselines of the same suite",
        ));
    }
    sort_benches(&mut benches);
    let fingerprint = check_fingerprints(&base.name, base_fp.as_ref(), &new.name, new_fp.as_ref());
    Ok(Comparison {
        schema: COMPARE_SCHEMA.into(),
        schema_version: COMPARE_VERSION,
        base: base.name.clone(),
        new: new.name.clone(),
        base_fingerprint: base_fp,
        new_fingerprint: new_fp,
        fingerprint,
        method: "baselines".into(),
        benches,
        only_in_base,
        only_in_new,
    })
}

impl Comparison {
    /// Number of benches with `verdict`.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.benches.iter().filter(|b| b.verdict == verdict).count()
    }

    /// Whether any bench regressed.
    pub fn regressed(&self) -> bool {
        self.count(Verdict::Regressed) > 0
    }

    /// A one-line warning about the fingerprints, or `None` when they match.
    pub fn fingerprint_warning(&self) -> Option<String> {
        match &self.fingerprint {
            FingerprintCheck::Match => None,
            FingerprintCheck::Mismatch { differences } => Some(format!(
                "UNTRUSTED: the baselines were measured on different machines ({}); wall-time verdicts are not comparable",
                differences.join("; ")
            )),
            FingerprintCheck::Unknown { missing } => Some(format!(
                "UNVERIFIED: no machine fingerprint for {} (save baselines with scripts/bench.sh save, or run kmidi-perf fingerprint <name> right after)",
                missing.join(" and ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noisy(center: f64, spread: f64, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = crate::stats::rng(seed);
        (0..n)
            .map(|_| center * (1.0 + spread * (rng.usize(..1000) as f64 / 500.0 - 1.0)))
            .collect()
    }

    #[test]
    fn large_significant_slowdown_regresses() {
        let b = noisy(100.0, 0.02, 50, 3);
        let n = noisy(115.0, 0.02, 50, 5);
        let w = WallChange::from_samples(&b, &n, 100.0, 115.0, 1);
        assert!(w.ci_percent.0 > 10.0 && w.ci_percent.1 < 20.0, "{w:?}");
        assert_eq!(
            judge(Some(&w), None, None, &Thresholds::default()).0,
            Verdict::Regressed
        );
    }

    #[test]
    fn change_over_threshold_but_not_significant_is_unchanged() {
        // Huge spread: the median moves 12% but the interval spans zero.
        let b = noisy(100.0, 0.9, 10, 3);
        let n = noisy(112.0, 0.9, 10, 5);
        let w = WallChange::from_samples(&b, &n, 100.0, 112.0, 1);
        assert!(w.ci_percent.0 < 0.0, "{w:?}");
        assert_eq!(
            judge(Some(&w), None, None, &Thresholds::default()).0,
            Verdict::Unchanged
        );
    }

    /// Undisturbed processes with these medians and standard error.
    fn sides(medians: &[f64], error: f64) -> crate::verdict::SideSamples {
        crate::verdict::SideSamples {
            medians_ns: medians.to_vec(),
            errors: vec![error; medians.len()],
            cpu_shares: vec![1.0; medians.len()],
        }
    }

    #[test]
    fn process_evidence_flags_a_bimodal_ten_percent_slowdown() {
        // Per-process medians in two modes (46 and 70 µs, as rubato's
        // cubic f32/1ch showed), the new side 10% slower in both.
        // A quarter of the processes in the slow mode.
        let base: Vec<f64> = (0..16)
            .map(|i| if i % 4 == 0 { 70.0 } else { 46.0 } + f64::from(i % 3) * 0.1)
            .collect();
        let slower: Vec<f64> = base.iter().rev().map(|x| x * 1.10).collect();
        let w = crate::verdict::process_change(
            &sides(&base, 0.002),
            &sides(&slower, 0.002),
            crate::verdict::BenchClock::Wall,
            0.002,
            10.0,
            1,
        );
        let p = w.processes.as_ref().unwrap();
        assert!(p.unstable(), "{p:?}");
        let (verdict, reasons) = judge(Some(&w), None, None, &Thresholds::default());
        assert_eq!(verdict, Verdict::Regressed, "{w:?}");
        assert!(reasons[0].contains("unstable"), "{reasons:?}");
    }

    #[test]
    fn process_evidence_of_one_build_is_unchanged() {
        let base: Vec<f64> = (0..16)
            .map(|i| if i % 3 == 0 { 70.0 } else { 46.0 } + f64::from(i % 5) * 0.1)
            .collect();
        let same: Vec<f64> = base.iter().rev().copied().collect();
        let w = crate::verdict::process_change(
            &sides(&base, 0.002),
            &sides(&same, 0.002),
            crate::verdict::BenchClock::Wall,
            0.002,
            10.0,
            1,
        );
        assert_eq!(
            judge(Some(&w), None, None, &Thresholds::default()).0,
            Verdict::Unchanged
        );
    }

    #[test]
    fn significant_change_below_the_floor_is_unchanged() {
        // +2% everywhere, measured very precisely: real, but below half
        // of the 10% threshold.
        let base: Vec<f64> = (0..16).map(|i| 100.0 + f64::from(i % 4) * 0.05).collect();
        let new: Vec<f64> = base.iter().map(|x| x * 1.02).collect();
        let w = crate::verdict::process_change(
            &sides(&base, 0.001),
            &sides(&new, 0.001),
            crate::verdict::BenchClock::Wall,
            0.002,
            10.0,
            1,
        );
        assert!(w.processes.as_ref().unwrap().p_value < 0.002);
        assert_eq!(
            judge(Some(&w), None, None, &Thresholds::default()).0,
            Verdict::Unchanged
        );
    }

    #[test]
    fn one_percent_more_instructions_regresses_half_percent_does_not() {
        let t = Thresholds::default();
        let grown = CountChange::new(100_000, 101_000);
        assert_eq!(judge(None, Some(&grown), None, &t).0, Verdict::Regressed);
        let jitter = CountChange::new(100_000, 100_400);
        assert_eq!(judge(None, Some(&jitter), None, &t).0, Verdict::Unchanged);
        let fewer = CountChange::new(100_000, 98_000);
        assert_eq!(judge(None, Some(&fewer), None, &t).0, Verdict::Improved);
    }

    #[test]
    fn one_new_allocation_regresses() {
        let t = Thresholds::default();
        let i = CountChange::new(1000, 1000);
        let a = CountChange::new(0, 1);
        let (v, why) = judge(None, Some(&i), Some(&a), &t);
        assert_eq!(v, Verdict::Regressed);
        assert_eq!(why, vec!["heap blocks 0 -> 1".to_string()]);
        let allowed = Thresholds {
            extra_allocations: 1,
            ..t
        };
        assert_eq!(
            judge(None, Some(&i), Some(&a), &allowed).0,
            Verdict::Unchanged
        );
    }
}
