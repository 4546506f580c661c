//! Chord symbols as they appear on lead sheets: parse, print, spell.
//!
//! A [`Chord`] is a root, a third (or a suspension), a fifth, an optional
//! sixth or seventh, optional ninth, eleventh and thirteenth (natural or
//! altered), and an optional bass. Printing gives one canonical symbol, and
//! parsing that symbol gives back the same chord: `parse(print(c)) == c` for
//! every chord this type can hold (a property test checks it).
//!
//! The parser takes the common alternate spellings: `Δ` and `M7` for maj7,
//! `ø` for m7♭5, `°` and `o` for dim, `+` for aug, `-` and `min` for minor.
//! It does not allocate unless it fails.
//!
//! ```
//! use kmidi_harmony::chord::Chord;
//! let c: Chord = "Bb-7b5/E".parse()?;
//! assert_eq!(c.to_string(), "Bbm7b5/E");
//! let spelled: Vec<String> = c.notes().map(|p| p.to_string()).collect();
//! assert_eq!(spelled, ["Bb", "Db", "Fb", "Ab"]);
//! assert_eq!("CΔ9".parse::<Chord>()?, "Cmaj9".parse::<Chord>()?);
//! let err = "Cmaj8".parse::<Chord>().unwrap_err();
//! assert!(err.to_string().contains("at byte 4"), "{err}");
//! # Ok::<(), kmidi_harmony::HarmonyError>(())
//! ```
//!
//! Here: the chord model, its tones and its spelling; reading chord
//! symbols is in the `parse` submodule.

use std::fmt::{self, Write as _};
use std::str::FromStr;

use crate::HarmonyError;
use crate::interval::{Interval, Quality};
use crate::pitch::{PitchClass, SpelledPitch};

mod parse;

pub(crate) use parse::Cursor;

/// The chord's third, or the tone that replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Third {
    /// Major third.
    Major,
    /// Minor third.
    Minor,
    /// Suspended: a major second instead of the third.
    Sus2,
    /// Suspended: a perfect fourth instead of the third.
    Sus4,
}

/// The chord's fifth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fifth {
    /// Perfect fifth.
    Perfect,
    /// Diminished (♭5).
    Diminished,
    /// Augmented (♯5).
    Augmented,
    /// Left out (`no5`).
    Omitted,
}

/// The chord's seventh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Seventh {
    /// Minor seventh (the `7` of C7, Cm7, Cm7♭5).
    Minor,
    /// Major seventh (maj7).
    Major,
    /// Diminished seventh (dim7); only with a minor third and a diminished fifth.
    Diminished,
}

/// A ninth, eleventh or thirteenth: lowered, natural or raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alteration {
    /// ♭ (♭9, ♭13).
    Flat,
    /// Natural (9, 11, 13).
    Natural,
    /// ♯ (♯9, ♯11).
    Sharp,
}

/// The parts of a chord, as plain data. [`Chord::from_parts`] checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChordParts {
    /// The root.
    pub root: SpelledPitch,
    /// Third or suspension.
    pub third: Third,
    /// Fifth.
    pub fifth: Fifth,
    /// An added sixth (C6, Cm6, C6/9); not together with a seventh.
    pub sixth: bool,
    /// The seventh, if any.
    pub seventh: Option<Seventh>,
    /// The ninth, if any (natural, ♭9 or ♯9).
    pub ninth: Option<Alteration>,
    /// The eleventh, if any (natural or ♯11).
    pub eleventh: Option<Alteration>,
    /// The thirteenth, if any (natural or ♭13).
    pub thirteenth: Option<Alteration>,
    /// A bass note other than the root (slash chord or inversion).
    pub bass: Option<SpelledPitch>,
}

/// A chord symbol. Build one by parsing, with [`Chord::from_parts`],
/// [`Chord::of_kind`] or [`Chord::from_notes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Chord {
    parts: ChordParts,
}

