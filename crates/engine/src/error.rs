//! The engine's one error type.

use std::path::PathBuf;

use kmidi_dsp::{ConfigError, ProcessError};
use kmidi_groove::GrooveError;
use kmidi_ml::MlError;

/// Everything that can go wrong building or feeding an [`Engine`](crate::Engine),
/// reading a config or rendering a file. Every message says what was wrong
/// and what is allowed, on one line.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A config value is out of range or inconsistent.
    #[error("{context}: {detail}")]
    Config {
        /// Where: "track 3 (\"bass\") eq band 2", "master limiter", ...
        context: String,
        /// What was wrong and what is allowed.
        detail: String,
    },
    /// A config file could not be read or parsed.
    #[error("{path}:{line}:{column}: {detail}")]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem (0 when not known).
        line: usize,
        /// 1-based column.
        column: usize,
        /// What was wrong.
        detail: String,
        /// The I/O or TOML error underneath, kept for `source()`.
        #[source]
        source: Option<kmidi_dsp::Cause>,
    },
    /// An unknown preset name.
    #[error("unknown preset \"{0}\": allowed minimal, band, large")]
    UnknownPreset(String),
    /// A DSP node rejected its settings, or a block did not match the engine.
    #[error(transparent)]
    Dsp(#[from] ConfigError),
    /// A block did not match the engine (the output was silent).
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// The groove scheduler could not be built.
    #[error("groove: {0}")]
    Groove(#[from] GrooveError),
    /// A model or ONNX Runtime could not be loaded.
    #[error(transparent)]
    Ml(#[from] MlError),
    /// A WAV file could not be read or written.
    #[error("{path}: {detail}")]
    Wav {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
        /// The underlying error (hound's or the OS's), when there was one.
        #[source]
        source: Option<kmidi_dsp::Cause>,
    },
}

impl EngineError {
    pub(crate) fn config(context: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        EngineError::Config {
            context: context.into(),
            detail: detail.to_string(),
        }
    }

    pub(crate) fn wav(path: &std::path::Path, detail: impl std::fmt::Display) -> Self {
        EngineError::Wav {
            path: path.to_path_buf(),
            detail: detail.to_string(),
            source: None,
        }
    }

    /// A [`EngineError::Wav`] that keeps `source`.
    pub(crate) fn wav_caused(
        path: &std::path::Path,
        detail: impl std::fmt::Display,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        EngineError::Wav {
            path: path.to_path_buf(),
            detail: detail.to_string(),
            source: Some(kmidi_dsp::Cause::new(source)),
        }
    }
}
