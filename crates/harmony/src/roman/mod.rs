//! Roman numeral analysis: numerals in a key, realized as spelled chords,
//! and the reverse, the numeral of a chord in a key.
//!
//! The notation:
//! - case gives the triad: `V` major, `ii` minor; `°` (or `o`) diminished,
//!   `+` augmented, `ø` half-diminished seventh;
//! - figures give the inversion: none, `6`, `64` for triads; `7`, `65`,
//!   `43`, `42` (or `2`) for seventh chords;
//! - an unmarked seventh is the diatonic one, as common-practice figures
//!   mean it and music21 reads it: the note a seventh above the degree in
//!   the key's scale (major, or natural minor). So `V7` is a dominant
//!   seventh, `I7` and `IV7` in major and `III7` and `VI7` in minor are
//!   major sevenths, and `ii7` is a minor seventh; over a minor triad the
//!   seventh is minor whatever the scale says (`i7` in major). `M` marks a
//!   major seventh (`IM7`, `iM7`), `°` a diminished one (`vii°7`) and `ø` a
//!   minor one over a diminished triad (`viiø7`). An accidental before the
//!   numeral moves the root and not the diatonic seventh (`bVII7` in C
//!   major is B♭-D-F-A, as in music21);
//! - accidentals before the numeral move its root (`bVII`, `#iv°`);
//! - `[no1]`, `[no3]` and `[no5]` leave the root, third or fifth out
//!   (`V7[no5]`, `i[no3][no5]`, also `[no3no5]`), as RomanText writes it;
//!   the bass is then the lowest tone left of the inversion's voicing
//!   (`I[no1]` has the third in the bass), as music21 realizes it;
//! - `/` tonicizes a degree: `V/V`, `vii°7/ii`, `V7/IV` (one level);
//! - `N6` (Neapolitan), `It+6`, `Fr+6` and `Ger+6` (augmented sixths).
//!
//! Modal mixture needs no extra notation: `iv`, `bVI` and `bIII` in a major
//! key are minor, flat-six and flat-three chords by their case and accidental.
//!
//! In a minor key, numerals count from the natural minor, except that a
//! lower-case numeral on 6 or 7 (`vi`, `vii°`, `viiø7`, `vii°7`) stands on
//! the raised degree, as in melodic minor; an accidental on 6 or 7 is
//! cautionary (`#vi` the raised sixth, `bVII` the natural seventh), as in
//! RomanText and music21's reader of it. `V` is major by its case, so its
//! third is the leading tone. Figures may be written `65` or `6/5`.
//!
//! ```
//! use kmidi_harmony::key::Key;
//! use kmidi_harmony::roman::RomanNumeral;
//! let c_minor: Key = "C minor".parse()?;
//! let n: RomanNumeral = "vii°7/V".parse()?;
//! assert_eq!(n.realize(c_minor).symbol.to_string(), "F#dim7");
//! let ger: RomanNumeral = "Ger+6".parse()?;
//! let notes: Vec<String> = ger.realize(c_minor).notes().map(|p| p.to_string()).collect();
//! assert_eq!(notes, ["Ab", "C", "Eb", "F#"]);
//! let g7 = "G7/F".parse()?;
//! assert_eq!(RomanNumeral::analyze(&g7, c_minor).unwrap().to_string(), "V42");
//! # Ok::<(), kmidi_harmony::HarmonyError>(())
//! ```
//!
//! Here: the types, realization and printing; reading numerals is in the
//! `parse` submodule and naming a chord in the `analyze` submodule.

use std::fmt;
use std::str::FromStr;

use crate::HarmonyError;
use crate::chord::{Chord, ChordKind, ChordParts, ChordTone, Cursor, Fifth, Seventh, Third};
use crate::interval::{Interval, Quality};
use crate::key::{Key, Mode};
use crate::pitch::{PitchClass, SpelledPitch};

mod analyze;
mod parse;

