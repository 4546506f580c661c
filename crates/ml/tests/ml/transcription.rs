//! kmidi's Basic Pitch transcription against Spotify's own Python code
//! (basic-pitch 0.4.0 with Python onnxruntime 1.32), which found the notes
//! in `tests/data/basic_pitch_notes.json` in the same signal
//! (`scripts/eval/basic_pitch_reference.py fixture`). The signal is at
//! 22 050 Hz, so no resampler is involved and windowing, unwrapping and
//! decoding are compared exactly. The model comes from the basic-pitch
//! wheel through `scripts/fetch_onnxruntime.sh`.

use std::path::PathBuf;

use kmidi_groove::event::{EventKind, notes_from_events};
use kmidi_groove::smf::MidiFile;
use kmidi_ml::MlError;
use kmidi_ml::transcription::stream::spawn;
use kmidi_ml::transcription::{BasicPitch, MODEL_SHA256, NoteParams, transcribe};
use sha2::{Digest, Sha256};

fn model_path() -> PathBuf {
    let p = BasicPitch::default_path();
    assert!(
        p.is_file(),
        "{} is missing: run scripts/fetch_onnxruntime.sh",
        p.display()
    );
    p
}

fn fixture() -> serde_json::Value {
    serde_json::from_str(include_str!("../data/basic_pitch_notes.json")).expect("the fixture")
}

/// `fixture_signal()` of basic_pitch_reference.py, with the same f32
/// operations.
fn fixture_signal() -> Vec<f32> {
    let rate = 22_050usize;
    let n = 6 * rate;
    let mut x = vec![0.0f32; n];
    let tones = [
        (2205usize, 11025usize, 1300i64),
        (13230, 11025, 1638),
        (26460, 22050, 1300),
        (26460, 22050, 1638),
        (26460, 22050, 1948),
        (52920, 44100, 973),
        (77175, 33075, 2600),
    ];
    for (start, length, step) in tones {
        for seg in 0..length {
            let ramp = ((seg as i64 * step) & 0xFFFF) as f32 / 32768.0 - 1.0;
            let env = (-((seg / 2048) as f32) / 4.0).exp2();
            x[start + seg] += ramp * env * 0.125;
        }
    }
    x
}

