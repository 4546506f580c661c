//! The mel spectrogram against librosa 0.11's `melspectrogram` on test
//! tones (reference values written once by scripts/ml/make_mel_reference.py):
//! within 1e-4 relative. The streaming form gives the same frames, and
//! never allocates.

use kmidi_ml::features::{MelConfig, MelScale, MelSpectrogram};
use serde_json::Value;

fn reference() -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mel_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn config_of(case: &Value) -> MelConfig {
    MelConfig {
        sample_rate: case["sample_rate"].as_f64().unwrap(),
        n_fft: 2048,
        hop: 512,
        n_mels: case["n_mels"].as_u64().unwrap() as usize,
        fmin: case["fmin"].as_f64().unwrap(),
        fmax: case["fmax"].as_f64().unwrap(),
        scale: if case["htk"].as_bool().unwrap() {
            MelScale::Htk
        } else {
            MelScale::Slaney
        },
        slaney_norm: case["slaney_norm"].as_bool().unwrap(),
    }
}

#[test]
fn matches_librosa_within_1e_4_relative() {
    let r = reference();
    for case in r["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let signal: Vec<f32> = case["signal"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        let want: Vec<f64> = case["mel"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let config = config_of(case);
        let mut mel = MelSpectrogram::new(config).unwrap();
        let got = mel.analyze(&signal);
        assert_eq!(got.len(), want.len(), "{name}: frames × bands");
        let n_mels = config.n_mels;
        let mut worst = 0.0f64;
        for (f, (g_row, w_row)) in got.chunks(n_mels).zip(want.chunks(n_mels)).enumerate() {
            // Relative to each value, with a floor 80 dB below the frame's
            // loudest band (where float32 FFT rounding dominates both).
            let peak = w_row.iter().fold(0.0f64, |m, &x| m.max(x));
            for (b, (&g, &w)) in g_row.iter().zip(w_row).enumerate() {
                let rel = (g as f64 - w).abs() / w.abs().max(peak * 1e-8).max(1e-20);
                worst = worst.max(rel);
                assert!(
                    rel <= 1e-4,
                    "{name}: frame {f} band {b}: ours {g}, librosa {w} ({rel:.2e} relative)"
                );
            }
        }
        println!("{name}: worst relative difference {worst:.2e}");
    }
}

#[test]
fn streaming_frames_equal_offline_frames() {
    let config = MelConfig::librosa_default(48_000.0);
    let signal: Vec<f32> = (0..48_000)
        .map(|i| ((i as f32) * 0.0576).sin() * 0.5 + ((i as f32) * 0.011).sin() * 0.2)
        .collect();
    let mut offline = MelSpectrogram::new(config).unwrap();
    let frames = offline.analyze(&signal);
    // Streaming frame t ends at sample t·hop and covers the n_fft samples
    // before it; centred offline frame t - 2 covers the same samples
    // (centring starts frames n_fft/2 = 2 hops early).
    let mut stream = MelSpectrogram::new(config).unwrap();
    let mut produced = 0usize;
    for (i, block) in signal.chunks_exact(512).enumerate() {
        assert_eq!(stream.push(block, |_| {}), 1);
        produced += 1;
        let t = i + 1; // frame ends at sample t·512
        if t >= 4 {
            let offline_frame = t - 2;
            let row = &frames[offline_frame * 128..(offline_frame + 1) * 128];
            for (a, &b) in stream.latest_log_mel().iter().zip(row) {
                let b = (b + 1e-10).log10();
                assert!((a - b).abs() < 1e-4, "frame {t}: {a} vs {b}");
            }
        }
    }
    assert_eq!(produced, 48_000 / 512);
    assert!(
        MelSpectrogram::new(MelConfig {
            n_fft: 1000,
            ..config
        })
        .is_err()
    );
    assert!(
        MelSpectrogram::new(MelConfig {
            fmax: 30_000.0,
            ..config
        })
        .err()
        .unwrap()
        .to_string()
        .contains("fmax")
    );
}

#[test]
fn blocks_longer_than_the_hop_deliver_every_frame() {
    // With block 1024 and hop 512, the old API handed out 357 of 713 frames.
    let config = MelConfig::librosa_default(48_000.0);
    let signal: Vec<f32> = (0..365_056)
        .map(|i| ((i as f32) * 0.0576).sin() * 0.5 + ((i as f32) * 0.0031).sin() * 0.2)
        .collect();
    let mut by_hop = MelSpectrogram::new(config).unwrap();
    let mut expected = Vec::new();
    for block in signal.chunks(512) {
        by_hop.push(block, |f| expected.push(f.to_vec()));
    }
    for block_len in [1024usize, 1500, 4096, 333] {
        let mut stream = MelSpectrogram::new(config).unwrap();
        let mut got = Vec::new();
        let mut completed = 0;
        for block in signal.chunks(block_len) {
            completed += stream.push(block, |f| got.push(f.to_vec()));
        }
        assert_eq!(completed, got.len());
        assert_eq!(got.len(), expected.len(), "block {block_len}");
        assert_eq!(got.len(), 713);
        assert_eq!(got, expected, "block {block_len}");
    }
}
