//! The five kmidi models and their contracts. The `.onnx` files (and their
//! int8 variants) are built by `scripts/ml/make_models.py` and committed in
//! `crates/ml/models/`.

use std::path::PathBuf;

use crate::MlError;
use crate::session::{Element, ModelContract, ModelSession, SessionConfig, TensorSpec};

/// The models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    /// Log-mel patch (64 bands × 96 frames, about 1 s) → valence/arousal and
    /// six emotion-class probabilities. Small CNN, **untrained** (there is
    /// no labelled audio here): a latency fixture whose outputs mean
    /// nothing (card: `models/emotion_recognizer.md`).
    EmotionRecognizer,
    /// The last 8 chords (detector vocabulary ids, 108 = no chord) and the
    /// key (tonic + 12 × minor) → next-chord distribution over 109 ids.
    /// Trained on real music: music21's Bach chorales and bundled
    /// Roman-numeral analyses, split by tune; counts every chord from the
    /// last chord's root, so its answer moves exactly with a transposition
    /// (card: `models/harmony_predictor.md`).
    HarmonyPredictor,
    /// 64 pitch/duration tokens (MIDI pitch, 0 = rest, then 128 + a
    /// duration class) → next-token logits over 160. 2-layer transformer
    /// decoder with a causal mask, trained on music21's folk-tune
    /// collections, split by tune (card: `models/melody_transformer.md`).
    MelodyTransformer,
    /// Four bars of kick/snare/hat velocities (4 × 3 × 16, oldest first)
    /// → hit probabilities for the next bar (3 × 16). Trained on the
    /// human-authored grooves of MMA's library, split by style (card:
    /// `models/groove_predictor.md`).
    GroovePredictor,
    /// 32 frames of loudness/onset/crest features → a gain curve in dB for
    /// the compressor and mixer. A **latency fixture**: trained only to
    /// reproduce a 4:1 gain computer that the DSP core computes exactly
    /// (card: `models/dynamics_engine.md`).
    DynamicsEngine,
}

/// What a model's weights have learned, said wherever its output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Training {
    /// Trained on real data, named here; its card says how well it does.
    Trained(&'static str),
    /// Random weights: a latency fixture, its outputs mean nothing.
    Untrained,
    /// Trained, but only to imitate something kmidi already computes
    /// exactly: a latency fixture, named here.
    Fixture(&'static str),
}

impl std::fmt::Display for Training {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Training::Trained(data) => write!(f, "trained on {data}"),
            Training::Untrained => f.write_str("untrained: a latency fixture with random weights"),
            Training::Fixture(what) => write!(f, "latency fixture: {what}"),
        }
    }
}

/// Weights precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precision {
    /// 32-bit float, as trained.
    Fp32,
    /// Dynamically quantized int8 weights (onnxruntime.quantization).
    Int8,
}

impl Model {
    /// All five.
    pub const ALL: [Model; 5] = [
        Model::EmotionRecognizer,
        Model::HarmonyPredictor,
        Model::MelodyTransformer,
        Model::GroovePredictor,
        Model::DynamicsEngine,
    ];

    /// What the weights have learned (printed beside every output and in
    /// `kmidi-perf`'s JSON).
    pub fn training(self) -> Training {
        match self {
            Model::EmotionRecognizer => Training::Untrained,
            Model::HarmonyPredictor => Training::Trained(
                "music21's Bach chorales and Roman-numeral analyses, split by tune",
            ),
            Model::MelodyTransformer => Training::Trained(
                "music21's folk tunes (O'Neill's 1850, Ryan's Mammoth, Nottingham), split by tune",
            ),
            Model::GroovePredictor => {
                Training::Trained("MMA's human-authored groove library, split by style")
            }
            Model::DynamicsEngine => {
                Training::Fixture("imitates the 4:1 compressor gain the DSP core computes exactly")
            }
        }
    }

    /// The file stem in `crates/ml/models/`.
    pub fn stem(self) -> &'static str {
        match self {
            Model::EmotionRecognizer => "emotion_recognizer",
            Model::HarmonyPredictor => "harmony_predictor",
            Model::MelodyTransformer => "melody_transformer",
            Model::GroovePredictor => "groove_predictor",
            Model::DynamicsEngine => "dynamics_engine",
        }
    }

    /// The model file for `precision`.
    pub fn path(self, precision: Precision) -> PathBuf {
        let file = match precision {
            Precision::Fp32 => format!("{}.onnx", self.stem()),
            Precision::Int8 => format!("{}.int8.onnx", self.stem()),
        };
        models_dir().join(file)
    }

    /// What the model takes and gives (`-1`: batch).
    pub fn contract(self) -> ModelContract {
        use Element::{F32, I64};
        let (inputs, outputs) = match self {
            Model::EmotionRecognizer => (
                vec![TensorSpec::new("logmel", F32, &[-1, 1, 64, 96])],
                vec![
                    TensorSpec::new("valence_arousal", F32, &[-1, 2]),
                    TensorSpec::new("emotion", F32, &[-1, 6]),
                ],
            ),
            Model::HarmonyPredictor => (
                vec![
                    TensorSpec::new("chords", I64, &[-1, 8]),
                    TensorSpec::new("key", I64, &[-1, 1]),
                ],
                vec![TensorSpec::new("next_chord", F32, &[-1, 109])],
            ),
            Model::MelodyTransformer => (
                vec![TensorSpec::new("tokens", I64, &[-1, 64])],
                vec![TensorSpec::new("logits", F32, &[-1, 160])],
            ),
            Model::GroovePredictor => (
                vec![TensorSpec::new("grid", F32, &[-1, 192])],
                vec![TensorSpec::new("next_bar", F32, &[-1, 48])],
            ),
            Model::DynamicsEngine => (
                vec![TensorSpec::new("features", F32, &[-1, 32, 4])],
                vec![TensorSpec::new("gain_db", F32, &[-1, 32])],
            ),
        };
        ModelContract { inputs, outputs }
    }

    /// Loads the model with its contract checked.
    ///
    /// # Errors
    /// As [`ModelSession::from_file`].
    pub fn load(
        self,
        precision: Precision,
        config: SessionConfig,
    ) -> Result<ModelSession, MlError> {
        ModelSession::from_file(self.path(precision), self.contract(), config)
    }
}

/// `crates/ml/models/`.
pub fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models")
}
