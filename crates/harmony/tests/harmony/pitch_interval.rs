//! Pitch, notes and intervals: known answers, round trips, bad input.

use kmidi_harmony::interval::{Interval, Quality};
use kmidi_harmony::pitch::{Accidentals, Letter, Note, PitchClass, SpelledPitch};
use proptest::prelude::*;

fn note(s: &str) -> Note {
    s.parse().unwrap()
}

fn iv(s: &str) -> Interval {
    s.parse().unwrap()
}

#[test]
fn midi_numbers_and_frequencies() {
    for (n, m) in [
        ("C4", 60),
        ("A4", 69),
        ("C-1", 0),
        ("G9", 127),
        ("B#3", 60),
        ("Cb4", 59),
        ("Fx4", 67),
        ("Ebb4", 62),
    ] {
        assert_eq!(note(n).midi(), m, "{n}");
    }
    assert!((note("A4").frequency(440.0) - 440.0).abs() < 1e-9);
    assert!((note("A5").frequency(440.0) - 880.0).abs() < 1e-9);
    assert!((note("C4").frequency(440.0) - 261.625_565).abs() < 1e-5);
    for m in 0..=127u8 {
        for prefer in [Accidentals::Sharps, Accidentals::Flats] {
            assert_eq!(Note::from_midi(m, prefer).unwrap().midi(), m);
        }
    }
    assert_eq!(
        Note::from_midi(61, Accidentals::Flats).unwrap().to_string(),
        "Db4"
    );
    assert_eq!(
        Note::from_midi(61, Accidentals::Sharps)
            .unwrap()
            .to_string(),
        "C#4"
    );
}

#[test]
fn enharmonic_spellings_share_a_pitch_class() {
    let pairs = [
        ("C#", "Db"),
        ("E#", "F"),
        ("B#", "C"),
        ("Fb", "E"),
        ("Gx", "A"),
        ("Cbb", "Bb"),
    ];
    for (a, b) in pairs {
        let (a, b): (SpelledPitch, SpelledPitch) = (a.parse().unwrap(), b.parse().unwrap());
        assert_eq!(a.pitch_class(), b.pitch_class());
        assert_ne!(a, b);
    }
    assert_eq!(PitchClass::new(-1), PitchClass::new(11));
    assert_eq!(PitchClass::new(3).transpose(10).semitones(), 1);
    assert_eq!(
        "E♭".parse::<SpelledPitch>().unwrap(),
        SpelledPitch {
            letter: Letter::E,
            accidental: -1
        }
    );
    assert_eq!("F♯".parse::<SpelledPitch>().unwrap().to_string(), "F#");
}

#[test]
fn interval_sizes() {
    for (s, semis) in [
        ("P1", 0),
        ("A1", 1),
        ("m2", 1),
        ("M2", 2),
        ("A2", 3),
        ("d3", 2),
        ("m3", 3),
        ("M3", 4),
        ("P4", 5),
        ("A4", 6),
        ("d5", 6),
        ("P5", 7),
        ("A5", 8),
        ("m6", 8),
        ("M6", 9),
        ("d7", 9),
        ("m7", 10),
        ("M7", 11),
        ("P8", 12),
        ("m9", 13),
        ("M9", 14),
        ("A9", 15),
        ("m10", 15),
        ("P11", 17),
        ("A11", 18),
        ("P12", 19),
        ("m13", 20),
        ("M13", 21),
        ("P15", 24),
        ("dd7", 8),
        ("AA4", 7),
    ] {
        assert_eq!(iv(s).semitones(), semis, "{s}");
    }
    assert!(iv("M9").is_compound() && !iv("P8").is_compound());
    assert_eq!(iv("m10").simple_number(), 3);
    assert_eq!(iv("m10").octaves(), 1);
}

#[test]
fn intervals_between_spelled_notes() {
    for (a, b, want) in [
        ("C4", "E4", "M3"),
        ("C4", "Eb4", "m3"),
        ("C4", "F#4", "A4"),
        ("C4", "Gb4", "d5"),
        ("E4", "C5", "m6"),
        ("C4", "D5", "M9"),
        ("C4", "C5", "P8"),
        ("B3", "F4", "d5"),
        ("F4", "B4", "A4"),
        ("C#4", "Bb4", "d7"),
        ("D4", "C#5", "M7"),
        ("G3", "Bb4", "m10"),
        ("C4", "C4", "P1"),
        ("C4", "C#4", "A1"),
        ("Eb4", "E4", "A1"),
    ] {
        assert_eq!(
            Interval::between(note(a), note(b)).unwrap().to_string(),
            want,
            "{a} -> {b}"
        );
    }
    assert!(Interval::between(note("E4"), note("C4")).is_err());
}

