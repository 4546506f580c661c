//! Realizes and analyses Roman numerals for a comparison with another
//! implementation (`scripts/eval/roman.py` holds kmidi against music21).
//!
//! Reads tab-separated requests from standard input, one per line, and
//! answers each on one line of standard output:
//!
//! * `realize <key> <figure>`: the numeral's pitch classes (0 = C, sorted,
//!   comma-separated), a tab, and its bass pitch class;
//! * `analyze <key> <bass> <notes>`: the numeral that kmidi writes for the
//!   chord the spelled notes (comma-separated, bass among them) stack to,
//!   a tab, and the chord symbol; `-` where there is none.
//!
//! A request that cannot be read is answered `error <reason>`. Keys are
//! written `C major`, `F# minor`; pitches `Bb`, `F#`, `Ebb`.

use std::io::{BufRead, Write};

use kmidi_harmony::chord::Chord;
use kmidi_harmony::key::Key;
use kmidi_harmony::pitch::SpelledPitch;
use kmidi_harmony::roman::RomanNumeral;

fn answer(line: &str) -> Result<String, String> {
    let fields: Vec<&str> = line.split('\t').collect();
    let key = |s: &str| s.parse::<Key>().map_err(|e| e.to_string());
    let pitch = |s: &str| s.parse::<SpelledPitch>().map_err(|e| e.to_string());
    match fields.as_slice() {
        ["realize", k, figure] => {
            let n: RomanNumeral = figure
                .parse()
                .map_err(|e: kmidi_harmony::HarmonyError| e.to_string())?;
            let r = n.realize(key(k)?);
            let mut pcs: Vec<u8> = r.notes().map(|p| p.pitch_class().semitones()).collect();
            pcs.sort_unstable();
            pcs.dedup();
            let pcs: Vec<String> = pcs.iter().map(u8::to_string).collect();
            Ok(format!(
                "{}\t{}",
                pcs.join(","),
                r.bass().pitch_class().semitones()
            ))
        }
        ["analyze", k, bass, notes] => {
            let notes = notes.split(',').map(pitch).collect::<Result<Vec<_>, _>>()?;
            let Some(chord) = Chord::from_notes(&notes, pitch(bass)?) else {
                return Ok("-\t-".to_string());
            };
            Ok(match RomanNumeral::analyze(&chord, key(k)?) {
                Some(n) => format!("{n}\t{chord}"),
                None => format!("-\t{chord}"),
            })
        }
        _ => Err(format!(
            "expected 'realize<TAB>key<TAB>figure' or 'analyze<TAB>key<TAB>bass<TAB>notes', got {line:?}"
        )),
    }
}

fn main() -> std::io::Result<()> {
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in stdin.lock().lines() {
        let line = line?;
        match answer(line.trim_end()) {
            Ok(a) => writeln!(out, "{a}")?,
            Err(e) => writeln!(out, "error\t{e}")?,
        }
    }
    out.flush()
}
