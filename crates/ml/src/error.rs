//! The crate's error type. Every failure of ONNX Runtime or of a model file
//! becomes one of these, with what was wrong and what to do; none panics.
//! Where an underlying error exists (ONNX Runtime's, an I/O error) it is
//! kept as the variant's `source`.

use kmidi_dsp::Cause;
use thiserror::Error;

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MlError {
    /// The ONNX Runtime shared library is not where ORT_DYLIB_PATH points.
    #[error(
        "ONNX Runtime library not found at {path}: run scripts/fetch_onnxruntime.sh (or set ORT_DYLIB_PATH to libonnxruntime.so 1.32)"
    )]
    LibraryMissing {
        /// The path that was tried.
        path: String,
    },
    /// The library exists but could not be loaded.
    #[error("cannot load ONNX Runtime from {path}: {detail}")]
    LibraryLoad {
        /// The path.
        path: String,
        /// The loader's message.
        detail: String,
        /// The underlying error (ONNX Runtime's, the file system's), for
        /// callers that walk `source()`.
        #[source]
        source: Option<Cause>,
    },
    /// A model file is missing, unreadable or not a valid ONNX model.
    #[error("cannot load model {model}: {detail}")]
    Model {
        /// The model's file or name.
        model: String,
        /// What was wrong.
        detail: String,
        /// The underlying error (ONNX Runtime's, the file system's), for
        /// callers that walk `source()`.
        #[source]
        source: Option<Cause>,
    },
    /// The model's inputs or outputs do not match the expected contract.
    #[error("model {model} does not match its contract: {detail}")]
    Contract {
        /// The model.
        model: String,
        /// The first mismatch, with what was expected.
        detail: String,
    },
    /// Input data has the wrong size or a name the model does not have.
    #[error("bad input for {model}: {detail}")]
    Input {
        /// The model.
        model: String,
        /// What was wrong.
        detail: String,
    },
    /// ONNX Runtime failed during a run.
    #[error("inference failed in {model}: {detail}")]
    Run {
        /// The model.
        model: String,
        /// ONNX Runtime's message.
        detail: String,
        /// The underlying error (ONNX Runtime's, the file system's), for
        /// callers that walk `source()`.
        #[source]
        source: Option<Cause>,
    },
    /// A setting is out of range.
    #[error("{what} = {value} is out of range: allowed {allowed}")]
    OutOfRange {
        /// The setting.
        what: &'static str,
        /// The value.
        value: String,
        /// What is allowed.
        allowed: &'static str,
    },
}
