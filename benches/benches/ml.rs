//! ONNX model benches, per model: steady-state inference fp32 against int8
//! (batch 1, in one group so the ratio comes from one run), throughput at
//! batch 1, 8 and 32, load time, and the first (cold) inference; and Basic
//! Pitch transcription (one window, decoding, the whole pipeline).
//!
//! Needs the ONNX Runtime library: `scripts/fetch_onnxruntime.sh`. One
//! intra-op thread, as the engine runs them. Percentiles over many runs:
//! `cargo run --release -p kmidi-ml --example latency`.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use kmidi_benches::criterion_config;
use kmidi_ml::models::{Model, Precision};
use kmidi_ml::session::{Element, ModelSession, SessionConfig};

fn config(batch: usize) -> SessionConfig {
    SessionConfig {
        max_batch: batch,
        ..SessionConfig::default()
    }
}

/// Plausible inputs: token and chord ids inside their vocabularies, features in [0, 1).
fn fill(s: &mut ModelSession) {
    let specs = s.contract().inputs.clone();
    for spec in specs {
        match spec.element {
            Element::F32 => s
                .input_f32(&spec.name)
                .unwrap()
                .iter_mut()
                .enumerate()
                .for_each(|(i, x)| *x = ((i * 7919) % 1000) as f32 / 1000.0),
            Element::I64 => {
                let vocab = if spec.name == "key" { 24 } else { 100 };
                s.input_i64(&spec.name)
                    .unwrap()
                    .iter_mut()
                    .enumerate()
                    .for_each(|(i, x)| *x = ((i * 31) % vocab) as i64)
            }
            Element::Bool => s
                .input_bool(&spec.name)
                .unwrap()
                .iter_mut()
                .enumerate()
                .for_each(|(i, x)| *x = i % 2 == 0),
        }
    }
}

fn loaded(model: Model, precision: Precision, batch: usize) -> ModelSession {
    let mut s = model.load(precision, config(batch)).unwrap();
    s.set_batch(batch).unwrap();
    fill(&mut s);
    s.warm_up(3).unwrap();
    s
}

fn models(c: &mut Criterion) {
    for model in Model::ALL {
        let mut g = c.benchmark_group(format!("ml/{}", model.stem()));
        for (label, precision) in [("fp32", Precision::Fp32), ("int8", Precision::Int8)] {
            let mut s = loaded(model, precision, 1);
            g.throughput(Throughput::Elements(1));
            g.bench_function(format!("{label}/batch=1"), |b| b.iter(|| s.run().unwrap()));
        }
        #[cfg(feature = "tract")]
        {
            // Same model, same inputs, pure-Rust backend, in the same group.
            let mut t = kmidi_ml::tract_backend::TractModel::load(model, 1).unwrap();
            let s = loaded(model, Precision::Fp32, 1);
            for (i, spec) in s.contract().inputs.iter().enumerate() {
                let n = spec.item_len();
                match spec.element {
                    Element::F32 => t
                        .set_f32(
                            i,
                            &(0..n)
                                .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
                                .collect::<Vec<_>>(),
                        )
                        .unwrap(),
                    Element::I64 => {
                        let vocab = if spec.name == "key" { 24 } else { 100 };
                        t.set_i64(
                            i,
                            &(0..n)
                                .map(|i| ((i * 31) % vocab) as i64)
                                .collect::<Vec<_>>(),
                        )
                        .unwrap()
                    }
                    Element::Bool => panic!(
                        "{model:?} input {}: the bundled models take no bool inputs",
                        spec.name
                    ),
                }
            }
            t.run().unwrap();
            g.throughput(Throughput::Elements(1));
            g.bench_function("tract_fp32/batch=1", |b| b.iter(|| t.run().unwrap()));
        }
        for batch in [8usize, 32] {
            let mut s = loaded(model, Precision::Fp32, batch);
            g.throughput(Throughput::Elements(batch as u64));
            g.bench_function(format!("fp32/batch={batch}"), |b| {
                b.iter(|| s.run().unwrap())
            });
        }
        g.throughput(Throughput::Elements(1));
        g.bench_function("fp32/load", |b| {
            b.iter(|| black_box(model.load(Precision::Fp32, config(1)).unwrap()))
        });
        g.bench_function("fp32/first_inference", |b| {
            b.iter_batched(
                || {
                    let mut s = model.load(Precision::Fp32, config(1)).unwrap();
                    fill(&mut s);
                    s
                },
                |mut s| {
                    s.run().unwrap();
                    s
                },
                BatchSize::PerIteration,
            )
        });
        g.finish();
    }
}

/// Basic Pitch transcription: one model window (2 s of audio at
/// 22.05 kHz; a new window every 1.640 s, so the window's time over 1.640
/// is the model's cost per second of audio), decoding 10 s of posteriors
/// into notes, and the whole pipeline on 10 s at 48 kHz (resampling,
/// windows, decoding).
fn transcription(c: &mut Criterion) {
    use kmidi_ml::transcription::{
        BasicPitch, NoteParams, Posteriors, WINDOW_SAMPLES, notes::decode, transcribe,
    };
    let mut g = c.benchmark_group("ml/basic_pitch");
    g.sample_size(10);
    let mut model = BasicPitch::open(BasicPitch::default_path()).unwrap();
    // A chord of decaying harmonic tones, as in the transcription tests.
    let tone = |rate: f32, n: usize| -> Vec<f32> {
        (0..n)
            .map(|i| {
                let t = i as f32 / rate;
                let env = (-((t * 4.0) % 2.0) * 1.5).exp();
                [261.63f32, 329.63, 392.0]
                    .iter()
                    .map(|f| (t * f * std::f32::consts::TAU).sin() * 0.15 * env)
                    .sum()
            })
            .collect()
    };
    let window = tone(22_050.0, WINDOW_SAMPLES);
    let mut out = Posteriors::default();
    g.bench_function("model_window_2s", |b| {
        b.iter(|| {
            out = Posteriors::default();
            model.run_window(black_box(&window), &mut out).unwrap();
        })
    });
    let audio = tone(48_000.0, 480_000);
    let posteriors = transcribe(&mut model, &audio, 48_000, &NoteParams::default())
        .unwrap()
        .posteriors;
    g.bench_function("decode_notes_10s", |b| {
        b.iter(|| black_box(decode(black_box(&posteriors), &NoteParams::default())))
    });
    g.bench_function("transcribe_10s_at_48k", |b| {
        b.iter(|| {
            black_box(
                transcribe(
                    &mut model,
                    black_box(&audio),
                    48_000,
                    &NoteParams::default(),
                )
                .unwrap(),
            )
        })
    });
    g.finish();
}

fn features(c: &mut Criterion) {
    use kmidi_ml::features::{MelConfig, MelSpectrogram};
    let mut g = c.benchmark_group("ml/features");
    let mut mel = MelSpectrogram::new(MelConfig::librosa_default(48_000.0)).unwrap();
    let block: Vec<f32> = (0..512).map(|i| ((i as f32) * 0.05).sin()).collect();
    // Every 512-frame push completes one hop: FFT 2048 and 128 mel bands.
    g.bench_function("log_mel_per_512_hop", |b| {
        b.iter(|| {
            black_box(mel.push(black_box(&block), |f| {
                black_box(f);
            }))
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = criterion_config();
    targets = features, models, transcription
}
criterion_main!(benches);
