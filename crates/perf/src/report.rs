//! What `run` and `check` print: terminal tables and versioned JSON.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::harness::{HarnessCalibration, RunResult};
use crate::machine::Machine;
use crate::targets::{CheckResult, Outcome};

/// Version of the JSON documents below. Bump it when a field changes
/// meaning or goes away; adding fields keeps the version.
pub const SCHEMA_VERSION: u32 = 1;

/// `kmidi-perf run --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Always "kmidi-perf/run".
    pub schema: String,
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Where it ran.
    pub machine: Machine,
    /// The harness's own precision and cost.
    pub harness: HarnessCalibration,
    /// One result per grid point.
    pub results: Vec<RunResult>,
}

/// `kmidi-perf check --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    /// Always "kmidi-perf/check".
    pub schema: String,
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Where it ran.
    pub machine: Machine,
    /// The targets file.
    pub targets_file: String,
    /// This machine's speed against the reference the limits were written for.
    pub scale: crate::targets::MachineScale,
    /// One result per target.
    pub results: Vec<CheckResult>,
    /// Whether every target passed.
    pub passed: bool,
}

fn fmt_us(us: f64) -> String {
    if us >= 10_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else if us >= 100.0 {
        format!("{us:.0} µs")
    } else if us >= 1.0 {
        format!("{us:.2} µs")
    } else {
        format!("{:.0} ns", us * 1000.0)
    }
}

fn fmt_bytes(b: u64) -> String {
    format!("{:.1} MB", b as f64 / (1024.0 * 1024.0))
}

/// The deadline table for a run, with a stage table per result and the
/// harness's own figures.
pub fn run_table(report: &RunReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "machine: {}", report.machine.summary());
    let h = &report.harness;
    let _ = writeln!(
        s,
        "harness: timer resolution {:.0} ns, clock read {:.0} ns, overhead {:.0} ns/block, memory {}",
        h.timer_resolution_ns,
        h.timer_read_ns,
        h.overhead_ns_per_block,
        fmt_bytes(h.memory_bytes)
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<9} {:<9} {:>6} {:>5} {:>3} | {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} | {:>6} {:>7} | {:>5} {:>6} | {:>8} {:>6}",
        "preset",
        "mode",
        "rate",
        "block",
        "trk",
        "period",
        "mean",
        "median",
        "p99",
        "p99.9",
        "max",
        "load",
        "worst",
        "xruns",
        ">marg",
        "speed",
        "allocs"
    );
    for r in &report.results {
        let b = &r.blocks;
        let _ = writeln!(
            s,
            "{:<9} {:<9} {:>6} {:>5} {:>3} | {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} | {:>5.2}% {:>6.1}% | {:>5} {:>6} | {:>7.0}× {:>6}",
            r.preset,
            r.mode.name(),
            r.sample_rate,
            r.block_frames,
            r.tracks,
            fmt_us(b.period_us),
            fmt_us(b.mean_us),
            fmt_us(b.median_us),
            fmt_us(b.p99_us),
            fmt_us(b.p999_us),
            fmt_us(b.max_us),
            b.dsp_load_mean_percent,
            b.dsp_load_worst_percent,
            b.xruns,
            b.over_margin,
            1.0 / r.real_time_factor.max(1e-12),
            r.audio_thread_allocations
        );
    }
    if report.results.len() > 4 {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "(stage tables are printed for up to 4 results; --json has them all)"
        );
    }
    for r in &report.results {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "{} / {} / {} Hz / {} frames: {:.1} s of audio in {:.2} s of callbacks (RTF {:.4}), {:.2} Mframes/s; audio thread CPU {:.2} s, process CPU {:.2} s, peak RSS {}",
            r.preset,
            r.mode.name(),
            r.sample_rate,
            r.block_frames,
            r.audio_seconds,
            r.process_seconds,
            r.real_time_factor,
            r.throughput_frames_per_second / 1e6,
            r.audio_thread_cpu_seconds,
            r.process_cpu_seconds,
            fmt_bytes(r.peak_rss_bytes)
        );
        if r.blocks.heavy_tail() {
            let _ = writeln!(
                s,
                "  WARNING: p99 ({}) is more than 3× the median ({})",
                fmt_us(r.blocks.p99_us),
                fmt_us(r.blocks.median_us)
            );
        }
        if r.audio_thread_allocations > 0 {
            let _ = writeln!(
                s,
                "  FAIL: {} allocations on the audio thread (must be 0)",
                r.audio_thread_allocations
            );
        }
        if let Some(st) = &r.streaming {
            let _ = writeln!(
                s,
                "  streaming: {} competing load thread(s); callback started late by {} median, {} p99, {} worst; {} deadline misses",
                st.load_threads,
                fmt_us(st.wake_late_median_us),
                fmt_us(st.wake_late_p99_us),
                fmt_us(st.wake_late_max_us),
                st.deadline_misses
            );
        }
        if let Some(p) = &r.parallel {
            let _ = writeln!(
                s,
                "  parallel: {} instances, {:.0}× real time together vs {:.0}× alone: scaling efficiency {:.0}%",
                p.instances, p.aggregate_speed, p.single_speed, p.scaling_efficiency_percent
            );
        }
        if let Some(b) = &r.batch {
            let _ = writeln!(
                s,
                "  batch: {} files, {:.1} s of audio, {:.2} files/s",
                b.files, b.audio_seconds, b.files_per_second
            );
        }
        let e = &r.engine;
        let _ = writeln!(
            s,
            "  engine: {} chord changes, {} onsets, {} MIDI note-ons, ML {} requests / {} results / {} dropped, output peak {:.2}",
            e.chord_changes,
            e.onsets,
            e.midi_note_ons,
            e.ml_requests,
            e.ml_results,
            e.ml_dropped,
            e.output_peak
        );
        for m in &r.ml_models {
            let _ = writeln!(s, "  model {}: {}", m.model, m.training);
        }
        if !r.stages.is_empty() && report.results.len() <= 4 {
            let _ = writeln!(
                s,
                "  {:<16} {:>9} {:>9} {:>9}",
                "stage", "mean", "% block", "% period"
            );
            for st in &r.stages {
                let _ = writeln!(
                    s,
                    "  {:<16} {:>9} {:>8.1}% {:>8.2}%",
                    st.stage,
                    fmt_us(st.mean_us),
                    st.percent_of_block,
                    st.percent_of_period
                );
            }
        }
    }
    s
}

