//! Intervals by quality and number, compound ones included, and
//! transposition that keeps the spelling right (C up a major third is E, up
//! a diminished fourth is F♭).

use std::fmt;
use std::str::FromStr;

use crate::HarmonyError;
use crate::pitch::{Note, SpelledPitch};

/// The quality of an interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quality {
    /// Diminished `n` times (1 = diminished, 2 = doubly diminished).
    Diminished(u8),
    /// Minor (2nds, 3rds, 6ths, 7ths).
    Minor,
    /// Perfect (unisons, 4ths, 5ths, octaves).
    Perfect,
    /// Major (2nds, 3rds, 6ths, 7ths).
    Major,
    /// Augmented `n` times.
    Augmented(u8),
}

/// An interval: a number (1 = unison, 8 = octave, 9 = ninth, ...) and a
/// quality.
///
/// ```
/// use kmidi_harmony::interval::Interval;
/// use kmidi_harmony::pitch::Note;
/// let m10: Interval = "m10".parse().unwrap();
/// assert_eq!(m10.semitones(), 15);
/// let c4: Note = "C4".parse().unwrap();
/// assert_eq!(m10.above(c4).unwrap().to_string(), "Eb5");
/// assert_eq!(Interval::between(c4, "F#4".parse().unwrap()).unwrap().to_string(), "A4");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interval {
    /// 1 = unison, 2 = second, ..., 8 = octave, 9 = ninth, ...
    pub number: u8,
    /// Quality.
    pub quality: Quality,
}

/// Semitones of the major or perfect interval for simple numbers 1..=7.
const BASE: [i32; 7] = [0, 2, 4, 5, 7, 9, 11];

fn is_perfect_type(simple: u8) -> bool {
    matches!(simple, 1 | 4 | 5)
}

impl Interval {
    /// An interval, checked: perfect qualities only for unisons, 4ths, 5ths
    /// and their compounds; major and minor only for the others.
    ///
    /// # Errors
    /// [`HarmonyError::OutOfRange`] for number 0 or a quality the number cannot take.
    pub fn new(number: u8, quality: Quality) -> Result<Self, HarmonyError> {
        if number == 0 {
            return Err(HarmonyError::OutOfRange {
                what: "interval number",
                detail: "0; numbers start at 1 (unison)".into(),
            });
        }
        let simple = (number - 1) % 7 + 1;
        let ok = match quality {
            Quality::Perfect => is_perfect_type(simple),
            Quality::Major | Quality::Minor => !is_perfect_type(simple),
            Quality::Augmented(n) | Quality::Diminished(n) => (1..=3).contains(&n),
        };
        if !ok {
            return Err(HarmonyError::OutOfRange {
                what: "interval quality",
                detail: format!(
                    "{quality:?} with number {number}; unisons, 4ths, 5ths and octaves are perfect, 2nds, 3rds, 6ths and 7ths major or minor"
                ),
            });
        }
        Ok(Self { number, quality })
    }

    /// The simple number (1..=7) of this interval: a tenth is a third.
    pub fn simple_number(self) -> u8 {
        (self.number - 1) % 7 + 1
    }

    /// Whole octaves above the simple interval (a tenth: 1).
    pub fn octaves(self) -> u8 {
        (self.number - 1) / 7
    }

    /// Whether the number is above an octave.
    pub fn is_compound(self) -> bool {
        self.number > 8
    }

    /// Size in semitones.
    pub fn semitones(self) -> i32 {
        let simple = self.simple_number();
        let base = BASE[(simple - 1) as usize] + 12 * self.octaves() as i32;
        let perfect = is_perfect_type(simple);
        base + match self.quality {
            Quality::Perfect | Quality::Major => 0,
            Quality::Minor => -1,
            Quality::Augmented(n) => n as i32,
            Quality::Diminished(n) => {
                if perfect {
                    -(n as i32)
                } else {
                    -1 - n as i32
                }
            }
        }
    }

