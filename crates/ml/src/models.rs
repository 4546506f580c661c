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
    /// six emotion-class probabilities. Small CNN; untrained (no labelled
    /// audio here), sized for latency.
    EmotionRecognizer,
    /// The last 8 chords (detector vocabulary ids, 108 = no chord) and the
    /// key (tonic + 12 × minor) → next-chord distribution over 109 ids.
    /// Trained on real music: music21's Bach chorales and bundled
    /// Roman-numeral analyses, split by tune; counts every chord from the
    /// last chord's root, so its answer moves exactly with a transposition
    /// (card: `models/harmony_predictor.md`).
    HarmonyPredictor,
    /// 64 pitch/duration tokens → next-token logits over 160. 2-layer
    /// transformer decoder with a causal mask; untrained, sized for latency.
    MelodyTransformer,
    /// Two bars of kick/snare/hat velocities (2 × 3 × 16) → hit
    /// probabilities for the next bar (3 × 16). Trained on generated patterns.
    GroovePredictor,
    /// 32 frames of loudness/onset/crest features → a gain curve in dB for
    /// the compressor and mixer. Trained to reproduce a 4:1 gain computer.
    DynamicsEngine,
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
                vec![TensorSpec::new("grid", F32, &[-1, 96])],
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
