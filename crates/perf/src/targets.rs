//! `kmidi-perf check`: measure each hot path, compare with a committed
//! targets file, PASS or FAIL.
//!
//! The targets file (`perf-targets.toml` at the repository root) holds the
//! seeds' targets and ours:
//!
//! ```toml
//! schema_version = 2
//!
//! # The calibration kernel on the machine the limits were written for.
//! [calibration]
//! reference_ns = 98000.0
//! machine = "Intel Xeon, 2 vCPUs under KVM, 2026-12-02"
//!
//! [[target]]
//! name = "ChordDetector, 512 frames at 48 kHz"
//! workload = "chord_detector"
//! statistic = "median"     # median, mean, p95, p99, p999, max,
//!                          # dsp_load_mean or dsp_load_worst
//! limit = 10.0             # µs, or % for dsp_load_*
//! source = "kmidi"         # "seed" (the documents we grew from) or "kmidi"
//! gate = "scaled"          # or "deadline"
//! ```
//!
//! Each workload is timed call by call into an HDR histogram, so a target
//! can be on the median or on a tail. Any workload whose p99 is more than
//! 3× its median gets a WARNING (a heavy tail: preemption, page faults, a
//! lock).
//!
//! **Machines differ** by 1.5-2× within one class, so an absolute limit
//! would fail a change for the machine it ran on. A `scaled` target's limit
//! is multiplied by this machine's speed relative to the reference: the
//! calibration kernel ([`crate::fingerprint::calibration_kernel_ns`], a
//! biquad over one second of audio, in 2 ms samples like the workloads'
//! batches) is timed before every workload in the same process, and the
//! median over the run divided by `reference_ns` is the scale. A `deadline` target is a check against the block period with
//! a wide margin (the band preset's p99 under 10% of it) and is not scaled:
//! the period is the same on every machine. `--unscaled` judges every
//! target as written, as a report for the stated machine. A version 1 file
//! has no calibration and is judged unscaled.

use std::collections::HashMap;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};
use kmidi_engine::EngineConfig;
use kmidi_engine::material::Material;
use kmidi_groove::event::Note;
use kmidi_groove::groove::{Division, Grid, QuantizeSettings, humanize, quantize, swing};
use kmidi_groove::onset::{OnsetConfig, OnsetDetector};
use kmidi_groove::scheduler::BlockScheduler;
use kmidi_groove::tempo::TempoMap;
use kmidi_harmony::chord::Chord;
use kmidi_harmony::detect::{ChordDetector, DetectorConfig};
use kmidi_harmony::key::Key;
use kmidi_harmony::progression::{Progression, VoiceLeader};
use kmidi_harmony::roman::RomanNumeral;
use kmidi_ml::features::{MelConfig, MelSpectrogram};
use kmidi_ml::models::{Model, Precision};
use kmidi_ml::session::SessionConfig;
use serde::{Deserialize, Serialize};

use crate::PerfError;
use crate::harness::{InputSource, Mode, RunSpec, run};
use crate::realtime::BLOCK_PERIOD_NS;
use crate::stats::{BlockSummary, BlockTimes};

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

/// The workloads `check` can measure.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Workload {
    /// `ChordDetector::process`, one 512-frame block at 48 kHz.
    ChordDetector,
    /// `OnsetDetector::process`, one 512-frame block at 48 kHz.
    OnsetDetector,
    /// The groove scheduler: one 512-frame block of a 10k-event sequence.
    MidiScheduler,
    /// Quantize + swing over 10 000 notes.
    QuantizeSwing,
    /// Parsing 12 common chord symbols.
    ChordParse,
    /// Parsing and realizing 8 Roman numerals.
    NumeralRealize,
    /// Voice-leading an 8-chord progression (warm cache).
    VoiceLeading,
    /// Streaming log-mel features, one 512-frame hop.
    MelFeatures,
    /// One inference of a model (fp32, batch 1).
    Model(Model),
    /// One engine block of a preset at 48 kHz / 512.
    Engine(String),
}

