//! Verdicts: one per bench, from wall time, instruction count and heap
//! allocations, and one exit code for a pull request.
//!
//! A bench **regressed** when any of its signals did:
//!
//! * **wall time** (Criterion): the median grew by more than the bench's
//!   threshold (default 10%) *and* the 95% bootstrap interval of the change
//!   excludes zero. In interleaved A/B runs ([`crate::ab`]) every round must
//!   also agree: each round's change must be beyond the threshold too;
//! * **instructions** (callgrind `Ir`): grew by more than the instruction
//!   threshold (default 0.5%; counts are deterministic, so a small threshold
//!   is safe and a 1% growth is always caught);
//! * **allocations** (DHAT heap blocks): any more than the base (the audio
//!   path must not allocate, so one extra block is a finding).
//!
//! It **improved** when a signal moved the other way by the same rules and
//! none regressed. Thresholds come from `perf-compare.toml`:
//!
//! ```toml
//! schema_version = 1
//! [defaults]
//! wall_percent = 10.0
//! instructions_percent = 0.5
//! extra_allocations = 0
//! [[bench]]
//! match = "canary/*"       # `*` matches any run of characters
//! wall_percent = 5.0
//! ```
//!
//! ```
//! use kmidi_perf::compare::{Thresholds, WallChange, judge, Verdict};
//! let base = vec![100.0, 101.0, 99.0, 100.5, 100.2, 99.8, 100.1, 99.9];
//! let slow: Vec<f64> = base.iter().map(|x| x * 1.2).collect();
//! let wall = WallChange::from_samples(&base, &slow, 100.0, 120.0, 7);
//! let (verdict, reasons) = judge(Some(&wall), None, None, &Thresholds::default());
//! assert_eq!(verdict, Verdict::Regressed);
//! assert!(reasons[0].contains("wall time +20"));
//! ```

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::baseline::{Baseline, CountedBench, CriterionBench};
use crate::error::PerfError;
use crate::fingerprint::Fingerprint;
use crate::realtime::BLOCK_PERIOD_NS;

/// Schema tag of `compare --json`.
pub const COMPARE_SCHEMA: &str = "kmidi-perf/compare";
/// Version of [`COMPARE_SCHEMA`].
pub const COMPARE_VERSION: u32 = 1;
/// Bootstrap resamples for the interval of a change.
pub const BOOTSTRAP_RESAMPLES: usize = 4_000;

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

