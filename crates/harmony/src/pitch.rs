//! Pitch classes, spelled pitches and notes with octave and MIDI number.
//!
//! A [`PitchClass`] is one of the twelve semitones (C = 0). A
//! [`SpelledPitch`] keeps the spelling as well, a letter and an accidental
//! (C♯ and D♭ are the same pitch class but different spellings), which is what
//! intervals, keys and chord symbols need. A [`Note`] adds the octave in
//! scientific pitch notation (C4 = middle C = MIDI 60).

use std::fmt;
use std::str::FromStr;

use crate::HarmonyError;

/// One of the twelve pitch classes, C = 0 to B = 11.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PitchClass(u8);

impl PitchClass {
    /// The pitch class of `semitones` above C (any integer, wrapped).
    pub fn new(semitones: i32) -> Self {
        Self(semitones.rem_euclid(12) as u8)
    }

    /// Semitones above C, 0 to 11.
    pub fn semitones(self) -> u8 {
        self.0
    }

    /// This pitch class moved by `semitones` (wrapping).
    pub fn transpose(self, semitones: i32) -> Self {
        Self::new(self.0 as i32 + semitones)
    }

    /// A spelling: naturals as themselves, the black keys with sharps or flats.
    pub fn spelled(self, prefer: Accidentals) -> SpelledPitch {
        const SHARP: [(Letter, i8); 12] = [
            (Letter::C, 0),
            (Letter::C, 1),
            (Letter::D, 0),
            (Letter::D, 1),
            (Letter::E, 0),
            (Letter::F, 0),
            (Letter::F, 1),
            (Letter::G, 0),
            (Letter::G, 1),
            (Letter::A, 0),
            (Letter::A, 1),
            (Letter::B, 0),
        ];
        const FLAT: [(Letter, i8); 12] = [
            (Letter::C, 0),
            (Letter::D, -1),
            (Letter::D, 0),
            (Letter::E, -1),
            (Letter::E, 0),
            (Letter::F, 0),
            (Letter::G, -1),
            (Letter::G, 0),
            (Letter::A, -1),
            (Letter::A, 0),
            (Letter::B, -1),
            (Letter::B, 0),
        ];
        let (letter, accidental) = match prefer {
            Accidentals::Sharps => SHARP[self.0 as usize],
            Accidentals::Flats => FLAT[self.0 as usize],
        };
        SpelledPitch { letter, accidental }
    }
}

/// Which accidental to use for the black keys when no key decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Accidentals {
    /// C♯, D♯, F♯, G♯, A♯.
    Sharps,
    /// D♭, E♭, G♭, A♭, B♭.
    Flats,
}

/// A note letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Letter {
    /// C
    C,
    /// D
    D,
    /// E
    E,
    /// F
    F,
    /// G
    G,
    /// A
    A,
    /// B
    B,
}

impl Letter {
    /// The seven letters from C.
    pub const ALL: [Letter; 7] = [
        Letter::C,
        Letter::D,
        Letter::E,
        Letter::F,
        Letter::G,
        Letter::A,
        Letter::B,
    ];

    /// Position from C, 0 to 6.
    pub fn index(self) -> u8 {
        self as u8
    }

    /// The letter `steps` letters above this one (wrapping).
    pub fn step(self, steps: i32) -> Letter {
        Self::ALL[(self.index() as i32 + steps).rem_euclid(7) as usize]
    }

    /// Semitones of the natural note above C: C 0, D 2, E 4, F 5, G 7, A 9, B 11.
    pub fn natural_semitones(self) -> u8 {
        [0, 2, 4, 5, 7, 9, 11][self.index() as usize]
    }

    fn from_char(c: char) -> Option<Letter> {
        Some(match c.to_ascii_uppercase() {
            'C' => Letter::C,
            'D' => Letter::D,
            'E' => Letter::E,
            'F' => Letter::F,
            'G' => Letter::G,
            'A' => Letter::A,
            'B' => Letter::B,
            _ => return None,
        })
    }
}

impl fmt::Display for Letter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}",
            ["C", "D", "E", "F", "G", "A", "B"][self.index() as usize]
        )
    }
}

/// Largest accidental a spelling may carry (double sharp or double flat).
pub const MAX_ACCIDENTAL: i8 = 2;

