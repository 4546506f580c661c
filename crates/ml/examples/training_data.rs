//! Writes the synthetic training data for the HarmonyPredictor and the
//! GroovePredictor as JSON lines on stdout, from this project's own
//! generators: chord progressions from a grammar of common-practice
//! harmony realized by kmidi-harmony, and drum patterns shaped by
//! kmidi-groove's templates and humanizer.
//!
//!   cargo run -p kmidi-ml --example training_data -- <seed> <progressions> <drum_songs>
//!
//! Each line is `{"kind":"harmony","key":K,"chords":[ids]}` or
//! `{"kind":"groove","bars":[[48 velocities 0..1], ...]}`. Chord ids are
//! `kind * 12 + root` over kmidi-harmony's detector vocabulary (major,
//! minor, dim, aug, sus2, sus4, 7, maj7, m7); keys are `tonic + 12 * minor`.

use kmidi_groove::event::Note;
use kmidi_groove::groove::{GrooveTemplate, humanize};
use kmidi_harmony::chord::ChordKind;
use kmidi_harmony::detect::DETECTED_KINDS;
use kmidi_harmony::key::{Key, Mode};
use kmidi_harmony::pitch::PitchClass;
use kmidi_harmony::progression::Progression;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, options: &[(&'a str, u32)]) -> &'a str {
        let total: u32 = options.iter().map(|o| o.1).sum();
        let mut r = (self.next() % total as u64) as u32;
        for (s, w) in options {
            if r < *w {
                return s;
            }
            r -= w;
        }
        options[0].0
    }
}

/// Next numeral by function: tonic → predominant → dominant → tonic, with
/// the usual substitutions, secondary dominants and deceptive cadences.
fn next_numeral(prev: &str, minor: bool, rng: &mut Rng) -> &'static str {
    let major: &[(&str, &[(&str, u32)])] = &[
        (
            "I",
            &[
                ("IV", 5),
                ("ii", 3),
                ("vi", 4),
                ("V", 3),
                ("iii", 1),
                ("V/V", 1),
            ],
        ),
        ("vi", &[("ii", 4), ("IV", 5), ("ii7", 2), ("V", 1)]),
        ("iii", &[("vi", 5), ("IV", 3)]),
        (
            "IV",
            &[("V", 5), ("ii", 2), ("I", 2), ("V7", 3), ("vii°", 1)],
        ),
        ("ii", &[("V", 5), ("V7", 4), ("vii°", 1)]),
        ("ii7", &[("V7", 6), ("V", 2)]),
        ("V/V", &[("V", 6), ("V7", 3)]),
        ("V", &[("I", 8), ("vi", 2), ("V7", 1)]),
        ("V7", &[("I", 9), ("vi", 2)]),
        ("vii°", &[("I", 8)]),
    ];
    let minor_t: &[(&str, &[(&str, u32)])] = &[
        (
            "i",
            &[
                ("iv", 5),
                ("ii°", 2),
                ("VI", 4),
                ("V", 3),
                ("III", 2),
                ("VII", 2),
            ],
        ),
        ("VI", &[("ii°", 3), ("iv", 5), ("V", 2)]),
        ("III", &[("VI", 4), ("iv", 3), ("VII", 2)]),
        ("VII", &[("III", 5), ("i", 2)]),
        ("iv", &[("V", 5), ("V7", 3), ("i", 2), ("vii°", 1)]),
        ("ii°", &[("V", 5), ("V7", 4)]),
        ("V", &[("i", 8), ("VI", 2)]),
        ("V7", &[("i", 9), ("VI", 2)]),
        ("vii°", &[("i", 8)]),
    ];
    let table = if minor { minor_t } else { major };
    let options = table
        .iter()
        .find(|(n, _)| *n == prev)
        .map_or(table[0].1, |(_, o)| *o);
    let s = rng.pick(options);
    table
        .iter()
        .find(|(n, _)| *n == s)
        .map_or(table[0].0, |(n, _)| *n)
}

