//! The ML tap: features made on the audio thread, inference on a worker.
//!
//! Two models are fed, both through one [`kmidi_ml::worker`] (one thread,
//! two wait-free rings):
//! * **HarmonyPredictor** gets the last 8 detected chords and the key each
//!   time the `ChordDetector` changes its label, and answers with the most
//!   likely next chord.
//! * **DynamicsEngine** gets 32 frames of 10 ms loudness, onset and crest
//!   features of the master every 320 ms, and answers with a gain curve;
//!   the engine reports its latest value as a suggested master gain.
//!
//! The audio thread only does arithmetic on fixed arrays and pushes and
//! pops ring slots. Requests and results are `Copy` arrays, so nothing is
//! allocated or freed there.

use kmidi_harmony::detect::{ChordLabel, DETECTED_KINDS};
use kmidi_harmony::key::{Key, Mode};
use kmidi_harmony::pitch::PitchClass;
use kmidi_ml::models::{Model, Precision};
use kmidi_ml::session::{ModelSession, SessionConfig};
use kmidi_ml::worker::{AudioSide, InferenceWorker, spawn};

use crate::EngineError;

/// Chord vocabulary size of the HarmonyPredictor (108 chords + no chord).
const CHORD_IDS: usize = 109;
/// The "no chord" id.
const NO_CHORD: i64 = 108;
/// Feature frames per DynamicsEngine request.
const DYN_FRAMES: usize = 32;

// Requests travel by value through a ring of fixed slots: a box would
// allocate on the audio thread, so the size difference is the point.
#[derive(Debug, Clone, Copy)]
#[allow(clippy::large_enum_variant)]
enum MlRequest {
    Harmony { chords: [i64; 8], key: i64 },
    Dynamics { features: [f32; DYN_FRAMES * 4] },
}

#[derive(Debug, Clone, Copy)]
enum MlResponse {
    NextChord { id: u16, probability: f32 },
    Gain { gain_db: [f32; DYN_FRAMES] },
    Failed,
}

/// What the models said most recently, and how the worker is keeping up.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MlInsights {
    /// The HarmonyPredictor's most likely next chord (`None` inside: no
    /// chord) and its probability.
    pub next_chord: Option<(Option<ChordLabel>, f32)>,
    /// The DynamicsEngine's latest suggested master gain, dB.
    pub suggested_gain_db: Option<f32>,
    /// Requests sent to the worker.
    pub requests: u64,
    /// Results received.
    pub results: u64,
    /// Requests the worker skipped under back-pressure (oldest first).
    pub dropped: u64,
    /// Requests refused because the ring was full.
    pub rejected: u64,
    /// Inferences that returned an error.
    pub failures: u64,
}

/// The chord id the HarmonyPredictor was trained on: kind index × 12 +
/// root over the detector's kinds (`scripts/ml/harmony_corpus.py` maps
/// music21's chords the same way).
pub fn chord_id(label: Option<ChordLabel>) -> i64 {
    match label {
        None => NO_CHORD,
        Some(l) => {
            let kind = DETECTED_KINDS
                .iter()
                .position(|k| *k == l.kind)
                .unwrap_or(0);
            (kind * 12 + l.root.semitones() as usize) as i64
        }
    }
}

/// The label for a chord id (`None`: no chord or out of range).
pub fn chord_label(id: u16) -> Option<ChordLabel> {
    let id = id as usize;
    if id >= 108 {
        return None;
    }
    Some(ChordLabel {
        root: PitchClass::new((id % 12) as i32),
        kind: DETECTED_KINDS[id / 12],
    })
}

/// The key id: tonic pitch class, plus 12 for minor.
pub fn key_id(key: Key) -> i64 {
    key.tonic.pitch_class().semitones() as i64 + if key.mode == Mode::Minor { 12 } else { 0 }
}

pub(crate) struct MlTap {
    side: AudioSide<MlRequest, MlResponse>,
    worker: Option<InferenceWorker>,
    harmony: bool,
    dynamics: bool,
    chords: [i64; 8],
    last_chord: i64,
    frame_len: usize,
    frame_fill: usize,
    sum_sq: f32,
    peak: f32,
    prev_loud_db: f32,
    features: [[f32; 4]; DYN_FRAMES],
    frames_done: usize,
    insights: MlInsights,
}

fn load(model: Model, precision: Precision) -> Result<ModelSession, EngineError> {
    let config = SessionConfig {
        intra_threads: 1,
        ..SessionConfig::default()
    };
    let mut session = model.load(precision, config)?;
    session.warm_up(3)?;
    Ok(session)
}

fn argmax(xs: &[f32]) -> (usize, f32) {
    let mut best = (0, f32::NEG_INFINITY);
    for (i, &x) in xs.iter().enumerate() {
        if x > best.1 {
            best = (i, x);
        }
    }
    best
}

fn run_harmony(s: &mut ModelSession, chords: [i64; 8], key: i64) -> Option<MlResponse> {
    s.input_i64("chords").ok()?.copy_from_slice(&chords);
    s.input_i64("key").ok()?[0] = key;
    s.run().ok()?;
    let logits = s.output("next_chord").ok()?;
    let (id, best) = argmax(&logits[..CHORD_IDS.min(logits.len())]);
    // Softmax probability of the winner.
    let z: f32 = logits.iter().map(|&l| (l - best).exp()).sum();
    Some(MlResponse::NextChord {
        id: id as u16,
        probability: 1.0 / z,
    })
}

