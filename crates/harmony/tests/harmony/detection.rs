//! Chord and key detection on synthesized audio: harmonic tones with six
//! partials, inversions, octaves from 2 to 5, and white noise.
//!
//! Accuracy counts every analysis hop from 100 ms after a chord starts to
//! its end. The augmented triads and the pair sus2/sus4 (Csus2 and Gsus4
//! are the same three pitch classes) cannot be told apart by pitch-class
//! content in an inversion, so a label with the same pitch classes counts
//! as right for those; every other chord must match root and kind.

use crate::common;

use common::{Rng, Segment, Wavetable, render, run};
use kmidi_dsp::{Processor, StreamSpec};
use kmidi_harmony::chord::ChordKind;
use kmidi_harmony::detect::{
    ChordDetector, ChordLabel, DETECTED_KINDS, DetectorConfig, SEVENTH_COMPLETIONS,
};
use kmidi_harmony::key::{Key, Mode};
use kmidi_harmony::pitch::PitchClass;
use kmidi_harmony::progression::{Progression, VoiceLeader};

const SR: f32 = 48_000.0;

struct Truth {
    start: f32,
    end: f32,
    label: ChordLabel,
}

/// A random voicing of `label` as an arranger would write it: the chosen
/// inversion's tone in the bass (octave 2 or 3), and the other tones above
/// it, no lower than E3 (below that, close intervals are mud on any
/// instrument and finer than an 85 ms window can resolve), sometimes
/// spread an octave wider.
fn voicing(label: ChordLabel, rng: &mut Rng) -> Vec<f32> {
    let mask = label.kind.interval_mask();
    let tones: Vec<i32> = (0..12).filter(|i| mask & (1 << i) != 0).collect();
    let inversion = rng.below(tones.len());
    let root = label.root.semitones() as i32;
    let bass_octave = 3 + rng.below(2) as i32; // C2..B2 or C3..B3
    let bass = root + tones[inversion] + 12 * bass_octave;
    let mut notes = vec![bass as f32];
    let mut prev = (bass + 6).max(51);
    for k in 1..tones.len() {
        let t = tones[(inversion + k) % tones.len()];
        let mut n = root + t;
        while n <= prev {
            n += 12;
        }
        if rng.below(3) == 0 {
            n += 12;
        }
        notes.push(n as f32);
        prev = n;
    }
    notes
}

fn same_set(kind: ChordKind) -> bool {
    matches!(
        kind,
        ChordKind::Augmented | ChordKind::Sus2 | ChordKind::Sus4
    )
}

fn correct(truth: ChordLabel, got: Option<ChordLabel>) -> bool {
    match got {
        Some(g) if g == truth => true,
        Some(g) if same_set(truth.kind) => g.pitch_class_mask() == truth.pitch_class_mask(),
        _ => false,
    }
}

