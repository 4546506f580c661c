//! # kmidi-harmony
//!
//! Music theory for kmidi, right by common-practice standards and cheap
//! enough for the audio thread, and chord and key detection from audio.
//!
//! Theory:
//! - [`pitch`]: pitch classes, spelled pitches (C♯ is not D♭), notes with
//!   octave and MIDI number;
//! - [`interval`]: intervals by quality and number, compound ones included,
//!   and transposition that keeps the spelling right;
//! - [`scale`]: the major scale and its modes, the three minors, pentatonics,
//!   blues, whole-tone, both diminished scales, chromatic; from a string;
//! - [`key`]: keys, signatures, diatonic triads and sevenths, and the
//!   spelling of any pitch class in a key;
//! - [`chord`]: lead-sheet chord symbols, parsed and printed
//!   (`parse(print(c)) == c`), with their spelled notes;
//! - [`roman`]: Roman numerals in a key (figures, secondary functions, N6,
//!   augmented sixths, mixture, RomanText omissions such as `[no3]`) and the
//!   reverse analysis;
//! - [`progression`]: progressions in a key and transposition;
//! - [`voice_leading`]: four-voice realization without parallel fifths or
//!   octaves in the outer voices.
//!
//! Audio: [`detect::ChordDetector`] is a [`kmidi_dsp::Processor`] that labels
//! chords (nine kinds on twelve roots, or no chord) with a confidence and
//! where they change, and estimates the key with [`key_finding`]
//! (Krumhansl–Schmuckler over its chroma). It never allocates in
//! `process`.
//!
//! Parsers never panic: a bad string gives a [`HarmonyError`] that says where
//! parsing stopped and what was expected.
//!
//! ```
//! use kmidi_harmony::chord::Chord;
//! use kmidi_harmony::interval::Interval;
//! use kmidi_harmony::key::Key;
//! use kmidi_harmony::pitch::Note;
//! use kmidi_harmony::roman::RomanNumeral;
//!
//! let c4: Note = "C4".parse()?;
//! let fifth: Interval = "P5".parse()?;
//! assert_eq!(fifth.above(c4)?.to_string(), "G4");
//!
//! let chord: Chord = "F#ø7".parse()?;
//! assert_eq!(chord.to_string(), "F#m7b5");
//! let key: Key = "E minor".parse()?;
//! assert_eq!(RomanNumeral::analyze(&chord, key).unwrap().to_string(), "iiø7");
//! let v_of_v: RomanNumeral = "V7/V".parse()?;
//! assert_eq!(v_of_v.realize(key).symbol.to_string(), "F#7");
//!
//! let err = "H4".parse::<Note>().unwrap_err();
//! assert_eq!(err.to_string(), "cannot parse note \"H4\": at byte 0, expected a note letter A-G");
//! # Ok::<(), kmidi_harmony::HarmonyError>(())
//! ```
#![warn(missing_docs)]

pub mod chord;
pub mod detect;
mod error;
pub mod interval;
pub mod key;
pub mod key_finding;
pub mod pitch;
pub mod progression;
pub mod roman;
pub mod scale;
pub mod voice_leading;

pub use error::HarmonyError;