/// When a change counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Wall-time change, percent of the base median.
    pub wall_percent: f64,
    /// Instruction-count change, percent.
    pub instructions_percent: f64,
    /// Heap blocks allowed above the base.
    pub extra_allocations: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            wall_percent: 10.0,
            instructions_percent: 0.5,
            extra_allocations: 0,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialThresholds {
    wall_percent: Option<f64>,
    instructions_percent: Option<f64>,
    extra_allocations: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct BenchRule {
    #[serde(rename = "match")]
    pattern: String,
    wall_percent: Option<f64>,
    instructions_percent: Option<f64>,
    extra_allocations: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompareConfigFile {
    schema_version: u32,
    #[serde(default)]
    defaults: PartialThresholds,
    #[serde(default)]
    bench: Vec<BenchRule>,
}

/// Thresholds per bench: defaults plus `[[bench]]` rules, the last
/// matching rule winning.
#[derive(Debug, Clone, Default)]
pub struct CompareConfig {
    defaults: Thresholds,
    rules: Vec<(String, PartialThresholds)>,
}

/// Whether `text` matches `pattern`, where `*` matches any run of
/// characters (including none) and everything else matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

fn check_thresholds(p: &PartialThresholds, path: &Path, at: &str) -> Result<(), PerfError> {
    for (name, v) in [
        ("wall_percent", p.wall_percent),
        ("instructions_percent", p.instructions_percent),
    ] {
        if let Some(v) = v
            && !(v.is_finite() && v > 0.0 && v <= 1000.0)
        {
            return Err(PerfError::file(
                path,
                format!("{at}: {name} = {v}: a percentage above 0 and at most 1000"),
            ));
        }
    }
    Ok(())
}

impl CompareConfig {
    /// Reads a `perf-compare.toml`.
    ///
    /// # Errors
    /// [`PerfError::File`] with the line and column, or the rule at fault.
    pub fn from_file(path: &Path) -> Result<Self, PerfError> {
        let text = std::fs::read_to_string(path).map_err(|e| PerfError::file(path, e))?;
        let file: CompareConfigFile = toml::from_str(&text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start].matches('\n').count() + 1;
                    format!("line {line}: ")
                })
                .unwrap_or_default();
            PerfError::file(path, format!("{at}{}", e.message()))
        })?;
        if file.schema_version != 1 {
            return Err(PerfError::file(
                path,
                format!(
                    "schema_version {}: this kmidi-perf reads version 1",
                    file.schema_version
                ),
            ));
        }
        check_thresholds(&file.defaults, path, "[defaults]")?;
        let d = Thresholds::default();
        let defaults = Thresholds {
            wall_percent: file.defaults.wall_percent.unwrap_or(d.wall_percent),
            instructions_percent: file
                .defaults
                .instructions_percent
                .unwrap_or(d.instructions_percent),
            extra_allocations: file
                .defaults
                .extra_allocations
                .unwrap_or(d.extra_allocations),
        };
        let mut rules = Vec::new();
        for (i, r) in file.bench.into_iter().enumerate() {
            if r.pattern.is_empty() {
                return Err(PerfError::file(
                    path,
                    format!(
                        "[[bench]] #{}: match is empty: a bench id, `*` wildcards allowed",
                        i + 1
                    ),
                ));
            }
            let thresholds = PartialThresholds {
                wall_percent: r.wall_percent,
                instructions_percent: r.instructions_percent,
                extra_allocations: r.extra_allocations,
            };
            check_thresholds(&thresholds, path, &format!("[[bench]] {:?}", r.pattern))?;
            rules.push((r.pattern, thresholds));
        }
        Ok(Self { defaults, rules })
    }

    /// The `[defaults]` thresholds (for a bench no rule names).
    pub fn defaults(&self) -> Thresholds {
        self.defaults
    }

    /// The thresholds for bench `id`.
    pub fn thresholds(&self, id: &str) -> Thresholds {
        let mut t = self.defaults;
        for (pattern, p) in &self.rules {
            if glob_match(pattern, id) {
                t.wall_percent = p.wall_percent.unwrap_or(t.wall_percent);
                t.instructions_percent = p.instructions_percent.unwrap_or(t.instructions_percent);
                t.extra_allocations = p.extra_allocations.unwrap_or(t.extra_allocations);
            }
        }
        t
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
    /// Interleaved runs: the change in each round, percent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rounds_percent: Vec<f64>,
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

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

fn sorted(xs: &[f64]) -> Vec<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// The median of unsorted values (NaN-free; 0 items is a caller bug).
pub fn median_of(xs: &[f64]) -> f64 {
    median(&sorted(xs))
}

/// A small, seeded xorshift generator: the bootstrap is reproducible.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) % n as u64) as usize
    }
}

fn resampled_median(xs: &[f64], rng: &mut XorShift, scratch: &mut Vec<f64>) -> f64 {
    scratch.clear();
    scratch.extend((0..xs.len()).map(|_| xs[rng.below(xs.len())]));
    scratch.sort_by(f64::total_cmp);
    median(scratch)
}

/// A stable seed from a bench id.
pub fn seed_for(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }) | 1
}