fn run_dynamics(s: &mut ModelSession, features: &[f32; DYN_FRAMES * 4]) -> Option<MlResponse> {
    s.input_f32("features").ok()?.copy_from_slice(features);
    s.run().ok()?;
    let out = s.output("gain_db").ok()?;
    let mut gain_db = [0.0; DYN_FRAMES];
    gain_db.copy_from_slice(out.get(..DYN_FRAMES)?);
    Some(MlResponse::Gain { gain_db })
}

impl MlTap {
    /// Loads the models and starts the worker (off the audio thread).
    pub(crate) fn new(
        harmony: bool,
        dynamics: bool,
        precision: Precision,
        sample_rate: u32,
    ) -> Result<Self, EngineError> {
        let mut harmony_model = if harmony {
            Some(load(Model::HarmonyPredictor, precision)?)
        } else {
            None
        };
        let mut dynamics_model = if dynamics {
            Some(load(Model::DynamicsEngine, precision)?)
        } else {
            None
        };
        let (worker, side) = spawn::<MlRequest, MlResponse>(64, 8, move |req| {
            let out = match req {
                MlRequest::Harmony { chords, key } => harmony_model
                    .as_mut()
                    .and_then(|s| run_harmony(s, chords, key)),
                MlRequest::Dynamics { features } => dynamics_model
                    .as_mut()
                    .and_then(|s| run_dynamics(s, &features)),
            };
            out.unwrap_or(MlResponse::Failed)
        })?;
        Ok(Self {
            side,
            worker: Some(worker),
            harmony,
            dynamics,
            chords: [NO_CHORD; 8],
            last_chord: NO_CHORD,
            frame_len: ((sample_rate as f64 * 0.010).round() as usize).max(1),
            frame_fill: 0,
            sum_sq: 0.0,
            peak: 0.0,
            prev_loud_db: -60.0,
            features: [[0.0; 4]; DYN_FRAMES],
            frames_done: 0,
            insights: MlInsights::default(),
        })
    }

    pub(crate) fn insights(&self) -> MlInsights {
        let mut i = self.insights;
        i.dropped = self.side.dropped();
        i.rejected = self.side.rejected();
        i
    }

    /// A new chord label from the detector.
    pub(crate) fn chord_changed(&mut self, label: Option<ChordLabel>, key: Option<Key>) {
        if !self.harmony {
            return;
        }
        let id = chord_id(label);
        if id == self.last_chord {
            return;
        }
        self.last_chord = id;
        self.chords.copy_within(1.., 0);
        self.chords[7] = id;
        let key = key.map_or(0, key_id);
        self.insights.requests += 1;
        self.side.request(MlRequest::Harmony {
            chords: self.chords,
            key,
        });
    }

    /// Feeds one block of the stereo master: 10 ms feature frames, a
    /// request every 32 frames. Then collects finished results.
    pub(crate) fn feed(&mut self, left: &[f32], right: &[f32]) {
        if self.dynamics {
            for (&l, &r) in left.iter().zip(right) {
                let m = 0.5 * (l + r);
                let m = if m.is_finite() { m } else { 0.0 };
                self.sum_sq += m * m;
                self.peak = self.peak.max(m.abs());
                self.frame_fill += 1;
                if self.frame_fill == self.frame_len {
                    self.finish_frame();
                }
            }
        }
        while let Some(resp) = self.side.poll() {
            self.insights.results += 1;
            match resp {
                MlResponse::NextChord { id, probability } => {
                    self.insights.next_chord = Some((chord_label(id), probability));
                }
                MlResponse::Gain { gain_db } => {
                    self.insights.suggested_gain_db = Some(gain_db[DYN_FRAMES - 1]);
                }
                MlResponse::Failed => self.insights.failures += 1,
            }
        }
    }

    fn finish_frame(&mut self) {
        let rms = (self.sum_sq / self.frame_len as f32).sqrt();
        let loud_db = (20.0 * (rms + 1e-9).log10()).clamp(-60.0, 0.0);
        let crest_db = if rms > 1e-9 {
            (20.0 * (self.peak / rms).log10()).clamp(0.0, 20.0)
        } else {
            0.0
        };
        let onset = ((loud_db - self.prev_loud_db) / 10.0).clamp(0.0, 1.0);
        self.prev_loud_db = loud_db;
        self.features.copy_within(1.., 0);
        self.features[DYN_FRAMES - 1] = [loud_db / 60.0 + 1.0, onset, crest_db / 20.0, 1.0];
        self.sum_sq = 0.0;
        self.peak = 0.0;
        self.frame_fill = 0;
        self.frames_done += 1;
        if self.frames_done.is_multiple_of(DYN_FRAMES) {
            let mut features = [0.0; DYN_FRAMES * 4];
            for (dst, src) in features.chunks_exact_mut(4).zip(&self.features) {
                dst.copy_from_slice(src);
            }
            self.insights.requests += 1;
            self.side.request(MlRequest::Dynamics { features });
        }
    }

    pub(crate) fn reset(&mut self) {
        self.chords = [NO_CHORD; 8];
        self.last_chord = NO_CHORD;
        self.frame_fill = 0;
        self.sum_sq = 0.0;
        self.peak = 0.0;
        self.prev_loud_db = -60.0;
        self.features = [[0.0; 4]; DYN_FRAMES];
        self.frames_done = 0;
    }
}

impl Drop for MlTap {
    fn drop(&mut self) {
        if let Some(w) = self.worker.take() {
            w.stop();
        }
    }
}
