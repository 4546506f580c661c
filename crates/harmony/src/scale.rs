//! Scales and modes: the major scale and its seven modes, the three minors,
//! pentatonics, blues, whole-tone, both diminished scales and the chromatic
//! scale, each spelled from its tonic.
//!
//! Every degree is stored as an interval above the tonic, so spelling comes
//! out right in any key: F♯ harmonic minor has an E♯, not an F.

use std::fmt;
use std::str::FromStr;

use crate::HarmonyError;
use crate::interval::{Interval, Quality};
use crate::pitch::{PitchClass, SpelledPitch};

/// The kind of a scale: its pattern of degrees above the tonic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScaleKind {
    /// Major (the same degrees as Ionian).
    Major,
    /// Natural minor (the same degrees as Aeolian).
    NaturalMinor,
    /// Harmonic minor: natural minor with a raised seventh.
    HarmonicMinor,
    /// Melodic minor (ascending): natural minor with raised sixth and seventh.
    MelodicMinor,
    /// Mode 1 of the major scale.
    Ionian,
    /// Mode 2: minor with a major sixth.
    Dorian,
    /// Mode 3: minor with a minor second.
    Phrygian,
    /// Mode 4: major with an augmented fourth.
    Lydian,
    /// Mode 5: major with a minor seventh.
    Mixolydian,
    /// Mode 6: the natural minor.
    Aeolian,
    /// Mode 7: minor second and diminished fifth.
    Locrian,
    /// 1 2 3 5 6.
    MajorPentatonic,
    /// 1 ♭3 4 5 ♭7.
    MinorPentatonic,
    /// 1 ♭3 4 ♭5 5 ♭7 (minor pentatonic plus the blue note).
    Blues,
    /// Six whole tones: 1 2 3 ♯4 ♯5 ♯6.
    WholeTone,
    /// Octatonic starting with a half step: 1 ♭2 ♯2 3 ♯4 5 6 ♭7 (dominant diminished).
    DiminishedHalfWhole,
    /// Octatonic starting with a whole step: 1 2 ♭3 4 ♭5 ♯5 6 7.
    DiminishedWholeHalf,
    /// All twelve semitones, spelled with sharps ascending from the tonic.
    Chromatic,
}

use Quality::{Augmented as A, Diminished as D, Major as M, Minor as Mi, Perfect as P};

const fn iv(number: u8, quality: Quality) -> Interval {
    Interval { number, quality }
}

const MAJOR: &[Interval] = &[
    iv(1, P),
    iv(2, M),
    iv(3, M),
    iv(4, P),
    iv(5, P),
    iv(6, M),
    iv(7, M),
];
const NATURAL_MINOR: &[Interval] = &[
    iv(1, P),
    iv(2, M),
    iv(3, Mi),
    iv(4, P),
    iv(5, P),
    iv(6, Mi),
    iv(7, Mi),
];
const HARMONIC_MINOR: &[Interval] = &[
    iv(1, P),
    iv(2, M),
    iv(3, Mi),
    iv(4, P),
    iv(5, P),
    iv(6, Mi),
    iv(7, M),
];
const MELODIC_MINOR: &[Interval] = &[
    iv(1, P),
    iv(2, M),
    iv(3, Mi),
    iv(4, P),
    iv(5, P),
    iv(6, M),
    iv(7, M),
];
const DORIAN: &[Interval] = &[
    iv(1, P),
    iv(2, M),
    iv(3, Mi),
    iv(4, P),
    iv(5, P),
    iv(6, M),
    iv(7, Mi),
];
const PHRYGIAN: &[Interval] = &[
    iv(1, P),
    iv(2, Mi),
    iv(3, Mi),
    iv(4, P),
    iv(5, P),
    iv(6, Mi),
    iv(7, Mi),
];
const LYDIAN: &[Interval] = &[
    iv(1, P),
    iv(2, M),
    iv(3, M),
    iv(4, A(1)),
    iv(5, P),
    iv(6, M),
    iv(7, M),
];
const MIXOLYDIAN: &[Interval] = &[
    iv(1, P),
    iv(2, M),
    iv(3, M),
    iv(4, P),
    iv(5, P),
    iv(6, M),
    iv(7, Mi),
];
const LOCRIAN: &[Interval] = &[
    iv(1, P),
    iv(2, Mi),
    iv(3, Mi),
    iv(4, P),
    iv(5, D(1)),
    iv(6, Mi),
    iv(7, Mi),
];
const MAJOR_PENTATONIC: &[Interval] = &[iv(1, P), iv(2, M), iv(3, M), iv(5, P), iv(6, M)];
const MINOR_PENTATONIC: &[Interval] = &[iv(1, P), iv(3, Mi), iv(4, P), iv(5, P), iv(7, Mi)];
const BLUES: &[Interval] = &[
    iv(1, P),
    iv(3, Mi),
    iv(4, P),
    iv(5, D(1)),
    iv(5, P),
    iv(7, Mi),
];
const WHOLE_TONE: &[Interval] = &[
    iv(1, P),
    iv(2, M),
    iv(3, M),
    iv(4, A(1)),
    iv(5, A(1)),
    iv(6, A(1)),
];
const DIMINISHED_HALF_WHOLE: &[Interval] = &[
    iv(1, P),
    iv(2, Mi),
    iv(2, A(1)),
    iv(3, M),
    iv(4, A(1)),
    iv(5, P),
    iv(6, M),
    iv(7, Mi),
];
const DIMINISHED_WHOLE_HALF: &[Interval] = &[
    iv(1, P),
    iv(2, M),
    iv(3, Mi),
    iv(4, P),
    iv(5, D(1)),
    iv(5, A(1)),
    iv(6, M),
    iv(7, M),
];
const CHROMATIC: &[Interval] = &[
    iv(1, P),
    iv(1, A(1)),
    iv(2, M),
    iv(2, A(1)),
    iv(3, M),
    iv(4, P),
    iv(4, A(1)),
    iv(5, P),
    iv(5, A(1)),
    iv(6, M),
    iv(6, A(1)),
    iv(7, M),
];

