//! The instruction-count gate: the hot paths' callgrind counts (the `iai`
//! bench, run by `scripts/bench.sh iai`) against the committed
//! `benches/iai-baseline.json`.
//!
//! This is the project's one instruction-count gate. Its threshold is
//! `instructions_percent` of `perf-compare.toml` for each bench (the same
//! rules `kmidi-perf compare` applies to saved baselines), and its verdict
//! is [`crate::verdict::judge`]'s. The summaries are read by
//! [`crate::baseline::read_gungraun`], the same reader `compare` uses.
//!
//! The baseline file keeps the bench names gungraun prints
//! (`<function>.<id>`, e.g. `mixer.stereo_strips_32`); its fields other
//! than `benchmarks` are kept as they were when it is rewritten.
//!
//! ```
//! use std::collections::BTreeMap;
//! use kmidi_perf::baseline::CountedBench;
//! use kmidi_perf::verdict::{CompareConfig, Verdict};
//! use kmidi_perf::instructions::{IaiBaseline, check};
//!
//! let base = IaiBaseline::new(BTreeMap::from([("gain.mono_512".to_string(), 600)]), "rustc 1.90");
//! let now = BTreeMap::from([(
//!     "gain.mono_512".to_string(),
//!     CountedBench {
//!         id: "iai/hot_paths/gain.mono_512".into(),
//!         file: "summary.json".into(),
//!         instructions: 606, // +1%
//!         allocations: None,
//!         allocated_bytes: None,
//!     },
//! )]);
//! let gate = check(&now, &base, &CompareConfig::default());
//! assert_eq!(gate.rows[0].verdict, Verdict::Regressed);
//! assert!(gate.failed());
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::baseline::{CountedBench, read_gungraun};
use crate::error::{PerfError, write_atomic};
use crate::verdict::{CompareConfig, CountChange, Verdict, judge};

/// Version of the baseline file's layout.
pub const IAI_BASELINE_SCHEMA: u32 = 1;

/// What the counts are.
const METRIC: &str = "callgrind Ir (instructions executed) per benchmark call";

/// `benches/iai-baseline.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IaiBaseline {
    /// [`IAI_BASELINE_SCHEMA`].
    pub schema: u32,
    /// Instructions per bench call, by `<function>.<id>`.
    pub benchmarks: BTreeMap<String, u64>,
    /// The toolchain that measured them (counts move with it).
    #[serde(default)]
    pub rustc: Option<String>,
    /// Fields this version does not know, kept on rewrite.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

impl IaiBaseline {
    /// A baseline of `benchmarks` measured with `rustc`.
    pub fn new(benchmarks: BTreeMap<String, u64>, rustc: &str) -> Self {
        let mut other = BTreeMap::new();
        other.insert("metric".into(), serde_json::Value::from(METRIC));
        other.insert(
            "machine".into(),
            serde_json::Value::from(std::env::consts::ARCH),
        );
        Self {
            schema: IAI_BASELINE_SCHEMA,
            benchmarks,
            rustc: Some(rustc.to_string()),
            other,
        }
    }

    /// Reads a baseline file.
    ///
    /// # Errors
    /// [`PerfError::File`] when it is missing (with how to create it), not
    /// JSON of this shape, or of another schema.
    pub fn read(path: &Path) -> Result<Self, PerfError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            PerfError::file(
                path,
                format!("cannot read ({e}); create it with scripts/bench.sh iai-update"),
            )
        })?;
        let base: Self = serde_json::from_str(&text).map_err(|e| {
            PerfError::file(
                path,
                format!("not an instruction-count baseline (schema {IAI_BASELINE_SCHEMA}): {e}"),
            )
        })?;
        if base.schema != IAI_BASELINE_SCHEMA {
            return Err(PerfError::file(
                path,
                format!(
                    "schema {}: this kmidi-perf reads schema {IAI_BASELINE_SCHEMA}",
                    base.schema
                ),
            ));
        }
        Ok(base)
    }

    /// Writes it atomically, pretty-printed with sorted keys.
    ///
    /// # Errors
    /// [`PerfError::File`] naming `path`.
    pub fn write(&self, path: &Path) -> Result<(), PerfError> {
        // Through a Value, whose map sorts its keys: the file's layout does
        // not depend on which fields this version knows.
        let mut text = serde_json::to_value(self)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .map_err(|e| PerfError::file(path, format!("cannot encode: {e}")))?;
        text.push('\n');
        write_atomic(path, text.as_bytes())
    }
}