pub use analyze::same_sound;
/// Numerals in upper and lower case, by degree.
const UPPER: [&str; 7] = ["I", "II", "III", "IV", "V", "VI", "VII"];
const LOWER: [&str; 7] = ["i", "ii", "iii", "iv", "v", "vi", "vii"];

/// The triad a numeral stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriadQuality {
    /// Upper case.
    Major,
    /// Lower case.
    Minor,
    /// Lower case with `°` (or, with a minor seventh, `ø`).
    Diminished,
    /// Upper case with `+`.
    Augmented,
}

/// The chromatic chords with names of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Special {
    /// The Neapolitan: a major triad on ♭2, usually in first inversion (`N6`).
    Neapolitan,
    /// Italian augmented sixth: ♭6, 1, ♯4.
    Italian,
    /// French augmented sixth: ♭6, 1, 2, ♯4.
    French,
    /// German augmented sixth: ♭6, 1, ♭3, ♯4.
    German,
}

/// The degree a secondary function tonicizes, as in the `ii` of `vii°7/ii`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tonicized {
    /// Scale degree 1 to 7.
    pub degree: u8,
    /// Semitones added to the degree (`/bVI`: -1).
    pub accidental: i8,
    /// Major (upper case) or minor (lower case).
    pub mode: Mode,
}

/// A Roman numeral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RomanNumeral {
    /// Scale degree of the root, 1 to 7 (ignored by the augmented sixths).
    pub degree: u8,
    /// Semitones added to the degree (`bVII`: -1).
    pub accidental: i8,
    /// The triad.
    pub quality: TriadQuality,
    /// The seventh, if any, as written.
    pub seventh: Option<SeventhFigure>,
    /// 0 = root position, 1 = first inversion, up to 3 for seventh chords.
    pub inversion: u8,
    /// A named chromatic chord.
    pub special: Option<Special>,
    /// The tonicized degree of a secondary function.
    pub of: Option<Tonicized>,
    /// The chord tones left out (`[no3]`).
    pub omitted: OmittedTones,
}

/// The chord tones a numeral leaves out, as RomanText writes them: `[no1]`,
/// `[no3]`, `[no5]`. A seventh chord may leave out all three; a triad
/// keeps at least one tone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct OmittedTones {
    /// `[no1]`: the root.
    pub root: bool,
    /// `[no3]`: the third.
    pub third: bool,
    /// `[no5]`: the fifth.
    pub fifth: bool,
}

impl OmittedTones {
    /// Every tone sounds.
    pub const NONE: Self = Self {
        root: false,
        third: false,
        fifth: false,
    };

    /// Whether a tone in `role` is left out.
    pub fn leaves_out(&self, role: ChordTone) -> bool {
        match role {
            ChordTone::Root => self.root,
            ChordTone::Third => self.third,
            ChordTone::Fifth => self.fifth,
            _ => false,
        }
    }
}

/// How a numeral's seventh is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeventhFigure {
    /// An unmarked figure (`7`, `65`, `43`, `42`): the key's diatonic
    /// seventh above the degree, minor over a minor triad (see the
    /// [module docs](self)).
    Diatonic,
    /// A marked seventh: `M` major, `ø` minor (over a diminished triad),
    /// `°` diminished.
    Marked(Seventh),
}

/// A numeral realized in a key: its chord symbol, and the tones that sound,
/// spelled as the numeral means them (an augmented sixth keeps its ♯4,
/// which the symbol writes as its enharmonic seventh; `[no5]` leaves the
/// fifth out of the tones but not out of the symbol).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealizedChord {
    /// The lead-sheet symbol of the whole chord (with any tones the
    /// numeral leaves out), over the tone that sounds in the bass.
    pub symbol: Chord,
    tones: [(ChordTone, SpelledPitch); 4],
    len: u8,
    bass: u8,
    /// Pitch class of the key's leading tone (degree 7 raised in minor),
    /// which voice leading must not double.
    pub leading_tone: PitchClass,
    /// The named chromatic chord this is, if any.
    pub special: Option<Special>,
}