    /// The interval from `low` up to `high` (`high` must not be lower on the staff).
    ///
    /// # Errors
    /// [`HarmonyError::OutOfRange`] if `high` is below `low` or the
    /// interval needs more than a triple augmentation or diminution.
    pub fn between(low: Note, high: Note) -> Result<Self, HarmonyError> {
        let steps = high.staff_position() - low.staff_position();
        if steps < 0 {
            return Err(HarmonyError::OutOfRange {
                what: "interval",
                detail: format!("{high} is below {low}; give the lower note first"),
            });
        }
        let number = (steps + 1) as u8;
        let simple = (number - 1) % 7 + 1;
        let base = BASE[(simple - 1) as usize] + 12 * ((number - 1) / 7) as i32;
        let semis = high.midi() as i32 - low.midi() as i32;
        let off = semis - base;
        let quality = if is_perfect_type(simple) {
            match off {
                0 => Quality::Perfect,
                n if n > 0 => Quality::Augmented(n as u8),
                n => Quality::Diminished((-n) as u8),
            }
        } else {
            match off {
                0 => Quality::Major,
                -1 => Quality::Minor,
                n if n > 0 => Quality::Augmented(n as u8),
                n => Quality::Diminished((-1 - n) as u8),
            }
        };
        Self::new(number, quality)
    }

    /// The note this interval above `note`, correctly spelled.
    ///
    /// # Errors
    /// [`HarmonyError::OutOfRange`] if the result needs more than a double
    /// sharp or flat, or leaves the MIDI range.
    pub fn above(self, note: Note) -> Result<Note, HarmonyError> {
        let steps = self.number as i32 - 1;
        self.place(note, steps, note.midi() as i32 + self.semitones())
    }

    /// The note this interval below `note`, correctly spelled.
    ///
    /// # Errors
    /// As for [`above`](Self::above).
    pub fn below(self, note: Note) -> Result<Note, HarmonyError> {
        let steps = -(self.number as i32 - 1);
        self.place(note, steps, note.midi() as i32 - self.semitones())
    }

    /// The spelled pitch this interval above `pitch`, octave ignored
    /// (E♭ up a major third is G, C up an augmented sixth is A♯).
    ///
    /// # Errors
    /// [`HarmonyError::OutOfRange`] if the result needs more than a double
    /// sharp or flat (C♭ up a diminished seventh would be B𝄫♭).
    pub fn above_pitch(self, pitch: SpelledPitch) -> Result<SpelledPitch, HarmonyError> {
        let accidental = self.accidental_above(pitch);
        let letter = pitch.letter.step(self.number as i32 - 1);
        SpelledPitch::new(letter, accidental.clamp(-9, 9) as i8).map_err(|_| {
            HarmonyError::OutOfRange {
                what: "transposition",
                detail: format!(
                    "{pitch} up a {self} needs {accidental:+} semitones on {letter}; at most a double sharp or flat"
                ),
            }
        })
    }

    /// As [`above_pitch`](Self::above_pitch), but a result beyond a double
    /// sharp or flat is respelled on the neighbouring letter (B𝄫♭ becomes A♭),
    /// so it never fails. Chord spelling uses this.
    pub fn above_pitch_respelled(self, pitch: SpelledPitch) -> SpelledPitch {
        let accidental = self.accidental_above(pitch);
        let letter = pitch.letter.step(self.number as i32 - 1);
        SpelledPitch::nearest(letter, accidental)
    }

    /// The spelled pitch this interval below `pitch`, octave ignored.
    ///
    /// # Errors
    /// As for [`above_pitch`](Self::above_pitch).
    pub fn below_pitch(self, pitch: SpelledPitch) -> Result<SpelledPitch, HarmonyError> {
        let letter = pitch.letter.step(-(self.number as i32 - 1));
        let simple = self.semitones() - 12 * self.octaves() as i32;
        let natural_gap = (pitch.letter.natural_semitones() as i32
            - letter.natural_semitones() as i32)
            .rem_euclid(12);
        let accidental = pitch.accidental as i32 - simple + natural_gap;
        SpelledPitch::new(letter, accidental.clamp(-9, 9) as i8).map_err(|_| {
            HarmonyError::OutOfRange {
                what: "transposition",
                detail: format!(
                    "{pitch} down a {self} needs {accidental:+} semitones on {letter}; at most a double sharp or flat"
                ),
            }
        })
    }

