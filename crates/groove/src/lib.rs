//! # kmidi-groove
//!
//! MIDI timing and groove for kmidi:
//!
//! - [`event`]: note and control events in ticks and in sample frames;
//! - [`tempo`]: the tempo map (PPQ, tempo changes, time signatures) with
//!   exact tick ↔ second ↔ frame conversion;
//! - [`smf`]: Standard MIDI Files, read and written without losing an event
//!   (every format, SMPTE timing, running status as real files use it);
//! - [`scheduler`]: the audio thread's view: the events inside each block
//!   with their frame offsets, without allocating, across tempo changes
//!   and loops;
//! - [`groove`]: quantize, swing, humanize, and groove templates;
//! - [`onset`]: `OnsetDetector`, SuperFlux onsets on the audio thread;
//! - [`beat`]: tempo estimation and beat tracking over the onset envelope.
//!
//! ```
//! use kmidi_groove::tempo::TempoMap;
//! let map = TempoMap::new(960)?; // 120 BPM, 4/4
//! assert_eq!(map.tick_to_frame(960, 48_000), 24_000); // one beat = 0.5 s
//! # Ok::<(), kmidi_groove::GrooveError>(())
//! ```
#![warn(missing_docs)]

pub mod beat;
mod error;
pub mod event;
pub mod groove;
pub mod onset;
pub mod scheduler;
pub mod smf;
pub mod tempo;

pub use error::GrooveError;