/// Runs every kind on every root, shuffled, and returns the share of
/// frames labelled right, with per-kind counts for the failure message.
fn accuracy(a4_hz: f32, snr_db: f32, seconds: f32, seed: u64, block: usize) -> (f64, String) {
    let mut rng = Rng::new(seed);
    let mut labels: Vec<ChordLabel> = DETECTED_KINDS
        .iter()
        .flat_map(|&kind| {
            (0..12).map(move |r| ChordLabel {
                root: PitchClass::new(r),
                kind,
            })
        })
        .collect();
    for i in (1..labels.len()).rev() {
        labels.swap(i, rng.below(i + 1));
    }
    let mut segments = Vec::new();
    let mut truths = Vec::new();
    let mut t = 0.0;
    for label in labels {
        segments.push(Segment {
            midi: voicing(label, &mut rng),
            seconds,
        });
        truths.push(Truth {
            start: t,
            end: t + seconds,
            label,
        });
        t += seconds;
    }
    let table = Wavetable::harmonic(6);
    let signal = render(&segments, SR, a4_hz, snr_db, &table, seed);
    let mut det = ChordDetector::new(DetectorConfig::default());
    det.prepare(&StreamSpec::new(SR as f64, block, 1).unwrap())
        .unwrap();
    let hop = det.hop_frames();
    let mut counted = 0usize;
    let mut right = 0usize;
    let mut per_kind = std::collections::BTreeMap::<String, (usize, usize)>::new();
    let mut next_hop = hop;
    run(&mut det, &signal, block, |d, done| {
        while next_hop <= done {
            let now = next_hop as f32 / SR;
            next_hop += hop;
            let Some(tr) = truths.iter().find(|tr| now >= tr.start && now < tr.end) else {
                continue;
            };
            if now < tr.start + 0.1 {
                continue;
            }
            counted += 1;
            let ok = correct(tr.label, d.current().label);
            right += ok as usize;
            if !ok && std::env::var_os("KMIDI_DEBUG_CONFUSION").is_some() {
                let g = d.current().label;
                eprintln!(
                    "truth {:?} root {} -> {:?}",
                    tr.label.kind,
                    tr.label.root.semitones(),
                    g.map(|g| (
                        g.kind,
                        (g.root.semitones() + 12 - tr.label.root.semitones()) % 12
                    ))
                );
            }
            let e = per_kind.entry(format!("{:?}", tr.label.kind)).or_default();
            e.0 += ok as usize;
            e.1 += 1;
        }
    });
    let detail = per_kind
        .iter()
        .map(|(k, (r, n))| format!("{k}: {:.1}%", 100.0 * *r as f64 / *n as f64))
        .collect::<Vec<_>>()
        .join(", ");
    (right as f64 / counted as f64, detail)
}

/// The least share of frames labelled right on these synthetic chords. It
/// was 95% for the chroma of spectral peaks; the multi-pitch front end
/// that replaced it (chosen on rendered real music, scored with mir_eval
/// in docs/ACCURACY.md) scores 94% here: with partials at exactly 1/h, the
/// seventh of a minor-seventh chord is also the third partial of its
/// third, and is partly taken off as one.
const SYNTHETIC_ACCURACY: f64 = 0.93;

#[test]
fn labels_93_percent_of_frames_with_noise_inversions_and_octaves() {
    // 108 chords (9 kinds x 12 roots), 0.8 s each, noise 20 dB below.
    let (acc, detail) = accuracy(440.0, 20.0, 0.8, 1, 512);
    println!("A=440, SNR 20 dB: {:.2}% ({detail})", acc * 100.0);
    assert!(
        acc >= SYNTHETIC_ACCURACY,
        "accuracy {:.2}% < {:.0}% ({detail})",
        acc * 100.0,
        SYNTHETIC_ACCURACY * 100.0
    );
}

/// How far another tuning or block size may fall below A = 440 Hz in
/// 512-frame blocks. Blocks of 2048 frames move every reading by up to
/// three hops, which costs about four points on 0.8 s chords.
const INVARIANCE_POINTS: f64 = 0.05;

#[test]
fn labels_stay_right_off_tuning_and_at_other_block_sizes() {
    let (reference, _) = accuracy(440.0, 20.0, 0.8, 1, 512);
    for (a4, block, seed) in [(432.0, 64, 2), (452.0, 333, 3), (440.0, 2048, 4)] {
        let (acc, detail) = accuracy(a4, 20.0, 0.8, seed, block);
        println!("A={a4}, block {block}: {:.2}% ({detail})", acc * 100.0);
        assert!(
            acc >= reference - INVARIANCE_POINTS,
            "A={a4} block {block}: {:.2}%, against {:.2}% at A=440 in 512-frame blocks ({detail})",
            acc * 100.0,
            reference * 100.0
        );
    }
}

#[test]
fn tuning_estimate_follows_the_band() {
    let table = Wavetable::harmonic(6);
    let seg = [Segment {
        midi: vec![57.0, 60.0, 64.0],
        seconds: 4.0,
    }];
    for a4 in [432.0f32, 440.0, 452.0] {
        let signal = render(&seg, SR, a4, 30.0, &table, 9);
        let mut det = ChordDetector::new(DetectorConfig::default());
        det.prepare(&StreamSpec::new(48_000.0, 512, 1).unwrap())
            .unwrap();
        run(&mut det, &signal, 512, |_, _| {});
        let est = det.tuning_a4_hz();
        assert!((est - a4).abs() < 1.5, "A4 {a4}: estimated {est}");
    }
}

