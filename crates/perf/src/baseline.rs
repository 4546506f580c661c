//! Reading saved baselines: Criterion's own files and gungraun summaries.
//!
//! A baseline `<name>` is what `scripts/bench.sh save <name>` leaves:
//!
//! * `target/criterion/**/<name>/{benchmark,estimates,sample}.json`, written
//!   by Criterion's `--save-baseline <name>` (wall time);
//! * `target/gungraun-baselines/<name>/**/summary.json`, written by the
//!   `iai` bench with `GUNGRAUN_HOME` pointed there and `--save-summary=json`
//!   (instruction counts from callgrind, heap blocks from DHAT);
//! * `target/criterion/kmidi-fingerprints/<name>.json`, the machine
//!   fingerprint ([`crate::fingerprint`]).
//!
//! Every file is checked against the shape Criterion 0.5–0.8 and gungraun
//! 0.17–0.20 write; anything else is an error naming the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::PerfError;

/// One Criterion bench of one baseline.
#[derive(Debug, Clone)]
pub struct CriterionBench {
    /// Criterion's `full_id`, e.g. `engine/process/preset=band`.
    pub id: String,
    /// The baseline's directory for this bench.
    pub dir: PathBuf,
    /// The bench's directory (parent of `dir`, holds `report/`).
    pub bench_dir: PathBuf,
    /// Criterion's median estimate, ns per iteration.
    pub median_ns: f64,
    /// Criterion's 95% interval of the median, ns.
    pub median_ci_ns: (f64, f64),
    /// Per-iteration time of every sample, ns.
    pub samples_ns: Vec<f64>,
    /// Whether the bench declared a throughput (a per-block process bench).
    pub has_throughput: bool,
}

/// One gungraun (callgrind + DHAT) bench of one baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct CountedBench {
    /// `iai/<group>/<function>.<id>`, e.g. `iai/hot_paths/mixer.stereo_strips_32`.
    pub id: String,
    /// The summary file it came from.
    pub file: PathBuf,
    /// Instructions executed (callgrind `Ir`).
    pub instructions: u64,
    /// Heap blocks allocated (DHAT `TotalBlocks`), when DHAT ran.
    pub allocations: Option<u64>,
    /// Heap bytes allocated (DHAT `TotalBytes`), when DHAT ran.
    pub allocated_bytes: Option<u64>,
}

/// Everything saved under one baseline name.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    /// The name given to `--save-baseline`.
    pub name: String,
    /// Criterion benches by id.
    pub wall: BTreeMap<String, CriterionBench>,
    /// gungraun benches by id.
    pub counted: BTreeMap<String, CountedBench>,
}

