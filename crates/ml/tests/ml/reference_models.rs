//! Two real models no one on the project made, through kmidi's
//! `ModelSession`, against what Python onnxruntime 1.32 output on the same
//! inputs (`crates/ml/tests/data/reference_models.json`, written by
//! `scripts/ml/record_reference_outputs.py`): Silero VAD run statefully,
//! chunk by chunk, in batch 1 and batch 2 (a scalar input and a state laid
//! out `[2, batch, 128]`), and Basic Pitch batched. The models come from
//! their PyPI wheels, pinned by sha256, through `scripts/fetch_onnxruntime.sh`.

use std::path::PathBuf;

use kmidi_ml::session::{ModelSession, SessionConfig};
use sha2::{Digest, Sha256};

fn model(file: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/models")
        .join(file);
    assert!(
        p.is_file(),
        "{} is missing: run scripts/fetch_onnxruntime.sh (it fetches the reference models too)",
        p.display()
    );
    p
}

fn reference() -> serde_json::Value {
    let text = include_str!("../data/reference_models.json");
    serde_json::from_str(text).expect("the recorded outputs")
}

/// The inputs `record_reference_outputs.py` builds, with the same f32
/// operations in the same order (integer phases, powers of two).
fn saw_chord(
    n: usize,
    steps: &[i64],
    gain_shift: i32,
    noise_shift: i32,
    seed: u32,
    gate: usize,
) -> Vec<f32> {
    let mut x = vec![0.0f32; n];
    for &step in steps {
        for (i, v) in x.iter_mut().enumerate() {
            let saw = ((i as i64 * step) & 0xFFFF) as f32 / 32768.0 - 1.0;
            *v += saw * 2f32.powi(-gain_shift);
        }
    }
    let mut state = seed;
    for (i, v) in x.iter_mut().enumerate() {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let noise = ((state >> 16) & 0xFFFF) as f32 / 32768.0 - 1.0;
        let on = ((i / gate) % 2) as f32;
        *v = *v * on + noise * 2f32.powi(-noise_shift);
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

fn config(max_batch: usize) -> SessionConfig {
    SessionConfig {
        max_batch,
        ..SessionConfig::default()
    }
}

#[test]
fn silero_vad_runs_statefully_in_batch_1_and_2_as_python_does() {
    let want = &reference()["silero_vad"];
    let (chunks, size) = (40, 512);
    let streams = [
        saw_chord(chunks * size, &[1433, 1801, 2141], 3, 7, 7, 4000),
        saw_chord(chunks * size, &[977, 1231], 2, 6, 11, 2600),
    ];
    let mut s = ModelSession::open_any(model("silero_vad-6.2.3.onnx"), config(2)).unwrap();
    for batch in [1usize, 2] {
        s.set_input_shape("input", &[batch as i64, size as i64])
            .unwrap();
        s.set_input_shape("state", &[2, batch as i64, 128]).unwrap();
        // A scalar input is one value whatever the batch (batch 2 failed
        // with "shape [] (1 elements) is different from 2 elements").
        s.set_input_i64("sr", &[16_000]).unwrap();
        s.input_f32("state").unwrap().fill(0.0);
        for c in 0..chunks {
            let x: Vec<f32> = streams[..batch]
                .iter()
                .flat_map(|st| st[c * size..(c + 1) * size].iter().copied())
                .collect();
            s.set_input_f32("input", &x).unwrap();
            s.run().unwrap();
            assert_eq!(s.output_shape("output").unwrap(), [batch as i64, 1]);
            assert_eq!(s.output_shape("stateN").unwrap(), [2, batch as i64, 128]);
            let probs = s.output("output").unwrap().to_vec();
            let next = s.output("stateN").unwrap().to_vec();
            s.set_input_f32("state", &next).unwrap();
            for (b, &p) in probs.iter().enumerate() {
                let expected = if batch == 1 {
                    want["batch1_probs"][c].as_f64().unwrap()
                } else {
                    want["batch2_probs"][c][b].as_f64().unwrap()
                };
                // JSON holds the f32 as a decimal f64; back to f32 it is exact.
                assert_eq!(
                    p, expected as f32,
                    "batch {batch}, chunk {c}, stream {b}: bit for bit"
                );
            }
        }
        if batch == 1 {
            let state = s.input_f32("state").unwrap().to_vec();
            assert_eq!(sha256_f32(&state), want["batch1_final_state_sha256"]);
        }
    }
    // The sample dimension is dynamic: chunk lengths change from run to run.
    let lengths: Vec<usize> = want["varying_lengths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    s.set_input_shape("state", &[2, 1, 128]).unwrap();
    s.input_f32("state").unwrap().fill(0.0);
    let mut pos = 0;
    for (c, expected) in want["varying_probs"].as_array().unwrap().iter().enumerate() {
        let n = lengths[c % lengths.len()];
        s.set_input_shape("input", &[1, n as i64]).unwrap();
        s.set_input_f32("input", &streams[0][pos..pos + n]).unwrap();
        pos += n;
        s.run().unwrap();
        let p = s.output("output").unwrap()[0];
        let next = s.output("stateN").unwrap().to_vec();
        s.set_input_f32("state", &next).unwrap();
        assert_eq!(
            p,
            expected.as_f64().unwrap() as f32,
            "chunk {c} of {n} samples: bit for bit"
        );
    }
}

#[test]
fn basic_pitch_runs_batched_as_python_does() {
    let want = &reference()["basic_pitch"];
    let n = 43_844;
    let mut s = ModelSession::open_any(model("basic_pitch-0.4.0-nmp.onnx"), config(2)).unwrap();
    s.set_batch(2).unwrap();
    let input: Vec<f32> = [
        saw_chord(n, &[1361, 1715, 2040], 3, 9, 3, 11_025),
        saw_chord(n, &[1019, 1528], 2, 8, 5, 7_000),
    ]
    .concat();
    s.set_input_f32(want["input"].as_str().unwrap(), &input)
        .unwrap();
    s.run().unwrap();
    for out in want["outputs"].as_array().unwrap() {
        let name = out["name"].as_str().unwrap();
        let shape: Vec<i64> = out["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_i64().unwrap())
            .collect();
        assert_eq!(s.output_shape(name).unwrap(), shape, "{name}");
        let data = s.output(name).unwrap();
        // Bit for bit where the CPU kernels are the same; else within 1e-5
        // of every frame's maximum.
        let identical = sha256_f32(data) == out["sha256"];
        println!("{name}: {shape:?}, bit for bit with Python: {identical}");
        if !identical {
            let last = *shape.last().unwrap() as usize;
            for (f, (frame, m)) in data
                .chunks(last)
                .zip(out["frame_max"].as_array().unwrap())
                .enumerate()
            {
                let got = frame.iter().fold(f32::MIN, |a, &b| a.max(b));
                let m = m.as_f64().unwrap();
                assert!(
                    (got as f64 - m).abs() <= 1e-5,
                    "{name} frame {f}: {got} vs {m}"
                );
            }
        }
    }
}