/// The role of a tone in a chord.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChordTone {
    /// The root.
    Root,
    /// The third, or the second or fourth of a suspended chord.
    Third,
    /// The fifth.
    Fifth,
    /// An added sixth.
    Sixth,
    /// The seventh.
    Seventh,
    /// The ninth.
    Ninth,
    /// The eleventh.
    Eleventh,
    /// The thirteenth.
    Thirteenth,
}

/// The basic triad and seventh qualities, as chord detection and the
/// theory tables name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChordKind {
    /// Major triad.
    Major,
    /// Minor triad.
    Minor,
    /// Diminished triad.
    Diminished,
    /// Augmented triad.
    Augmented,
    /// Suspended second.
    Sus2,
    /// Suspended fourth.
    Sus4,
    /// Dominant seventh.
    Dominant7,
    /// Major seventh.
    Major7,
    /// Minor seventh.
    Minor7,
    /// Half-diminished seventh (m7♭5).
    HalfDiminished7,
    /// Diminished seventh.
    Diminished7,
    /// Minor triad with a major seventh.
    MinorMajor7,
    /// Dominant seventh with a suspended fourth.
    Dominant7Sus4,
    /// Major sixth.
    Major6,
    /// Minor sixth.
    Minor6,
}

impl ChordKind {
    /// Harte's shorthand for the kind (`maj`, `min7`, `hdim7`...), as
    /// mir_eval and MIREX chord labels write it.
    pub fn harte_shorthand(self) -> &'static str {
        match self {
            ChordKind::Major => "maj",
            ChordKind::Minor => "min",
            ChordKind::Diminished => "dim",
            ChordKind::Augmented => "aug",
            ChordKind::Sus2 => "sus2",
            ChordKind::Sus4 => "sus4",
            ChordKind::Dominant7 => "7",
            ChordKind::Major7 => "maj7",
            ChordKind::Minor7 => "min7",
            ChordKind::HalfDiminished7 => "hdim7",
            ChordKind::Diminished7 => "dim7",
            ChordKind::MinorMajor7 => "minmaj7",
            ChordKind::Dominant7Sus4 => "sus4(b7)",
            ChordKind::Major6 => "maj6",
            ChordKind::Minor6 => "min6",
        }
    }

    /// Every kind.
    pub const ALL: [ChordKind; 15] = [
        ChordKind::Major,
        ChordKind::Minor,
        ChordKind::Diminished,
        ChordKind::Augmented,
        ChordKind::Sus2,
        ChordKind::Sus4,
        ChordKind::Dominant7,
        ChordKind::Major7,
        ChordKind::Minor7,
        ChordKind::HalfDiminished7,
        ChordKind::Diminished7,
        ChordKind::MinorMajor7,
        ChordKind::Dominant7Sus4,
        ChordKind::Major6,
        ChordKind::Minor6,
    ];

    /// Third, fifth, sixth and seventh of this kind.
    pub fn parts(self) -> (Third, Fifth, bool, Option<Seventh>) {
        use ChordKind as K;
        match self {
            K::Major => (Third::Major, Fifth::Perfect, false, None),
            K::Minor => (Third::Minor, Fifth::Perfect, false, None),
            K::Diminished => (Third::Minor, Fifth::Diminished, false, None),
            K::Augmented => (Third::Major, Fifth::Augmented, false, None),
            K::Sus2 => (Third::Sus2, Fifth::Perfect, false, None),
            K::Sus4 => (Third::Sus4, Fifth::Perfect, false, None),
            K::Dominant7 => (Third::Major, Fifth::Perfect, false, Some(Seventh::Minor)),
            K::Major7 => (Third::Major, Fifth::Perfect, false, Some(Seventh::Major)),
            K::Minor7 => (Third::Minor, Fifth::Perfect, false, Some(Seventh::Minor)),
            K::HalfDiminished7 => (Third::Minor, Fifth::Diminished, false, Some(Seventh::Minor)),
            K::Diminished7 => (
                Third::Minor,
                Fifth::Diminished,
                false,
                Some(Seventh::Diminished),
            ),
            K::MinorMajor7 => (Third::Minor, Fifth::Perfect, false, Some(Seventh::Major)),
            K::Dominant7Sus4 => (Third::Sus4, Fifth::Perfect, false, Some(Seventh::Minor)),
            K::Major6 => (Third::Major, Fifth::Perfect, true, None),
            K::Minor6 => (Third::Minor, Fifth::Perfect, true, None),
        }
    }

    /// Semitones above the root, as a 12-bit mask (bit 0 = root).
    pub fn interval_mask(self) -> u16 {
        Chord::of_kind(SpelledPitch::C, self).pitch_class_mask()
    }
}