impl Workload {
    /// Every workload name, for error messages.
    pub fn names() -> Vec<String> {
        let mut v: Vec<String> = [
            "chord_detector",
            "onset_detector",
            "midi_scheduler",
            "quantize_swing",
            "chord_parse",
            "numeral_realize",
            "voice_leading",
            "mel_features",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(Model::ALL.iter().map(|m| format!("model:{}", m.stem())));
        v.extend(
            kmidi_engine::config::PRESETS
                .iter()
                .map(|p| format!("engine:{p}")),
        );
        v
    }
}

impl std::str::FromStr for Workload {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "chord_detector" => Workload::ChordDetector,
            "onset_detector" => Workload::OnsetDetector,
            "midi_scheduler" => Workload::MidiScheduler,
            "quantize_swing" => Workload::QuantizeSwing,
            "chord_parse" => Workload::ChordParse,
            "numeral_realize" => Workload::NumeralRealize,
            "voice_leading" => Workload::VoiceLeading,
            "mel_features" => Workload::MelFeatures,
            _ => {
                if let Some(stem) = s.strip_prefix("model:")
                    && let Some(m) = Model::ALL.iter().find(|m| m.stem() == stem)
                {
                    Workload::Model(*m)
                } else if let Some(p) = s.strip_prefix("engine:")
                    && kmidi_engine::config::PRESETS.contains(&p)
                {
                    Workload::Engine(p.to_string())
                } else {
                    return Err(format!(
                        "unknown workload \"{s}\": allowed {}",
                        Workload::names().join(", ")
                    ));
                }
            }
        })
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
            .map_err(|e| PerfError::file(path, format!("cannot read: {e}")))?;
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

/// Whether a target held (`PASS`/`FAIL` in the JSON). A *verdict* is
/// [`crate::verdict::Verdict`]'s word for a change between two runs; a
/// target's outcome is only ever pass or fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Outcome {
    /// Within the limit.
    Pass,
    /// Over the limit.
    Fail,
}

/// One checked target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The target's name.
    pub name: String,
    /// The workload.
    pub workload: String,
    /// The statistic.
    pub statistic: Statistic,
    /// The measured value.
    pub measured: f64,
    /// The limit as written (for the reference machine).
    pub limit: f64,
    /// The limit on this machine: `limit` × the scale for a scaled target.
    pub limit_here: f64,
    /// How it was judged.
    pub gate: Gate,
    /// "µs" or "%".
    pub unit: String,
    /// Seed or kmidi.
    pub source: TargetSource,
    /// PASS or FAIL.
    pub verdict: Outcome,
    /// p99 over 3× the median.
    pub heavy_tail: bool,
    /// The workload's median and p99, µs, for the warning.
    pub median_us: f64,
    /// p99, µs.
    pub p99_us: f64,
}

/// How long each workload is timed.
#[derive(Debug, Clone, Copy)]
pub struct CheckBudget {
    /// Timed seconds per workload.
    pub seconds: f64,
}

fn time_calls(period_ns: f64, budget: CheckBudget, call: impl FnMut()) -> BlockSummary {
    time_with_setup(period_ns, budget, || {}, call)
}

/// Times `call` alone; `setup` runs before each call, untimed.
fn time_with_setup(
    period_ns: f64,
    budget: CheckBudget,
    mut setup: impl FnMut(),
    mut call: impl FnMut(),
) -> BlockSummary {
    // Warm up: caches, branch predictors, lazy init.
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_secs_f64((budget.seconds * 0.1).min(0.2)) {
        setup();
        call();
    }
    let mut times = BlockTimes::new(period_ns, 0.8);
    let mut batches = Vec::new();
    let (mut batch_ns, mut batch_calls) = (0u64, 0u64);
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < budget.seconds || n < 100 {
        setup();
        let t0 = Instant::now();
        call();
        let ns = t0.elapsed().as_nanos() as u64;
        times.record(ns);
        n += 1;
        batch_ns += ns;
        batch_calls += 1;
        if batch_ns >= BATCH_NS {
            batches.push(batch_ns as f64 / batch_calls as f64);
            (batch_ns, batch_calls) = (0, 0);
        }
    }
    let mut summary = times.summary();
    if batches.len() >= 5 {
        batches.sort_by(f64::total_cmp);
        summary.median_us = batches[batches.len() / 2] / 1e3;
    }
    summary
}

/// Calls are summed into batches of this much time; a workload's median is
/// the median over batches of the mean call in each. A machine that is
/// slower, or that loses the CPU in slices finer than a batch, moves it in
/// proportion, as it moves the calibration kernel, while one preempted
/// batch cannot. Tails (p95 and up) stay per call.
const BATCH_NS: u64 = 2_000_000;

fn notes_10k() -> Vec<Note> {
    let mut notes: Vec<Note> = (0..10_000u64)
        .map(|i| Note {
            start: i * 120,
            duration: 60,
            channel: 9,
            key: 36 + (i % 4) as u8,
            velocity: 100,
        })
        .collect();
    // A fixed seed and valid ranges: cannot fail.
    let _ = humanize(&mut notes, 20.0, 8.0, 1);
    notes
}

