//! Keys: major and minor, their signatures, their diatonic chords, and the
//! spelling of any pitch class in the key.

use std::fmt;
use std::str::FromStr;

use crate::HarmonyError;
use crate::chord::{Chord, ChordKind};
use crate::interval::{Interval, Quality};
use crate::pitch::{Letter, PitchClass, SpelledPitch};
use crate::scale::{Scale, ScaleKind};

/// Major or minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Major.
    Major,
    /// Minor.
    Minor,
}

/// A key: a tonic and a mode.
///
/// ```
/// use kmidi_harmony::key::Key;
/// let k: Key = "Eb major".parse()?;
/// assert_eq!(k.signature().fifths, -3);
/// let triads: Vec<String> = k.triads().iter().map(|c| c.to_string()).collect();
/// assert_eq!(triads, ["Eb", "Fm", "Gm", "Ab", "Bb", "Cm", "Ddim"]);
/// // Key-aware spelling: pitch class 6 is G♭ in E♭ (a ♭3 from the minor mode).
/// assert_eq!(k.spell(kmidi_harmony::pitch::PitchClass::new(6)).to_string(), "Gb");
/// assert_eq!("E major".parse::<Key>()?.spell(kmidi_harmony::pitch::PitchClass::new(8)).to_string(), "G#");
/// # Ok::<(), kmidi_harmony::HarmonyError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    /// The tonic.
    pub tonic: SpelledPitch,
    /// Major or minor.
    pub mode: Mode,
}

/// A key signature, as a count of sharps (positive) or flats (negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeySignature {
    /// Sharps if positive, flats if negative, -7 to 7.
    pub fifths: i8,
}

impl KeySignature {
    /// The accidentals in the order they are written (F♯ C♯ G♯ ... or
    /// B♭ E♭ A♭ ...).
    pub fn accidentals(self) -> impl Iterator<Item = SpelledPitch> {
        const SHARPS: [Letter; 7] = [
            Letter::F,
            Letter::C,
            Letter::G,
            Letter::D,
            Letter::A,
            Letter::E,
            Letter::B,
        ];
        let n = self.fifths.unsigned_abs() as usize;
        let sharp = self.fifths > 0;
        (0..n).map(move |i| {
            if sharp {
                SpelledPitch {
                    letter: SHARPS[i],
                    accidental: 1,
                }
            } else {
                SpelledPitch {
                    letter: SHARPS[6 - i],
                    accidental: -1,
                }
            }
        })
    }
}

impl fmt::Display for KeySignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.fifths {
            0 => f.write_str("no sharps or flats"),
            1 => f.write_str("1 sharp"),
            -1 => f.write_str("1 flat"),
            n if n > 0 => write!(f, "{n} sharps"),
            n => write!(f, "{} flats", -n),
        }
    }
}

/// Position of each natural letter on the circle of fifths from C.
fn letter_fifths(l: Letter) -> i32 {
    [0, 2, 4, -1, 1, 3, 5][l.index() as usize]
}

/// Intervals above the tonic used to spell each of the 12 pitch classes in
/// a key: the scale's own degrees, then ♭2, ♭3, ♭6, ♭7 (mixture and the
/// Neapolitan), ♯4 (the leading tone of V), and the raised 3rd, 6th and 7th
/// that minor keys borrow from the major.
const SPELLING: [Interval; 12] = [
    Interval {
        number: 1,
        quality: Quality::Perfect,
    },
    Interval {
        number: 2,
        quality: Quality::Minor,
    },
    Interval {
        number: 2,
        quality: Quality::Major,
    },
    Interval {
        number: 3,
        quality: Quality::Minor,
    },
    Interval {
        number: 3,
        quality: Quality::Major,
    },
    Interval {
        number: 4,
        quality: Quality::Perfect,
    },
    Interval {
        number: 4,
        quality: Quality::Augmented(1),
    },
    Interval {
        number: 5,
        quality: Quality::Perfect,
    },
    Interval {
        number: 6,
        quality: Quality::Minor,
    },
    Interval {
        number: 6,
        quality: Quality::Major,
    },
    Interval {
        number: 7,
        quality: Quality::Minor,
    },
    Interval {
        number: 7,
        quality: Quality::Major,
    },
];