/// Up to eight spelled chord tones with their roles, in chord-tone order
/// (root, third, fifth, sixth, seventh, ninth, eleventh, thirteenth).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChordTones {
    tones: [(ChordTone, Interval); 8],
    len: u8,
}

impl ChordTones {
    /// The tones as (role, interval above the root).
    pub fn as_slice(&self) -> &[(ChordTone, Interval)] {
        &self.tones[..self.len as usize]
    }
}

const fn iv(number: u8, quality: Quality) -> Interval {
    Interval { number, quality }
}

impl Chord {
    /// A chord from its parts.
    ///
    /// # Errors
    /// [`HarmonyError::OutOfRange`] for combinations the symbol language
    /// cannot write: a diminished seventh without a minor third and
    /// diminished fifth, a sixth together with a seventh or thirteenth, a
    /// ♭11, a ♯13.
    // Inline: the symbol parser (chord::parse) calls it once per chord
    // from another codegen unit.
    #[inline]
    pub fn from_parts(parts: ChordParts) -> Result<Chord, HarmonyError> {
        let bad = |detail: &str| {
            Err(HarmonyError::OutOfRange {
                what: "chord",
                detail: detail.to_string(),
            })
        };
        if parts.seventh == Some(Seventh::Diminished)
            && !(parts.third == Third::Minor && parts.fifth == Fifth::Diminished)
        {
            return bad("a diminished seventh needs a minor third and a diminished fifth (dim7)");
        }
        if parts.sixth && (parts.seventh.is_some() || parts.thirteenth.is_some()) {
            return bad("an added sixth cannot go with a seventh or a thirteenth; use 13");
        }
        if parts.eleventh == Some(Alteration::Flat) {
            return bad("a flat eleventh is a major third; allowed 11 and #11");
        }
        if parts.thirteenth == Some(Alteration::Sharp) {
            return bad("a sharp thirteenth is a minor seventh; allowed 13 and b13");
        }
        let mut parts = parts;
        if parts.bass == Some(parts.root) {
            parts.bass = None;
        }
        Ok(Chord { parts })
    }