/// Measures one workload.
///
/// # Errors
/// [`PerfError`] if a model or ONNX Runtime cannot be loaded, or the
/// engine cannot be built.
pub fn measure(workload: &Workload, budget: CheckBudget) -> Result<BlockSummary, PerfError> {
    let spec = StreamSpec::new(48_000.0, 512, 1).map_err(kmidi_engine::EngineError::from)?;
    let key: Key = "C major"
        .parse()
        .map_err(|e| PerfError::invalid("key", "C major", format!("{e}")))?;
    let mix = || {
        let m = Material::generate(48_000, key, 5);
        m.stem(None).to_vec()
    };
    let dsp = |e: kmidi_dsp::ConfigError| PerfError::Engine(e.into());
    Ok(match workload {
        Workload::ChordDetector | Workload::OnsetDetector => {
            let signal = mix();
            let mut block = AudioBuffer::new(1, 512);
            let mut detector: Box<dyn Processor> = if *workload == Workload::ChordDetector {
                Box::new(ChordDetector::new(DetectorConfig::default()))
            } else {
                Box::new(OnsetDetector::new(OnsetConfig::default()))
            };
            detector.prepare(&spec).map_err(dsp)?;
            let mut pos = 0;
            time_calls(BLOCK_PERIOD_NS, budget, || {
                if pos + 512 > signal.len() {
                    pos = 0;
                }
                block
                    .channel_mut(0)
                    .copy_from_slice(&signal[pos..pos + 512]);
                pos += 512;
                detector.process(&mut block);
            })
        }
        Workload::MidiScheduler => {
            let notes = notes_10k();
            let events = kmidi_groove::event::events_from_notes(&notes);
            let map = TempoMap::new(480).map_err(|e| PerfError::Engine(e.into()))?;
            let mut s = BlockScheduler::new(&events, &map, 48_000)
                .map_err(|e| PerfError::Engine(e.into()))?;
            let end = s.events().last().map_or(0, |e| e.frame);
            time_calls(BLOCK_PERIOD_NS, budget, || {
                if s.position() > end {
                    s.seek(0);
                }
                let mut n = 0u32;
                s.process_block(512, |e| n += e.offset);
                black_box(n);
            })
        }
        Workload::QuantizeSwing => {
            let notes = notes_10k();
            let grid = Grid::new(480, Division::Sixteenth, false)
                .map_err(|e| PerfError::Engine(e.into()))?;
            let work = std::cell::RefCell::new(notes.clone());
            let settings = QuantizeSettings {
                strength: 90.0,
                swing: 50.0,
                window: 100.0,
            };
            time_with_setup(
                1e9,
                budget,
                || work.borrow_mut().copy_from_slice(&notes),
                || {
                    let mut w = work.borrow_mut();
                    let _ = quantize(&mut w, grid, settings);
                    let _ = swing(&mut w, grid, 58.0);
                    black_box(&*w);
                },
            )
        }
        Workload::ChordParse => {
            const SYMBOLS: [&str; 12] = [
                "C", "Am", "G7", "Fmaj7", "Dm7", "Bdim", "Eaug", "Bbmaj7", "C#m", "C/E", "Ab7",
                "Dbdim7",
            ];
            time_calls(1e9, budget, || {
                for s in SYMBOLS {
                    black_box(black_box(s).parse::<Chord>().ok());
                }
            })
        }
        Workload::NumeralRealize => {
            const NUMERALS: [&str; 8] =
                ["V7/V", "ii65", "bVI", "vii°7/ii", "I6", "Ger+6", "N6", "IV"];
            let key: Key = "Eb major"
                .parse()
                .map_err(|e| PerfError::invalid("key", "Eb major", format!("{e}")))?;
            time_calls(1e9, budget, || {
                for s in NUMERALS {
                    if let Ok(n) = black_box(s).parse::<RomanNumeral>() {
                        black_box(n.realize(key));
                    }
                }
            })
        }
        Workload::VoiceLeading => {
            let p = Progression::parse(key, "I vi ii65 V7 I IV V7/V V").map_err(|e| {
                PerfError::invalid("progression", "I vi ii65 V7 I IV V7/V V", format!("{e}"))
            })?;
            let chords = p.chords();
            let mut leader = VoiceLeader::default();
            let _ = leader.realize(&chords);
            time_calls(1e9, budget, || {
                black_box(leader.realize(black_box(&chords)).ok());
            })
        }
        Workload::MelFeatures => {
            let signal = mix();
            let mut mel = MelSpectrogram::new(MelConfig::librosa_default(48_000.0))?;
            let mut pos = 0;
            time_calls(BLOCK_PERIOD_NS, budget, || {
                if pos + 512 > signal.len() {
                    pos = 0;
                }
                black_box(mel.push(&signal[pos..pos + 512], |f| {
                    black_box(f);
                }));
                pos += 512;
            })
        }
        Workload::Model(model) => {
            let mut session = model.load(Precision::Fp32, SessionConfig::default())?;
            session.warm_up(10)?;
            let mut failed = None;
            let s = time_calls(1e9, budget, || {
                if let Err(e) = session.run() {
                    failed.get_or_insert(e);
                }
            });
            if let Some(e) = failed {
                return Err(e.into());
            }
            s
        }
        Workload::Engine(preset) => {
            let spec = RunSpec {
                label: preset.clone(),
                config: EngineConfig::preset(preset)?,
                mode: Mode::Single,
                input: InputSource::Generated { rate: None },
                seconds: (budget.seconds * 20.0).max(2.0),
                safety_margin: 0.8,
                load_threads: 0,
                instances: 1,
                warmup_blocks: 50,
            };
            run(&spec, &mut |_| {})?.blocks
        }
    })
}