#[derive(Deserialize)]
struct BenchmarkJson {
    full_id: String,
    #[serde(default)]
    throughput: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Interval {
    lower_bound: f64,
    upper_bound: f64,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
    confidence_interval: Interval,
}

#[derive(Deserialize)]
struct EstimatesJson {
    median: Estimate,
}

#[derive(Deserialize)]
struct SampleJson {
    sampling_mode: String,
    iters: Vec<f64>,
    times: Vec<f64>,
}

const CRITERION_SHAPE: &str = "not a file of Criterion 0.5-0.8";

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, PerfError> {
    let text = std::fs::read_to_string(path).map_err(|e| PerfError::caused(path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| PerfError::file_caused(path, format!("{CRITERION_SHAPE}: {e}"), e))
}

fn read_criterion_bench(dir: &Path) -> Result<CriterionBench, PerfError> {
    for file in ["benchmark.json", "estimates.json", "sample.json"] {
        let p = dir.join(file);
        if !p.is_file() {
            return Err(PerfError::file(
                &p,
                "missing: the baseline is incomplete (was the bench interrupted?); re-run it with --save-baseline",
            ));
        }
    }
    let bench: BenchmarkJson = read_json(&dir.join("benchmark.json"))?;
    let estimates: EstimatesJson = read_json(&dir.join("estimates.json"))?;
    let sample_path = dir.join("sample.json");
    let sample: SampleJson = read_json(&sample_path)?;
    if !matches!(sample.sampling_mode.as_str(), "Linear" | "Flat" | "Auto") {
        return Err(PerfError::file(
            &sample_path,
            format!(
                "{CRITERION_SHAPE}: sampling_mode {:?} (expected Linear or Flat)",
                sample.sampling_mode
            ),
        ));
    }
    if sample.iters.is_empty() || sample.iters.len() != sample.times.len() {
        return Err(PerfError::file(
            &sample_path,
            format!(
                "{CRITERION_SHAPE}: {} iteration counts for {} times (expected equal and non-zero)",
                sample.iters.len(),
                sample.times.len()
            ),
        ));
    }
    let samples_ns: Vec<f64> = sample
        .iters
        .iter()
        .zip(&sample.times)
        .map(|(i, t)| t / i)
        .collect();
    if samples_ns.iter().any(|x| !x.is_finite() || *x < 0.0) {
        return Err(PerfError::file(
            &sample_path,
            "a sample time is negative, infinite or NaN (iteration count 0?)",
        ));
    }
    let m = estimates.median;
    if !(m.point_estimate.is_finite() && m.point_estimate >= 0.0) {
        return Err(PerfError::file(
            dir.join("estimates.json"),
            format!("median {} is not a time", m.point_estimate),
        ));
    }
    Ok(CriterionBench {
        id: bench.full_id,
        bench_dir: dir.parent().unwrap_or(dir).to_path_buf(),
        dir: dir.to_path_buf(),
        median_ns: m.point_estimate,
        median_ci_ns: (
            m.confidence_interval.lower_bound,
            m.confidence_interval.upper_bound,
        ),
        samples_ns,
        has_throughput: bench.throughput.is_some_and(|t| !t.is_null()),
    })
}

fn walk(
    dir: &Path,
    visit: &mut dyn FnMut(&Path) -> Result<(), PerfError>,
) -> Result<(), PerfError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(PerfError::caused(dir, e)),
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    dirs.sort();
    for d in dirs {
        visit(&d)?;
        walk(&d, visit)?;
    }
    Ok(())
}

/// Reads the Criterion benches saved as `name` under `criterion_dir`.
///
/// # Errors
/// [`PerfError::File`] naming the first file that is missing, truncated
/// or not Criterion's, or two directories claiming one bench id.
pub fn read_criterion(
    criterion_dir: &Path,
    name: &str,
) -> Result<BTreeMap<String, CriterionBench>, PerfError> {
    let mut out: BTreeMap<String, CriterionBench> = BTreeMap::new();
    walk(criterion_dir, &mut |d| {
        let is_baseline = d.file_name().is_some_and(|n| n == name)
            && (d.join("estimates.json").exists() || d.join("benchmark.json").exists());
        if !is_baseline {
            return Ok(());
        }
        let bench = read_criterion_bench(d)?;
        if let Some(other) = out.get(&bench.id) {
            // Two directories for one id: a bench renamed by a Criterion
            // upgrade leaves its old directory behind. The newer result is
            // the one this baseline means.
            let modified = |b: &CriterionBench| {
                std::fs::metadata(b.dir.join("estimates.json"))
                    .and_then(|m| m.modified())
                    .ok()
            };
            let (keep, stale) = if modified(&bench) > modified(other) {
                (bench, other.dir.clone())
            } else {
                (other.clone(), bench.dir)
            };
            eprintln!(
                "kmidi-perf: {} holds an older result for {}; using {}",
                stale.display(),
                keep.id,
                keep.dir.display()
            );
            out.insert(keep.id.clone(), keep);
            return Ok(());
        }
        out.insert(bench.id.clone(), bench);
        Ok(())
    })?;
    Ok(out)
}

fn summary_number(v: &serde_json::Value, path: &Path, what: &str) -> Result<u64, PerfError> {
    v.as_u64()
        .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f.round() as u64))
        .ok_or_else(|| {
            PerfError::file(
                path,
                format!("not a gungraun 0.17-0.20 summary: {what} is {v} (expected a count)"),
            )
        })
}

