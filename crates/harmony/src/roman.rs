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

use std::fmt;
use std::str::FromStr;

use crate::HarmonyError;
use crate::chord::{Chord, ChordKind, ChordParts, ChordTone, Cursor, Fifth, Seventh, Third};
use crate::interval::{Interval, Quality};
use crate::key::{Key, Mode};
use crate::pitch::{PitchClass, SpelledPitch};

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

/// A numeral realized in a key: its chord symbol, and its tones spelled as
/// the numeral means them (an augmented sixth keeps its ♯4, which the
/// symbol writes as its enharmonic seventh).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealizedChord {
    /// The lead-sheet symbol, with the inversion as a slash bass.
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

const NUMERALS: [(&str, u8); 7] = [
    ("vii", 7),
    ("vi", 6),
    ("v", 5),
    ("iv", 4),
    ("iii", 3),
    ("ii", 2),
    ("i", 1),
];
const UPPER: [&str; 7] = ["I", "II", "III", "IV", "V", "VI", "VII"];
const LOWER: [&str; 7] = ["i", "ii", "iii", "iv", "v", "vi", "vii"];

const EXPECT_NUMERAL: &str =
    "a Roman numeral I-VII or i-vii (after an optional b or #), or N6, It+6, Fr+6, Ger+6";
const EXPECT_FIGURE: &str = "a qualifier (°, o, ø, +), M for a major seventh, a figure (6, 64, 7, 65, 43, 42, 2), or /degree";

/// Accidentals before a numeral; the count saturates at ±127 (the caller
/// rejects anything beyond ±2), so a long run cannot overflow.
fn parse_accidental(c: &mut Cursor) -> i8 {
    let mut a = 0i8;
    loop {
        if c.eat_any(&["b", "♭"]) {
            a = a.saturating_sub(1);
        } else if c.eat_any(&["#", "♯"]) {
            a = a.saturating_add(1);
        } else {
            return a;
        }
    }
}

