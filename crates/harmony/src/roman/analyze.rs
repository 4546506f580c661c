//! Naming a chord as a Roman numeral in a key: diatonic, augmented
//! sixth, Neapolitan, secondary, chromatic, and last a chromatic numeral
//! in a tonicized key.

use super::*;

impl RomanNumeral {
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
            omitted: OmittedTones::NONE,
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

/// Whether `n` realized in `key` gives the same pitch classes and bass as
/// `m` realized in `key` (enharmonic readings compare equal).
pub fn same_sound(n: &RomanNumeral, m: &RomanNumeral, key: Key) -> bool {
    let a = n.realize(key);
    let b = m.realize(key);
    a.pitch_class_mask() == b.pitch_class_mask() && a.bass().pitch_class() == b.bass().pitch_class()
}