    /// The inversion of the simple interval: M3 ↔ m6, P4 ↔ P5, A4 ↔ d5,
    /// P1 ↔ P8. Compound intervals are reduced to simple first.
    pub fn inverted(self) -> Interval {
        let simple = self.simple_number();
        let number = if simple == 1 && self.number > 1 {
            1
        } else {
            9 - simple
        };
        let quality = match self.quality {
            Quality::Perfect => Quality::Perfect,
            Quality::Major => Quality::Minor,
            Quality::Minor => Quality::Major,
            Quality::Augmented(n) => Quality::Diminished(n),
            Quality::Diminished(n) => Quality::Augmented(n),
        };
        Interval { number, quality }
    }

    fn accidental_above(self, pitch: SpelledPitch) -> i32 {
        let letter = pitch.letter.step(self.number as i32 - 1);
        let simple = self.semitones() - 12 * self.octaves() as i32;
        let natural_gap = (letter.natural_semitones() as i32
            - pitch.letter.natural_semitones() as i32)
            .rem_euclid(12);
        pitch.accidental as i32 + simple - natural_gap
    }

    fn place(self, from: Note, steps: i32, target_midi: i32) -> Result<Note, HarmonyError> {
        let pos = from.staff_position() + steps;
        let octave = pos.div_euclid(7);
        let letter = crate::pitch::Letter::ALL[pos.rem_euclid(7) as usize];
        let natural = (octave + 1) * 12 + letter.natural_semitones() as i32;
        let accidental = target_midi - natural;
        let pitch = SpelledPitch::new(letter, accidental.clamp(-9, 9) as i8).map_err(|_| HarmonyError::OutOfRange {
            what: "transposition",
            detail: format!("{from} by {self} needs {accidental:+} semitones on {letter}; at most a double sharp or flat"),
        })?;
        Note::new(pitch, octave as i8)
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.quality {
            Quality::Perfect => write!(f, "P")?,
            Quality::Major => write!(f, "M")?,
            Quality::Minor => write!(f, "m")?,
            Quality::Augmented(n) => (0..n).try_for_each(|_| f.write_str("A"))?,
            Quality::Diminished(n) => (0..n).try_for_each(|_| f.write_str("d"))?,
        }
        write!(f, "{}", self.number)
    }
}

impl FromStr for Interval {
    type Err = HarmonyError;

    /// Parses `P5`, `M3`, `m7`, `A4`, `d5`, `AA1`, `dd7`, `m10`, `P15`.
    fn from_str(s: &str) -> Result<Self, HarmonyError> {
        let q_len = s
            .bytes()
            .take_while(|b| matches!(b, b'P' | b'M' | b'm' | b'A' | b'd'))
            .count();
        let (q, n) = s.split_at(q_len);
        let quality = match q {
            "P" => Quality::Perfect,
            "M" => Quality::Major,
            "m" => Quality::Minor,
            _ if !q.is_empty() && q.bytes().all(|b| b == b'A') => Quality::Augmented(q.len() as u8),
            _ if !q.is_empty() && q.bytes().all(|b| b == b'd') => {
                Quality::Diminished(q.len() as u8)
            }
            _ => {
                return Err(HarmonyError::parse(
                    "interval",
                    s,
                    0,
                    "a quality: P, M, m, A (AA, AAA) or d (dd, ddd)",
                ));
            }
        };
        let number: u8 = n.parse().map_err(|_| {
            HarmonyError::parse(
                "interval",
                s,
                q_len,
                "an interval number from 1 (unison) up",
            )
        })?;
        Interval::new(number, quality).map_err(|_| {
            HarmonyError::parse(
                "interval",
                s,
                0,
                "a quality the number can take (P for 1, 4, 5, 8; M or m for 2, 3, 6, 7)",
            )
        })
    }
}