/// A pitch with its spelling: a letter and an accidental (-2 = double flat
/// to +2 = double sharp).
///
/// ```
/// use kmidi_harmony::pitch::SpelledPitch;
/// let cs: SpelledPitch = "C#".parse().unwrap();
/// let db: SpelledPitch = "Db".parse().unwrap();
/// assert_eq!(cs.pitch_class(), db.pitch_class());
/// assert_ne!(cs, db);
/// assert_eq!(cs.to_string(), "C#");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpelledPitch {
    /// The letter.
    pub letter: Letter,
    /// Semitones added to the natural letter.
    pub accidental: i8,
}

impl SpelledPitch {
    /// C natural.
    pub const C: SpelledPitch = SpelledPitch {
        letter: Letter::C,
        accidental: 0,
    };

    /// A spelling; the accidental must be within ±2.
    ///
    /// # Errors
    /// [`HarmonyError::OutOfRange`] for a triple sharp or flat.
    pub fn new(letter: Letter, accidental: i8) -> Result<Self, HarmonyError> {
        if accidental.abs() > MAX_ACCIDENTAL {
            return Err(HarmonyError::OutOfRange {
                what: "accidental",
                detail: format!(
                    "{accidental} semitones on {letter}; allowed -2 (double flat) to +2 (double sharp)"
                ),
            });
        }
        Ok(Self { letter, accidental })
    }

    /// `letter` with `accidental` semitones if that is within a double sharp
    /// or flat; otherwise the same pitch class on the neighbouring letter
    /// (a triple flat on B becomes A♭).
    pub fn nearest(letter: Letter, accidental: i32) -> SpelledPitch {
        if accidental.abs() <= MAX_ACCIDENTAL as i32 {
            return SpelledPitch {
                letter,
                accidental: accidental as i8,
            };
        }
        let pc = PitchClass::new(letter.natural_semitones() as i32 + accidental);
        let towards = if accidental > 0 { 1 } else { -1 };
        let other = letter.step(towards);
        let diff =
            (pc.semitones() as i32 - other.natural_semitones() as i32 + 6).rem_euclid(12) - 6;
        if diff.abs() <= MAX_ACCIDENTAL as i32 {
            SpelledPitch {
                letter: other,
                accidental: diff as i8,
            }
        } else {
            pc.spelled(if accidental > 0 {
                Accidentals::Sharps
            } else {
                Accidentals::Flats
            })
        }
    }

    /// The pitch class this spelling sounds as.
    pub fn pitch_class(self) -> PitchClass {
        PitchClass::new(self.letter.natural_semitones() as i32 + self.accidental as i32)
    }

    /// Parses a letter and its accidentals from the start of `s`; returns the
    /// spelling and the bytes consumed.
    pub(crate) fn parse_prefix(
        s: &str,
        what: &'static str,
        full: &str,
        offset: usize,
    ) -> Result<(Self, usize), HarmonyError> {
        let mut chars = s.char_indices();
        let letter = match chars.next() {
            Some((_, c)) => Letter::from_char(c)
                .ok_or_else(|| HarmonyError::parse(what, full, offset, "a note letter A-G"))?,
            None => return Err(HarmonyError::parse(what, full, offset, "a note letter A-G")),
        };
        let mut accidental: i8 = 0;
        let mut end = 1;
        for (i, c) in chars {
            let delta = match c {
                '#' | '♯' => 1,
                'x' | '𝄪' => 2,
                'b' | '♭' => -1,
                '𝄫' => -2,
                _ => break,
            };
            accidental += delta;
            end = i + c.len_utf8();
            if accidental.abs() > MAX_ACCIDENTAL {
                return Err(HarmonyError::parse(
                    what,
                    full,
                    offset + i,
                    "at most a double sharp or double flat",
                ));
            }
        }
        Ok((Self { letter, accidental }, end))
    }
}

impl fmt::Display for SpelledPitch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter)?;
        let sign = if self.accidental > 0 { "#" } else { "b" };
        for _ in 0..self.accidental.unsigned_abs() {
            f.write_str(sign)?;
        }
        Ok(())
    }
}

impl FromStr for SpelledPitch {
    type Err = HarmonyError;