impl WallChange {
    /// The change from `base` to `new` samples (ns per iteration), with a
    /// percentile-bootstrap 95% interval of the ratio of medians.
    /// `base_ns` and `new_ns` are the medians to report (Criterion's
    /// estimates).
    pub fn from_samples(base: &[f64], new: &[f64], base_ns: f64, new_ns: f64, seed: u64) -> Self {
        let (sb, sn) = (sorted(base), sorted(new));
        let change = (median(&sn) / median(&sb) - 1.0) * 100.0;
        let mut rng = XorShift(seed.max(1));
        let mut scratch = Vec::with_capacity(base.len().max(new.len()));
        let mut ratios: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
            .map(|_| {
                let b = resampled_median(base, &mut rng, &mut scratch);
                let n = resampled_median(new, &mut rng, &mut scratch);
                (n / b - 1.0) * 100.0
            })
            .collect();
        ratios.sort_by(f64::total_cmp);
        let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
        Self {
            base_ns,
            new_ns,
            change_percent: change,
            ci_percent: (at(0.025), at(0.975)),
            rounds_percent: Vec::new(),
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
        // Interleaved rounds must agree, and not only on the sign: each
        // round on its own must be beyond the threshold. On this machine
        // class that is what brings A/A false alarms under 1% with two
        // rounds (docs/PERFORMANCE.md, "Issue 8").
        let agree_up = w.rounds_percent.iter().all(|r| *r > t.wall_percent);
        let agree_down = w.rounds_percent.iter().all(|r| *r < -t.wall_percent);
        let text = format!(
            "wall time {:+.1}% [{:+.1}%, {:+.1}%]{}",
            w.change_percent,
            lo,
            hi,
            if w.rounds_percent.is_empty() {
                String::new()
            } else {
                format!(" in {} rounds", w.rounds_percent.len())
            }
        );
        if w.change_percent > t.wall_percent && lo > 0.0 && agree_up {
            worse.push(format!("{text} > {}%", t.wall_percent));
        } else if w.change_percent < -t.wall_percent && hi < 0.0 && agree_down {
            better.push(text);
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
    /// How the wall times were measured: `baselines` or `interleaved`.
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

/// Formats nanoseconds with a unit.
pub fn format_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

fn change_cell(b: &BenchComparison) -> String {
    let mut parts = Vec::new();
    if let Some(w) = &b.wall {
        parts.push(format!(
            "{:+.1}% [{:+.1}, {:+.1}]",
            w.change_percent, w.ci_percent.0, w.ci_percent.1
        ));
    }
    if let Some(i) = &b.instructions {
        parts.push(format!("Ir {:+.2}%", i.change_percent));
    }
    if let Some(a) = &b.allocations
        && (a.base != 0 || a.new != 0)
    {
        parts.push(format!("blocks {}→{}", a.base, a.new));
    }
    parts.join(", ")
}

fn value_cells(b: &BenchComparison) -> (String, String) {
    if let Some(w) = &b.wall {
        (format_ns(w.base_ns), format_ns(w.new_ns))
    } else if let Some(i) = &b.instructions {
        (format!("{} Ir", i.base), format!("{} Ir", i.new))
    } else {
        (String::new(), String::new())
    }
}

/// The terminal table.
pub fn table(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "compare {} -> {} ({}): {} regressed, {} improved, {} unchanged",
        c.base,
        c.new,
        c.method,
        c.count(Verdict::Regressed),
        c.count(Verdict::Improved),
        c.count(Verdict::Unchanged)
    );
    if let Some(w) = c.fingerprint_warning() {
        let _ = writeln!(out, "{w}");
    }
    let width = c
        .benches
        .iter()
        .map(|b| b.id.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(
        out,
        "{:<9}  {:<width$}  {:>12}  {:>12}  {:>7}  change [95% CI]",
        "verdict", "bench", "base", "new", "thresh"
    );
    for b in &c.benches {
        let (base, new) = value_cells(b);
        let thr = if b.wall.is_some() {
            b.thresholds.wall_percent
        } else {
            b.thresholds.instructions_percent
        };
        let _ = writeln!(
            out,
            "{:<9}  {:<width$}  {:>12}  {:>12}  {:>6}%  {}",
            b.verdict.as_str(),
            b.id,
            base,
            new,
            thr,
            change_cell(b)
        );
    }
    for id in &c.only_in_base {
        let _ = writeln!(out, "{:<9}  {id} (only in {})", "removed", c.base);
    }
    for id in &c.only_in_new {
        let _ = writeln!(out, "{:<9}  {id} (only in {})", "added", c.new);
    }
    out
}

fn link(path: &Path, criterion_dir: &Path, link_base: Option<&str>) -> String {
    match (link_base, path.strip_prefix(criterion_dir)) {
        (Some(base), Ok(rel)) => format!("{}/{}", base.trim_end_matches('/'), rel.display()),
        _ => path.display().to_string(),
    }
}

/// Markdown for a pull-request comment: a headline, regressions first
/// with their reasons, DSP load at 48 kHz / 512, and links to Criterion's
/// report and the (differential) flamegraphs. Links are made relative to
/// `criterion_dir` and prefixed with `link_base` when given (the URL the
/// reports are published under), else they are local paths.
pub fn markdown(c: &Comparison, criterion_dir: &Path, link_base: Option<&str>) -> String {
    let mut out = String::new();
    let (r, i, u) = (
        c.count(Verdict::Regressed),
        c.count(Verdict::Improved),
        c.count(Verdict::Unchanged),
    );
    let icon = if r > 0 { "❌" } else { "✅" };
    let _ = writeln!(out, "<!-- kmidi-perf-compare -->");
    let _ = writeln!(
        out,
        "### {icon} kmidi-perf: {r} regressed, {i} improved, {u} unchanged\n"
    );
    let _ = writeln!(
        out,
        "`{}` → `{}`, {} comparison. A regression needs a change beyond the bench's threshold with a 95% interval that excludes zero{}.\n",
        c.base,
        c.new,
        c.method,
        if c.method == "interleaved" {
            " and every round beyond it on its own"
        } else {
            ""
        }
    );
    if let Some(w) = c.fingerprint_warning() {
        let _ = writeln!(out, "> **⚠ {w}**\n");
    }
    let row = |out: &mut String, b: &BenchComparison| {
        let (base, new) = value_cells(b);
        let load = b
            .dsp_load_percent
            .map(|(x, y)| format!("{x:.2}% → {y:.2}%"))
            .unwrap_or_else(|| "—".into());
        let mut links = Vec::new();
        if let Some(p) = &b.diff_flamegraph {
            links.push(format!(
                "[diff flamegraph]({})",
                link(p, criterion_dir, link_base)
            ));
        }
        if let Some(p) = &b.flamegraph {
            links.push(format!(
                "[flamegraph]({})",
                link(p, criterion_dir, link_base)
            ));
        }
        if let Some(p) = &b.report {
            links.push(format!("[report]({})", link(p, criterion_dir, link_base)));
        }
        let why = if b.reasons.is_empty() {
            change_cell(b)
        } else {
            b.reasons.join("; ")
        };
        let _ = writeln!(
            out,
            "| {} | `{}` | {base} | {new} | {why} | {load} | {} |",
            b.verdict.as_str(),
            b.id,
            links.join(" · ")
        );
    };
    let header = "| verdict | bench | base | new | change | DSP load @ 48 kHz/512 | links |\n|---|---|---|---|---|---|---|\n";
    let flagged: Vec<&BenchComparison> = c
        .benches
        .iter()
        .filter(|b| b.verdict != Verdict::Unchanged)
        .collect();
    if !flagged.is_empty() {
        out.push_str(header);
        for b in &flagged {
            row(&mut out, b);
        }
        out.push('\n');
    }
    let rest: Vec<&BenchComparison> = c
        .benches
        .iter()
        .filter(|b| b.verdict == Verdict::Unchanged)
        .collect();
    if !rest.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} unchanged</summary>\n",
            rest.len()
        );
        out.push_str(header);
        for b in &rest {
            row(&mut out, b);
        }
        out.push_str("\n</details>\n");
    }
    if !c.only_in_base.is_empty() || !c.only_in_new.is_empty() {
        let _ = writeln!(
            out,
            "\nNot judged: {} only in `{}`, {} only in `{}`.",
            c.only_in_base.len(),
            c.base,
            c.only_in_new.len(),
            c.new
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_wildcards() {
        assert!(glob_match("canary/*", "canary/biquad_passes"));
        assert!(glob_match(
            "*/frames=512",
            "dsp/biquad/kmidi_tdf2/frames=512"
        ));
        assert!(glob_match(
            "dsp/*/frames=*",
            "dsp/biquad/kmidi_tdf2/frames=64"
        ));
        assert!(!glob_match(
            "dsp/*/frames=512",
            "dsp/biquad/kmidi_tdf2/frames=64"
        ));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
        assert!(!glob_match("a*a", "a"));
    }

    fn noisy(center: f64, spread: f64, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = XorShift(seed);
        (0..n)
            .map(|_| center * (1.0 + spread * (rng.below(1000) as f64 / 500.0 - 1.0)))
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

    #[test]
    fn rounds_must_agree_on_the_sign() {
        let b = noisy(100.0, 0.01, 50, 3);
        let n = noisy(120.0, 0.01, 50, 5);
        let mut w = WallChange::from_samples(&b, &n, 100.0, 120.0, 1);
        w.rounds_percent = vec![25.0, 30.0, -2.0];
        assert_eq!(
            judge(Some(&w), None, None, &Thresholds::default()).0,
            Verdict::Unchanged
        );
        // Same sign, but one round within the threshold: not enough.
        w.rounds_percent = vec![25.0, 30.0, 5.0];
        assert_eq!(
            judge(Some(&w), None, None, &Thresholds::default()).0,
            Verdict::Unchanged
        );
        w.rounds_percent = vec![25.0, 30.0, 15.0];
        assert_eq!(
            judge(Some(&w), None, None, &Thresholds::default()).0,
            Verdict::Regressed
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

    #[test]
    fn last_matching_rule_wins() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("perf-compare.toml");
        std::fs::write(
            &p,
            "schema_version = 1\n[defaults]\nwall_percent = 8.0\n[[bench]]\nmatch = \"dsp/*\"\nwall_percent = 6.0\n[[bench]]\nmatch = \"dsp/biquad/*\"\ninstructions_percent = 0.2\nwall_percent = 4.0\n",
        )
        .unwrap();
        let c = CompareConfig::from_file(&p).unwrap();
        assert_eq!(c.thresholds("engine/x").wall_percent, 8.0);
        assert_eq!(c.thresholds("dsp/eq/x").wall_percent, 6.0);
        let t = c.thresholds("dsp/biquad/kmidi_tdf2/frames=512");
        assert_eq!((t.wall_percent, t.instructions_percent), (4.0, 0.2));
        std::fs::write(&p, "schema_version = 1\n[defaults]\nwall_percent = -1.0\n").unwrap();
        let e = CompareConfig::from_file(&p).unwrap_err().to_string();
        assert!(
            e.contains("perf-compare.toml") && e.contains("above 0"),
            "{e}"
        );
        std::fs::write(&p, "schema_version = 1\n[defaults]\nwall = 5.0\n").unwrap();
        let e = CompareConfig::from_file(&p).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("unknown field"), "{e}");
    }
}