    /// The triad or seventh chord that spelled `notes` stack up to in
    /// thirds (doublings allowed, the fifth may be left out), with `bass`
    /// as its lowest note: how a score's sonority is named. `None` if the
    /// notes are not such a stack (a suspension, an added sixth, a ninth,
    /// a passing tone) or `bass` is not among them.
    ///
    /// ```
    /// use kmidi_harmony::chord::Chord;
    /// use kmidi_harmony::pitch::SpelledPitch;
    /// let n = |s: &str| s.parse::<SpelledPitch>().unwrap();
    /// let c = Chord::from_notes(&[n("B"), n("D"), n("G"), n("F")], n("B")).unwrap();
    /// assert_eq!(c.to_string(), "G7/B");
    /// ```
    pub fn from_notes(notes: &[SpelledPitch], bass: SpelledPitch) -> Option<Chord> {
        if !notes.contains(&bass) {
            return None;
        }
        'root: for &root in notes {
            let mut parts = Chord::of_kind(root, ChordKind::Major).parts;
            let (mut third, mut fifth, mut seventh) = (None, Fifth::Omitted, None);
            for &n in notes {
                let steps = (n.letter.index() as i32 - root.letter.index() as i32).rem_euclid(7);
                let semis = (n.pitch_class().semitones() as i32
                    - root.pitch_class().semitones() as i32)
                    .rem_euclid(12);
                match (steps, semis) {
                    (0, 0) => {}
                    (2, 4) => third = Some(Third::Major),
                    (2, 3) => third = Some(Third::Minor),
                    (4, 7) => fifth = Fifth::Perfect,
                    (4, 6) => fifth = Fifth::Diminished,
                    (4, 8) => fifth = Fifth::Augmented,
                    (6, 10) => seventh = Some(Seventh::Minor),
                    (6, 11) => seventh = Some(Seventh::Major),
                    (6, 9) => seventh = Some(Seventh::Diminished),
                    _ => continue 'root,
                }
            }
            let Some(third) = third else { continue };
            parts.third = third;
            parts.fifth = fifth;
            parts.seventh = seventh;
            parts.bass = (bass != root).then_some(bass);
            return Chord::from_parts(parts).ok();
        }
        None
    }

    /// A chord of one of the basic kinds on `root`.
    pub fn of_kind(root: SpelledPitch, kind: ChordKind) -> Chord {
        let (third, fifth, sixth, seventh) = kind.parts();
        Chord {
            parts: ChordParts {
                root,
                third,
                fifth,
                sixth,
                seventh,
                ninth: None,
                eleventh: None,
                thirteenth: None,
                bass: None,
            },
        }
    }

    /// The parts.
    pub fn parts(&self) -> ChordParts {
        self.parts
    }

    /// The root.
    pub fn root(&self) -> SpelledPitch {
        self.parts.root
    }

    /// The bass: the slash note, or the root.
    pub fn bass(&self) -> SpelledPitch {
        self.parts.bass.unwrap_or(self.parts.root)
    }

    /// The basic kind, if this chord is one of them without extensions.
    pub fn kind(&self) -> Option<ChordKind> {
        let p = &self.parts;
        if p.ninth.is_some() || p.eleventh.is_some() || p.thirteenth.is_some() {
            return None;
        }
        ChordKind::ALL
            .into_iter()
            .find(|k| k.parts() == (p.third, p.fifth, p.sixth, p.seventh))
    }

    /// The same chord with `bass` under it (`None` for root position).
    pub fn with_bass(self, bass: Option<SpelledPitch>) -> Chord {
        let mut parts = self.parts;
        parts.bass = bass.filter(|b| *b != parts.root);
        Chord { parts }
    }

    /// The chord tones with their roles and intervals above the root.
    pub fn tones(&self) -> ChordTones {
        let p = &self.parts;
        let mut t = ChordTones {
            tones: [(ChordTone::Root, iv(1, Quality::Perfect)); 8],
            len: 1,
        };
        let mut push = |role, i| {
            t.tones[t.len as usize] = (role, i);
            t.len += 1;
        };
        push(
            ChordTone::Third,
            match p.third {
                Third::Major => iv(3, Quality::Major),
                Third::Minor => iv(3, Quality::Minor),
                Third::Sus2 => iv(2, Quality::Major),
                Third::Sus4 => iv(4, Quality::Perfect),
            },
        );
        match p.fifth {
            Fifth::Perfect => push(ChordTone::Fifth, iv(5, Quality::Perfect)),
            Fifth::Diminished => push(ChordTone::Fifth, iv(5, Quality::Diminished(1))),
            Fifth::Augmented => push(ChordTone::Fifth, iv(5, Quality::Augmented(1))),
            Fifth::Omitted => {}
        }
        if p.sixth {
            push(ChordTone::Sixth, iv(6, Quality::Major));
        }
        if let Some(s) = p.seventh {
            push(
                ChordTone::Seventh,
                match s {
                    Seventh::Minor => iv(7, Quality::Minor),
                    Seventh::Major => iv(7, Quality::Major),
                    Seventh::Diminished => iv(7, Quality::Diminished(1)),
                },
            );
        }
        let ext = |n: u8, a: Alteration, perfect: bool| {
            let q = match (a, perfect) {
                (Alteration::Natural, true) => Quality::Perfect,
                (Alteration::Natural, false) => Quality::Major,
                (Alteration::Flat, true) => Quality::Diminished(1),
                (Alteration::Flat, false) => Quality::Minor,
                (Alteration::Sharp, _) => Quality::Augmented(1),
            };
            iv(n, q)
        };
        if let Some(a) = p.ninth {
            push(ChordTone::Ninth, ext(9, a, false));
        }
        if let Some(a) = p.eleventh {
            push(ChordTone::Eleventh, ext(11, a, true));
        }
        if let Some(a) = p.thirteenth {
            push(ChordTone::Thirteenth, ext(13, a, false));
        }
        t
    }

    /// The spelled chord tones in chord-tone order from the root (not
    /// including a slash bass that is not a chord tone; see [`bass`](Self::bass)).
    pub fn notes(&self) -> impl Iterator<Item = SpelledPitch> + use<> {
        let root = self.parts.root;
        let tones = self.tones();
        (0..tones.len as usize).map(move |i| tones.tones[i].1.above_pitch_respelled(root))
    }

    /// The pitch classes sounding, the bass included, as a 12-bit mask
    /// (bit 0 = C).
    pub fn pitch_class_mask(&self) -> u16 {
        let r = self.parts.root.pitch_class();
        let mut m = self.tones().as_slice().iter().fold(0u16, |m, (_, i)| {
            m | 1 << r.transpose(i.semitones()).semitones()
        });
        if let Some(b) = self.parts.bass {
            m |= 1 << b.pitch_class().semitones();
        }
        m
    }

    /// The pitch classes sounding, ascending from C.
    pub fn pitch_classes(&self) -> impl Iterator<Item = PitchClass> + use<> {
        let m = self.pitch_class_mask();
        (0..12)
            .filter(move |i| m & (1 << i) != 0)
            .map(PitchClass::new)
    }

    /// Which chord tone is in the bass: 0 = root position, 1 = first
    /// inversion (third), 2 = second (fifth), 3 = third (seventh), and so
    /// on in chord-tone order. `None` when the bass is not a chord tone
    /// (C/D).
    pub fn inversion(&self) -> Option<usize> {
        let Some(bass) = self.parts.bass else {
            return Some(0);
        };
        let root = self.parts.root;
        let tones = self.tones();
        tones
            .as_slice()
            .iter()
            .position(|(_, i)| i.above_pitch_respelled(root).pitch_class() == bass.pitch_class())
    }

    /// The chord with its `n`th chord tone (in chord-tone order) in the bass.
    ///
    /// # Errors
    /// [`HarmonyError::OutOfRange`] if the chord has fewer tones.
    pub fn inverted(self, n: usize) -> Result<Chord, HarmonyError> {
        let tones = self.tones();
        let (_, i) = tones
            .as_slice()
            .get(n)
            .ok_or_else(|| HarmonyError::OutOfRange {
                what: "inversion",
                detail: format!("{n} for {self}, which has {} tones", tones.len),
            })?;
        Ok(self.with_bass(Some(i.above_pitch_respelled(self.parts.root))))
    }

    /// The chord transposed up (`up = true`) or down by `interval`, spelled
    /// by the interval (C7 up a minor third is E♭7, not D♯7).
    pub fn transpose(self, interval: Interval, up: bool) -> Chord {
        let step = if up { interval } else { interval.inverted() };
        let mv = |p: SpelledPitch| step.above_pitch_respelled(p);
        let mut parts = self.parts;
        parts.root = mv(parts.root);
        parts.bass = parts.bass.map(mv);
        Chord { parts }
    }

    fn head_number(&self) -> Option<u8> {
        let p = &self.parts;
        p.seventh?;
        if p.seventh == Some(Seventh::Diminished) {
            return Some(7);
        }
        Some(
            if p.thirteenth == Some(Alteration::Natural) && p.ninth.is_some() {
                13
            } else if p.eleventh == Some(Alteration::Natural) && p.ninth.is_some() {
                11
            } else if p.ninth == Some(Alteration::Natural) {
                9
            } else {
                7
            },
        )
    }
}

