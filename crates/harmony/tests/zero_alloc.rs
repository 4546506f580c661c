//! Proves that `ChordDetector::process` never allocates, at any block size
//! and while labels change, and that parsing chord symbols and Roman
//! numerals and realizing numerals do not allocate when the input is good.

use kmidi_dsp::alloc_probe::{CountingAllocator, count_allocations};
use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};
use kmidi_harmony::chord::Chord;
use kmidi_harmony::detect::{ChordDetector, DetectorConfig};
use kmidi_harmony::key::Key;
use kmidi_harmony::roman::RomanNumeral;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[test]
fn detector_and_parsers_never_allocate() {
    for sr in [44_100.0, 48_000.0, 96_000.0] {
        let mut det = ChordDetector::new(DetectorConfig::default());
        det.prepare(&StreamSpec::new(sr, 2048, 2).unwrap()).unwrap();
        let mut buf = AudioBuffer::new(2, 2048);
        let mut t = 0u64;
        let mut changes = 0;
        for (i, &block) in [512usize, 1, 64, 333, 2048, 0, 7]
            .iter()
            .cycle()
            .take(700)
            .enumerate()
        {
            buf.set_frames(block).unwrap();
            // A chord that changes every half second, then silence, then noise.
            let chord: &[f32] = match (t as f64 / sr * 2.0) as u64 % 4 {
                0 => &[261.63, 329.63, 392.0],
                1 => &[220.0, 261.63, 329.63],
                2 => &[196.0, 246.94, 293.66, 349.23],
                _ => &[],
            };
            for ch in 0..2 {
                for (tt, s) in (t..).zip(buf.channel_mut(ch).iter_mut()) {
                    let time = tt as f32 / sr as f32;
                    *s = chord
                        .iter()
                        .map(|f| (std::f32::consts::TAU * f * time).sin() * 0.2)
                        .sum::<f32>()
                        + if i % 97 == 0 { f32::NAN } else { 0.0 };
                }
            }
            t += block as u64;
            let (_, stats) = count_allocations(|| det.process(&mut buf));
            assert_eq!(
                stats.allocations, 0,
                "process allocated at {sr} Hz, block {block}"
            );
            changes += det.changes().len();
        }
        assert!(
            changes >= 3,
            "the test must exercise label changes ({changes} at {sr} Hz)"
        );
    }

    let key: Key = "Eb major".parse().unwrap();
    let (_, stats) = count_allocations(|| {
        for s in [
            "Cmaj7",
            "F#m7b5/E",
            "Bb13#11",
            "Ebm(maj7)",
            "G7(b9,b13)",
            "A6/9",
            "Dsus4",
        ] {
            let _ = std::hint::black_box(s.parse::<Chord>().ok());
        }
        for s in ["V7/V", "ii65", "bVI", "vii°7/ii", "Ger+6", "N6"] {
            if let Ok(n) = std::hint::black_box(s).parse::<RomanNumeral>() {
                let r = n.realize(key);
                std::hint::black_box(RomanNumeral::analyze(&r.symbol, key));
            }
        }
    });
    assert_eq!(stats.allocations, 0, "parsing or realizing allocated");
}