impl RealizedChord {
    /// The spelled tones in chord-tone order (root, third, fifth, seventh).
    pub fn notes(&self) -> impl Iterator<Item = SpelledPitch> + '_ {
        self.tones[..self.len as usize].iter().map(|(_, p)| *p)
    }

    /// The tones with their roles.
    pub fn tones(&self) -> &[(ChordTone, SpelledPitch)] {
        &self.tones[..self.len as usize]
    }

    /// The tone in the bass.
    pub fn bass(&self) -> SpelledPitch {
        self.tones[self.bass as usize].1
    }

    /// The pitch classes as a 12-bit mask (bit 0 = C).
    pub fn pitch_class_mask(&self) -> u16 {
        self.notes()
            .fold(0, |m, p| m | 1 << p.pitch_class().semitones())
    }
}

impl RomanNumeral {
    /// A plain numeral: `degree` (1-7) with a triad quality.
    pub fn new(degree: u8, quality: TriadQuality) -> RomanNumeral {
        RomanNumeral {
            degree: degree.clamp(1, 7),
            accidental: 0,
            quality,
            seventh: None,
            inversion: 0,
            special: None,
            of: None,
            omitted: OmittedTones::NONE,
        }
    }
    /// The seventh this numeral's figure means over `root` in `key` (the
    /// local key, after any tonicization).
    fn seventh_in(&self, key: Key, root: SpelledPitch) -> Option<Seventh> {
        match self.seventh? {
            SeventhFigure::Marked(s) => Some(s),
            SeventhFigure::Diatonic => {
                // The scale's note a seventh above the unaltered degree.
                let top = key.degree_pitch((self.degree + 5) % 7 + 1, 0);
                let semitones = (top.pitch_class().semitones() as i32
                    - root.pitch_class().semitones() as i32)
                    .rem_euclid(12);
                Some(match (semitones, self.quality) {
                    (11, TriadQuality::Major | TriadQuality::Augmented) => Seventh::Major,
                    (9, TriadQuality::Diminished) => Seventh::Diminished,
                    _ => Seventh::Minor,
                })
            }
        }
    }