impl Key {
    /// A key. The tonic must have a signature of at most seven sharps or
    /// flats (G♯ major, with eight, is written as A♭ major).
    ///
    /// # Errors
    /// [`HarmonyError::OutOfRange`] for a key beyond seven sharps or flats.
    pub fn new(tonic: SpelledPitch, mode: Mode) -> Result<Key, HarmonyError> {
        let k = Key { tonic, mode };
        let f = k.fifths_unchecked();
        if f.abs() > 7 {
            return Err(HarmonyError::OutOfRange {
                what: "key",
                detail: format!(
                    "{k} would need {} {}; allowed at most 7 (write it enharmonically)",
                    f.abs(),
                    if f > 0 { "sharps" } else { "flats" }
                ),
            });
        }
        Ok(k)
    }

    /// The conventionally spelled key on pitch class `pc`: the spelling with
    /// the fewer accidentals in its signature (sharps on a tie: F♯ major,
    /// D♯ minor).
    pub fn from_pitch_class(pc: PitchClass, mode: Mode) -> Key {
        let candidates = [
            pc.spelled(crate::pitch::Accidentals::Sharps),
            pc.spelled(crate::pitch::Accidentals::Flats),
        ];
        let mut best = Key {
            tonic: candidates[0],
            mode,
        };
        for t in candidates {
            let k = Key { tonic: t, mode };
            if k.fifths_unchecked().abs() < best.fifths_unchecked().abs() {
                best = k;
            }
        }
        best
    }

    /// All 24 keys as [`from_pitch_class`](Self::from_pitch_class) spells
    /// them: the 12 major keys from C, then the 12 minor keys from C.
    pub fn all() -> impl Iterator<Item = Key> {
        [Mode::Major, Mode::Minor]
            .into_iter()
            .flat_map(|m| (0..12).map(move |pc| Key::from_pitch_class(PitchClass::new(pc), m)))
    }

    fn fifths_unchecked(self) -> i32 {
        let major = letter_fifths(self.tonic.letter) + 7 * self.tonic.accidental as i32;
        match self.mode {
            Mode::Major => major,
            Mode::Minor => major - 3,
        }
    }

    /// The key signature.
    pub fn signature(self) -> KeySignature {
        KeySignature {
            fifths: self.fifths_unchecked().clamp(-7, 7) as i8,
        }
    }

    /// The key's scale: major, or natural minor.
    pub fn scale(self) -> Scale {
        Scale::new(
            self.tonic,
            match self.mode {
                Mode::Major => ScaleKind::Major,
                Mode::Minor => ScaleKind::NaturalMinor,
            },
        )
    }

    /// The relative key (C major ↔ A minor).
    pub fn relative(self) -> Key {
        match self.mode {
            Mode::Major => Key {
                tonic: Interval {
                    number: 6,
                    quality: Quality::Major,
                }
                .above_pitch_respelled(self.tonic),
                mode: Mode::Minor,
            },
            Mode::Minor => Key {
                tonic: Interval {
                    number: 3,
                    quality: Quality::Minor,
                }
                .above_pitch_respelled(self.tonic),
                mode: Mode::Major,
            },
        }
    }

    /// The parallel key (C major ↔ C minor).
    pub fn parallel(self) -> Key {
        Key {
            tonic: self.tonic,
            mode: match self.mode {
                Mode::Major => Mode::Minor,
                Mode::Minor => Mode::Major,
            },
        }
    }

    /// The spelling of pitch class `pc` in this key: diatonic notes as the
    /// scale spells them; chromatic ones as ♭2, ♭3, ♯4, ♭6, ♭7 in major and
    /// as the raised 3rd, 6th and 7th in minor (E♭ and F♯ in C major; B♮ and
    /// E♮ in C minor).
    pub fn spell(self, pc: PitchClass) -> SpelledPitch {
        let semis = (pc.semitones() as i32 - self.tonic.pitch_class().semitones() as i32)
            .rem_euclid(12) as usize;
        SPELLING[semis].above_pitch_respelled(self.tonic)
    }

