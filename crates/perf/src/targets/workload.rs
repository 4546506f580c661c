//! The workloads `check` measures, each timed call by call into an HDR
//! histogram.

use std::hint::black_box;
use std::time::{Duration, Instant};

use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};
use kmidi_engine::EngineConfig;
use kmidi_engine::material::{Material, humanized_drum_notes};
use kmidi_groove::groove::{Division, Grid, QuantizeSettings, quantize, swing};
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

use super::CheckBudget;
use crate::PerfError;
use crate::harness::{InputSource, Mode, RunSpec, run};
use crate::realtime::BLOCK_PERIOD_NS;
use crate::stats::{BlockSummary, BlockTimes};

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
            let notes = humanized_drum_notes(10_000);
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
            let notes = humanized_drum_notes(10_000);
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
