//! The machine fingerprint saved beside each baseline.
//!
//! A wall-time comparison is only meaningful between runs on the same kind
//! of machine with the same compiler. [`Fingerprint::detect`] records the
//! CPU model, logical core count, the `rustc` that builds the benches, and
//! the median time of a short fixed-work calibration loop (a biquad over
//! one second of 48 kHz audio), which catches a slower host with the same
//! CPU name (another cloud instance type, a throttled core, a debug
//! build). `kmidi-perf fingerprint <baseline>` writes it to
//! `<criterion dir>/kmidi-fingerprints/<baseline>.json`; `compare` refuses
//! baselines whose fingerprints differ unless told to mark them instead.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{PerfError, write_atomic};
use crate::machine::{Machine, rfc3339_now};

/// Schema tag of a fingerprint file.
pub const FINGERPRINT_SCHEMA: &str = "kmidi-perf/fingerprint";
/// Version of [`FINGERPRINT_SCHEMA`].
pub const FINGERPRINT_VERSION: u32 = 1;
/// How far two calibration loops may differ and still count as the same
/// machine. A/A repeats of the loop on one machine stay within ±10% even
/// when it is busy; another machine class is usually 30% or more away.
pub const CALIBRATION_TOLERANCE: f64 = 0.25;

/// The machine a baseline was measured on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fingerprint {
    /// Always [`FINGERPRINT_SCHEMA`].
    pub schema: String,
    /// Always [`FINGERPRINT_VERSION`] for files this version writes.
    pub schema_version: u32,
    /// CPU model name.
    pub cpu_model: String,
    /// Logical CPUs available.
    pub logical_cpus: usize,
    /// `rustc --version` on the PATH (the compiler `cargo bench` uses).
    pub rustc: String,
    /// Median nanoseconds of the calibration loop.
    pub calibration_ns: f64,
    /// The commit the baseline was measured at.
    pub git_commit: String,
    /// When the fingerprint was taken, RFC 3339 UTC.
    pub recorded_at: String,
}

/// The calibration loop: a low-pass biquad over 48 000 samples, the
/// median of 21 runs after 3 warm-up runs, in nanoseconds.
pub fn calibration_loop_ns() -> f64 {
    calibration_kernel_ns(1, 21)
}

