//! # kmidi-ml
//!
//! ONNX models for kmidi through ONNX Runtime (`ort`, loading the library
//! at run time from `ORT_DYLIB_PATH`; `scripts/fetch_onnxruntime.sh`
//! fetches it):
//!
//! - [`session::ModelSession`]: a model with its input/output contract
//!   checked at load, preallocated inputs, warm-up, configurable threads and
//!   optimization, and its load time;
//! - [`runtime`]: the process-wide environment, with a clear error (and the
//!   fetch command) when the library is missing;
//! - [`models`]: the engine's five models and what each was trained on;
//! - [`transcription`]: polyphonic audio to notes (and MIDI) with Spotify's
//!   Basic Pitch, resampled, windowed and decoded as Basic Pitch does, on a
//!   worker thread fed by a wait-free ring.
//!
//! ```no_run
//! use kmidi_ml::session::{Element, ModelContract, ModelSession, SessionConfig, TensorSpec};
//! let contract = ModelContract {
//!     inputs: vec![TensorSpec::new("features", Element::F32, &[-1, 32, 4])],
//!     outputs: vec![TensorSpec::new("gain_db", Element::F32, &[-1, 32])],
//! };
//! let mut s = ModelSession::from_file("crates/ml/models/dynamics_engine.onnx", contract, SessionConfig::default())?;
//! s.input_f32("features")?.fill(0.5);
//! s.run()?;
//! println!("{:?}", &s.output("gain_db")?[..4]);
//! # Ok::<(), kmidi_ml::MlError>(())
//! ```
#![warn(missing_docs)]

mod error;
pub mod features;
pub mod models;
pub mod runtime;
pub mod session;
#[cfg(feature = "tract")]
pub mod tract_backend;
pub mod transcription;
pub mod worker;

pub use error::MlError;