fn read_summary(path: &Path) -> Result<CountedBench, PerfError> {
    let text = std::fs::read_to_string(path).map_err(|e| PerfError::caused(path, e))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| PerfError::file_caused(path, format!("not a gungraun summary: {e}"), e))?;
    let shape = |what: &str| {
        PerfError::file(
            path,
            format!("not a gungraun 0.17-0.20 summary (summary version 6 or 7): no {what}"),
        )
    };
    let version = v["version"].as_str().ok_or_else(|| shape("version"))?;
    if !matches!(version, "6" | "7") {
        return Err(PerfError::file(
            path,
            format!("gungraun summary version {version}: this kmidi-perf reads versions 6 and 7"),
        ));
    }
    let group = v["group"].as_str().unwrap_or("benches");
    let function = v["function_name"]
        .as_str()
        .ok_or_else(|| shape("function_name"))?;
    let id = v["id"].as_str().ok_or_else(|| shape("id"))?;
    let profiles = v["profiles"].as_array().ok_or_else(|| shape("profiles"))?;
    let mut instructions = None;
    let mut allocations = None;
    let mut allocated_bytes = None;
    for p in profiles {
        let metrics = &p["data"]["total"]["metrics"];
        match p["tool"].as_str() {
            Some("Callgrind") => {
                let ir = &metrics["Ir"]["values"]["new"];
                instructions = Some(summary_number(ir, path, "Callgrind Ir")?);
            }
            Some("DHAT") => {
                let blocks = &metrics["TotalBlocks"]["values"]["new"];
                let bytes = &metrics["TotalBytes"]["values"]["new"];
                allocations = Some(summary_number(blocks, path, "DHAT TotalBlocks")?);
                allocated_bytes = Some(summary_number(bytes, path, "DHAT TotalBytes")?);
            }
            _ => {}
        }
    }
    Ok(CountedBench {
        id: format!("iai/{group}/{function}.{id}"),
        file: path.to_path_buf(),
        instructions: instructions.ok_or_else(|| shape("Callgrind profile with Ir"))?,
        allocations,
        allocated_bytes,
    })
}

/// Reads the gungraun summaries saved as `name` under `gungraun_dir`
/// (`<gungraun_dir>/<name>/**/summary.json`).
///
/// # Errors
/// [`PerfError::File`] naming the first summary that is truncated or not
/// gungraun's.
pub fn read_gungraun(
    gungraun_dir: &Path,
    name: &str,
) -> Result<BTreeMap<String, CountedBench>, PerfError> {
    let mut out = BTreeMap::new();
    walk(&gungraun_dir.join(name), &mut |d| {
        let f = d.join("summary.json");
        if f.is_file() {
            let b = read_summary(&f)?;
            out.insert(b.id.clone(), b);
        }
        Ok(())
    })?;
    Ok(out)
}

impl Baseline {
    /// Reads baseline `name` from both directories.
    ///
    /// # Errors
    /// [`PerfError::File`] naming a bad file, or naming both places looked
    /// in when neither holds anything called `name`.
    pub fn read(criterion_dir: &Path, gungraun_dir: &Path, name: &str) -> Result<Self, PerfError> {
        if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
            return Err(PerfError::invalid(
                "baseline",
                format!("{name:?}"),
                "a plain name such as main or pr-42, as given to --save-baseline",
            ));
        }
        let wall = read_criterion(criterion_dir, name)?;
        let counted = read_gungraun(gungraun_dir, name)?;
        if wall.is_empty() && counted.is_empty() {
            return Err(PerfError::file(
                criterion_dir,
                format!(
                    "no baseline named {name:?}: no **/{name}/estimates.json here and no {}/**/summary.json; save one with scripts/bench.sh save {name}",
                    gungraun_dir.join(name).display()
                ),
            ));
        }
        Ok(Self {
            name: name.to_string(),
            wall,
            counted,
        })
    }

    /// Number of benches of both kinds.
    pub fn len(&self) -> usize {
        self.wall.len() + self.counted.len()
    }

    /// Whether the baseline holds no bench.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