/// The calibration kernel as `check` times it: 2 ms samples, like the
/// workloads' batches.
fn calibration_ns() -> f64 {
    crate::fingerprint::calibration_kernel_ns(16, 5)
}

/// This machine's speed against the one the limits were written for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MachineScale {
    /// The calibration kernel here: the median of its runs before each
    /// workload, ns.
    pub calibration_ns: f64,
    /// Every run, ns, in order.
    pub runs_ns: Vec<f64>,
    /// The reference, if the file has one.
    pub reference: Option<Calibration>,
    /// The factor scaled limits are multiplied by (1 when unscaled).
    pub factor: f64,
}

/// Measures every workload the targets name (each once) and judges them,
/// with scaled limits multiplied by this machine's speed (unless
/// `unscaled`).
///
/// # Errors
/// As [`measure`].
pub fn check(
    file: &TargetsFile,
    budget: CheckBudget,
    unscaled: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<(Vec<CheckResult>, MachineScale), PerfError> {
    let mut measured: HashMap<Workload, BlockSummary> = HashMap::new();
    let mut calibration = vec![calibration_ns()];
    for t in &file.targets {
        let w: Workload = t
            .workload
            .parse()
            .map_err(|e: String| PerfError::invalid("workload", &t.workload, e))?;
        if let std::collections::hash_map::Entry::Vacant(slot) = measured.entry(w) {
            progress(&t.workload);
            // The kernel beside every workload, in this process: the
            // scale sees the same machine state the workloads saw.
            calibration.push(calibration_ns());
            let s = measure(slot.key(), budget)?;
            slot.insert(s);
        }
    }
    let mut sorted = calibration.clone();
    sorted.sort_by(f64::total_cmp);
    let here = sorted[sorted.len() / 2];
    let factor = match (&file.calibration, unscaled) {
        (Some(c), false) => here / c.reference_ns,
        _ => 1.0,
    };
    let scale = MachineScale {
        calibration_ns: here,
        runs_ns: calibration,
        reference: file.calibration.clone(),
        factor,
    };
    let mut out = Vec::new();
    for t in &file.targets {
        let w: Workload = t
            .workload
            .parse()
            .map_err(|e: String| PerfError::invalid("workload", &t.workload, e))?;
        let summary = measured[&w];
        let value = t.statistic.of(&summary);
        let limit_here = match t.gate {
            Gate::Scaled => t.limit * factor,
            Gate::Deadline => t.limit,
        };
        out.push(CheckResult {
            name: t.name.clone(),
            workload: t.workload.clone(),
            statistic: t.statistic,
            measured: value,
            limit: t.limit,
            limit_here,
            gate: t.gate,
            unit: t.statistic.unit().to_string(),
            source: t.source,
            verdict: if value <= limit_here {
                Outcome::Pass
            } else {
                Outcome::Fail
            },
            heavy_tail: summary.heavy_tail(),
            median_us: summary.median_us,
            p99_us: summary.p99_us,
        });
    }
    Ok((out, scale))
}
