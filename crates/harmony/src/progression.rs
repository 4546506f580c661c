//! Progressions in a key and their realization in four voices.
//!
//! A [`Progression`] is a key and a list of Roman numerals (`I vi IV V`,
//! `ii7 V7 I`). It realizes into spelled chords, transposes to another key,
//! and a [`VoiceLeader`] sets it for bass, tenor, alto and soprano as MIDI
//! notes: every chord complete (or a seventh chord without its fifth), each
//! voice in its range, no crossing, the leading tone and the seventh never
//! doubled, and by default no parallel fifths or octaves between the outer
//! voices ([`ParallelRule::AllVoices`] extends that to every pair).
//!
//! ```
//! use kmidi_harmony::progression::{Progression, VoiceLeader};
//! let p: Progression = "G major: I vi ii65 V7 I".parse()?;
//! let symbols: Vec<String> = p.symbols().iter().map(|c| c.to_string()).collect();
//! assert_eq!(symbols, ["G", "Em", "Am7/C", "D7", "G"]);
//! let voices = VoiceLeader::default().realize(&p.chords())?;
//! assert_eq!(voices.len(), 5);
//! assert_eq!(voices[2].bass() % 12, 0); // C in the bass of ii65
//! let in_eb = p.transposed("Eb major".parse()?);
//! assert_eq!(in_eb.symbols()[3].to_string(), "Bb7");
//! # Ok::<(), kmidi_harmony::HarmonyError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::HarmonyError;
use crate::chord::Chord;
use crate::key::Key;
use crate::roman::{RealizedChord, RomanNumeral};

pub use crate::voice_leading::{
    ParallelRule, VoiceLeader, VoiceLeadingError, VoiceRanges, Voicing,
};

/// A key and its Roman numerals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progression {
    key: Key,
    numerals: Vec<RomanNumeral>,
}

impl Progression {
    /// Parses numerals separated by spaces (bar lines `|` and `-` between
    /// numerals are allowed and ignored) in `key`.
    ///
    /// # Errors
    /// [`HarmonyError::Parse`] with the byte offset in `text` of the numeral
    /// that failed and what was expected there.
    pub fn parse(key: Key, text: &str) -> Result<Progression, HarmonyError> {
        Self::parse_at(key, text, text, 0)
    }

    fn parse_at(
        key: Key,
        text: &str,
        full: &str,
        offset: usize,
    ) -> Result<Progression, HarmonyError> {
        let mut numerals = Vec::new();
        let mut start = None;
        for (i, ch) in text
            .char_indices()
            .chain(std::iter::once((text.len(), ' ')))
        {
            let sep = ch.is_whitespace() || ch == '|' || ch == ',';
            match (sep, start) {
                (false, None) => start = Some(i),
                (true, Some(s)) => {
                    let token = &text[s..i];
                    if token != "-" {
                        numerals.push(RomanNumeral::parse_in(token, full, offset + s)?);
                    }
                    start = None;
                }
                _ => {}
            }
        }
        if numerals.is_empty() {
            return Err(HarmonyError::parse(
                "progression",
                full,
                offset + text.len(),
                "at least one Roman numeral",
            ));
        }
        Ok(Progression { key, numerals })
    }

    /// A progression from numerals.
    pub fn new(key: Key, numerals: Vec<RomanNumeral>) -> Progression {
        Progression { key, numerals }
    }

    /// The key.
    pub fn key(&self) -> Key {
        self.key
    }

    /// The numerals.
    pub fn numerals(&self) -> &[RomanNumeral] {
        &self.numerals
    }

    /// The same numerals in another key.
    pub fn transposed(&self, key: Key) -> Progression {
        Progression {
            key,
            numerals: self.numerals.clone(),
        }
    }

    /// The chords, spelled in the key.
    pub fn chords(&self) -> Vec<RealizedChord> {
        self.numerals.iter().map(|n| n.realize(self.key)).collect()
    }

    /// The chord symbols.
    pub fn symbols(&self) -> Vec<Chord> {
        self.numerals
            .iter()
            .map(|n| n.realize(self.key).symbol)
            .collect()
    }
}

impl fmt::Display for Progression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.key)?;
        for n in &self.numerals {
            write!(f, " {n}")?;
        }
        Ok(())
    }
}

impl FromStr for Progression {
    type Err = HarmonyError;

    /// `"<key>: <numerals>"`, as in `C major: I vi IV V` or `Bb: ii7 V7 I`.
    fn from_str(s: &str) -> Result<Self, HarmonyError> {
        let Some(colon) = s.find(':') else {
            return Err(HarmonyError::parse(
                "progression",
                s,
                0,
                "a key, a colon, then numerals (as in \"C major: I vi IV V\")",
            ));
        };
        let key: Key = s[..colon].parse().map_err(|e| match e {
            HarmonyError::Parse {
                position, expected, ..
            } => HarmonyError::parse("progression", s, position, expected),
            other => other,
        })?;
        Self::parse_at(key, &s[colon + 1..], s, colon + 1)
    }
}
