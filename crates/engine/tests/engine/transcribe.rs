//! `transcribe_wav` on a stereo 44.1 kHz file of decaying harmonic tones
//! at known keys: the notes (through Basic Pitch on the worker thread),
//! the `.lab` text, the MIDI file, the cost figures, and the errors.

use kmidi_engine::transcribe::{TranscribeConfig, transcribe_wav};
use kmidi_groove::event::notes_from_events;
use kmidi_groove::smf::MidiFile;

/// (start s, length s, MIDI key): C4, E4, G4 one after another, then a
/// C major triad.
const TONES: [(f32, f32, u8); 6] = [
    (0.25, 0.6, 60),
    (1.0, 0.6, 64),
    (1.75, 0.6, 67),
    (2.75, 1.2, 60),
    (2.75, 1.2, 64),
    (2.75, 1.2, 67),
];

fn write_tones(path: &std::path::Path) {
    let rate = 44_100u32;
    let n = (4.5 * rate as f32) as usize;
    let mut x = vec![0.0f32; n];
    for (start, len, key) in TONES {
        let f0 = 440.0 * 2f32.powf((f32::from(key) - 69.0) / 12.0);
        let s = (start * rate as f32) as usize;
        for i in 0..(len * rate as f32) as usize {
            let t = i as f32 / rate as f32;
            let env = (-3.0 * t).exp() * (1.0 - (-t * 400.0).exp());
            let v: f32 = (1..=6)
                .map(|h| (t * f0 * h as f32 * std::f32::consts::TAU).sin() / h as f32)
                .sum();
            x[s + i] += 0.12 * env * v;
        }
    }
    let mut w = hound::WavWriter::create(
        path,
        hound::WavSpec {
            channels: 2,
            sample_rate: rate,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        },
    )
    .unwrap();
    for v in x {
        w.write_sample(v).unwrap();
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn tones_come_back_as_notes_lab_lines_and_midi() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tones.wav");
    write_tones(&path);
    let t = transcribe_wav(&path, &TranscribeConfig::default()).unwrap();
    assert_eq!(t.sample_rate, 44_100);
    assert!((t.duration_s - 4.5).abs() < 1e-6);
    assert_eq!(t.lost_frames, 0);
    assert!(t.real_time_factor > 0.0 && t.cost_ms_per_audio_s > 0.0);
    // Every tone is found: its key, starting within 50 ms.
    for (start, _, key) in TONES {
        assert!(
            t.notes
                .iter()
                .any(|n| n.key == key && (n.start_s - f64::from(start)).abs() < 0.05),
            "key {key} at {start} s not found in {:?}",
            t.notes
        );
    }
    let lab = t.notes_lab();
    assert_eq!(lab.lines().count(), t.notes.len());
    let midi = MidiFile::parse(&t.midi_bytes().unwrap()).unwrap();
    assert_eq!(
        notes_from_events(&midi.merged_events()).len(),
        t.notes.len()
    );
}

#[test]
fn bad_settings_and_a_missing_model_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tones.wav");
    write_tones(&path);
    let e = transcribe_wav(
        &path,
        &TranscribeConfig {
            block_frames: 0,
            ..TranscribeConfig::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("block_frames = 0") && e.contains("allowed"),
        "{e}"
    );
    let e = transcribe_wav(
        &path,
        &TranscribeConfig {
            model: dir.path().join("nmp.onnx"),
            ..TranscribeConfig::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("fetch_onnxruntime.sh"), "{e}");
    let e = transcribe_wav(dir.path().join("none.wav"), &TranscribeConfig::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("none.wav"), "{e}");
}