/// The current counts: every `summary.json` under `dir` (gungraun's output
/// for the `iai` bench, e.g. `target/gungraun/kmidi-benches/iai`), by
/// `<function>.<id>` (each bench keeps its `compare` id,
/// `iai/<group>/<function>.<id>`, for threshold rules).
///
/// # Errors
/// [`PerfError::File`] when `dir` holds no summary (with how to make them)
/// or a summary is not gungraun's.
pub fn read_counts(dir: &Path) -> Result<BTreeMap<String, CountedBench>, PerfError> {
    let (parent, name) = match (dir.parent(), dir.file_name()) {
        (Some(p), Some(n)) => (p, n.to_string_lossy().into_owned()),
        _ => (Path::new("."), dir.to_string_lossy().into_owned()),
    };
    let counted = read_gungraun(parent, &name)?;
    if counted.is_empty() {
        return Err(PerfError::file(
            dir,
            "no summary.json here: run scripts/bench.sh iai first",
        ));
    }
    Ok(counted
        .into_values()
        .map(|b| (short_name(&b.id).to_string(), b))
        .collect())
}

/// `mixer.stereo_strips_32` from `iai/hot_paths/mixer.stereo_strips_32`.
fn short_name(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

/// One bench of the gate.
#[derive(Debug, Clone, PartialEq)]
pub struct GateRow {
    /// `<function>.<id>`.
    pub name: String,
    /// Baseline count, if the baseline has the bench.
    pub base: Option<u64>,
    /// Current count, if the bench ran.
    pub now: Option<u64>,
    /// The verdict: a bench missing on either side is [`Verdict::Regressed`]
    /// (the gate must see every hot path).
    pub verdict: Verdict,
    /// Why, one line.
    pub reason: String,
    /// The threshold applied, percent.
    pub limit_percent: f64,
}

/// The gate over every bench.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// One row per bench in either set, sorted by name.
    pub rows: Vec<GateRow>,
}

impl Gate {
    /// Whether any bench regressed, is new or did not run.
    pub fn failed(&self) -> bool {
        self.rows.iter().any(|r| r.verdict == Verdict::Regressed)
    }

    /// The terminal table and a closing line.
    pub fn table(&self) -> String {
        let width = self
            .rows
            .iter()
            .map(|r| r.name.len())
            .max()
            .unwrap_or(9)
            .max(9);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<width$}  {:>10}  {:>10}  {:>8}  {:>6}  verdict",
            "benchmark", "baseline", "now", "change", "limit"
        );
        let cell = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
        for r in &self.rows {
            let change = match (r.base, r.now) {
                (Some(b), Some(n)) => format!("{:+.2}%", CountChange::new(b, n).change_percent),
                (None, _) => "new".into(),
                (_, None) => "missing".into(),
            };
            let _ = writeln!(
                out,
                "{:<width$}  {:>10}  {:>10}  {:>8}  {:>5}%  {}",
                r.name,
                cell(r.base),
                cell(r.now),
                change,
                r.limit_percent,
                r.verdict.as_str()
            );
        }
        let failed: Vec<&GateRow> = self
            .rows
            .iter()
            .filter(|r| r.verdict == Verdict::Regressed)
            .collect();
        if failed.is_empty() {
            let _ = writeln!(
                out,
                "\niai: ok, {} hot paths within their instruction limits (perf-compare.toml)",
                self.rows.len()
            );
        } else {
            let _ = writeln!(out, "\niai: FAIL");
            for r in failed {
                let _ = writeln!(out, "  {}: {}", r.name, r.reason);
            }
            let _ = writeln!(
                out,
                "If the change is meant to be slower: scripts/bench.sh iai-update, and commit the baseline with the reason."
            );
        }
        out
    }
}

