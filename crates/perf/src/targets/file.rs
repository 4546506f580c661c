//! The targets file: its format, its checks when read, and the statistics
//! a target can be on.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::workload::Workload;

use crate::PerfError;
use crate::stats::BlockSummary;

/// The file format version this build writes; it also reads version 1.
pub const TARGETS_SCHEMA_VERSION: u32 = 2;

/// A targets file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetsFile {
    /// 1 or 2 ([`TARGETS_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The calibration kernel on the machine the limits were written for
    /// (required from version 2).
    pub calibration: Option<Calibration>,
    /// The targets.
    #[serde(rename = "target")]
    pub targets: Vec<Target>,
}

/// Where the limits were written: the calibration kernel's time there.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// [`crate::fingerprint::calibration_loop_ns`] on that machine, ns.
    pub reference_ns: f64,
    /// The machine, for people.
    pub machine: String,
}

/// How a target is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Gate {
    /// The limit scales with the machine's speed (calibration kernel).
    #[default]
    Scaled,
    /// A deadline against the block period, with a wide margin: unscaled.
    Deadline,
}

/// One target.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// What it is, for the table.
    pub name: String,
    /// The workload measured (see [`Workload`]).
    pub workload: String,
    /// The statistic compared.
    pub statistic: Statistic,
    /// The largest allowed value: µs, or % for DSP load.
    pub limit: f64,
    /// Where the target comes from.
    pub source: TargetSource,
    /// Scaled by the machine's speed (default) or a fixed deadline.
    #[serde(default)]
    pub gate: Gate,
}

/// Where a target comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetSource {
    /// The seed documents' target.
    Seed,
    /// Ours, from the issues.
    Kmidi,
}

/// A statistic of a workload's call times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    /// Median, µs.
    Median,
    /// Mean, µs.
    Mean,
    /// 95th percentile, µs.
    P95,
    /// 99th percentile, µs.
    P99,
    /// 99.9th percentile, µs.
    P999,
    /// Worst call, µs.
    Max,
    /// Mean DSP load, % of the block period.
    DspLoadMean,
    /// Worst block's DSP load, %.
    DspLoadWorst,
}

impl Statistic {
    /// The value in `s`.
    pub fn of(self, s: &BlockSummary) -> f64 {
        match self {
            Statistic::Median => s.median_us,
            Statistic::Mean => s.mean_us,
            Statistic::P95 => s.p95_us,
            Statistic::P99 => s.p99_us,
            Statistic::P999 => s.p999_us,
            Statistic::Max => s.max_us,
            Statistic::DspLoadMean => s.dsp_load_mean_percent,
            Statistic::DspLoadWorst => s.dsp_load_worst_percent,
        }
    }

    /// "µs" or "%".
    pub fn unit(self) -> &'static str {
        match self {
            Statistic::DspLoadMean | Statistic::DspLoadWorst => "%",
            _ => "µs",
        }
    }

    /// The name as written in the file.
    pub fn name(self) -> &'static str {
        match self {
            Statistic::Median => "median",
            Statistic::Mean => "mean",
            Statistic::P95 => "p95",
            Statistic::P99 => "p99",
            Statistic::P999 => "p999",
            Statistic::Max => "max",
            Statistic::DspLoadMean => "dsp_load_mean",
            Statistic::DspLoadWorst => "dsp_load_worst",
        }
    }
}

impl TargetsFile {
    /// Reads and checks a targets file.
    ///
    /// # Errors
    /// [`PerfError::File`] naming the file: unreadable, not TOML, unknown
    /// fields, another schema version, an unknown workload or a limit that
    /// is not a positive number.
    pub fn load(path: &Path) -> Result<Self, PerfError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| PerfError::file_caused(path, format!("cannot read: {e}"), e))?;
        // The version first, so a file from another version gets that
        // message rather than a field error.
        let version = toml::from_str::<toml::Table>(&text)
            .ok()
            .and_then(|t| t.get("schema_version").and_then(toml::Value::as_integer));
        if let Some(v) = version
            && !(1..=TARGETS_SCHEMA_VERSION as i64).contains(&v)
        {
            return Err(PerfError::file(
                path,
                format!(
                    "schema_version {v} is not supported: this kmidi-perf reads versions 1 to {TARGETS_SCHEMA_VERSION}"
                ),
            ));
        }
        let file: TargetsFile = toml::from_str(&text).map_err(|e| {
            let line = e.span().map_or(0, |s| {
                text[..s.start.min(text.len())].matches('\n').count() + 1
            });
            PerfError::file(path, format!("line {line}: {}", e.message().trim()))
        })?;
        if !(1..=TARGETS_SCHEMA_VERSION).contains(&file.schema_version) {
            return Err(PerfError::file(
                path,
                format!(
                    "schema_version {} is not supported: this kmidi-perf reads versions 1 to {TARGETS_SCHEMA_VERSION}",
                    file.schema_version
                ),
            ));
        }
        match &file.calibration {
            None if file.schema_version >= 2 => {
                return Err(PerfError::file(
                    path,
                    "version 2 needs a [calibration] table with reference_ns and machine",
                ));
            }
            Some(c) if !(c.reference_ns.is_finite() && c.reference_ns > 0.0) => {
                return Err(PerfError::file(
                    path,
                    format!(
                        "[calibration] reference_ns = {} must be a positive number of nanoseconds",
                        c.reference_ns
                    ),
                ));
            }
            _ => {}
        }
        if file.targets.is_empty() {
            return Err(PerfError::file(path, "no [[target]] entries"));
        }
        for t in &file.targets {
            t.workload
                .parse::<Workload>()
                .map_err(|e| PerfError::file(path, format!("target \"{}\": {e}", t.name)))?;
            if !(t.limit.is_finite() && t.limit > 0.0) {
                return Err(PerfError::file(
                    path,
                    format!(
                        "target \"{}\": limit = {} must be a positive number",
                        t.name, t.limit
                    ),
                ));
            }
        }
        Ok(file)
    }
}