/// A numeral I-VII in either case; returns degree and whether upper case.
fn parse_numeral(c: &mut Cursor) -> Option<(u8, bool)> {
    for (name, degree) in NUMERALS {
        let upper = UPPER[degree as usize - 1];
        if c.eat(name) {
            return Some((degree, false));
        }
        if c.eat(upper) {
            return Some((degree, true));
        }
    }
    None
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
        }
    }

    /// Parses `s`; `what` and `offset` place errors inside a longer text.
    pub(crate) fn parse_in(
        s: &str,
        full: &str,
        offset: usize,
    ) -> Result<RomanNumeral, HarmonyError> {
        let err = |pos: usize, expected: &'static str| {
            HarmonyError::parse("Roman numeral", full, offset + pos, expected)
        };
        let mut c = Cursor::new(s);
        if let Some(n) = parse_special(&mut c) {
            if !c.at_end() {
                return Err(err(
                    c.pos,
                    "end of the numeral after the augmented sixth or Neapolitan figure",
                ));
            }
            return Ok(n);
        }
        let accidental = parse_accidental(&mut c);
        if accidental.unsigned_abs() > 2 {
            return Err(err(0, "at most two accidentals before the numeral"));
        }
        let Some((degree, upper)) = parse_numeral(&mut c) else {
            return Err(err(c.pos, EXPECT_NUMERAL));
        };
        let mut quality = if upper {
            TriadQuality::Major
        } else {
            TriadQuality::Minor
        };
        let mut seventh_hint: Option<Seventh> = None;
        let qual_pos = c.pos;
        if c.eat_any(&["°", "o"]) {
            if upper {
                return Err(err(qual_pos, "lower case before ° (vii°, not VII°)"));
            }
            quality = TriadQuality::Diminished;
            seventh_hint = Some(Seventh::Diminished);
        } else if c.eat("ø") {
            if upper {
                return Err(err(qual_pos, "lower case before ø (viiø7)"));
            }
            quality = TriadQuality::Diminished;
            seventh_hint = Some(Seventh::Minor);
        } else if c.eat("+") {
            if !upper {
                return Err(err(qual_pos, "upper case before + (III+, not iii+)"));
            }
            quality = TriadQuality::Augmented;
        }
        let half_diminished = seventh_hint == Some(Seventh::Minor);
        let major_seventh = c.eat_any(&["M", "maj", "Δ"]);
        let fig_pos = c.pos;
        // Figures as kmidi and RomanText write them (65 or 6/5).
        let (has_seventh, inversion) = if c.eat_any(&["65", "6/5"]) {
            (true, 1)
        } else if c.eat_any(&["64", "6/4"]) {
            (false, 2)
        } else if c.eat("6") {
            (false, 1)
        } else if c.eat("7") {
            (true, 0)
        } else if c.eat_any(&["43", "4/3"]) {
            (true, 2)
        } else if c.eat_any(&["42", "4/2"]) || c.eat("2") {
            (true, 3)
        } else {
            (major_seventh, 0)
        };
        if major_seventh && !has_seventh {
            return Err(err(
                fig_pos,
                "a seventh-chord figure (7, 65, 43, 42) after M",
            ));
        }
        // ø with a triad figure is the diminished triad (as in music21).
        if half_diminished && !has_seventh {
            seventh_hint = Some(Seventh::Diminished);
        }
        let seventh = if !has_seventh {
            None
        } else if major_seventh {
            Some(SeventhFigure::Marked(Seventh::Major))
        } else if let Some(hint) = seventh_hint {
            Some(SeventhFigure::Marked(hint))
        } else {
            Some(SeventhFigure::Diatonic)
        };
        let mut of = None;
        if c.eat("/") {
            let at = c.pos;
            let acc = parse_accidental(&mut c);
            if acc.unsigned_abs() > 2 {
                return Err(err(
                    at,
                    "at most two accidentals before the tonicized degree",
                ));
            }
            let Some((d, up)) = parse_numeral(&mut c) else {
                return Err(err(
                    at,
                    "the tonicized degree after '/': a numeral I-VII or i-vii",
                ));
            };
            of = Some(Tonicized {
                degree: d,
                accidental: acc.clamp(-2, 2),
                mode: if up { Mode::Major } else { Mode::Minor },
            });
            if d == 1 && acc == 0 {
                return Err(err(at, "a degree other than I (V/I is V)"));
            }
        }
        if !c.at_end() {
            let expected = if of.is_some() {
                "end of the numeral (one level of tonicization: V/V, not V/V/V)"
            } else {
                EXPECT_FIGURE
            };
            return Err(err(c.pos, expected));
        }
        Ok(RomanNumeral {
            degree,
            accidental,
            quality,
            seventh,
            inversion,
            special: None,
            of,
        })
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
        let inv = (self.inversion as usize).min(len as usize - 1);
        let symbol = chord.inverted(inv).unwrap_or(chord);
        RealizedChord {
            symbol,
            tones,
            len,
            bass: inv as u8,
            leading_tone: if self.of.is_some() {
                local_leading
            } else {
                leading_tone
            },
            special: None,
        }
    }

    /// The Roman numeral of `chord` in `key`, or `None` if the chord is not
    /// a triad or seventh chord the notation covers (sus chords, sixth
    /// chords, a bass that is not a chord tone). Extensions (9, 11, 13) are
    /// set aside.
    ///
    /// Readings are tried in this order: diatonic; augmented sixth (a
    /// dominant-seventh sound on ♭6 with ♭6 in the bass: It+6 with no fifth,
    /// Fr+6 with ♭5, Ger+6); Neapolitan (major triad on ♭2); secondary
    /// dominant or leading-tone chord of a diatonic degree; otherwise a
    /// chromatic numeral with accidentals (mixture: `iv`, `bVI`, `bIII`).
    pub fn analyze(chord: &Chord, key: Key) -> Option<RomanNumeral> {
        Self::analyze_in_key(chord, key).or_else(|| Self::analyze_tonicized(chord, key))
    }

    /// The last resort of [`analyze`](Self::analyze): a chromatic numeral in
    /// the key of another degree (`bIII7/iii`), for sounds that no numeral
    /// of `key` itself can write. Diatonic degrees in the key's own mode
    /// first, then the other mode, then the chromatic degrees.
    fn analyze_tonicized(chord: &Chord, key: Key) -> Option<RomanNumeral> {
        let p = chord.parts();
        let plain = Chord::of_kind(p.root, chord_kind_of(triad_quality(&p)?, p.seventh)?);
        let sound = (plain.pitch_class_mask(), chord.bass().pitch_class());
        for accidental in [0i8, -1, 1] {
            for target in 2..=7u8 {
                let diatonic_mode = match key.diatonic_chord(target, false).kind() {
                    Some(ChordKind::Minor) => Mode::Minor,
                    _ => Mode::Major,
                };
                let other = match diatonic_mode {
                    Mode::Major => Mode::Minor,
                    Mode::Minor => Mode::Major,
                };
                for mode in [diatonic_mode, other] {
                    let tonicized = Key {
                        tonic: key.degree_pitch(target, accidental),
                        mode,
                    };
                    let Some(mut m) = Self::analyze_in_key(chord, tonicized) else {
                        continue;
                    };
                    if m.special.is_some() || m.of.is_some() {
                        continue;
                    }
                    m.of = Some(Tonicized {
                        degree: target,
                        accidental,
                        mode,
                    });
                    let r = m.realize(key);
                    if (r.pitch_class_mask(), r.bass().pitch_class()) == sound {
                        return Some(m);
                    }
                }
            }
        }
        None
    }

    fn analyze_in_key(chord: &Chord, key: Key) -> Option<RomanNumeral> {
        let p = chord.parts();
        let quality = triad_quality(&p)?;
        if p.sixth {
            return None;
        }
        let inversion = chord.inversion()? as u8;
        let root = p.root;
        let tonic_pc = key.tonic.pitch_class();
        let rel =
            (root.pitch_class().semitones() as i32 - tonic_pc.semitones() as i32).rem_euclid(12);

        // Augmented sixths, with ♭6 in the bass.
        if rel == 8
            && p.third == Third::Major
            && p.seventh == Some(Seventh::Minor)
            && inversion == 0
        {
            let special = match p.fifth {
                Fifth::Omitted => Some(Special::Italian),
                Fifth::Diminished => Some(Special::French),
                Fifth::Perfect => Some(Special::German),
                _ => None,
            };
            if let Some(sp) = special {
                return Some(Self::special(sp, 0));
            }
        }
        if p.third == Third::Major && p.fifth == Fifth::Diminished {
            return None;
        }
        let mut n = RomanNumeral {
            degree: 1,
            accidental: 0,
            quality,
            seventh: p.seventh.map(SeventhFigure::Marked),
            inversion,
            special: None,
            of: None,
        };
        // Diatonic.
        let letter_degree = ((root.letter.index() as i32 - key.tonic.letter.index() as i32)
            .rem_euclid(7)
            + 1) as u8;
        let diatonic = key.diatonic_chord(letter_degree, p.seventh.is_some());
        let plain = Chord::of_kind(root, chord_kind_of(quality, p.seventh)?);
        let sound = (plain.pitch_class_mask(), chord.bass().pitch_class());
        // In minor, the natural-minor chords (v, VII, III with its natural
        // seventh) are diatonic too: they are the relative major's chords.
        let natural = (key.mode == Mode::Minor).then(|| {
            key.relative()
                .diatonic_chord((letter_degree + 4) % 7 + 1, p.seventh.is_some())
        });
        if diatonic == plain || natural == Some(plain) {
            n.degree = letter_degree;
            if let Some(n) = written(n, sound, key) {
                return Some(n);
            }
        }
        // Neapolitan.
        if rel == 1 && quality == TriadQuality::Major && p.seventh.is_none() {
            return Some(Self::special(Special::Neapolitan, inversion));
        }
        // Secondary dominants and leading-tone chords.
        let dominant_like = matches!(
            (quality, p.seventh),
            (TriadQuality::Major, None | Some(Seventh::Minor))
        );
        let leading_like = quality == TriadQuality::Diminished;
        // Diatonic targets first; chromatic ones (V7/bII) only when no
        // other reading can be written.
        let secondary = |n: RomanNumeral, chromatic: bool| -> Option<RomanNumeral> {
            if !(dominant_like || leading_like) {
                return None;
            }
            for target in 2..=7u8 {
                let targets: &[(i8, Option<Mode>)] = if chromatic {
                    &[
                        (-1, Some(Mode::Major)),
                        (-1, Some(Mode::Minor)),
                        (1, Some(Mode::Major)),
                        (1, Some(Mode::Minor)),
                    ]
                } else {
                    &[(0, None)]
                };
                for &(accidental, mode) in targets {
                    let (tonic, mode) = match mode {
                        Some(m) => (key.degree_pitch(target, accidental), m),
                        None => {
                            let t_chord = key.diatonic_chord(target, false);
                            match t_chord.kind() {
                                Some(ChordKind::Major) => (t_chord.root(), Mode::Major),
                                Some(ChordKind::Minor) => (t_chord.root(), Mode::Minor),
                                _ => continue,
                            }
                        }
                    };
                    let tk = Key { tonic, mode };
                    let (degree, want) = if dominant_like {
                        (5, tk.degree_pitch(5, 0))
                    } else {
                        (
                            7,
                            tk.degree_pitch(7, if mode == Mode::Minor { 1 } else { 0 }),
                        )
                    };
                    if want.pitch_class() != root.pitch_class() {
                        continue;
                    }
                    let mut m = n;
                    m.degree = degree;
                    m.of = Some(Tonicized {
                        degree: target,
                        accidental,
                        mode,
                    });
                    if let Some(m) = written(m, sound, key) {
                        return Some(m);
                    }
                }
            }
            None
        };
        if let Some(m) = secondary(n, false) {
            return Some(m);
        }
        // Chromatic: the degree by letter, the accidental by spelling.
        let scale_pitch = key.degree_pitch(letter_degree, 0);
        let offset = (root.pitch_class().semitones() as i32
            - scale_pitch.pitch_class().semitones() as i32
            + 6)
        .rem_euclid(12)
            - 6;
        let acc = written_accidental(key, letter_degree, offset as i8, quality) as i32;
        if acc.abs() > 2 {
            return secondary(n, true);
        }
        let mut c = n;
        c.degree = letter_degree;
        c.accidental = acc as i8;
        written(c, sound, key).or_else(|| secondary(n, true))
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

/// The accidental to write before a numeral whose root lies `offset`
/// semitones from the key's scale degree: the inverse of [`root_offset`].
fn written_accidental(key: Key, degree: u8, offset: i8, quality: TriadQuality) -> i8 {
    if key.mode != Mode::Minor || !matches!(degree, 6 | 7) {
        return offset;
    }
    if offset == root_offset(key, degree, 0, quality) {
        0
    } else if offset >= 1 {
        offset
    } else {
        offset - 1
    }
}

/// `n` (whose seventh holds the chord's own, marked) written as the
/// notation writes it: an unmarked seventh where the diatonic one is the
/// chord's, else a marked one where a mark exists (`M`, `ø`, `°`). `None`
/// if no figure of `n` realizes `sound` (the chord's pitch-class mask
/// without extensions, and its bass) in `key`.
fn written(mut n: RomanNumeral, sound: (u16, PitchClass), key: Key) -> Option<RomanNumeral> {
    let sounds_as_chord = |n: &RomanNumeral| {
        let r = n.realize(key);
        r.pitch_class_mask() == sound.0 && r.bass().pitch_class() == sound.1
    };
    let Some(SeventhFigure::Marked(actual)) = n.seventh else {
        return sounds_as_chord(&n).then_some(n);
    };
    if n.quality != TriadQuality::Diminished {
        n.seventh = Some(SeventhFigure::Diatonic);
        if sounds_as_chord(&n) {
            return Some(n);
        }
    }
    let markable = actual == Seventh::Major || n.quality == TriadQuality::Diminished;
    n.seventh = Some(SeventhFigure::Marked(actual));
    (markable && sounds_as_chord(&n)).then_some(n)
}

/// The triad under a chord's parts, as the notation names it (a major
/// third with a diminished fifth counts as major: the French sixth).
fn triad_quality(p: &ChordParts) -> Option<TriadQuality> {
    Some(match (p.third, p.fifth) {
        (Third::Major, Fifth::Perfect | Fifth::Omitted) => TriadQuality::Major,
        (Third::Minor, Fifth::Perfect | Fifth::Omitted) => TriadQuality::Minor,
        (Third::Minor, Fifth::Diminished) => TriadQuality::Diminished,
        (Third::Major, Fifth::Augmented) => TriadQuality::Augmented,
        (Third::Major, Fifth::Diminished) => TriadQuality::Major,
        _ => return None,
    })
}

fn chord_kind_of(q: TriadQuality, s: Option<Seventh>) -> Option<ChordKind> {
    Some(match (q, s) {
        (TriadQuality::Major, None) => ChordKind::Major,
        (TriadQuality::Minor, None) => ChordKind::Minor,
        (TriadQuality::Diminished, None) => ChordKind::Diminished,
        (TriadQuality::Augmented, None) => ChordKind::Augmented,
        (TriadQuality::Major, Some(Seventh::Minor)) => ChordKind::Dominant7,
        (TriadQuality::Major, Some(Seventh::Major)) => ChordKind::Major7,
        (TriadQuality::Minor, Some(Seventh::Minor)) => ChordKind::Minor7,
        (TriadQuality::Minor, Some(Seventh::Major)) => ChordKind::MinorMajor7,
        (TriadQuality::Diminished, Some(Seventh::Minor)) => ChordKind::HalfDiminished7,
        (TriadQuality::Diminished, Some(Seventh::Diminished)) => ChordKind::Diminished7,
        _ => return None,
    })
}

fn parse_special(c: &mut Cursor) -> Option<RomanNumeral> {
    let start = c.pos;
    let n = if c.eat("N") {
        let inversion = if c.eat("64") {
            2
        } else if c.eat("6") {
            1
        } else {
            0
        };
        RomanNumeral::special(Special::Neapolitan, inversion)
    } else if c.eat("It") {
        let _ = c.eat_any(&["+6", "6"]);
        RomanNumeral::special(Special::Italian, 0)
    } else if c.eat("Fr") {
        let _ = c.eat_any(&["+6", "+43", "43", "6"]);
        RomanNumeral::special(Special::French, 0)
    } else if c.eat("Ger") || c.eat("Gr") {
        let _ = c.eat_any(&["+6", "+65", "65", "6"]);
        RomanNumeral::special(Special::German, 0)
    } else {
        c.pos = start;
        return None;
    };
    Some(n)
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

impl FromStr for RomanNumeral {
    type Err = HarmonyError;

    /// Parses `V7`, `ii65`, `bVII`, `#iv°7`, `viiø43`, `V7/IV`, `vii°7/ii`,
    /// `N6`, `Ger+6`.
    fn from_str(s: &str) -> Result<Self, HarmonyError> {
        RomanNumeral::parse_in(s, s, 0)
    }
}

/// Whether `n` realized in `key` gives the same pitch classes and bass as
/// `m` realized in `key` (enharmonic readings compare equal).
pub fn same_sound(n: &RomanNumeral, m: &RomanNumeral, key: Key) -> bool {
    let a = n.realize(key);
    let b = m.realize(key);
    a.pitch_class_mask() == b.pitch_class_mask() && a.bass().pitch_class() == b.bass().pitch_class()
}
