//! # kmidi-engine
//!
//! The graph that wires kmidi's crates into one block callback:
//!
//! ```text
//! input (any rate) ─ resampler ─┬─ track 0: EQ ─ compressor ─┐
//!                               ├─ track 1: EQ ─ compressor ─┤ mixer (fader, pan)
//!                               └─ ...                       ┘      │
//!            master: EQ ─ lookahead limiter ─ output (stereo) ◄─────┘
//!                    └─ taps: ChordDetector, OnsetDetector, ML features
//!                                                  └─ inference worker (off-thread)
//! MIDI: groove scheduler ─ events for the block
//! ```
//!
//! * [`EngineConfig`]: the presets "minimal" (1 track), "band" (8) and
//!   "large" (32), or a TOML file validated with errors that name the field.
//! * [`Engine::process`]: one block in, one block out. It never allocates,
//!   locks or panics (`tests/zero_alloc.rs`).
//! * Per-stage timing ([`timing`]) for "stage: % of block time" tables.
//! * [`render::render_file`]: offline render of any WAV (16/24/32-bit int,
//!   32-bit float, any channel count, resampled as needed) to WAV.
//! * [`material`]: generated music-like stems, so the lab needs no files.
//! * [`analyze::analyze_wav`]: chords, key, onsets, beats and tempo of a WAV.
//! * [`transcribe::transcribe_wav`]: the notes of a WAV with Basic Pitch,
//!   inference on a worker thread, as JSON, mir_eval `.lab` and MIDI.
//!
//! ```
//! use kmidi_dsp::AudioBuffer;
//! use kmidi_engine::{Engine, EngineConfig};
//!
//! let mut config = EngineConfig::preset("minimal")?;
//! config.stage_timing = true;
//! let mut engine = Engine::new(config)?;
//! let mut input = AudioBuffer::new(engine.input_channels(), 512);
//! input.channel_mut(0).iter_mut().enumerate()
//!     .for_each(|(i, s)| *s = 0.3 * (i as f32 * 0.06).sin());
//! let mut output = engine.create_output();
//! for _ in 0..10 {
//!     engine.process(&input, &mut output)?;
//! }
//! assert_eq!(engine.stats().blocks, 10);
//! assert!(output.peak() <= 1.0);
//! let (per_stage, blocks) = engine.stage_totals();
//! assert_eq!(blocks, 10);
//! assert!(per_stage.iter().sum::<u64>() > 0);
//! # Ok::<(), kmidi_engine::EngineError>(())
//! ```
#![warn(missing_docs)]

pub mod analyze;
pub mod config;
mod engine;
mod error;
pub mod groove_track;
pub mod material;
pub mod ml_tap;
pub mod render;
pub mod timing;
pub mod transcribe;

pub use config::EngineConfig;
pub use engine::{
    Engine, EngineControl, EngineStats, GrooveControl, InputClock, MAX_EVENTS_PER_BLOCK,
};
pub use error::EngineError;
pub use timing::Stage;
