//! # kmidi-harmony
//!
//! Music theory for kmidi, right by common-practice standards and cheap
//! enough for the audio thread.
//!
//! This first part holds pitch and intervals:
//!
//! - [`pitch::PitchClass`]: the twelve semitones;
//! - [`pitch::SpelledPitch`]: letter plus accidental (C♯ is not D♭);
//! - [`pitch::Note`]: a spelled pitch in an octave, with its MIDI number;
//! - [`interval::Interval`]: quality and number, compound intervals included,
//!   and transposition that keeps the spelling right.
//!
//! Parsers never panic: a bad string gives a [`HarmonyError`] that says where
//! parsing stopped and what was expected.
//!
//! ```
//! use kmidi_harmony::interval::Interval;
//! use kmidi_harmony::pitch::Note;
//!
//! let c4: Note = "C4".parse()?;
//! let fifth: Interval = "P5".parse()?;
//! assert_eq!(fifth.above(c4)?.to_string(), "G4");
//! assert_eq!("d4".parse::<Interval>()?.above(c4)?.to_string(), "Fb4");
//!
//! let err = "H4".parse::<Note>().unwrap_err();
//! assert_eq!(err.to_string(), "cannot parse note \"H4\": at byte 0, expected a note letter A-G");
//! # Ok::<(), kmidi_harmony::HarmonyError>(())
//! ```
#![warn(missing_docs)]

pub mod chord;
mod error;
pub mod interval;
pub mod key;
pub mod pitch;
pub mod progression;
pub mod roman;
pub mod scale;

pub use error::HarmonyError;
