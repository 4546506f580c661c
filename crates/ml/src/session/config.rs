//! Session settings, and building an ONNX Runtime session from them.

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;

use crate::MlError;
use crate::runtime::environment;
use kmidi_dsp::Cause;

/// Graph optimization level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Optimization {
    /// None.
    Disable,
    /// Constant folding and redundant-node removal.
    Basic,
    /// Plus node fusions.
    Extended,
    /// Everything, including layout optimizations.
    All,
}

/// Session settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// Threads inside one operator (1 for the audio engine's budget).
    pub intra_threads: usize,
    /// Threads across independent operators.
    pub inter_threads: usize,
    /// Graph optimization level.
    pub optimization: Optimization,
    /// Largest batch the preallocated buffers hold (1 to 4096).
    pub max_batch: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            intra_threads: 1,
            inter_threads: 1,
            optimization: Optimization::All,
            max_batch: 1,
        }
    }
}

pub(super) fn build(name: &str, bytes: &[u8], config: SessionConfig) -> Result<Session, MlError> {
    if !(1..=64).contains(&config.intra_threads) || !(1..=64).contains(&config.inter_threads) {
        return Err(MlError::OutOfRange {
            what: "threads",
            value: format!(
                "intra {} inter {}",
                config.intra_threads, config.inter_threads
            ),
            allowed: "1 to 64 each",
        });
    }
    if !(1..=4096).contains(&config.max_batch) {
        return Err(MlError::OutOfRange {
            what: "max_batch",
            value: config.max_batch.to_string(),
            allowed: "1 to 4096",
        });
    }
    let env = environment()?;
    let model_err = |e: ort::Error| MlError::Model {
        model: name.to_string(),
        detail: e.to_string(),
        source: Some(Cause::new(e)),
    };
    let level = match config.optimization {
        Optimization::Disable => GraphOptimizationLevel::Disable,
        Optimization::Basic => GraphOptimizationLevel::Level1,
        Optimization::Extended => GraphOptimizationLevel::Level2,
        Optimization::All => GraphOptimizationLevel::All,
    };
    let builder = Session::builder(env).map_err(model_err)?;
    let builder = builder
        .with_intra_threads(config.intra_threads)
        .map_err(|e| model_err(e.into()))?;
    let builder = builder
        .with_inter_threads(config.inter_threads)
        .map_err(|e| model_err(e.into()))?;
    let mut builder = builder
        .with_optimization_level(level)
        .map_err(|e| model_err(e.into()))?;
    builder.commit_from_memory(bytes).map_err(model_err)
}