#[test]
fn silence_noise_and_bad_samples_are_no_chord() {
    let mut det = ChordDetector::new(DetectorConfig::default());
    det.prepare(&StreamSpec::new(44_100.0, 256, 2).unwrap())
        .unwrap();
    let mut buf = kmidi_dsp::AudioBuffer::new(2, 256);
    // Silence.
    for _ in 0..100 {
        det.process(&mut buf);
    }
    assert_eq!(det.current().label, None);
    // NaN, Inf and denormals: treated as silence, no panic, output untouched.
    for (i, s) in buf.channel_mut(0).iter_mut().enumerate() {
        *s = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e-40][i % 4];
    }
    for _ in 0..100 {
        det.process(&mut buf);
    }
    assert_eq!(det.current().label, None);
    assert!(
        buf.channel(0)[0].is_nan(),
        "the detector must not modify its input"
    );
    // White noise has no chord.
    let mut rng = Rng::new(5);
    let mut nc = 0;
    for _ in 0..400 {
        for ch in buf.channels_iter_mut() {
            ch.iter_mut().for_each(|s| *s = 0.3 * rng.uniform());
        }
        det.process(&mut buf);
        nc += det.current().label.is_none() as usize;
    }
    assert!(
        nc >= 380,
        "noise labelled as a chord in {} of 400 blocks",
        400 - nc
    );
}

#[test]
fn changes_are_reported_where_chords_change() {
    let table = Wavetable::harmonic(6);
    let segs = [
        Segment {
            midi: vec![48.0, 64.0, 67.0, 72.0],
            seconds: 1.0,
        }, // C
        Segment {
            midi: vec![53.0, 65.0, 69.0, 72.0],
            seconds: 1.0,
        }, // F
        Segment {
            midi: vec![43.0, 62.0, 67.0, 71.0, 65.0],
            seconds: 1.0,
        }, // G7
        Segment {
            midi: vec![],
            seconds: 1.0,
        }, // silence
    ];
    let signal = render(&segs, SR, 440.0, 30.0, &table, 3);
    let mut det = ChordDetector::new(DetectorConfig::default());
    det.prepare(&StreamSpec::new(48_000.0, 512, 1).unwrap())
        .unwrap();
    let mut changes = Vec::new();
    run(&mut det, &signal, 512, |d, _| {
        changes.extend_from_slice(d.changes())
    });
    let got: Vec<(Option<(u8, ChordKind)>, f32)> = changes
        .iter()
        .map(|c| {
            (
                c.label.map(|l| (l.root.semitones(), l.kind)),
                c.frame as f32 / SR,
            )
        })
        .collect();
    let want = [
        (Some((0, ChordKind::Major)), 0.0),
        (Some((5, ChordKind::Major)), 1.0),
        (Some((7, ChordKind::Dominant7)), 2.0),
        (None, 3.0),
    ];
    assert_eq!(got.len(), want.len(), "{got:?}");
    for ((label, t), (want_label, want_t)) in got.iter().zip(want) {
        assert_eq!(*label, want_label, "{got:?}");
        assert!(
            // Up to a quarter window early: see latency.rs.
            *t >= want_t - 0.025 && *t < want_t + 0.15,
            "change to {label:?} at {t} s, chord began at {want_t} s"
        );
    }
    assert!(
        changes[..3].iter().all(|c| c.confidence > 0.5),
        "{changes:?}"
    );
}

#[test]
fn bad_settings_are_refused_with_the_field_and_range() {
    let mut det = ChordDetector::new(DetectorConfig {
        hold_hops: 0,
        ..DetectorConfig::default()
    });
    let err = det
        .prepare(&StreamSpec::new(48_000.0, 512, 1).unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("hold_hops"), "{err}");
    let err = DetectorConfig {
        a4_hz: f32::NAN,
        ..DetectorConfig::default()
    }
    .validate()
    .unwrap_err();
    assert!(err.to_string().contains("a4_hz"), "{err}");
}

