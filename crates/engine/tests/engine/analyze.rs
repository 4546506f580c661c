//! `analyze_wav` on a file it can check by construction: held triads over
//! a click track at 120 BPM, and on files it must refuse.

use kmidi_engine::analyze::{
    AnalysisConfig, ChordSegment, analyze_wav, beat_chords, beat_grid_offset_s,
};

const RATE: u32 = 48_000;

/// Writes `samples` as a mono 32-bit float WAV at `RATE`.
fn write_mono_wav(path: &std::path::Path, samples: impl IntoIterator<Item = f32>) {
    let mut w = hound::WavWriter::create(
        path,
        hound::WavSpec {
            channels: 1,
            sample_rate: RATE,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        },
    )
    .unwrap();
    for s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

/// Four bars of 120 BPM: a click on every beat and a triad per bar
/// (C major, A minor, F major, G major), six partials per tone.
fn write_song(path: &std::path::Path) {
    let chords: [[f32; 3]; 4] = [
        [48.0, 64.0, 67.0],
        [45.0, 60.0, 64.0],
        [41.0, 60.0, 69.0],
        [43.0, 62.0, 71.0],
    ];
    let bar = 2.0f32;
    let frames = (bar * 4.0 * RATE as f32) as usize;
    let samples = (0..frames).map(|i| {
        let t = i as f32 / RATE as f32;
        let chord = chords[((t / bar) as usize).min(3)];
        let mut x = 0.0;
        for &m in &chord {
            let f = 440.0 * 2f32.powf((m - 69.0) / 12.0);
            for h in 1..=6 {
                x += (std::f32::consts::TAU * f * h as f32 * t).sin() * 0.04 / h as f32;
            }
        }
        // A 5 ms decaying click every 0.5 s.
        let since = t % 0.5;
        x + 0.5 * (-since / 0.005).exp() * (std::f32::consts::TAU * 3000.0 * t).sin()
    });
    write_mono_wav(path, samples);
}

#[test]
fn finds_the_chords_the_beats_and_the_tempo() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("song.wav");
    write_song(&path);
    let a = analyze_wav(&path, &AnalysisConfig::default()).unwrap();
    assert_eq!(a.sample_rate, RATE);
    assert!((a.duration_s - 8.0).abs() < 0.01, "{}", a.duration_s);
    // Each bar's chord labels most of its bar.
    for (bar, want) in ["C:maj", "A:min", "F:maj", "G:maj"].iter().enumerate() {
        let (lo, hi) = (bar as f64 * 2.0, bar as f64 * 2.0 + 2.0);
        let covered: f64 = a
            .chords
            .iter()
            .filter(|c| c.label == *want)
            .map(|c| (c.end_s.min(hi) - c.start_s.max(lo)).max(0.0))
            .sum();
        assert!(
            covered >= 1.6,
            "bar {bar}: {want} covers {covered:.2} s of 2: {:?}",
            a.chords
        );
    }
    // Segments tile the file.
    assert_eq!(a.chords.first().unwrap().start_s, 0.0);
    assert!(a.chords.windows(2).all(|w| w[0].end_s == w[1].start_s));
    assert!((a.chords.last().unwrap().end_s - a.duration_s).abs() < 1e-9);
    // The clicks are the onsets, within 30 ms.
    let clicks: Vec<f64> = (0..16).map(|i| i as f64 * 0.5).collect();
    let hits = clicks
        .iter()
        .filter(|&&c| a.onsets_s.iter().any(|&o| (o - c).abs() <= 0.03))
        .count();
    assert!(hits >= 14, "{hits} of 16 clicks found: {:?}", a.onsets_s);
    let bpm = a.tempo_bpm.expect("a tempo");
    assert!((bpm - 120.0).abs() <= 2.4, "{bpm} BPM");
    assert!(a.beats_s.len() >= 12, "{:?}", a.beats_s);
    // The .lab files are what mir_eval reads: one line per segment.
    assert_eq!(a.chords_lab().lines().count(), a.chords.len());
    assert_eq!(a.onsets_lab().lines().count(), a.onsets_s.len());
    // One chord per beat, tiling the file, and each bar's chord on most of
    // its beats.
    assert_eq!(a.beat_chords.first().unwrap().start_s, 0.0);
    assert!(a.beat_chords.windows(2).all(|w| w[0].end_s == w[1].start_s));
    assert!((a.beat_chords.last().unwrap().end_s - a.duration_s).abs() < 1e-9);
    assert!(
        a.beat_chord_offset_s.abs() < 0.1,
        "{}",
        a.beat_chord_offset_s
    );
    let on_beats: Vec<&ChordSegment> = a
        .beat_chords
        .iter()
        .filter(|c| {
            a.beats_s
                .iter()
                .any(|b| (b + a.beat_chord_offset_s - c.start_s).abs() < 1e-9)
        })
        .collect();
    assert!(on_beats.len() + 1 >= a.beats_s.len(), "{:?}", a.beat_chords);
    let right = on_beats
        .iter()
        .filter(|c| {
            let bar = ((c.start_s + 0.25) / 2.0).floor() as usize;
            c.label == ["C:maj", "A:min", "F:maj", "G:maj"][bar.min(3)]
        })
        .count();
    assert!(
        right + 2 >= on_beats.len(),
        "{right} of {}: {:?}",
        on_beats.len(),
        a.beat_chords
    );
    assert_eq!(a.beat_chords_lab().lines().count(), a.beat_chords.len());
}