    /// The numeral's chord in `key`, spelled in the key.
    pub fn realize(&self, key: Key) -> RealizedChord {
        let leading_tone = key
            .degree_pitch(7, if key.mode == Mode::Minor { 1 } else { 0 })
            .pitch_class();
        if let Some(sp) = self.special {
            return realize_special(sp, self.inversion, key, leading_tone);
        }
        let key = match self.of {
            Some(t) => Key {
                tonic: key.degree_pitch(t.degree, t.accidental),
                mode: t.mode,
            },
            None => key,
        };
        let local_leading = key
            .degree_pitch(7, if key.mode == Mode::Minor { 1 } else { 0 })
            .pitch_class();
        let root = key.degree_pitch(
            self.degree,
            root_offset(key, self.degree, self.accidental, self.quality),
        );
        let seventh = self.seventh_in(key, root);
        let kind = match (self.quality, seventh) {
            (TriadQuality::Major, None) => ChordKind::Major,
            (TriadQuality::Minor, None) => ChordKind::Minor,
            (TriadQuality::Diminished, None) => ChordKind::Diminished,
            (TriadQuality::Augmented, None) => ChordKind::Augmented,
            (TriadQuality::Major, Some(Seventh::Major)) => ChordKind::Major7,
            (TriadQuality::Major, Some(_)) => ChordKind::Dominant7,
            (TriadQuality::Minor, Some(Seventh::Major)) => ChordKind::MinorMajor7,
            (TriadQuality::Minor, Some(_)) => ChordKind::Minor7,
            (TriadQuality::Diminished, Some(Seventh::Minor)) => ChordKind::HalfDiminished7,
            (TriadQuality::Diminished, Some(_)) => ChordKind::Diminished7,
            (TriadQuality::Augmented, Some(_)) => ChordKind::Augmented,
        };
        let mut chord = Chord::of_kind(root, kind);
        if self.quality == TriadQuality::Augmented && seventh.is_some() {
            // V+7 and I+M7: an augmented triad with a seventh.
            let mut p = chord.parts();
            p.seventh = seventh;
            chord = Chord::from_parts(p).unwrap_or(chord);
        }
        let mut tones = [(ChordTone::Root, root); 4];
        let mut len = 0u8;
        let ct = chord.tones();
        for ((role, _), pitch) in ct.as_slice().iter().zip(chord.notes()) {
            tones[len as usize] = (*role, pitch);
            len += 1;
        }
        let mut bass_tone = (self.inversion as usize).min(len as usize - 1);
        let mut bass = bass_tone as u8;
        if self.omitted != OmittedTones::NONE {
            // The voicing from the bass up is the chord tones from the
            // inversion's bass on; the lowest one left sounds in the bass.
            let written = tones;
            let kept = |i: usize| !self.omitted.leaves_out(written[i].0);
            let n = len as usize;
            bass_tone = (0..n)
                .map(|step| (bass_tone + step) % n)
                .find(|&i| kept(i))
                .unwrap_or(bass_tone);
            len = 0;
            for (i, tone) in written[..n].iter().enumerate() {
                if kept(i) || i == bass_tone {
                    if i == bass_tone {
                        bass = len;
                    }
                    tones[len as usize] = *tone;
                    len += 1;
                }
            }
        }
        let symbol = chord.inverted(bass_tone).unwrap_or(chord);
        RealizedChord {
            symbol,
            tones,
            len,
            bass,
            leading_tone: if self.of.is_some() {
                local_leading
            } else {
                leading_tone
            },
            special: None,
        }
    }
    fn special(sp: Special, inversion: u8) -> RomanNumeral {
        RomanNumeral {
            degree: match sp {
                Special::Neapolitan => 2,
                _ => 6,
            },
            accidental: -1,
            quality: TriadQuality::Major,
            seventh: match sp {
                Special::Neapolitan => None,
                _ => Some(SeventhFigure::Marked(Seventh::Minor)),
            },
            inversion,
            special: Some(sp),
            of: None,
            omitted: OmittedTones::NONE,
        }
    }
}

/// Semitones from the key's scale degree (natural minor in minor) to the
/// root of a numeral on `degree` with `accidental` and `quality`. In a
/// minor key, degrees 6 and 7 follow the RomanText convention (music21's
/// reader, `Minor67Default.CAUTIONARY`): bare, lower case stands on the
/// raised degree and upper case on the natural one; `#` means the raised
/// degree and `b` the natural one, whatever the case.
fn root_offset(key: Key, degree: u8, accidental: i8, quality: TriadQuality) -> i8 {
    if key.mode != Mode::Minor || !matches!(degree, 6 | 7) {
        return accidental;
    }
    match accidental {
        0 => matches!(quality, TriadQuality::Minor | TriadQuality::Diminished) as i8,
        a if a > 0 => a,
        a => a + 1,
    }
}