/// Key detection over 8-bar progressions voiced by the voice leader, in
/// all 24 keys.
#[test]
fn key_is_right_on_90_percent_of_progressions_in_24_keys() {
    let major = [
        "I vi IV V I IV V I",
        "I IV ii V7 I vi ii7 V7",
        "I V vi iii IV I IV V",
    ];
    let minor = [
        "i iv V i VI iv V7 i",
        "i VI III VII i iv V i",
        "i ii°6 V i iv VI V7 i",
    ];
    let table = Wavetable::harmonic(6);
    let mut leader = VoiceLeader::default();
    let mut right = 0;
    let mut total = 0;
    let mut wrong = Vec::new();
    for (i, key) in Key::all().enumerate() {
        let texts = if key.mode == Mode::Major {
            &major
        } else {
            &minor
        };
        for (j, text) in texts.iter().enumerate() {
            let p = Progression::parse(key, text).unwrap();
            let voices = leader.realize(&p.chords()).unwrap();
            // One bar of 4/4 at 120 BPM per chord: 2 s.
            let segs: Vec<Segment> = voices
                .iter()
                .map(|v| Segment {
                    midi: v.notes.iter().map(|&n| n as f32).collect(),
                    seconds: 2.0,
                })
                .collect();
            let signal = render(&segs, SR, 440.0, 20.0, &table, (i * 7 + j) as u64);
            let mut det = ChordDetector::new(DetectorConfig::default());
            det.prepare(&StreamSpec::new(48_000.0, 512, 1).unwrap())
                .unwrap();
            run(&mut det, &signal, 512, |_, _| {});
            let est = det.key_estimate().unwrap();
            total += 1;
            let ok =
                est.key.tonic.pitch_class() == key.tonic.pitch_class() && est.key.mode == key.mode;
            if ok {
                right += 1;
            } else {
                wrong.push(format!("{key} [{text}] -> {}", est.key));
            }
        }
    }
    let share = right as f64 / total as f64;
    println!(
        "key right on {right}/{total} ({:.1}%); wrong: {wrong:?}",
        share * 100.0
    );
    assert!(share >= 0.9, "key right on {right}/{total}: {wrong:?}");
}

/// Notes (MIDI number, amplitude) of six partials at 1/h, summed.
fn weighted_chord(notes: &[(f32, f32)], seconds: f32) -> Vec<f32> {
    let n = (seconds * SR) as usize;
    (0..n)
        .map(|i| {
            let t = i as f32 / SR;
            notes
                .iter()
                .map(|&(midi, amp)| {
                    let f = 440.0 * 2f32.powf((midi - 69.0) / 12.0);
                    (1..=6)
                        .map(|h| (std::f32::consts::TAU * f * h as f32 * t).sin() / h as f32)
                        .sum::<f32>()
                        * amp
                        * 0.05
                })
                .sum()
        })
        .collect()
}

/// The label held at the end of `signal`.
fn final_label(signal: &[f32]) -> Option<(u8, ChordKind)> {
    let mut det = ChordDetector::new(DetectorConfig::default());
    det.prepare(&StreamSpec::new(SR as f64, 512, 1).unwrap())
        .unwrap();
    let mut last = None;
    run(&mut det, signal, 512, |d, _| {
        last = d.current().label.map(|l| (l.root.semitones(), l.kind))
    });
    last
}

/// A seventh chord in inversion whose root sounds at 40% of its other
/// tones (a piano's root, struck first and decaying) is read as the
/// seventh chord; before `SEVENTH_COMPLETIONS`, the triad of its upper
/// tones won up to 50% (E7 over G# as G#dim). A root at 10% is too weak
/// to be more than a partial or a lingering note: the triad stays.
#[test]
fn a_weak_root_under_a_triad_makes_the_seventh_chord() {
    let e7_over_g_sharp = |root: f32| [(56.0, 1.0), (59.0, 1.0), (62.0, 1.0), (64.0, root)];
    let em7_over_g = |root: f32| [(55.0, 1.0), (59.0, 1.0), (62.0, 1.0), (64.0, root)];
    for (notes, want) in [
        (e7_over_g_sharp(0.4), (4, ChordKind::Dominant7)),
        (em7_over_g(0.4), (4, ChordKind::Minor7)),
        (e7_over_g_sharp(0.1), (8, ChordKind::Diminished)),
        (em7_over_g(0.1), (7, ChordKind::Major)),
    ] {
        let got = final_label(&weighted_chord(&notes, 1.0));
        assert_eq!(got, Some(want), "{notes:?}");
    }
}

