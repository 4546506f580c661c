//! Feeds arbitrary UTF-8 to every harmony parser. Each must return a value
//! or an error, never panic; a chord that parses must print to a symbol
//! that parses back to the same chord, and a numeral likewise.
#![no_main]

use kmidi_harmony::chord::Chord;
use kmidi_harmony::interval::Interval;
use kmidi_harmony::key::Key;
use kmidi_harmony::pitch::Note;
use kmidi_harmony::progression::Progression;
use kmidi_harmony::roman::RomanNumeral;
use kmidi_harmony::scale::Scale;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = s.parse::<Chord>() {
        let printed = c.to_string();
        let back: Chord = printed.parse().expect("a printed chord parses");
        assert_eq!(back, c, "{s:?} printed as {printed:?}");
        let _ = c.notes().count();
    }
    if let Ok(n) = s.parse::<RomanNumeral>() {
        let printed = n.to_string();
        let back: RomanNumeral = printed.parse().expect("a printed numeral parses");
        assert_eq!(back.to_string(), printed);
        for key in Key::all() {
            let r = n.realize(key);
            let _ = RomanNumeral::analyze(&r.symbol, key);
        }
    }
    let _ = s.parse::<Scale>();
    let _ = s.parse::<Key>();
    let _ = s.parse::<Note>();
    let _ = s.parse::<Interval>();
    let _ = s.parse::<Progression>();
});