fn realize_special(
    sp: Special,
    inversion: u8,
    key: Key,
    leading_tone: PitchClass,
) -> RealizedChord {
    let iv = |number, quality| Interval { number, quality };
    let t = key.tonic;
    let above = |i: Interval| i.above_pitch_respelled(t);
    match sp {
        Special::Neapolitan => {
            let root = above(iv(2, Quality::Minor));
            let chord = Chord::of_kind(root, ChordKind::Major);
            let mut tones = [(ChordTone::Root, root); 4];
            for (i, ((role, _), p)) in chord
                .tones()
                .as_slice()
                .iter()
                .zip(chord.notes())
                .enumerate()
            {
                tones[i] = (*role, p);
            }
            let inv = (inversion as usize).min(2);
            RealizedChord {
                symbol: chord.inverted(inv).unwrap_or(chord),
                tones,
                len: 3,
                bass: inv as u8,
                leading_tone,
                special: Some(sp),
            }
        }
        _ => {
            let flat6 = above(iv(6, Quality::Minor));
            let tonic = t;
            let sharp4 = above(iv(4, Quality::Augmented(1)));
            let (fifth_tone, fifth_part) = match sp {
                Special::French => (Some(above(iv(2, Quality::Major))), Fifth::Diminished),
                Special::German => (Some(above(iv(3, Quality::Minor))), Fifth::Perfect),
                _ => (None, Fifth::Omitted),
            };
            let mut tones = [(ChordTone::Root, flat6); 4];
            let mut len = 1;
            tones[len] = (ChordTone::Third, tonic);
            len += 1;
            if let Some(f) = fifth_tone {
                tones[len] = (ChordTone::Fifth, f);
                len += 1;
            }
            tones[len] = (ChordTone::Seventh, sharp4);
            len += 1;
            let mut p = Chord::of_kind(flat6, ChordKind::Dominant7).parts();
            p.fifth = fifth_part;
            let symbol =
                Chord::from_parts(p).unwrap_or(Chord::of_kind(flat6, ChordKind::Dominant7));
            RealizedChord {
                symbol,
                tones,
                len: len as u8,
                bass: 0,
                leading_tone,
                special: Some(sp),
            }
        }
    }
}

impl fmt::Display for RomanNumeral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(sp) = self.special {
            return f.write_str(match (sp, self.inversion) {
                (Special::Neapolitan, 0) => "N",
                (Special::Neapolitan, 1) => "N6",
                (Special::Neapolitan, _) => "N64",
                (Special::Italian, _) => "It+6",
                (Special::French, _) => "Fr+6",
                (Special::German, _) => "Ger+6",
            });
        }
        write_accidental(f, self.accidental)?;
        let idx = self.degree.clamp(1, 7) as usize - 1;
        let upper = matches!(self.quality, TriadQuality::Major | TriadQuality::Augmented);
        f.write_str(if upper { UPPER[idx] } else { LOWER[idx] })?;
        match (self.quality, self.seventh) {
            (TriadQuality::Diminished, Some(SeventhFigure::Marked(Seventh::Minor))) => {
                f.write_str("ø")?
            }
            (TriadQuality::Diminished, _) => f.write_str("°")?,
            (TriadQuality::Augmented, _) => f.write_str("+")?,
            _ => {}
        }
        if self.seventh == Some(SeventhFigure::Marked(Seventh::Major)) {
            f.write_str("M")?;
        }
        let fig = match (self.seventh.is_some(), self.inversion) {
            (false, 0) => "",
            (false, 1) => "6",
            (false, _) => "64",
            (true, 0) => "7",
            (true, 1) => "65",
            (true, 2) => "43",
            (true, _) => "42",
        };
        f.write_str(fig)?;
        for (left_out, figure) in [
            (self.omitted.root, "[no1]"),
            (self.omitted.third, "[no3]"),
            (self.omitted.fifth, "[no5]"),
        ] {
            if left_out {
                f.write_str(figure)?;
            }
        }
        if let Some(t) = self.of {
            f.write_str("/")?;
            write_accidental(f, t.accidental)?;
            let idx = t.degree.clamp(1, 7) as usize - 1;
            f.write_str(if t.mode == Mode::Major {
                UPPER[idx]
            } else {
                LOWER[idx]
            })?;
        }
        Ok(())
    }
}

fn write_accidental(f: &mut fmt::Formatter<'_>, a: i8) -> fmt::Result {
    let s = if a < 0 { "b" } else { "#" };
    for _ in 0..a.unsigned_abs() {
        f.write_str(s)?;
    }
    Ok(())
}