/// A note of the previous chord left ringing under the next triad (a
/// string section's release, reverb) does not make the triad a seventh
/// chord: E minor, then G major while the E above fades (time constant
/// 100 ms), reads E minor and then G major. Without `SEVENTH_ROOT_FADE`
/// the fading E read as E minor seventh until it fell under
/// `SEVENTH_ROOT_SHARE` of the triad.
#[test]
fn a_note_ringing_from_the_previous_chord_does_not_make_a_seventh_chord() {
    let tone = |midi: f32, t: f32| {
        let f = 440.0 * 2f32.powf((midi - 69.0) / 12.0);
        (1..=6)
            .map(|h| (std::f32::consts::TAU * f * h as f32 * t).sin() / h as f32)
            .sum::<f32>()
            * 0.05
    };
    let change_s = 0.75;
    let signal: Vec<f32> = (0..(1.5 * SR) as usize)
        .map(|i| {
            let t = i as f32 / SR;
            if t < change_s {
                // E minor: E3 G3 B3 E4.
                [52.0, 55.0, 59.0, 64.0].iter().map(|&m| tone(m, t)).sum()
            } else {
                // G major, G2 B3 D4 G4, under the fading E4.
                let ringing = (-(t - change_s) / 0.1).exp();
                [43.0, 59.0, 62.0, 67.0]
                    .iter()
                    .map(|&m| tone(m, t))
                    .sum::<f32>()
                    + ringing * tone(64.0, t)
            }
        })
        .collect();
    let mut det = ChordDetector::new(DetectorConfig::default());
    det.prepare(&StreamSpec::new(SR as f64, 512, 1).unwrap())
        .unwrap();
    let mut labels = Vec::new();
    run(&mut det, &signal, 512, |d, _| {
        labels.extend(
            d.changes()
                .iter()
                .map(|c| c.label.map(|l| (l.root.semitones(), l.kind))),
        )
    });
    assert_eq!(
        labels,
        [Some((4, ChordKind::Minor)), Some((7, ChordKind::Major))],
        "{labels:?}"
    );
}

/// The completions name what they say: each triad plus the root below
/// it is the seventh chord's set of pitch classes.
#[test]
fn seventh_completions_are_the_seventh_chords_sets() {
    for (triad, tones, below, seventh) in SEVENTH_COMPLETIONS {
        let triad_mask: u16 = tones.iter().map(|t| 1 << t).sum();
        assert_eq!(triad_mask, triad.interval_mask(), "{triad:?}");
        let seventh_from_triad = (triad_mask << below | 1) & 0xfff;
        assert_eq!(seventh_from_triad, seventh.interval_mask(), "{seventh:?}");
    }
}

/// A major triad whose third has decayed to half, beside a second or a
/// fourth at the same level (the fifth's third or seventh partial
/// outliving the third), stays major; before `IMITATED_KIND_MARGIN` it
/// read as sus2 and sus4. A second or fourth above the third's level
/// still makes the suspended chord.
#[test]
fn a_suspension_must_beat_the_triad_its_partials_imitate() {
    for (added, level, want) in [
        (62.0, 0.5, ChordKind::Major),
        (65.0, 0.5, ChordKind::Major),
        (62.0, 0.6, ChordKind::Sus2),
        (65.0, 0.6, ChordKind::Sus4),
    ] {
        let c_major_with = [(60.0, 1.0), (added, level), (64.0, 0.5), (67.0, 1.0)];
        let got = final_label(&weighted_chord(&c_major_with, 1.0));
        assert_eq!(got, Some((0, want)), "{c_major_with:?}");
    }
}
