//! Harmony benches: `ChordDetector::process` swept over block sizes; chord
//! symbol parsing against rust-music-theory's parser on the same symbols;
//! Roman numeral parse + realize; an 8-chord progression voice-led, with a
//! cold and a warm voicing cache.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kmidi_benches::{BLOCK_SIZES, SAMPLE_RATE, criterion_config};
use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};
use kmidi_harmony::chord::Chord;
use kmidi_harmony::detect::{ChordDetector, DetectorConfig};
use kmidi_harmony::key::Key;
use kmidi_harmony::progression::{Progression, VoiceLeader};
use kmidi_harmony::roman::RomanNumeral;

/// Symbols both parsers accept (rust-music-theory has no sus, m7b5 or
/// extensions), so the comparison is like for like.
pub const COMMON_SYMBOLS: [&str; 12] = [
    "C", "Am", "G7", "Fmaj7", "Dm7", "Bdim", "Eaug", "Bbmaj7", "C#m", "C/E", "Ab7", "Dbdim7",
];

/// Symbols from the rest of our vocabulary.
const RICH_SYMBOLS: [&str; 8] = [
    "F#m7b5",
    "Bb13#11",
    "EbmMaj7",
    "A7(b9,#11)",
    "D6/9",
    "Gsus4",
    "CΔ9",
    "E7#9/G#",
];

const NUMERALS: [&str; 8] = ["V7/V", "ii65", "bVI", "vii°7/ii", "I6", "Ger+6", "N6", "IV"];

/// Eight chords, one per bar.
pub const PROGRESSION: &str = "I vi ii65 V7 I IV V7/V V";

/// A chord signal that changes every half second (C, Am, G7, F), looped.
fn chord_signal(len: usize) -> Vec<f32> {
    let chords: [&[f32]; 4] = [
        &[130.81, 261.63, 329.63, 392.0],
        &[110.0, 261.63, 329.63, 440.0],
        &[98.0, 246.94, 293.66, 349.23],
        &[87.31, 261.63, 349.23, 440.0],
    ];
    (0..len)
        .map(|i| {
            let t = i as f32 / SAMPLE_RATE as f32;
            let c = chords[(i / 24_000) % 4];
            c.iter()
                .map(|f| {
                    (1..=4)
                        .map(|h| (std::f32::consts::TAU * f * h as f32 * t).sin() * 0.05 / h as f32)
                        .sum::<f32>()
                })
                .sum()
        })
        .collect()
}

fn chord_detector(c: &mut Criterion) {
    let mut g = c.benchmark_group("harmony/chord_detector");
    let signal = chord_signal(4 * 48_000);
    for frames in BLOCK_SIZES {
        g.throughput(Throughput::Elements(frames as u64));
        let mut det = ChordDetector::new(DetectorConfig::default());
        det.prepare(&StreamSpec::new(SAMPLE_RATE, frames, 1).unwrap())
            .unwrap();
        let mut buf = AudioBuffer::new(1, frames);
        let mut pos = 0usize;
        g.bench_function(
            BenchmarkId::new("process_mono", format!("frames={frames}")),
            |b| {
                b.iter(|| {
                    if pos + frames > signal.len() {
                        pos = 0;
                    }
                    buf.channel_mut(0)
                        .copy_from_slice(&signal[pos..pos + frames]);
                    pos += frames;
                    det.process(black_box(&mut buf));
                    black_box(det.current())
                })
            },
        );
    }
    g.finish();
}

fn chord_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("harmony/chord_parse");
    for s in COMMON_SYMBOLS {
        assert!(
            rust_music_theory::chord::Chord::from_regex(s).is_ok(),
            "peer cannot parse {s}"
        );
        assert!(s.parse::<Chord>().is_ok(), "we cannot parse {s}");
    }
    g.throughput(Throughput::Elements(COMMON_SYMBOLS.len() as u64));
    g.bench_function("kmidi/common_12", |b| {
        b.iter(|| {
            for s in COMMON_SYMBOLS {
                black_box(black_box(s).parse::<Chord>().ok());
            }
        })
    });
    g.bench_function("rust_music_theory/common_12", |b| {
        b.iter(|| {
            for s in COMMON_SYMBOLS {
                black_box(rust_music_theory::chord::Chord::from_regex(black_box(s)).ok());
            }
        })
    });
    g.throughput(Throughput::Elements(RICH_SYMBOLS.len() as u64));
    g.bench_function("kmidi/extended_8", |b| {
        b.iter(|| {
            for s in RICH_SYMBOLS {
                black_box(black_box(s).parse::<Chord>().ok());
            }
        })
    });
    g.finish();
}

fn numeral_parse_realize(c: &mut Criterion) {
    let mut g = c.benchmark_group("harmony/numeral");
    let key: Key = "Eb major".parse().unwrap();
    g.throughput(Throughput::Elements(NUMERALS.len() as u64));
    g.bench_function("parse_and_realize_8", |b| {
        b.iter(|| {
            for s in NUMERALS {
                if let Ok(n) = black_box(s).parse::<RomanNumeral>() {
                    black_box(n.realize(black_box(key)));
                }
            }
        })
    });
    let symbols: Vec<Chord> = NUMERALS
        .iter()
        .map(|s| s.parse::<RomanNumeral>().unwrap().realize(key).symbol)
        .collect();
    g.bench_function("analyze_8", |b| {
        b.iter(|| {
            for c in &symbols {
                black_box(RomanNumeral::analyze(black_box(c), key));
            }
        })
    });
    g.finish();
}

fn voice_leading(c: &mut Criterion) {
    let mut g = c.benchmark_group("harmony/voice_leading");
    let key: Key = "C major".parse().unwrap();
    let p = Progression::parse(key, PROGRESSION).unwrap();
    let chords = p.chords();
    g.throughput(Throughput::Elements(chords.len() as u64));
    g.bench_function("8_chords/cold_cache", |b| {
        b.iter(|| {
            let mut leader = VoiceLeader::default();
            black_box(leader.realize(black_box(&chords)).unwrap())
        })
    });
    let mut warm = VoiceLeader::default();
    warm.realize(&chords).unwrap();
    g.bench_function("8_chords/warm_cache", |b| {
        b.iter(|| black_box(warm.realize(black_box(&chords)).unwrap()))
    });
    g.bench_function("8_chords/parse_realize_voice_warm", |b| {
        b.iter(|| {
            let p = Progression::parse(key, black_box(PROGRESSION)).unwrap();
            black_box(warm.realize(&p.chords()).unwrap())
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = criterion_config();
    targets = chord_detector, chord_parse, numeral_parse_realize, voice_leading
}
criterion_main!(benches);