/// The calibration kernel (a low-pass biquad over one second of audio at
/// 48 kHz), timed as `samples` samples of `runs` back-to-back runs each,
/// after 3 warm-up runs: the median over samples of the mean run, in
/// nanoseconds. With `runs` = 1 it is [`calibration_loop_ns`]; `kmidi-perf
/// check` uses 16 (about 2 ms a sample) so that its samples are as long as
/// the batches it times workloads in.
pub fn calibration_kernel_ns(runs: usize, samples: usize) -> f64 {
    let (b0, b1, b2, a1, a2) = (0.0675_f32, 0.135, 0.0675, -1.143, 0.4128);
    let mut signal: Vec<f32> = (0..48_000)
        .map(|i| ((i * 7919) % 2000) as f32 / 1000.0 - 1.0)
        .collect();
    let mut kernel = || {
        let (mut z1, mut z2) = (0.0_f32, 0.0_f32);
        for x in signal.iter_mut() {
            let y = b0 * *x + z1;
            z1 = b1 * *x - a1 * y + z2;
            z2 = b2 * *x - a2 * y;
            *x = y;
        }
        std::hint::black_box(&mut signal);
        signal[0] += 0.5;
    };
    for _ in 0..3 {
        kernel();
    }
    let runs = runs.max(1);
    let mut means: Vec<f64> = (0..samples.max(1))
        .map(|_| {
            let start = Instant::now();
            for _ in 0..runs {
                kernel();
            }
            start.elapsed().as_nanos() as f64 / runs as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    means[means.len() / 2]
}

/// `rustc --version` of the compiler on the PATH (the one `cargo bench`
/// uses), or `unknown`.
pub fn rustc_on_path() -> String {
    std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| env!("KMIDI_RUSTC_VERSION").to_string())
}

impl Fingerprint {
    /// Fingerprints this machine now (runs the calibration loop, about
    /// 10 ms).
    pub fn detect() -> Self {
        let machine = Machine::detect();
        Self {
            schema: FINGERPRINT_SCHEMA.into(),
            schema_version: FINGERPRINT_VERSION,
            cpu_model: machine.cpu_model,
            logical_cpus: machine.logical_cpus,
            rustc: rustc_on_path(),
            calibration_ns: calibration_loop_ns(),
            git_commit: machine.git_commit,
            recorded_at: rfc3339_now(),
        }
    }

    /// Where the fingerprint of `baseline` lives under `criterion_dir`.
    pub fn path(criterion_dir: &Path, baseline: &str) -> PathBuf {
        criterion_dir
            .join("kmidi-fingerprints")
            .join(format!("{baseline}.json"))
    }

    /// Saves this fingerprint for `baseline`, atomically.
    ///
    /// # Errors
    /// [`PerfError::File`] when it cannot be written.
    pub fn save(&self, criterion_dir: &Path, baseline: &str) -> Result<PathBuf, PerfError> {
        let path = Self::path(criterion_dir, baseline);
        let json = serde_json::to_string_pretty(self).expect("plain data serializes");
        write_atomic(&path, json.as_bytes())?;
        Ok(path)
    }

    /// The fingerprint saved for `baseline`, or `None` when there is none.
    ///
    /// # Errors
    /// [`PerfError::File`] naming the file when it exists but is not a
    /// fingerprint this version understands.
    pub fn load(criterion_dir: &Path, baseline: &str) -> Result<Option<Self>, PerfError> {
        let path = Self::path(criterion_dir, baseline);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(PerfError::caused(&path, e)),
        };
        let fp: Self = serde_json::from_str(&text)
            .map_err(|e| PerfError::file(&path, format!("not a kmidi-perf fingerprint: {e}")))?;
        if fp.schema != FINGERPRINT_SCHEMA || fp.schema_version != FINGERPRINT_VERSION {
            return Err(PerfError::file(
                &path,
                format!(
                    "schema {} version {}: this kmidi-perf reads {FINGERPRINT_SCHEMA} version {FINGERPRINT_VERSION}",
                    fp.schema, fp.schema_version
                ),
            ));
        }
        Ok(Some(fp))
    }

    /// The ways `other` is a different machine from `self`; empty when
    /// they match.
    pub fn differences(&self, other: &Self) -> Vec<String> {
        let mut out = Vec::new();
        if self.cpu_model != other.cpu_model {
            out.push(format!("CPU {:?} vs {:?}", self.cpu_model, other.cpu_model));
        }
        if self.logical_cpus != other.logical_cpus {
            out.push(format!(
                "{} vs {} logical CPUs",
                self.logical_cpus, other.logical_cpus
            ));
        }
        if self.rustc != other.rustc {
            out.push(format!("toolchain {:?} vs {:?}", self.rustc, other.rustc));
        }
        let ratio = other.calibration_ns / self.calibration_ns;
        if !ratio.is_finite() || (ratio - 1.0).abs() > CALIBRATION_TOLERANCE {
            out.push(format!(
                "calibration loop {:.0} µs vs {:.0} µs ({:+.0}%, allowed ±{:.0}%)",
                self.calibration_ns / 1e3,
                other.calibration_ns / 1e3,
                (ratio - 1.0) * 100.0,
                CALIBRATION_TOLERANCE * 100.0
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_is_repeatable_within_tolerance() {
        let a = calibration_loop_ns();
        let b = calibration_loop_ns();
        assert!(a > 0.0 && b > 0.0);
        // Generous: a debug build on a busy machine still lands here.
        assert!((b / a - 1.0).abs() < 1.0, "{a} vs {b}");
    }

    #[test]
    fn differences_name_each_field() {
        let a = Fingerprint::detect();
        assert!(a.differences(&a).is_empty());
        let mut b = a.clone();
        b.cpu_model = "Other CPU".into();
        b.logical_cpus += 2;
        b.rustc = "rustc 0.1".into();
        b.calibration_ns = a.calibration_ns * 2.0;
        let d = a.differences(&b);
        assert_eq!(d.len(), 4, "{d:?}");
        assert!(d[3].contains("+100%"), "{d:?}");
    }
}