impl fmt::Display for Chord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.parts;
        // Build into a small stack buffer so the parenthesis rule can look
        // at the previous character.
        let mut out = SymbolWriter::default();
        let mut fifth_done = false;
        let mut seventh_done = false;
        let mut ninth_done = false;
        let mut eleventh_done = false;
        let mut thirteenth_done = false;
        let plain = p.ninth.is_none() && p.eleventh.is_none() && p.thirteenth.is_none();
        match (p.third, p.fifth, p.seventh, p.sixth) {
            (Third::Minor, Fifth::Diminished, Some(Seventh::Diminished), _) => {
                out.push("dim7");
                fifth_done = true;
                seventh_done = true;
            }
            (Third::Minor, Fifth::Diminished, None, false) => {
                out.push("dim");
                fifth_done = true;
            }
            (Third::Major, Fifth::Augmented, None, false) if plain => {
                out.push("aug");
                fifth_done = true;
            }
            (Third::Minor, ..) => out.push("m"),
            _ => {}
        }
        if !seventh_done {
            if let Some(s) = p.seventh {
                if s == Seventh::Major {
                    out.push(if p.third == Third::Minor {
                        "Maj"
                    } else {
                        "maj"
                    });
                }
                let n = self.head_number().unwrap_or(7);
                let _ = write!(out, "{n}");
                if n >= 9 && p.ninth == Some(Alteration::Natural) {
                    ninth_done = true;
                }
                if n == 11 {
                    eleventh_done = true;
                }
                if n == 13 {
                    thirteenth_done = true;
                }
            } else if p.sixth {
                if p.ninth == Some(Alteration::Natural) {
                    out.push("6/9");
                    ninth_done = true;
                } else {
                    out.push("6");
                }
            }
        }
        match p.third {
            Third::Sus2 => out.push("sus2"),
            Third::Sus4 => out.push("sus4"),
            _ => {}
        }
        let mut mods = SymbolWriter::default();
        if !fifth_done {
            match p.fifth {
                Fifth::Diminished => mods.push("b5"),
                Fifth::Augmented => mods.push("#5"),
                Fifth::Omitted => mods.push("no5"),
                Fifth::Perfect => {}
            }
        }
        if !ninth_done && let Some(a) = p.ninth {
            mods.push(match a {
                Alteration::Flat => "b9",
                Alteration::Natural => "add9",
                Alteration::Sharp => "#9",
            });
        }
        if !eleventh_done && let Some(a) = p.eleventh {
            mods.push(match a {
                Alteration::Natural => "add11",
                _ => "#11",
            });
        }
        if !thirteenth_done && let Some(a) = p.thirteenth {
            mods.push(match a {
                Alteration::Natural => "add13",
                _ => "b13",
            });
        }
        write!(f, "{}{}", p.root, out.as_str())?;
        if !mods.as_str().is_empty() {
            let after_digit = out.as_str().ends_with(|c: char| c.is_ascii_digit());
            let starts_with_accidental = mods.as_str().starts_with(['b', '#', 'n']);
            if !after_digit && starts_with_accidental {
                write!(f, "({})", mods.as_str())?;
            } else {
                f.write_str(mods.as_str())?;
            }
        }
        if let Some(b) = p.bass {
            write!(f, "/{b}")?;
        }
        Ok(())
    }
}

/// A fixed-size string buffer for printing without allocating.
#[derive(Default)]
struct SymbolWriter {
    buf: [u8; 32],
    len: usize,
}

impl SymbolWriter {
    fn push(&mut self, s: &str) {
        let end = (self.len + s.len()).min(self.buf.len());
        self.buf[self.len..end].copy_from_slice(&s.as_bytes()[..end - self.len]);
        self.len = end;
    }
    fn as_str(&self) -> &str {
        // Only ASCII is ever pushed.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl fmt::Write for SymbolWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s);
        Ok(())
    }
}
