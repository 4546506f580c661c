//! The lab's one error type: every message is one line that names the
//! file or value at fault and what is allowed.

use std::path::PathBuf;

use kmidi_engine::EngineError;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum PerfError {
    /// The engine could not be built or fed (bad config, missing ONNX
    /// Runtime, unreadable WAV...).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A model could not be loaded or run.
    #[error(transparent)]
    Ml(#[from] kmidi_ml::MlError),
    /// A command-line value is out of range.
    #[error("{what} = {value}: {allowed}")]
    Invalid {
        /// The option.
        what: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: String,
    },
    /// A file could not be read, parsed or written.
    #[error("{path}: {detail}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
        /// The underlying error (the OS's, a parser's), when there was one.
        #[source]
        source: Option<kmidi_dsp::Cause>,
    },
    /// A profiler failed.
    #[error("profiler: {0}")]
    Profiler(String),
}

impl PerfError {
    /// A [`PerfError::File`], flattened to one line.
    pub fn file(path: impl Into<PathBuf>, detail: impl std::fmt::Display) -> Self {
        PerfError::File {
            path: path.into(),
            detail: detail.to_string().replace('\n', " "),
            source: None,
        }
    }

    /// A [`PerfError::File`] whose detail is `error`'s message, keeping
    /// `error` as the source.
    pub fn caused(
        path: impl Into<PathBuf>,
        error: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        PerfError::File {
            path: path.into(),
            detail: error.to_string().replace('\n', " "),
            source: Some(kmidi_dsp::Cause::new(error)),
        }
    }

    /// A [`PerfError::File`] with `detail` in the lab's words, keeping
    /// `error` as the source.
    pub fn file_caused(
        path: impl Into<PathBuf>,
        detail: impl std::fmt::Display,
        error: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        PerfError::File {
            path: path.into(),
            detail: detail.to_string().replace('\n', " "),
            source: Some(kmidi_dsp::Cause::new(error)),
        }
    }

    /// A [`PerfError::Invalid`].
    pub fn invalid(
        what: &'static str,
        value: impl std::fmt::Display,
        allowed: impl Into<String>,
    ) -> Self {
        PerfError::Invalid {
            what,
            value: value.to_string(),
            allowed: allowed.into(),
        }
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a
/// rename, so a reader never sees half a file and a failure keeps the old one.
///
/// # Errors
/// [`PerfError::File`] naming `path`.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<(), PerfError> {
    kmidi_dsp::atomic_file::write_atomic(path, bytes).map_err(|e| PerfError::File {
        path: path.into(),
        detail: format!("cannot write: {e}"),
        source: Some(kmidi_dsp::Cause::new(e)),
    })
}