/// Judges `now` against `base` with the instruction thresholds of
/// `config` (looked up by each bench's `compare` id).
pub fn check(
    now: &BTreeMap<String, CountedBench>,
    base: &IaiBaseline,
    config: &CompareConfig,
) -> Gate {
    let mut names: Vec<&String> = now.keys().chain(base.benchmarks.keys()).collect();
    names.sort();
    names.dedup();
    let rows = names
        .into_iter()
        .map(|name| {
            let current = now.get(name);
            let thresholds = current.map_or(config.defaults(), |c| config.thresholds(&c.id));
            let b = base.benchmarks.get(name).copied();
            let n = current.map(|c| c.instructions);
            let (verdict, reason) = match (b, n) {
                (Some(b), Some(n)) => {
                    let (verdict, reasons) =
                        judge(None, Some(&CountChange::new(b, n)), None, &thresholds);
                    (verdict, reasons.join("; "))
                }
                (None, _) => (
                    Verdict::Regressed,
                    "not in the baseline: record it with scripts/bench.sh iai-update".into(),
                ),
                (_, None) => (Verdict::Regressed, "in the baseline but did not run".into()),
            };
            GateRow {
                name: name.clone(),
                base: b,
                now: n,
                verdict,
                reason,
                limit_percent: thresholds.instructions_percent,
            }
        })
        .collect();
    Gate { rows }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(pairs: &[(&str, u64)]) -> IaiBaseline {
        IaiBaseline::new(
            pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            "rustc test",
        )
    }

    fn now(pairs: &[(&str, u64)]) -> BTreeMap<String, CountedBench> {
        pairs
            .iter()
            .map(|(k, v)| {
                let bench = CountedBench {
                    id: format!("iai/hot_paths/{k}"),
                    file: "summary.json".into(),
                    instructions: *v,
                    allocations: None,
                    allocated_bytes: None,
                };
                (k.to_string(), bench)
            })
            .collect()
    }

    #[test]
    fn the_threshold_comes_from_perf_compare_toml() {
        let dir = std::env::temp_dir().join(format!("kmidi-iai-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let toml = dir.join("perf-compare.toml");
        std::fs::write(
            &toml,
            "schema_version = 1\n[defaults]\ninstructions_percent = 0.5\n\
             [[bench]]\nmatch = \"iai/*/canary.*\"\ninstructions_percent = 5.0\n",
        )
        .unwrap();
        let config = CompareConfig::from_file(&toml).unwrap();
        let b = base(&[("biquad.mono_512", 10_000), ("canary.nominal_512", 10_000)]);
        // +1% on both: over the default 0.5%, under the canary's 5%.
        let gate = check(
            &now(&[("biquad.mono_512", 10_100), ("canary.nominal_512", 10_100)]),
            &b,
            &config,
        );
        assert_eq!(gate.rows[0].verdict, Verdict::Regressed, "{gate:?}");
        assert_eq!(gate.rows[0].limit_percent, 0.5);
        assert_eq!(gate.rows[1].verdict, Verdict::Unchanged, "{gate:?}");
        assert_eq!(gate.rows[1].limit_percent, 5.0);
        // +0.4%: within.
        let gate = check(
            &now(&[("biquad.mono_512", 10_040)]),
            &base(&[("biquad.mono_512", 10_000)]),
            &config,
        );
        assert!(!gate.failed(), "{}", gate.table());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_new_or_missing_bench_fails_the_gate() {
        let config = CompareConfig::default();
        let gate = check(
            &now(&[("a.x", 10), ("new.y", 5)]),
            &base(&[("a.x", 10), ("gone.z", 7)]),
            &config,
        );
        let verdicts: Vec<_> = gate
            .rows
            .iter()
            .map(|r| (r.name.as_str(), r.verdict))
            .collect();
        assert_eq!(
            verdicts,
            [
                ("a.x", Verdict::Unchanged),
                ("gone.z", Verdict::Regressed),
                ("new.y", Verdict::Regressed)
            ]
        );
        let table = gate.table();
        assert!(
            table.contains("missing") && table.contains("new") && table.contains("FAIL"),
            "{table}"
        );
    }

    #[test]
    fn a_rewritten_baseline_keeps_fields_it_does_not_know() {
        let dir = std::env::temp_dir().join(format!("kmidi-iai-keep-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("iai-baseline.json");
        std::fs::write(
            &path,
            r#"{"schema": 1, "benchmarks": {"a.x": 10}, "rustc": "old", "note": "kept", "machine": "x86_64"}"#,
        )
        .unwrap();
        let mut b = IaiBaseline::read(&path).unwrap();
        b.benchmarks.insert("a.x".into(), 11);
        b.write(&path).unwrap();
        let again: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(again["note"], "kept");
        assert_eq!(again["benchmarks"]["a.x"], 11);
        std::fs::write(&path, r#"{"schema": 2, "benchmarks": {}}"#).unwrap();
        let e = IaiBaseline::read(&path).unwrap_err().to_string();
        assert!(
            e.contains("schema 2") && e.contains("reads schema 1"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn short_names_drop_the_group() {
        assert_eq!(
            short_name("iai/hot_paths/mixer.stereo_strips_32"),
            "mixer.stereo_strips_32"
        );
        assert_eq!(short_name("plain.id"), "plain.id");
    }
}