/// Names accepted by [`ScaleKind::from_str`], with the kind each means.
/// The first name of each kind is the one [`fmt::Display`] prints.
const NAMES: &[(&str, ScaleKind)] = &[
    ("major", ScaleKind::Major),
    ("natural minor", ScaleKind::NaturalMinor),
    ("minor", ScaleKind::NaturalMinor),
    ("harmonic minor", ScaleKind::HarmonicMinor),
    ("melodic minor", ScaleKind::MelodicMinor),
    ("ionian", ScaleKind::Ionian),
    ("dorian", ScaleKind::Dorian),
    ("phrygian", ScaleKind::Phrygian),
    ("lydian", ScaleKind::Lydian),
    ("mixolydian", ScaleKind::Mixolydian),
    ("aeolian", ScaleKind::Aeolian),
    ("locrian", ScaleKind::Locrian),
    ("major pentatonic", ScaleKind::MajorPentatonic),
    ("pentatonic", ScaleKind::MajorPentatonic),
    ("minor pentatonic", ScaleKind::MinorPentatonic),
    ("blues", ScaleKind::Blues),
    ("whole tone", ScaleKind::WholeTone),
    ("whole-tone", ScaleKind::WholeTone),
    ("diminished half-whole", ScaleKind::DiminishedHalfWhole),
    ("half-whole diminished", ScaleKind::DiminishedHalfWhole),
    ("dominant diminished", ScaleKind::DiminishedHalfWhole),
    ("diminished whole-half", ScaleKind::DiminishedWholeHalf),
    ("whole-half diminished", ScaleKind::DiminishedWholeHalf),
    ("diminished", ScaleKind::DiminishedWholeHalf),
    ("chromatic", ScaleKind::Chromatic),
];

const EXPECTED_NAMES: &str = "a scale name: major, natural minor, minor, harmonic minor, melodic minor, ionian, dorian, phrygian, lydian, mixolydian, aeolian, locrian, major pentatonic, minor pentatonic, blues, whole tone, diminished half-whole, diminished whole-half, chromatic";

impl ScaleKind {
    /// Every kind, in declaration order.
    pub const ALL: [ScaleKind; 18] = [
        ScaleKind::Major,
        ScaleKind::NaturalMinor,
        ScaleKind::HarmonicMinor,
        ScaleKind::MelodicMinor,
        ScaleKind::Ionian,
        ScaleKind::Dorian,
        ScaleKind::Phrygian,
        ScaleKind::Lydian,
        ScaleKind::Mixolydian,
        ScaleKind::Aeolian,
        ScaleKind::Locrian,
        ScaleKind::MajorPentatonic,
        ScaleKind::MinorPentatonic,
        ScaleKind::Blues,
        ScaleKind::WholeTone,
        ScaleKind::DiminishedHalfWhole,
        ScaleKind::DiminishedWholeHalf,
        ScaleKind::Chromatic,
    ];

    /// The degrees as intervals above the tonic, ascending.
    pub fn intervals(self) -> &'static [Interval] {
        match self {
            ScaleKind::Major | ScaleKind::Ionian => MAJOR,
            ScaleKind::NaturalMinor | ScaleKind::Aeolian => NATURAL_MINOR,
            ScaleKind::HarmonicMinor => HARMONIC_MINOR,
            ScaleKind::MelodicMinor => MELODIC_MINOR,
            ScaleKind::Dorian => DORIAN,
            ScaleKind::Phrygian => PHRYGIAN,
            ScaleKind::Lydian => LYDIAN,
            ScaleKind::Mixolydian => MIXOLYDIAN,
            ScaleKind::Locrian => LOCRIAN,
            ScaleKind::MajorPentatonic => MAJOR_PENTATONIC,
            ScaleKind::MinorPentatonic => MINOR_PENTATONIC,
            ScaleKind::Blues => BLUES,
            ScaleKind::WholeTone => WHOLE_TONE,
            ScaleKind::DiminishedHalfWhole => DIMINISHED_HALF_WHOLE,
            ScaleKind::DiminishedWholeHalf => DIMINISHED_WHOLE_HALF,
            ScaleKind::Chromatic => CHROMATIC,
        }
    }

    /// The scale's name as [`fmt::Display`] prints it.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, k)| *k == self)
            .map(|(n, _)| *n)
            .unwrap_or("major")
    }
}