    /// The pitch (spelled) of scale degree `degree` (1 to 7) of the key's
    /// scale, with `accidental` semitones added (♭VI: degree 6, -1).
    pub fn degree_pitch(self, degree: u8, accidental: i8) -> SpelledPitch {
        let p = self.scale().degree(degree as i32);
        SpelledPitch::nearest(p.letter, p.accidental as i32 + accidental as i32)
    }

    /// The diatonic triads on degrees 1 to 7. Minor keys take V and vii°
    /// from the harmonic minor (raised leading tone) and the rest from the
    /// natural minor, as common-practice harmony does.
    pub fn triads(self) -> [Chord; 7] {
        std::array::from_fn(|i| self.diatonic_chord(i as u8 + 1, false))
    }

    /// The diatonic seventh chords on degrees 1 to 7 (in minor: V7 and vii°7
    /// from the harmonic minor).
    pub fn sevenths(self) -> [Chord; 7] {
        std::array::from_fn(|i| self.diatonic_chord(i as u8 + 1, true))
    }

    /// The diatonic triad or seventh chord on `degree` (1 to 7, wrapping).
    pub fn diatonic_chord(self, degree: u8, seventh: bool) -> Chord {
        let d = ((degree as i32 - 1).rem_euclid(7) + 1) as u8;
        let scale = match (self.mode, d) {
            (Mode::Minor, 5 | 7) => Scale::new(self.tonic, ScaleKind::HarmonicMinor),
            _ => self.scale(),
        };
        let root = scale.degree(d as i32);
        let pc = |step: i32| scale.degree(d as i32 + step).pitch_class().semitones() as i32;
        let r = root.pitch_class().semitones() as i32;
        let third = (pc(2) - r).rem_euclid(12);
        let fifth = (pc(4) - r).rem_euclid(12);
        let sev = (pc(6) - r).rem_euclid(12);
        let kind = match (third, fifth, seventh, sev) {
            (4, 7, false, _) => ChordKind::Major,
            (3, 7, false, _) => ChordKind::Minor,
            (3, 6, false, _) => ChordKind::Diminished,
            (4, 8, false, _) => ChordKind::Augmented,
            (4, 7, true, 10) => ChordKind::Dominant7,
            (4, 7, true, _) => ChordKind::Major7,
            (3, 7, true, 10) => ChordKind::Minor7,
            (3, 7, true, _) => ChordKind::MinorMajor7,
            (3, 6, true, 10) => ChordKind::HalfDiminished7,
            (3, 6, true, _) => ChordKind::Diminished7,
            // An augmented triad with a seventh does not occur in the
            // major or the minor tables above.
            _ => ChordKind::Augmented,
        };
        Chord::of_kind(root, kind)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            self.tonic,
            match self.mode {
                Mode::Major => "major",
                Mode::Minor => "minor",
            }
        )
    }
}

impl FromStr for Key {
    type Err = HarmonyError;

    /// `C major`, `A minor`, `F# minor`, `Bb` (major), `Ebm`, `c#` (lower
    /// case: minor).
    fn from_str(s: &str) -> Result<Self, HarmonyError> {
        let lead = s.len() - s.trim_start().len();
        let body = s.trim();
        let (tonic, used) = SpelledPitch::parse_prefix(body, "key", s, lead)?;
        let lower = body.starts_with(|c: char| c.is_ascii_lowercase());
        let rest = body[used..].trim_start();
        let lowered = if rest == "M" {
            "major".to_string()
        } else {
            rest.to_ascii_lowercase()
        };
        let mode = match lowered.as_str() {
            "" => {
                if lower {
                    Mode::Minor
                } else {
                    Mode::Major
                }
            }
            "major" | "maj" => Mode::Major,
            "minor" | "min" | "m" => Mode::Minor,
            _ => {
                return Err(HarmonyError::parse(
                    "key",
                    s,
                    lead + body.len() - rest.len(),
                    "\"major\" or \"minor\" (or m) after the tonic",
                ));
            }
        };
        Key::new(tonic, mode).map_err(|_| {
            HarmonyError::parse(
                "key",
                s,
                lead,
                "a key with at most 7 sharps or flats (Ab major, not G# major)",
            )
        })
    }
}