fn segment(start_s: f64, end_s: f64, label: &str) -> ChordSegment {
    ChordSegment {
        start_s,
        end_s,
        label: label.into(),
        confidence: 1.0,
    }
}

#[test]
fn a_beat_takes_the_chord_that_weighs_most_in_it_its_start_counting_more() {
    let chords = [
        segment(0.0, 0.3, "N"),
        // Beat 1: C for 0.45 of it, then G for 0.55: C, struck on the
        // beat, outweighs the longer passing G.
        segment(0.3, 0.75, "C:maj"),
        segment(0.75, 1.3, "G:maj"),
        // Beat 2: A minor for two thirds of it, then D minor.
        segment(1.3, 1.7, "A:min"),
        // Beat 3: D minor for a fifth, then F for the rest.
        segment(1.7, 2.0, "D:min"),
        segment(2.0, 2.6, "F:maj"),
    ];
    let beats = beat_chords(&chords, &[0.3, 1.3, 1.9, 2.4]);
    let got: Vec<(f64, f64, &str)> = beats
        .iter()
        .map(|c| (c.start_s, c.end_s, c.label.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (0.0, 0.3, "N"),
            (0.3, 1.3, "C:maj"),
            (1.3, 1.9, "A:min"),
            (1.9, 2.4, "F:maj"),
            (2.4, 2.6, "F:maj"),
        ]
    );
    // The confidence is the winner's share of the beat's weight (weights
    // fall from 4/3 at the beat to 2/3 at the next): C holds
    // 0.45 * 4/3 - 0.45^2 / 3 = 0.5325, F 1 - (0.2 * 4/3 - 0.2^2 / 3).
    assert!((beats[1].confidence - 0.5325).abs() < 1e-4, "{beats:?}");
    assert!((beats[3].confidence - 0.746_67).abs() < 1e-4, "{beats:?}");
    // A sure reading outweighs a longer unsure one; with no confidence at
    // all, time decides.
    let unsure = |confidence_of_g: f32, confidence_of_c: f32| {
        let mut g = segment(0.0, 0.6, "G:maj");
        g.confidence = confidence_of_g;
        let mut c = segment(0.6, 1.0, "C:maj");
        c.confidence = confidence_of_c;
        beat_chords(&[g, c], &[0.0, 1.0])[0].label.clone()
    };
    assert_eq!(unsure(0.3, 0.9), "C:maj");
    assert_eq!(unsure(0.9, 0.9), "G:maj");
    assert_eq!(unsure(0.0, 0.0), "G:maj");
    assert_eq!(unsure(f32::NAN, 0.5), "C:maj");
    // With fewer than two beats inside the segments, nothing changes.
    assert_eq!(beat_chords(&chords, &[1.0]), chords.to_vec());
    assert_eq!(beat_chords(&chords, &[5.0, 6.0]), chords.to_vec());
    assert!(beat_chords(&[], &[0.0, 1.0]).is_empty());
}