fn sha256_f32(v: &[f32]) -> String {
    let mut h = Sha256::new();
    for x in v {
        h.update(x.to_le_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn assert_same_notes(got: &[(f64, f64, u8, f32)], want: &serde_json::Value) {
    let want = want.as_array().unwrap();
    assert_eq!(got.len(), want.len(), "notes: {got:?}");
    for (g, w) in got.iter().zip(want) {
        let (s, e, k, a) = (
            w["start_s"].as_f64().unwrap(),
            w["end_s"].as_f64().unwrap(),
            w["key"].as_u64().unwrap() as u8,
            w["amplitude"].as_f64().unwrap(),
        );
        assert_eq!(g.2, k, "{g:?} vs {w}");
        assert!(
            (g.0 - s).abs() < 1e-9 && (g.1 - e).abs() < 1e-9,
            "{g:?} vs {w}"
        );
        assert!((f64::from(g.3) - a).abs() < 1e-4, "{g:?} vs {w}");
    }
}

fn sorted(t: &kmidi_ml::transcription::Transcription) -> Vec<(f64, f64, u8, f32)> {
    let mut v: Vec<_> = t
        .notes
        .iter()
        .map(|n| (n.start_s, n.end_s, n.key, n.amplitude))
        .collect();
    // As Python sorts its tuples.
    v.sort_by(|a, b| {
        a.0.total_cmp(&b.0)
            .then(a.1.total_cmp(&b.1))
            .then(a.2.cmp(&b.2))
    });
    v
}

#[test]
fn notes_match_spotifys_basic_pitch_on_the_same_signal() {
    let want = fixture();
    let x = fixture_signal();
    assert_eq!(
        sha256_f32(&x),
        want["signal_sha256"],
        "the same samples as Python"
    );
    let mut model = BasicPitch::open(model_path()).unwrap();
    let t = transcribe(&mut model, &x, 22_050, &NoteParams::default()).unwrap();
    // 6 s padded by 3 840 samples: ceil(136 140 / 36 164) windows.
    assert_eq!(t.windows, 4);
    assert_eq!(t.posteriors.frames, 6 * 22_050 * 86 / 22_050);
    assert_same_notes(&sorted(&t), &want["notes"]);
}

#[test]
fn the_worker_thread_gives_the_same_notes_in_any_block_size() {
    let want = fixture();
    let x = fixture_signal();
    for block in [64usize, 512, 4099] {
        let model = BasicPitch::open(model_path()).unwrap();
        let (worker, mut input) = spawn(model, 22_050, 1.0, NoteParams::default()).unwrap();
        for chunk in x.chunks(block) {
            let mut offered = 0;
            while offered < chunk.len() {
                offered += input.offer(&chunk[offered..]);
                if offered < chunk.len() {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
        }
        let r = worker.finish(input).unwrap();
        assert_eq!(r.lost_frames, 0);
        assert_same_notes(&sorted(&r.transcription), &want["notes"]);
    }
}

#[test]
fn a_full_ring_counts_what_it_refused() {
    let model = BasicPitch::open(model_path()).unwrap();
    // The smallest ring (4096 samples); push far more at once than fits.
    let (worker, mut input) = spawn(model, 22_050, 0.1, NoteParams::default()).unwrap();
    let block = vec![0.0f32; 10_000];
    let taken = input.push(&block);
    assert!(taken < block.len());
    assert_eq!(input.lost_frames(), (block.len() - taken) as u64);
    let r = worker.finish(input).unwrap();
    assert_eq!(r.lost_frames, (block.len() - taken) as u64);
    assert!((r.transcription.audio_seconds - taken as f64 / 22_050.0).abs() < 1e-12);
}

#[test]
fn resampled_input_finds_the_same_keys_at_the_same_times() {
    // The fixture at 44.1 kHz (each sample twice, then a half-band
    // resampler back down): the keys and, within two frames, the times.
    let want = fixture();
    let x = fixture_signal();
    let up: Vec<f32> = x.iter().flat_map(|&s| [s, s]).collect();
    let mut model = BasicPitch::open(model_path()).unwrap();
    let t = transcribe(&mut model, &up, 44_100, &NoteParams::default()).unwrap();
    assert_eq!(t.posteriors.frames, 6 * 86);
    let got = sorted(&t);
    let want = want["notes"].as_array().unwrap();
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(u64::from(g.2), w["key"].as_u64().unwrap());
        assert!(
            (g.0 - w["start_s"].as_f64().unwrap()).abs() < 0.025,
            "{g:?} vs {w}"
        );
    }
}

#[test]
fn the_midi_file_holds_the_notes_and_reads_back() {
    let x = fixture_signal();
    let mut model = BasicPitch::open(model_path()).unwrap();
    let t = transcribe(&mut model, &x, 22_050, &NoteParams::default()).unwrap();
    let bytes = t.to_midi_file(120.0).unwrap().to_bytes().unwrap();
    let back = MidiFile::parse(&bytes).unwrap();
    let events = back.merged_events();
    let notes = notes_from_events(&events);
    assert_eq!(notes.len(), t.notes.len());
    let map = back.tempo_map().unwrap();
    for (n, want) in notes.iter().zip(t.sorted_notes()) {
        assert_eq!(n.key, want.key);
        assert!((map.tick_to_seconds(n.start) - want.start_s).abs() < 0.002);
    }
    // The lone A5 at the end is the only note with no overlap: it is
    // bent, then centred again at its end.
    let bends: Vec<_> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::PitchBend { .. }))
        .collect();
    assert!(!bends.is_empty());
    assert!(matches!(
        bends.last().unwrap().kind,
        EventKind::PitchBend { value: 0, .. }
    ));
    // Frame events at 48 kHz: one on and one off per note, sorted.
    let fe = t.frame_events(48_000, 0);
    assert_eq!(fe.len(), 2 * t.notes.len());
    assert!(fe.windows(2).all(|w| w[0].frame <= w[1].frame));
}

#[test]
fn a_missing_or_wrong_model_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nmp.onnx");
    let e = BasicPitch::open(&missing).err().unwrap();
    assert!(
        e.to_string().contains("scripts/fetch_onnxruntime.sh"),
        "{e}"
    );
    std::fs::write(&missing, b"not a model").unwrap();
    let e = BasicPitch::open(&missing).err().unwrap();
    assert!(matches!(e, MlError::Model { .. }));
    assert!(e.to_string().contains("sha256"), "{e}");
}

#[test]
fn the_fetch_script_pins_the_same_sha256() {
    let script = include_str!("../../../../scripts/fetch_onnxruntime.sh");
    assert!(script.contains(MODEL_SHA256));
    assert!(script.contains(kmidi_ml::transcription::MODEL_FILE));
}

#[test]
fn thresholds_out_of_range_are_refused() {
    let mut model = BasicPitch::open(model_path()).unwrap();
    for p in [
        NoteParams {
            onset_threshold: 1.5,
            ..NoteParams::default()
        },
        NoteParams {
            frame_threshold: f64::NAN,
            ..NoteParams::default()
        },
        NoteParams {
            minimum_note_ms: -1.0,
            ..NoteParams::default()
        },
    ] {
        let e = transcribe(&mut model, &[0.0; 100], 22_050, &p)
            .err()
            .unwrap();
        assert!(e.to_string().contains("allowed"), "{e}");
    }
    assert_eq!(NoteParams::default().minimum_note_frames(), 11);
}