#[test]
fn transposition_keeps_the_spelling() {
    for (from, by, want) in [
        ("C4", "M3", "E4"),
        ("C4", "d4", "Fb4"),
        ("C4", "A4", "F#4"),
        ("Eb4", "P5", "Bb4"),
        ("F#4", "M3", "A#4"),
        ("B3", "m2", "C4"),
        ("G4", "M7", "F#5"),
        ("C4", "m10", "Eb5"),
        ("Db4", "A6", "B4"),
        ("E4", "A5", "B#4"),
    ] {
        assert_eq!(
            iv(by).above(note(from)).unwrap().to_string(),
            want,
            "{from} up {by}"
        );
    }
    for (from, by, want) in [
        ("G4", "P5", "C4"),
        ("E4", "M3", "C4"),
        ("C4", "M3", "Ab3"),
        ("C5", "m9", "B3"),
    ] {
        assert_eq!(
            iv(by).below(note(from)).unwrap().to_string(),
            want,
            "{from} down {by}"
        );
    }
    // Would need a triple sharp:
    let e = iv("A2").above(note("Fx4")).unwrap_err();
    assert!(
        e.to_string().contains("at most a double sharp or flat"),
        "{e}"
    );
    // Off the MIDI range:
    assert!(iv("P8").above(note("G9")).is_err());
}

#[test]
fn bad_strings_say_where_and_what() {
    let cases: [(&str, &str); 7] = [
        (
            "H4",
            "cannot parse note \"H4\": at byte 0, expected a note letter A-G",
        ),
        (
            "C#",
            "cannot parse note \"C#\": at byte 2, expected an octave number -1 to 9 (as in C4)",
        ),
        (
            "C#12",
            "cannot parse note \"C#12\": at byte 2, expected an octave number -1 to 9 (as in C4)",
        ),
        (
            "C###4",
            "cannot parse note \"C###4\": at byte 3, expected at most a double sharp or double flat",
        ),
        (
            "",
            "cannot parse note \"\": at byte 0, expected a note letter A-G",
        ),
        (
            "Cq4",
            "cannot parse note \"Cq4\": at byte 1, expected an octave number -1 to 9 (as in C4)",
        ),
        (
            "G#9",
            "note is out of range: G#9 is MIDI 128; allowed 0 (C-1) to 127 (G9)",
        ),
    ];
    for (s, msg) in cases {
        assert_eq!(s.parse::<Note>().unwrap_err().to_string(), msg);
    }
    assert_eq!(
        "X5".parse::<Interval>().unwrap_err().to_string(),
        "cannot parse interval \"X5\": at byte 0, expected a quality: P, M, m, A (AA, AAA) or d (dd, ddd)"
    );
    assert!(
        "P3".parse::<Interval>()
            .unwrap_err()
            .to_string()
            .contains("a quality the number can take")
    );
    assert!("M0".parse::<Interval>().is_err());
    assert!(
        "M".parse::<Interval>()
            .unwrap_err()
            .to_string()
            .contains("at byte 1")
    );
    assert_eq!(
        "C#x".parse::<SpelledPitch>().unwrap_err().to_string(),
        "cannot parse pitch \"C#x\": at byte 2, expected at most a double sharp or double flat"
    );
    assert!(Interval::new(3, Quality::Perfect).is_err());
    assert!(Interval::new(5, Quality::Major).is_err());
}

fn any_note() -> impl Strategy<Value = Note> {
    (0usize..7, -2i8..=2, 0i8..=8).prop_filter_map("in MIDI range", |(l, a, o)| {
        Note::new(SpelledPitch::new(Letter::ALL[l], a).ok()?, o).ok()
    })
}

fn any_interval() -> impl Strategy<Value = Interval> {
    (1u8..=22, 0usize..7).prop_filter_map("valid quality", |(n, q)| {
        let quality = [
            Quality::Diminished(2),
            Quality::Diminished(1),
            Quality::Minor,
            Quality::Perfect,
            Quality::Major,
            Quality::Augmented(1),
            Quality::Augmented(2),
        ][q];
        Interval::new(n, quality).ok()
    })
}

proptest! {
    #[test]
    fn notes_print_and_parse_back(n in any_note()) {
        prop_assert_eq!(n.to_string().parse::<Note>().unwrap(), n);
    }

    #[test]
    fn intervals_print_and_parse_back(i in any_interval()) {
        prop_assert_eq!(i.to_string().parse::<Interval>().unwrap(), i);
    }

    #[test]
    fn up_then_between_recovers_the_interval(n in any_note(), i in any_interval()) {
        if let Ok(top) = i.above(n) {
            prop_assert_eq!(Interval::between(n, top).unwrap(), i);
            prop_assert_eq!(top.midi() as i32 - n.midi() as i32, i.semitones());
            prop_assert_eq!(i.below(top).unwrap(), n);
        }
    }

    #[test]
    fn parsers_never_panic(s in "\\PC{0,12}") {
        let _ = s.parse::<Note>();
        let _ = s.parse::<Interval>();
        let _ = s.parse::<SpelledPitch>();
    }
}