impl fmt::Display for ScaleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ScaleKind {
    type Err = HarmonyError;

    /// Case-insensitive; spaces, `-` and `_` between words are equivalent
    /// ("Harmonic Minor", "whole-tone", "half_whole diminished").
    fn from_str(s: &str) -> Result<Self, HarmonyError> {
        let trimmed = s.trim();
        let lead = s.len() - s.trim_start().len();
        for (name, kind) in NAMES {
            if words_equal(trimmed, name) {
                return Ok(*kind);
            }
        }
        Err(HarmonyError::parse("scale", s, lead, EXPECTED_NAMES))
    }
}

/// Case-insensitive comparison that treats runs of ' ', '-' and '_' as one
/// separator.
fn words_equal(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split([' ', '-', '_'])
            .filter(|w| !w.is_empty())
            .map(|w| w.to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    norm(a) == norm(b)
}

/// A scale: a tonic and a kind.
///
/// ```
/// use kmidi_harmony::scale::Scale;
/// let s: Scale = "F# harmonic minor".parse()?;
/// let notes: Vec<String> = s.notes().map(|p| p.to_string()).collect();
/// assert_eq!(notes, ["F#", "G#", "A", "B", "C#", "D", "E#"]);
/// assert_eq!(s.degree(7).to_string(), "E#");
/// assert_eq!(s.degree_of("F".parse::<kmidi_harmony::pitch::SpelledPitch>()?.pitch_class()), Some(7));
/// # Ok::<(), kmidi_harmony::HarmonyError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scale {
    /// The first degree.
    pub tonic: SpelledPitch,
    /// The pattern of degrees.
    pub kind: ScaleKind,
}

impl Scale {
    /// A scale on `tonic`.
    pub fn new(tonic: SpelledPitch, kind: ScaleKind) -> Self {
        Self { tonic, kind }
    }

    /// Number of distinct degrees (7 for the diatonic scales, 5 for
    /// pentatonics, 12 for chromatic).
    pub fn len(&self) -> usize {
        self.kind.intervals().len()
    }

    /// Always false: every scale has at least its tonic.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The spelled pitch of `degree`, counting from 1 = tonic; degrees past
    /// the last wrap into the next octave (degree 8 of a major scale is the
    /// tonic again, degree 0 is the last degree below).
    pub fn degree(&self, degree: i32) -> SpelledPitch {
        let ivs = self.kind.intervals();
        let idx = (degree - 1).rem_euclid(ivs.len() as i32) as usize;
        ivs[idx].above_pitch_respelled(self.tonic)
    }

    /// The degree (1-based) whose pitch class is `pc`, if the scale holds it.
    pub fn degree_of(&self, pc: PitchClass) -> Option<usize> {
        let t = self.tonic.pitch_class();
        self.kind
            .intervals()
            .iter()
            .position(|i| t.transpose(i.semitones()) == pc)
            .map(|i| i + 1)
    }

    /// Whether the scale holds the pitch class `pc`.
    pub fn contains(&self, pc: PitchClass) -> bool {
        self.degree_of(pc).is_some()
    }

    /// The spelled degrees, ascending from the tonic.
    pub fn notes(&self) -> impl Iterator<Item = SpelledPitch> + '_ {
        self.kind
            .intervals()
            .iter()
            .map(|i| i.above_pitch_respelled(self.tonic))
    }

    /// The pitch classes as a 12-bit mask (bit 0 = C).
    pub fn pitch_class_mask(&self) -> u16 {
        let t = self.tonic.pitch_class();
        self.kind
            .intervals()
            .iter()
            .fold(0, |m, i| m | 1 << t.transpose(i.semitones()).semitones())
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.tonic, self.kind)
    }
}

impl FromStr for Scale {
    type Err = HarmonyError;

    /// A tonic and a scale name: `C major`, `D dorian`, `Bb blues`,
    /// `F# harmonic minor`, `Eb whole-tone`.
    fn from_str(s: &str) -> Result<Self, HarmonyError> {
        let lead = s.len() - s.trim_start().len();
        let body = s.trim_start();
        let (tonic, used) = SpelledPitch::parse_prefix(body, "scale", s, lead)?;
        let rest = &body[used..];
        if !rest.starts_with([' ', '\t']) {
            return Err(HarmonyError::parse(
                "scale",
                s,
                lead + used,
                "a space, then a scale name (as in \"C major\")",
            ));
        }
        let kind: ScaleKind = rest.parse().map_err(|_| {
            let skip = rest.len() - rest.trim_start().len();
            HarmonyError::parse("scale", s, lead + used + skip, EXPECTED_NAMES)
        })?;
        Ok(Scale { tonic, kind })
    }
}