/// The check table, with a WARNING line per heavy tail.
pub fn check_table(report: &CheckReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "machine: {}", report.machine.summary());
    let _ = writeln!(s, "targets: {}", report.targets_file);
    let sc = &report.scale;
    match &sc.reference {
        Some(reference) if sc.factor != 1.0 || reference.reference_ns == sc.calibration_ns => {
            let _ = writeln!(
                s,
                "calibration: {} here, {} on the reference machine ({}): scaled limits ×{:.2}",
                fmt_us(sc.calibration_ns / 1e3),
                fmt_us(reference.reference_ns / 1e3),
                reference.machine,
                sc.factor
            );
        }
        Some(reference) => {
            let _ = writeln!(
                s,
                "calibration: {} here, {} on the reference machine ({}): unscaled, as a report for that machine",
                fmt_us(sc.calibration_ns / 1e3),
                fmt_us(reference.reference_ns / 1e3),
                reference.machine
            );
        }
        None => {
            let _ = writeln!(
                s,
                "calibration: none in the targets file: limits as written"
            );
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<56} {:<6} {:<15} {:>11} {:>11} {:>11}  verdict",
        "target", "source", "statistic", "measured", "limit", "limit here"
    );
    for r in &report.results {
        let fmt = |v: f64| {
            if r.unit == "%" {
                format!("{v:.2}%")
            } else {
                fmt_us(v)
            }
        };
        let here = match r.gate {
            crate::targets::Gate::Scaled => fmt(r.limit_here),
            crate::targets::Gate::Deadline => "deadline".to_string(),
        };
        let _ = writeln!(
            s,
            "{:<56} {:<6} {:<15} {:>11} {:>11} {:>11}  {}",
            r.name,
            match r.source {
                crate::targets::TargetSource::Seed => "seed",
                crate::targets::TargetSource::Kmidi => "kmidi",
            },
            r.statistic.name(),
            fmt(r.measured),
            fmt(r.limit),
            here,
            match r.verdict {
                Outcome::Pass => "PASS",
                Outcome::Fail => "FAIL",
            }
        );
    }
    for r in report.results.iter().filter(|r| r.runs.len() > 1) {
        let runs: Vec<String> = r
            .runs
            .iter()
            .map(|&v| {
                if r.unit == "%" {
                    format!("{v:.2}%")
                } else {
                    fmt_us(v)
                }
            })
            .collect();
        let _ = writeln!(
            s,
            "timed again: {}: {} over its limit at first; runs {} (judged on the fastest)",
            r.name,
            r.statistic.name(),
            runs.join(", ")
        );
    }
    let mut noted = std::collections::BTreeSet::new();
    for r in &report.results {
        if let Some(training) = &r.model_training
            && !training.starts_with("trained")
            && noted.insert(r.workload.clone())
        {
            let _ = writeln!(s, "note: {}: {training}", r.workload);
        }
    }
    let mut warned = std::collections::BTreeSet::new();
    for r in &report.results {
        if r.heavy_tail && warned.insert(r.workload.clone()) {
            let _ = writeln!(
                s,
                "WARNING: {}: p99 {} is more than 3× the median {}",
                r.workload,
                fmt_us(r.p99_us),
                fmt_us(r.median_us)
            );
        }
    }
    let failed = report
        .results
        .iter()
        .filter(|r| r.verdict == Outcome::Fail)
        .count();
    let _ = writeln!(
        s,
        "{} of {} targets passed{}",
        report.results.len() - failed,
        report.results.len(),
        if failed > 0 {
            format!("; {failed} FAILED")
        } else {
            String::new()
        }
    );
    s
}