    /// Parses `C`, `c#`, `Db`, `F##`, `Gx`, `E♭`, `B𝄫`.
    fn from_str(s: &str) -> Result<Self, HarmonyError> {
        let (p, used) = Self::parse_prefix(s, "pitch", s, 0)?;
        if used != s.len() {
            return Err(HarmonyError::parse(
                "pitch",
                s,
                used,
                "end of input after the accidentals",
            ));
        }
        Ok(p)
    }
}

/// Lowest octave a [`Note`] may have (C-1 = MIDI 0).
pub const MIN_OCTAVE: i8 = -1;
/// Highest octave a [`Note`] may have (G9 = MIDI 127).
pub const MAX_OCTAVE: i8 = 9;

/// A spelled pitch in an octave (scientific pitch notation: C4 is middle C,
/// MIDI 60; the octave number changes between B and C).
///
/// ```
/// use kmidi_harmony::pitch::Note;
/// let n: Note = "Bb3".parse().unwrap();
/// assert_eq!(n.midi(), 58);
/// // B#3 sounds as C4:
/// assert_eq!("B#3".parse::<Note>().unwrap().midi(), 60);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Note {
    /// Letter and accidental.
    pub pitch: SpelledPitch,
    /// Octave of the letter (scientific pitch notation).
    pub octave: i8,
}

impl Note {
    /// A note; its MIDI number must fall within 0 to 127.
    ///
    /// # Errors
    /// [`HarmonyError::OutOfRange`] outside the MIDI range.
    pub fn new(pitch: SpelledPitch, octave: i8) -> Result<Self, HarmonyError> {
        let n = Self { pitch, octave };
        if !(0..=127).contains(&n.midi_unchecked()) {
            return Err(HarmonyError::OutOfRange {
                what: "note",
                detail: format!(
                    "{pitch}{octave} is MIDI {}; allowed 0 (C-1) to 127 (G9)",
                    n.midi_unchecked()
                ),
            });
        }
        Ok(n)
    }

    fn midi_unchecked(self) -> i32 {
        (self.octave as i32 + 1) * 12
            + self.pitch.letter.natural_semitones() as i32
            + self.pitch.accidental as i32
    }

    /// The MIDI note number (60 = C4).
    pub fn midi(self) -> u8 {
        self.midi_unchecked().clamp(0, 127) as u8
    }

    /// A note from a MIDI number, spelled with sharps or flats.
    ///
    /// # Errors
    /// [`HarmonyError::OutOfRange`] above 127.
    pub fn from_midi(midi: u8, prefer: Accidentals) -> Result<Self, HarmonyError> {
        let pitch = PitchClass::new(midi as i32).spelled(prefer);
        let octave = (midi as i32 / 12 - 1) as i8;
        Self::new(pitch, octave)
    }

    /// Frequency in Hz at A4 = `a4_hz`, equal temperament.
    pub fn frequency(self, a4_hz: f64) -> f64 {
        a4_hz * 2f64.powf((self.midi_unchecked() as f64 - 69.0) / 12.0)
    }

    /// The diatonic position (letters from C-1), used for interval numbers.
    pub(crate) fn staff_position(self) -> i32 {
        self.octave as i32 * 7 + self.pitch.letter.index() as i32
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.pitch, self.octave)
    }
}

impl FromStr for Note {
    type Err = HarmonyError;

    /// Parses a spelled pitch followed by an octave: `C4`, `F#3`, `Bb-1`, `G9`.
    fn from_str(s: &str) -> Result<Self, HarmonyError> {
        let (pitch, used) = SpelledPitch::parse_prefix(s, "note", s, 0)?;
        let rest = &s[used..];
        if rest.is_empty() {
            return Err(HarmonyError::parse(
                "note",
                s,
                used,
                "an octave number -1 to 9 (as in C4)",
            ));
        }
        let octave: i8 = rest.parse().map_err(|_| {
            HarmonyError::parse("note", s, used, "an octave number -1 to 9 (as in C4)")
        })?;
        if !(MIN_OCTAVE..=MAX_OCTAVE).contains(&octave) {
            return Err(HarmonyError::parse(
                "note",
                s,
                used,
                "an octave number -1 to 9 (as in C4)",
            ));
        }
        Note::new(pitch, octave)
    }
}