#[test]
fn the_beat_grid_moves_onto_the_chord_changes() {
    // Changes every beat, each 30 ms before the tracked beat.
    let beats: Vec<f64> = (0..12).map(|i| 0.03 + i as f64 * 0.5).collect();
    let chords: Vec<ChordSegment> = (0..12)
        .map(|i| {
            segment(
                i as f64 * 0.5,
                (i + 1) as f64 * 0.5,
                ["C:maj", "G:maj"][i % 2],
            )
        })
        .collect();
    assert!((beat_grid_offset_s(&beats, &chords) + 0.03).abs() < 1e-9);
    // Changes far from every beat (on the off-beats) give no offset.
    let off: Vec<f64> = beats.iter().map(|b| b + 0.25).collect();
    assert_eq!(beat_grid_offset_s(&off, &chords), 0.0);
    // Too few beats or changes: none.
    assert_eq!(beat_grid_offset_s(&beats[..1], &chords), 0.0);
    assert_eq!(beat_grid_offset_s(&beats, &chords[..1]), 0.0);
}

#[test]
fn refuses_bad_settings_and_missing_files_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("song.wav");
    write_song(&path);
    for (config, needle) in [
        (
            AnalysisConfig {
                block_frames: 0,
                ..AnalysisConfig::default()
            },
            "block_frames",
        ),
        (
            AnalysisConfig {
                tempo_window_s: f64::NAN,
                ..AnalysisConfig::default()
            },
            "tempo_window_s",
        ),
    ] {
        let e = analyze_wav(&path, &config).unwrap_err().to_string();
        assert!(e.contains(needle) && e.contains("allowed"), "{e}");
    }
    let e = analyze_wav(dir.path().join("missing.wav"), &AnalysisConfig::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.wav"), "{e}");
}

/// Writes `seconds` of clicks: one at every time in `clicks` (seconds,
/// gain), each a 5 ms decaying burst at 3 kHz.
fn write_clicks(path: &std::path::Path, seconds: f32, clicks: &[(f32, f32)]) {
    let frames = (seconds * RATE as f32) as usize;
    let mut x = vec![0.0f32; frames];
    for &(at, gain) in clicks {
        let start = (at * RATE as f32) as usize;
        for (i, s) in x
            .iter_mut()
            .skip(start)
            .take(RATE as usize / 20)
            .enumerate()
        {
            let t = i as f32 / RATE as f32;
            *s += gain * (-t / 0.005).exp() * (std::f32::consts::TAU * 3000.0 * t).sin();
        }
    }
    write_mono_wav(path, x);
}

#[test]
fn beats_keep_the_whole_files_level_through_a_passage_of_eighths() {
    // 40 s at 75 BPM; from 12 s to 24 s every eighth is struck as hard
    // as the beat, so a window over that passage alone hears 150 BPM.
    let beat = 0.8f32;
    let mut clicks = Vec::new();
    let mut t = 0.0f32;
    while t < 39.5 {
        clicks.push((t, 0.5));
        if (12.0..24.0).contains(&t) {
            clicks.push((t + beat / 2.0, 0.5));
        }
        t += beat;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eighths.wav");
    write_clicks(&path, 40.0, &clicks);
    let a = analyze_wav(&path, &AnalysisConfig::default()).unwrap();
    let bpm = a.tempo_bpm.expect("a tempo");
    assert!((bpm - 75.0).abs() <= 1.5, "{bpm} BPM");
    // The live curve hears the eighths...
    assert!(
        a.tempo_curve.iter().any(|p| (p.bpm - 150.0).abs() <= 3.0),
        "{:?}",
        a.tempo_curve
    );
    // ...but the beats stay on the quarter: every gap is one beat.
    assert!(a.beats_s.len() >= 45, "{:?}", a.beats_s);
    for w in a.beats_s.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            (gap - beat as f64).abs() <= 0.04,
            "a gap of {gap:.3} s at {:.2} s: {:?}",
            w[0],
            a.beats_s
        );
    }
}
