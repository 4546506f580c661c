//! Scales, keys, chord symbols, Roman numerals, progressions and voice
//! leading: known answers from the theory textbooks, round trips, and bad
//! input.

use kmidi_harmony::HarmonyError;
use kmidi_harmony::chord::{Alteration, Chord, ChordKind, ChordParts, Fifth, Seventh, Third};
use kmidi_harmony::interval::Interval;
use kmidi_harmony::key::{Key, Mode};
use kmidi_harmony::pitch::{Letter, PitchClass, SpelledPitch};
use kmidi_harmony::progression::{ParallelRule, Progression, VoiceLeader, VoiceRanges};
use kmidi_harmony::roman::{OmittedTones, RomanNumeral, TriadQuality, same_sound};
use kmidi_harmony::scale::{Scale, ScaleKind};
use proptest::prelude::*;

fn names<T: ToString>(it: impl IntoIterator<Item = T>) -> Vec<String> {
    it.into_iter().map(|x| x.to_string()).collect()
}

fn chord(s: &str) -> Chord {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn key(s: &str) -> Key {
    s.parse().unwrap()
}

#[test]
fn every_scale_is_spelled_as_the_textbooks_spell_it() {
    let cases = [
        ("C major", "C D E F G A B"),
        ("A natural minor", "A B C D E F G"),
        ("F# harmonic minor", "F# G# A B C# D E#"),
        ("Bb melodic minor", "Bb C Db Eb F G A"),
        ("D ionian", "D E F# G A B C#"),
        ("D dorian", "D E F G A B C"),
        ("E phrygian", "E F G A B C D"),
        ("F lydian", "F G A B C D E"),
        ("Eb lydian", "Eb F G A Bb C D"),
        ("G mixolydian", "G A B C D E F"),
        ("A aeolian", "A B C D E F G"),
        ("B locrian", "B C D E F G A"),
        ("C major pentatonic", "C D E G A"),
        ("A minor pentatonic", "A C D E G"),
        ("E blues", "E G A Bb B D"),
        ("C whole tone", "C D E F# G# A#"),
        ("C diminished half-whole", "C Db D# E F# G A Bb"),
        ("C diminished whole-half", "C D Eb F Gb G# A B"),
        ("C chromatic", "C C# D D# E F F# G G# A A# B"),
        ("Gb major", "Gb Ab Bb Cb Db Eb F"),
        ("C# major", "C# D# E# F# G# A# B#"),
    ];
    for (name, want) in cases {
        let s: Scale = name.parse().unwrap();
        assert_eq!(names(s.notes()).join(" "), want, "{name}");
        assert_eq!(
            s.to_string().parse::<Scale>().unwrap(),
            s,
            "{name} round trip"
        );
    }
    // Every kind is reachable by its printed name, and its degrees have the
    // right number of distinct pitch classes.
    for kind in ScaleKind::ALL {
        let s = Scale::new("D".parse().unwrap(), kind);
        assert_eq!(
            s.to_string().parse::<Scale>().unwrap().kind.intervals(),
            kind.intervals()
        );
        assert_eq!(
            s.pitch_class_mask().count_ones() as usize,
            s.len(),
            "{kind}"
        );
    }
    let d_dorian: Scale = "D dorian".parse().unwrap();
    assert_eq!(d_dorian.degree(3).to_string(), "F");
    assert_eq!(d_dorian.degree(8).to_string(), "D");
    assert_eq!(d_dorian.degree(0).to_string(), "C");
    assert_eq!(d_dorian.degree_of(PitchClass::new(11)), Some(6));
    assert_eq!(d_dorian.degree_of(PitchClass::new(10)), None);
    assert_eq!(
        "g# Harmonic_Minor".parse::<Scale>().unwrap().to_string(),
        "G# harmonic minor"
    );
}

#[test]
fn key_signatures_and_diatonic_chords() {
    let sigs = [
        ("C major", 0),
        ("G major", 1),
        ("F# major", 6),
        ("C# major", 7),
        ("F major", -1),
        ("Cb major", -7),
        ("A minor", 0),
        ("E minor", 1),
        ("D minor", -1),
        ("Eb minor", -6),
        ("A# minor", 7),
        ("Ab minor", -7),
    ];
    for (k, f) in sigs {
        assert_eq!(key(k).signature().fifths, f, "{k}");
    }
    assert_eq!(
        names(key("A major").signature().accidentals()),
        ["F#", "C#", "G#"]
    );
    assert_eq!(
        names(key("C minor").signature().accidentals()),
        ["Bb", "Eb", "Ab"]
    );
    assert_eq!(key("Bb major").signature().to_string(), "2 flats");
    assert_eq!(key("A minor").relative(), key("C major"));
    assert_eq!(key("Eb major").relative(), key("C minor"));
    assert_eq!(key("C major").parallel(), key("C minor"));

    assert_eq!(
        names(key("D major").triads()),
        ["D", "Em", "F#m", "G", "A", "Bm", "C#dim"]
    );
    assert_eq!(
        names(key("D major").sevenths()),
        ["Dmaj7", "Em7", "F#m7", "Gmaj7", "A7", "Bm7", "C#m7b5"]
    );
    assert_eq!(
        names(key("C minor").triads()),
        ["Cm", "Ddim", "Eb", "Fm", "G", "Ab", "Bdim"]
    );
    assert_eq!(
        names(key("C minor").sevenths()),
        ["Cm7", "Dm7b5", "Ebmaj7", "Fm7", "G7", "Abmaj7", "Bdim7"]
    );
    // Key-aware spelling: the same pitch class spelled for the key.
    let spell = |k: &str, pc: i32| key(k).spell(PitchClass::new(pc)).to_string();
    assert_eq!(spell("E major", 8), "G#");
    assert_eq!(spell("Ab major", 8), "Ab");
    assert_eq!(spell("C major", 6), "F#"); // leading tone of V
    assert_eq!(spell("C major", 10), "Bb"); // mixture
    assert_eq!(spell("C minor", 11), "B"); // raised leading tone
    assert_eq!(spell("F# major", 5), "E#");
    assert_eq!(spell("Db major", 2), "Ebb"); // the Neapolitan's root
    // Keys beyond 7 accidentals are refused with the reason.
    let err = "G# major".parse::<Key>().unwrap_err().to_string();
    assert!(err.contains("at most 7 sharps or flats"), "{err}");
    assert_eq!(Key::all().count(), 24);
    assert_eq!(
        Key::from_pitch_class(PitchClass::new(10), Mode::Major),
        key("Bb major")
    );
    assert_eq!(
        Key::from_pitch_class(PitchClass::new(1), Mode::Minor),
        key("C# minor")
    );
}

#[test]
fn chord_vocabulary_parses_to_the_right_notes() {
    // (input, canonical print, spelled notes)
    let cases = [
        ("C", "C", "C E G"),
        ("Cmaj", "C", "C E G"),
        ("CM", "C", "C E G"),
        ("Cm", "Cm", "C Eb G"),
        ("C-", "Cm", "C Eb G"),
        ("Cmin", "Cm", "C Eb G"),
        ("Cdim", "Cdim", "C Eb Gb"),
        ("C°", "Cdim", "C Eb Gb"),
        ("Co", "Cdim", "C Eb Gb"),
        ("Caug", "Caug", "C E G#"),
        ("C+", "Caug", "C E G#"),
        ("Csus2", "Csus2", "C D G"),
        ("Csus4", "Csus4", "C F G"),
        ("Csus", "Csus4", "C F G"),
        ("C6", "C6", "C E G A"),
        ("Cm6", "Cm6", "C Eb G A"),
        ("C7", "C7", "C E G Bb"),
        ("Cmaj7", "Cmaj7", "C E G B"),
        ("CM7", "Cmaj7", "C E G B"),
        ("CΔ", "Cmaj7", "C E G B"),
        ("CΔ7", "Cmaj7", "C E G B"),
        ("Cma7", "Cmaj7", "C E G B"),
        ("Cm7", "Cm7", "C Eb G Bb"),
        ("C-7", "Cm7", "C Eb G Bb"),
        ("Cmin7", "Cm7", "C Eb G Bb"),
        ("CmMaj7", "CmMaj7", "C Eb G B"),
        ("Cm(maj7)", "CmMaj7", "C Eb G B"),
        ("C-Δ7", "CmMaj7", "C Eb G B"),
        ("CmM7", "CmMaj7", "C Eb G B"),
        ("Cm7b5", "Cm7b5", "C Eb Gb Bb"),
        ("Cø", "Cm7b5", "C Eb Gb Bb"),
        ("Cø7", "Cm7b5", "C Eb Gb Bb"),
        ("Cdim7", "Cdim7", "C Eb Gb Bbb"),
        ("C°7", "Cdim7", "C Eb Gb Bbb"),
        ("C7sus4", "C7sus4", "C F G Bb"),
        ("C7sus", "C7sus4", "C F G Bb"),
        ("C9", "C9", "C E G Bb D"),
        ("Cmaj9", "Cmaj9", "C E G B D"),
        ("Cm9", "Cm9", "C Eb G Bb D"),
        ("C11", "C11", "C E G Bb D F"),
        ("Cm11", "Cm11", "C Eb G Bb D F"),
        ("C13", "C13", "C E G Bb D A"),
        ("Cmaj13", "Cmaj13", "C E G B D A"),
        ("C7b9", "C7b9", "C E G Bb Db"),
        ("C7#9", "C7#9", "C E G Bb D#"),
        ("C7(b9)", "C7b9", "C E G Bb Db"),
        ("C7#11", "C7#11", "C E G Bb F#"),
        ("Cmaj7#11", "Cmaj7#11", "C E G B F#"),
        ("C7b13", "C7b13", "C E G Bb Ab"),
        ("C13#11", "C13#11", "C E G Bb D F# A"),
        ("C13b9", "C13b9", "C E G Bb Db A"),
        ("C7(b9,#11)", "C7b9#11", "C E G Bb Db F#"),
        ("C7b5", "C7b5", "C E Gb Bb"),
        ("C7#5", "C7#5", "C E G# Bb"),
        ("C+7", "C7#5", "C E G# Bb"),
        ("Cadd9", "Cadd9", "C E G D"),
        ("Cmadd9", "Cmadd9", "C Eb G D"),
        ("Cm(add9)", "Cmadd9", "C Eb G D"),
        ("Cadd11", "Cadd11", "C E G F"),
        ("C6/9", "C6/9", "C E G A D"),
        ("C69", "C6/9", "C E G A D"),
        ("Cm6/9", "Cm6/9", "C Eb G A D"),
        ("C/E", "C/E", "C E G"),
        ("C7/Bb", "C7/Bb", "C E G Bb"),
        ("Am7/G", "Am7/G", "A C E G"),
        ("C/D", "C/D", "C E G"),
        ("F#m7b5", "F#m7b5", "F# A C E"),
        ("Bbmaj7", "Bbmaj7", "Bb D F A"),
        ("Ebm7", "Ebm7", "Eb Gb Bb Db"),
        ("Dbdim7", "Dbdim7", "Db Fb Abb Cbb"),
        ("G#7#9", "G#7#9", "G# B# D# F# A##"),
        ("E♭maj7", "Ebmaj7", "Eb G Bb D"),
        ("C7(no5)", "C7no5", "C E Bb"),
    ];
    for (input, canonical, notes) in cases {
        let c = chord(input);
        assert_eq!(c.to_string(), canonical, "print of {input}");
        assert_eq!(names(c.notes()).join(" "), notes, "notes of {input}");
        assert_eq!(chord(canonical), c, "{input} -> {canonical} -> parse");
    }
    // Pitch classes (the slash bass included), and inversions.
    let c = chord("C/D");
    assert_eq!(
        c.pitch_classes().map(|p| p.semitones()).collect::<Vec<_>>(),
        [0, 2, 4, 7]
    );
    assert_eq!(c.inversion(), None);
    assert_eq!(chord("C/E").inversion(), Some(1));
    assert_eq!(chord("C7/Bb").inversion(), Some(3));
    assert_eq!(chord("G7").inverted(2).unwrap().to_string(), "G7/D");
    assert_eq!(chord("C/C"), chord("C"));
    assert_eq!(chord("Cm7").kind(), Some(ChordKind::Minor7));
    assert_eq!(chord("C9").kind(), None);
    // Transposition spells by the interval.
    let m3: Interval = "m3".parse().unwrap();
    assert_eq!(chord("C7/E").transpose(m3, true).to_string(), "Eb7/G");
    assert_eq!(chord("C7/E").transpose(m3, false).to_string(), "A7/C#");
    // Every basic kind's mask is what its name says.
    assert_eq!(ChordKind::Dominant7.interval_mask(), 0b0100_1001_0001);
    assert_eq!(ChordKind::Diminished7.interval_mask(), 0b0010_0100_1001);
}

/// Each input fails to parse as `T` at the byte given, with an
/// expectation that contains the words given.
fn assert_parse_errors<T: std::str::FromStr<Err = HarmonyError> + std::fmt::Debug>(
    cases: &[(&str, usize, &str)],
) {
    for &(input, pos, expected) in cases {
        match input.parse::<T>() {
            Err(HarmonyError::Parse {
                position,
                expected: e,
                ..
            }) => {
                assert_eq!(position, pos, "{input}: {e}");
                assert!(e.contains(expected), "{input}: {e}");
            }
            other => panic!("{input}: {other:?}"),
        }
    }
}

#[test]
fn bad_chord_symbols_say_where_and_what() {
    let cases: [(&str, usize, &str); 10] = [
        ("", 0, "a root"),
        ("H7", 0, "a root"),
        ("c7", 0, "upper-case"),
        ("Cmaj8", 4, "7, 9, 11 or 13 after maj"),
        ("C8", 1, "an extension"),
        ("Cq", 1, "a chord quality"),
        ("C7b10", 3, "5 or 9 after a flat or sharp"),
        ("C7/", 3, "a bass note"),
        ("C7(b9", 5, "')'"),
        ("Cadd7", 4, "9, 11 or 13 after add"),
    ];
    assert_parse_errors::<Chord>(&cases);
    let err = "C7/E7".parse::<Chord>().unwrap_err().to_string();
    assert!(err.contains("end of input after the bass"), "{err}");
}

fn arb_pitch() -> impl Strategy<Value = SpelledPitch> {
    (0..7usize, -1i8..=1).prop_map(|(l, a)| SpelledPitch::new(Letter::ALL[l], a).unwrap())
}

fn arb_alteration() -> impl Strategy<Value = Option<Alteration>> {
    prop_oneof![
        Just(None),
        Just(Some(Alteration::Flat)),
        Just(Some(Alteration::Natural)),
        Just(Some(Alteration::Sharp)),
    ]
}

fn arb_chord() -> impl Strategy<Value = Chord> {
    (
        arb_pitch(),
        prop_oneof![
            Just(Third::Major),
            Just(Third::Minor),
            Just(Third::Sus2),
            Just(Third::Sus4)
        ],
        prop_oneof![
            Just(Fifth::Perfect),
            Just(Fifth::Diminished),
            Just(Fifth::Augmented),
            Just(Fifth::Omitted)
        ],
        any::<bool>(),
        prop_oneof![
            Just(None),
            Just(Some(Seventh::Minor)),
            Just(Some(Seventh::Major)),
            Just(Some(Seventh::Diminished))
        ],
        (arb_alteration(), arb_alteration(), arb_alteration()),
        proptest::option::of(arb_pitch()),
    )
        .prop_filter_map(
            "not writable",
            |(root, third, fifth, sixth, seventh, (n, e, t), bass)| {
                Chord::from_parts(ChordParts {
                    root,
                    third,
                    fifth,
                    sixth,
                    seventh,
                    ninth: n,
                    eleventh: e,
                    thirteenth: t,
                    bass,
                })
                .ok()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// parse(print(c)) == c for every chord the type can hold.
    #[test]
    fn chord_print_then_parse_is_identity(c in arb_chord()) {
        let printed = c.to_string();
        let back: Chord = printed.parse().map_err(|e| TestCaseError::fail(format!("{printed}: {e}")))?;
        prop_assert_eq!(back, c, "{}", printed);
        // Spelled notes sound as the pitch classes say.
        let mask = c.notes().fold(0u16, |m, p| m | 1 << p.pitch_class().semitones())
            | c.parts().bass.map_or(0, |b| 1 << b.pitch_class().semitones());
        prop_assert_eq!(mask, c.pitch_class_mask());
    }

    /// Transposing up then down by the same interval is the identity.
    #[test]
    fn chord_transpose_round_trip(c in arb_chord(), n in 0usize..5) {
        let iv: Interval = ["m2", "M3", "P4", "P5", "m6"][n].parse().unwrap();
        let there = c.transpose(iv, true);
        let back = there.transpose(iv, false);
        prop_assert_eq!(back.pitch_class_mask(), c.pitch_class_mask());
    }
}

#[test]
fn roman_numerals_realize_in_major_and_minor() {
    let c = key("C major");
    let a = key("A minor");
    let cases = [
        (c, "I", "C"),
        (c, "ii", "Dm"),
        (c, "V7", "G7"),
        (c, "V65", "G7/B"),
        (c, "V43", "G7/D"),
        (c, "V42", "G7/F"),
        (c, "V2", "G7/F"),
        (c, "I6", "C/E"),
        (c, "I64", "C/G"),
        (c, "ii7", "Dm7"),
        (c, "ii65", "Dm7/F"),
        (c, "IM7", "Cmaj7"),
        (c, "IVM7", "Fmaj7"),
        (c, "viiø7", "Bm7b5"),
        (c, "vii°7", "Bdim7"),
        (c, "vii°", "Bdim"),
        (c, "viio6", "Bdim/D"),
        (c, "III+", "Eaug"),
        (c, "bVII", "Bb"),
        (c, "bVI", "Ab"),
        (c, "bIII", "Eb"),
        (c, "iv", "Fm"),
        (c, "iv6", "Fm/Ab"),
        (c, "#iv°7", "F#dim7"),
        (c, "V/V", "D"),
        (c, "V7/V", "D7"),
        (c, "V7/IV", "C7"),
        (c, "V65/vi", "E7/G#"),
        (c, "vii°7/ii", "C#dim7"),
        (c, "viiø7/V", "F#m7b5"),
        (c, "vii°7/V", "F#dim7"),
        (c, "N6", "Db/F"),
        (c, "It+6", "Ab7no5"),
        (c, "Fr+6", "Ab7b5"),
        (c, "Ger+6", "Ab7"),
        (a, "i", "Am"),
        (a, "iv", "Dm"),
        (a, "V", "E"),
        (a, "V7", "E7"),
        (a, "v", "Em"),
        (a, "III", "C"),
        (a, "VI", "F"),
        (a, "VII", "G"),
        (a, "vii°7", "G#dim7"),
        (a, "ii°6", "Bdim/D"),
        (a, "N6", "Bb/D"),
        (a, "V7/III", "G7"),
        (a, "iM7", "AmMaj7"),
        // Unmarked sevenths are diatonic (music21 reads them so).
        (c, "I7", "Cmaj7"),
        (c, "IV7", "Fmaj7"),
        (c, "vi7", "Am7"),
        (c, "i7", "Cm7"),
        (c, "bVII7", "Bbmaj7"),
        (a, "VI7", "Fmaj7"),
        (a, "III7", "Cmaj7"),
        (a, "VII7", "G7"),
        (a, "IV7", "D7"),
        (a, "i7", "Am7"),
        (a, "ii7", "Bm7"),
        (a, "vi", "F#m"),
        (a, "vi7", "F#m7"),
        (a, "V+7", "E7#5"),
    ];
    for (k, numeral, want) in cases {
        let n: RomanNumeral = numeral.parse().unwrap_or_else(|e| panic!("{numeral}: {e}"));
        assert_eq!(n.realize(k).symbol.to_string(), want, "{numeral} in {k}");
    }
    // Augmented sixths keep their spelling in the realized tones.
    let fr: RomanNumeral = "Fr+6".parse().unwrap();
    assert_eq!(names(fr.realize(c).notes()).join(" "), "Ab C D F#");
    let it: RomanNumeral = "It+6".parse().unwrap();
    assert_eq!(names(it.realize(a).notes()).join(" "), "F A D#");
}

/// `[no1]`, `[no3]`, `[no5]` leave tones out, and the bass is the lowest
/// tone left of the inversion's voicing, as music21 realizes RomanText
/// (the pitches and bass below are music21 9's for the same figures).
#[test]
fn omitted_tones_leave_the_chord_and_move_the_bass_as_music21_does() {
    let c = key("C major");
    let a = key("A minor");
    let cases = [
        (c, "I[no3]", "C G", "C", "C"),
        (c, "I[no5]", "C E", "C", "C"),
        (c, "I[no1]", "E G", "E", "C/E"),
        (c, "I64[no1]", "E G", "G", "C/G"),
        (c, "V7[no3]", "G D F", "G", "G7"),
        (c, "V65[no3]", "G D F", "D", "G7/D"),
        (c, "V7[no1]", "B D F", "B", "G7/B"),
        (c, "V43[no1]", "B D F", "D", "G7/D"),
        (c, "I[no3][no5]", "C", "C", "C"),
        (c, "iv65[no1]", "Ab C Eb", "Ab", "Fm7/Ab"),
        (a, "v42[no5]", "E G D", "D", "Em7/D"),
        (a, "VII[no1]", "B D", "B", "G/B"),
        (a, "i64[no1]", "C E", "E", "Am/E"),
    ];
    for (k, numeral, notes, bass, symbol) in cases {
        let n: RomanNumeral = numeral.parse().unwrap_or_else(|e| panic!("{numeral}: {e}"));
        let r = n.realize(k);
        assert_eq!(names(r.notes()).join(" "), notes, "{numeral} in {k}");
        assert_eq!(r.bass().to_string(), bass, "{numeral} in {k}");
        assert_eq!(r.symbol.to_string(), symbol, "{numeral} in {k}");
    }
    let both: RomanNumeral = "i[no3no5]".parse().unwrap();
    assert_eq!(both, "i[no3][no5]".parse().unwrap());
    // A seventh chord can sound its seventh alone; the struct built by
    // hand with nothing left still realizes its written bass.
    let seventh_alone: RomanNumeral = "V7[no1][no3][no5]".parse().unwrap();
    assert_eq!(names(seventh_alone.realize(c).notes()).join(" "), "F");
    let mut silent = RomanNumeral::new(5, TriadQuality::Major);
    silent.omitted = OmittedTones {
        root: true,
        third: true,
        fifth: true,
    };
    assert_eq!(names(silent.realize(c).notes()).join(" "), "G");
}

#[test]
fn numerals_print_and_parse_back() {
    for s in [
        "I",
        "ii",
        "iii6",
        "IV64",
        "V7",
        "V65",
        "vi43",
        "viiø42",
        "vii°7",
        "IM7",
        "iiM7",
        "bVII",
        "#iv°",
        "bbVII",
        "V/V",
        "V7/IV",
        "vii°7/ii",
        "V65/bVI",
        "N6",
        "N",
        "It+6",
        "Fr+6",
        "Ger+6",
        "III+",
        "I+M7",
        "V7[no5]",
        "i[no3][no5]",
        "V65[no1]/V",
    ] {
        let n: RomanNumeral = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(n.to_string(), s);
    }
    // Alternate spellings.
    assert_eq!(
        "viio7".parse::<RomanNumeral>().unwrap().to_string(),
        "vii°7"
    );
    assert_eq!("Imaj7".parse::<RomanNumeral>().unwrap().to_string(), "IM7");
    assert_eq!(
        "Ger65".parse::<RomanNumeral>().unwrap().to_string(),
        "Ger+6"
    );
}

#[test]
fn bad_numerals_say_where_and_what() {
    let cases: [(&str, usize, &str); 10] = [
        ("V[no2]", 4, "an omission: [no1], [no3] or [no5]"),
        ("V7[no3", 6, "an omission"),
        ("I[no1][no3][no5]", 1, "at least one chord tone left"),
        ("X", 0, "a Roman numeral"),
        ("bbbVII", 0, "at most two accidentals"),
        ("VII°", 3, "lower case before °"),
        ("iii+", 3, "upper case before +"),
        ("V8", 1, "a qualifier"),
        ("V/X", 2, "the tonicized degree"),
        ("V/V/V", 3, "one level of tonicization"),
    ];
    // Found by cargo-fuzz: a long run of flats overflowed the accidental
    // count (a panic in debug builds).
    let long = format!("{}Fr9", "b".repeat(206));
    assert!(long.parse::<RomanNumeral>().is_err());
    assert!(
        format!("{}V/{}ii", "#".repeat(300), "b".repeat(300))
            .parse::<RomanNumeral>()
            .is_err()
    );
    assert_parse_errors::<RomanNumeral>(&cases);
}

#[test]
fn analysis_names_chords_in_a_key() {
    let c = key("C major");
    let cm = key("C minor");
    let a_minor = key("A minor");
    let cases = [
        (c, "C", "I"),
        (c, "Dm7", "ii7"),
        (c, "G7/B", "V65"),
        (c, "G7/F", "V42"),
        (c, "Bm7b5", "viiø7"),
        (c, "D7", "V7/V"),
        (c, "D", "V/V"),
        (c, "E7/G#", "V65/vi"),
        (c, "C7", "V7/IV"),
        (c, "C#dim7", "vii°7/ii"),
        (c, "F#dim7", "vii°7/V"),
        (c, "Fm", "iv"),
        (c, "Ab", "bVI"),
        (c, "Eb", "bIII"),
        (c, "Bb", "bVII"),
        (c, "Db/F", "N6"),
        (c, "Ab7", "Ger+6"),
        (c, "Ab7b5", "Fr+6"),
        (c, "Ab7no5", "It+6"),
        (c, "Cmaj9", "I7"),
        (c, "Fmaj7", "IV7"),
        (c, "Cm7", "i7"),
        (a_minor, "Fmaj7", "VI7"),
        (a_minor, "Cmaj7/E", "III65"),
        (a_minor, "F#m", "vi"),
        (cm, "G7", "V7"),
        (cm, "Gm", "v"),
        (cm, "Bb", "VII"),
        (cm, "Bdim7", "vii°7"),
        (cm, "Eb/G", "III6"),
        (cm, "Ab", "VI"),
        (cm, "Db/F", "N6"),
    ];
    for (k, sym, want) in cases {
        let n = RomanNumeral::analyze(&chord(sym), k).unwrap_or_else(|| panic!("{sym} in {k}"));
        assert_eq!(n.to_string(), want, "{sym} in {k}");
    }
    assert_eq!(RomanNumeral::analyze(&chord("Csus4"), c), None);
    assert_eq!(RomanNumeral::analyze(&chord("C/D"), c), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// analyze(realize(n)) realizes to the same sound, in every key.
    #[test]
    fn analysis_inverts_realization(
        degree in 1u8..=7,
        acc in -1i8..=1,
        q in 0usize..4,
        sev in 0usize..4,
        inv in 0u8..4,
        of in proptest::option::of((2u8..=7, any::<bool>())),
        key_pc in 0i32..12,
        minor in any::<bool>(),
        special in 0usize..6,
    ) {
        let k = Key::from_pitch_class(PitchClass::new(key_pc), if minor { Mode::Minor } else { Mode::Major });
        let text = if special < 4 {
            ["N6", "It+6", "Fr+6", "Ger+6"][special].to_string()
        } else {
            let quality = ["I", "i", "i°", "I+"][q];
            let seventh = match (q, sev) {
                (_, 0) => "",
                (2, 1) => "ø",
                (2, 2) => "",
                (_, 2) => "M",
                _ => "",
            };
            let numeral = ["I", "II", "III", "IV", "V", "VI", "VII"][degree as usize - 1];
            let body = if quality.starts_with('I') {
                quality.replacen('I', numeral, 1)
            } else {
                quality.replacen('i', &numeral.to_lowercase(), 1)
            };
            let has7 = sev > 0 && !(q == 3 && sev == 1);
            let fig = match (has7, inv) {
                (false, 0) => "", (false, 1) => "6", (false, _) => "64",
                (true, 0) => "7", (true, 1) => "65", (true, 2) => "43", (true, _) => "42",
            };
            let acc_s = match acc { -1 => "b", 1 => "#", _ => "" };
            let of_s = match of {
                Some((d, up)) => {
                    let t = ["I", "II", "III", "IV", "V", "VI", "VII"][d as usize - 1];
                    format!("/{}", if up { t.to_string() } else { t.to_lowercase() })
                }
                None => String::new(),
            };
            let seventh = if has7 { seventh } else { "" };
            format!("{acc_s}{body}{seventh}{fig}{of_s}")
        };
        let n: RomanNumeral = match text.parse() {
            Ok(n) => n,
            Err(e) => return Err(TestCaseError::reject(format!("{text}: {e}"))),
        };
        let realized = n.realize(k);
        if let Some(m) = RomanNumeral::analyze(&realized.symbol, k) {
            prop_assert!(same_sound(&n, &m, k), "{} in {}: analysed as {}", text, k, m);
        } else {
            // Only sounds outside the notation may fail to analyse.
            prop_assert!(realized.symbol.kind().is_none() || realized.symbol.inversion().is_none(), "{} in {} did not analyse", text, k);
        }
    }
}

#[test]
fn progressions_parse_transpose_and_spell() {
    let p: Progression = "C major: I vi IV V".parse().unwrap();
    assert_eq!(names(p.symbols()), ["C", "Am", "F", "G"]);
    let p = Progression::parse(key("Bb major"), "ii7 | V7 | I").unwrap();
    assert_eq!(names(p.symbols()), ["Cm7", "F7", "Bb"]);
    let e = p.transposed(key("E major"));
    assert_eq!(names(e.symbols()), ["F#m7", "B7", "E"]);
    assert_eq!(e.to_string(), "E major: ii7 V7 I");
    let err = "C major: I vi IV X".parse::<Progression>().unwrap_err();
    match err {
        HarmonyError::Parse { position, .. } => assert_eq!(position, 17),
        other => panic!("{other:?}"),
    }
    let err = "H major: I".parse::<Progression>().unwrap_err().to_string();
    assert!(err.contains("at byte 0"), "{err}");
    assert!("C major:".parse::<Progression>().is_err());
}

/// Checks every rule the voice leader promises, on one realized progression.
fn check_voicing(p: &Progression, rule: ParallelRule) {
    let chords = p.chords();
    let mut leader = VoiceLeader::new(VoiceRanges::default(), rule);
    let v = leader
        .realize(&chords)
        .unwrap_or_else(|e| panic!("{p}: {e}"));
    let ranges = VoiceRanges::default().ranges;
    for (i, (voicing, chord)) in v.iter().zip(&chords).enumerate() {
        let n = voicing.notes;
        for (voice, (&note, (lo, hi))) in n.iter().zip(ranges).enumerate() {
            assert!(
                (lo..=hi).contains(&note),
                "{p}: chord {i} voice {voice} {note} out of range"
            );
        }
        assert!(
            n[0] < n[1] && n[1] <= n[2] && n[2] <= n[3],
            "{p}: chord {i} crosses: {n:?}"
        );
        assert!(
            n[3] - n[2] <= 12 && n[2] - n[1] <= 12,
            "{p}: chord {i} spacing {n:?}"
        );
        assert_eq!(
            n[0] % 12,
            chord.bass().pitch_class().semitones(),
            "{p}: chord {i} bass"
        );
        let mask = n.iter().fold(0u16, |m, x| m | 1 << (x % 12));
        let full = chord.pitch_class_mask();
        assert_eq!(mask & !full, 0, "{p}: chord {i} has a foreign note {n:?}");
        // Complete, or a seventh chord without its fifth.
        let missing = (full & !mask).count_ones();
        assert!(missing <= 1, "{p}: chord {i} {n:?} misses {missing} tones");
        let lt = 1u16 << chord.leading_tone.semitones();
        let lt_count = n.iter().filter(|x| 1u16 << (*x % 12) == lt).count();
        assert!(
            lt_count <= 1,
            "{p}: chord {i} doubles the leading tone {n:?}"
        );
    }
    let pairs: &[(usize, usize)] = match rule {
        ParallelRule::OuterVoices => &[(0, 3)],
        ParallelRule::AllVoices => &[(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)],
    };
    for w in v.windows(2) {
        let (a, b) = (w[0].notes, w[1].notes);
        for &(lo, hi) in pairs {
            let before = (a[hi] as i32 - a[lo] as i32).rem_euclid(12);
            let after = (b[hi] as i32 - b[lo] as i32).rem_euclid(12);
            let moved = a[hi] != b[hi] || a[lo] != b[lo];
            assert!(
                !(moved && before == after && (before == 0 || before == 7)),
                "{p}: parallel {} between voices {lo} and {hi}: {a:?} -> {b:?}",
                if before == 0 { "octaves" } else { "fifths" }
            );
        }
    }
}

#[test]
fn voice_leading_keeps_ranges_and_forbids_parallels() {
    let progressions = [
        "I vi IV V",
        "I IV V I",
        "ii7 V7 I",
        "I vi ii65 V7 I",
        "I V6 vi iii IV I6 ii V",
        "I IV6 V65/V V I",
        "i iv6 N6 V7 i",
        "i VI It+6 V i",
        "i iv Ger+6 V i",
        "I bVI bVII I",
        "I V/vi vi V7/IV IV V/V V I",
        "I vii°7/ii ii V43 I6",
        "I iii vi ii V I V I",
        "I V I V I V I V",
        "I IV[no5] V7[no5] vi V65[no1] I[no3]",
    ];
    for k in ["C major", "A minor", "F# major", "Eb minor", "Bb major"] {
        for text in progressions {
            let p = Progression::parse(key(k), text).unwrap();
            check_voicing(&p, ParallelRule::OuterVoices);
            check_voicing(&p, ParallelRule::AllVoices);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Random diatonic progressions voice without breaking a rule.
    #[test]
    fn random_progressions_voice_lead(degrees in proptest::collection::vec(1usize..=7, 2..12), key_pc in 0i32..12, minor in any::<bool>()) {
        let k = Key::from_pitch_class(PitchClass::new(key_pc), if minor { Mode::Minor } else { Mode::Major });
        let numerals = degrees.iter().map(|&d| {
            let c = k.diatonic_chord(d as u8, false);
            RomanNumeral::analyze(&c, k).unwrap()
        }).collect();
        let p = Progression::new(k, numerals);
        check_voicing(&p, ParallelRule::OuterVoices);
    }
}

#[test]
fn voice_leader_caches_chord_shapes() {
    let p = Progression::parse(key("C major"), "I IV V I IV V I").unwrap();
    let mut leader = VoiceLeader::default();
    let first = leader.realize(&p.chords()).unwrap();
    assert_eq!(leader.cached_chords(), 3);
    let again = leader.realize(&p.chords()).unwrap();
    assert_eq!(first, again);
    assert_eq!(leader.cached_chords(), 3);
}

/// Characters the parsers care about, plus some they must reject.
const FUZZ_ALPHABET: &[char] = &[
    'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'a', 'b', 'c', 'd', 'g', 'i', 'j', 'm', 'n', 'o', 's',
    'u', 'v', 'x', 'I', 'V', 'M', 'N', 'G', 'e', 'r', 't', '#', '♭', '♯', '°', 'ø', 'Δ', '+', '-',
    '/', '(', ')', ',', ' ', ':', '|', '[', ']', '0', '1', '2', '3', '4', '5', '6', '7', '9',
    '\u{0}', 'é',
];

fn fuzz_cases() -> u32 {
    std::env::var("KMIDI_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(fuzz_cases()))]

    /// No parser panics on any string over the symbol alphabet; whatever
    /// parses prints back to something that parses to the same value.
    /// `KMIDI_FUZZ_CASES=2000000 cargo test -p kmidi-harmony --release
    /// --test harmony theory::parsers_never_panic` runs it for minutes.
    #[test]
    fn parsers_never_panic(chars in proptest::collection::vec(proptest::sample::select(FUZZ_ALPHABET), 0..14)) {
        let s: String = chars.into_iter().collect();
        if let Ok(c) = s.parse::<Chord>() {
            let printed = c.to_string();
            prop_assert_eq!(printed.parse::<Chord>().ok(), Some(c), "{:?} -> {}", s, printed);
        }
        if let Ok(n) = s.parse::<RomanNumeral>() {
            let printed = n.to_string();
            prop_assert_eq!(printed.parse::<RomanNumeral>().ok().map(|m| m.to_string()), Some(printed.clone()), "{:?}", s);
            let k = key("Db major");
            let r = n.realize(k);
            let _ = RomanNumeral::analyze(&r.symbol, k);
        }
        let _ = s.parse::<Scale>();
        let _ = s.parse::<Key>();
        let _ = s.parse::<Progression>();
        let _ = s.parse::<Interval>();
    }
}