fn chord_id(kind: ChordKind, root: PitchClass) -> usize {
    let k = match kind {
        ChordKind::HalfDiminished7 | ChordKind::Diminished7 => ChordKind::Diminished,
        ChordKind::MinorMajor7 => ChordKind::Minor,
        ChordKind::Dominant7Sus4 => ChordKind::Sus4,
        ChordKind::Major6 => ChordKind::Major,
        ChordKind::Minor6 => ChordKind::Minor,
        k => k,
    };
    let idx = DETECTED_KINDS.iter().position(|d| *d == k).unwrap_or(0);
    idx * 12 + root.semitones() as usize
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (seed, progressions, songs) = (
        args.first().copied().unwrap_or(1),
        args.get(1).copied().unwrap_or(2000),
        args.get(2).copied().unwrap_or(400),
    );
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut out = String::new();
    for _ in 0..progressions {
        let minor = rng.below(3) == 0;
        let key = Key::from_pitch_class(
            PitchClass::new(rng.below(12) as i32),
            if minor { Mode::Minor } else { Mode::Major },
        );
        let mut numeral = if minor { "i" } else { "I" };
        let mut text = vec![numeral];
        for _ in 0..15 {
            numeral = next_numeral(numeral, minor, &mut rng);
            text.push(numeral);
        }
        let Ok(p) = Progression::parse(key, &text.join(" ")) else {
            continue;
        };
        let ids: Vec<String> = p
            .symbols()
            .iter()
            .filter_map(|c| {
                c.kind()
                    .map(|k| chord_id(k, c.root().pitch_class()).to_string())
            })
            .collect();
        let key_id = key.tonic.pitch_class().semitones() as usize + if minor { 12 } else { 0 };
        out.push_str(&format!(
            "{{\"kind\":\"harmony\",\"key\":{key_id},\"chords\":[{}]}}\n",
            ids.join(",")
        ));
    }
    // Drum songs: a style (kick, snare, hat patterns over 16 steps), a feel
    // from kmidi-groove's library, a fill every fourth bar, humanized
    // velocities.
    let styles: [([u8; 16], [u8; 16], [u8; 16]); 5] = [
        // rock
        (
            [1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0],
            [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0],
        ),
        // funk
        (
            [1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0],
            [0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1],
            [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        ),
        // hip-hop
        (
            [1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0],
            [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1],
        ),
        // house
        (
            [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0],
            [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0],
            [0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0],
        ),
        // half-time
        (
            [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
            [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0],
        ),
    ];
    let library = GrooveTemplate::library(480);
    for song in 0..songs {
        let (kick, snare, hat) = styles[rng.below(styles.len())];
        let feel = &library[rng.below(library.len())];
        let mut bars = Vec::new();
        for bar in 0..12u64 {
            let fill = bar % 4 == 3;
            let mut notes = Vec::new();
            for step in 0..16usize {
                let start = (bar * 16 + step as u64) * 120;
                let mut hit = |key: u8, on: bool, v: u8| {
                    if on {
                        notes.push(Note {
                            start,
                            duration: 60,
                            channel: 9,
                            key,
                            velocity: v,
                        });
                    }
                };
                let ghost = rng.below(10) == 0;
                hit(36, kick[step] == 1, 110);
                hit(
                    38,
                    snare[step] == 1 || (fill && step >= 12) || ghost,
                    if snare[step] == 1 { 105 } else { 50 },
                );
                hit(
                    42,
                    hat[step] == 1 && !(fill && step >= 12),
                    if step % 4 == 0 { 90 } else { 65 },
                );
            }
            let _ = feel.apply(&mut notes, 100.0);
            let _ = humanize(&mut notes, 0.0, 6.0, song * 100 + bar);
            let mut grid = [0.0f32; 48];
            for n in &notes {
                let step = ((n.start + 60) / 120 % 16) as usize;
                let inst = match n.key {
                    36 => 0,
                    38 => 1,
                    _ => 2,
                };
                grid[inst * 16 + step] = n.velocity as f32 / 127.0;
            }
            bars.push(format!(
                "[{}]",
                grid.iter()
                    .map(|v| format!("{v:.3}"))
                    .collect::<Vec<_>>()
                    .join(",")
            ));
        }
        out.push_str(&format!(
            "{{\"kind\":\"groove\",\"bars\":[{}]}}\n",
            bars.join(",")
        ));
    }
    print!("{out}");
}
