//! Mixer benches: gain, mixing against a naive per-sample mixer, scaling,
//! block sizes, solo/mute, routing lookups, dB conversion, strip creation.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kmidi_benches::{BLOCK, BLOCK_SIZES, SAMPLE_RATE, criterion_config, peers, signals};
use kmidi_dsp::gain::{apply_gain, db_to_linear, linear_to_db};
use kmidi_dsp::mixer::{MixBuses, Mixer, MixerConfig, SendTap, StripLayout, pan_gains};
use kmidi_dsp::{AudioBuffer, StreamSpec};

fn mixer(
    strips: usize,
    layout: StripLayout,
    aux: usize,
    frames: usize,
) -> (Mixer, MixBuses, Vec<AudioBuffer>) {
    let config = MixerConfig {
        aux_buses: aux,
        ..MixerConfig::uniform(strips, layout)
    };
    let mut m = Mixer::new(&config).unwrap();
    m.prepare(&StreamSpec::new(SAMPLE_RATE, frames, 2).unwrap())
        .unwrap();
    let h = m.handle();
    for s in 0..strips {
        h.set_gain_db(s, -(s as f32 % 12.0)).unwrap();
        h.set_pan(s, (s as f32 / strips as f32) * 2.0 - 1.0)
            .unwrap();
    }
    m.reset();
    let buses = m.create_buses();
    let inputs = (0..strips)
        .map(|s| signals::noise_block(layout.channels(), frames, s as u64))
        .collect();
    (m, buses, inputs)
}

fn gain(c: &mut Criterion) {
    let mut g = c.benchmark_group("mixer/gain");
    for frames in BLOCK_SIZES {
        let mut x = signals::noise(frames, 1);
        g.throughput(Throughput::Elements(frames as u64));
        g.bench_with_input(
            BenchmarkId::new("constant_mono", format!("frames={frames}")),
            &frames,
            |b, _| b.iter(|| apply_gain(black_box(&mut x), black_box(0.5))),
        );
    }
    g.finish();
}

fn process_vs_naive(c: &mut Criterion) {
    let mut g = c.benchmark_group("mixer/process");
    g.throughput(Throughput::Elements(BLOCK as u64));
    for strips in [8usize, 32] {
        let (mut m, mut buses, inputs) = mixer(strips, StripLayout::Stereo, 0, BLOCK);
        g.bench_function(
            BenchmarkId::new("kmidi", format!("stereo_strips={strips}")),
            |b| b.iter(|| m.process(black_box(&inputs), &mut buses).unwrap()),
        );
        let naive_in: Vec<(Vec<f32>, Vec<f32>)> = inputs
            .iter()
            .map(|b| (b.channel(0).to_vec(), b.channel(1).to_vec()))
            .collect();
        let gains: Vec<(f32, f32)> = (0..strips)
            .map(|s| {
                let (l, r) = pan_gains(StripLayout::Stereo, (s as f32 / strips as f32) * 2.0 - 1.0);
                let f = db_to_linear(-(s as f32 % 12.0));
                (f * l, f * r)
            })
            .collect();
        let (mut ol, mut or) = (vec![0.0; BLOCK], vec![0.0; BLOCK]);
        g.bench_function(
            BenchmarkId::new("naive_per_sample", format!("stereo_strips={strips}")),
            |b| b.iter(|| peers::naive_mix_stereo(black_box(&naive_in), &gains, &mut ol, &mut or)),
        );
    }
    g.finish();
}

fn scaling(c: &mut Criterion) {
    let mut g = c.benchmark_group("mixer/scaling");
    g.throughput(Throughput::Elements(BLOCK as u64));
    for strips in [2usize, 4, 8, 16, 32] {
        let (mut m, mut buses, inputs) = mixer(strips, StripLayout::Stereo, 0, BLOCK);
        g.bench_function(
            BenchmarkId::new("stereo", format!("channels={strips}")),
            |b| b.iter(|| m.process(black_box(&inputs), &mut buses).unwrap()),
        );
    }
    g.finish();
}

fn block_sizes(c: &mut Criterion) {
    let mut g = c.benchmark_group("mixer/block_size");
    for frames in BLOCK_SIZES {
        let (mut m, mut buses, inputs) = mixer(8, StripLayout::Stereo, 2, frames);
        let h = m.handle();
        for s in 0..8 {
            h.set_send(s, s % 2, -10.0, SendTap::PostFader).unwrap();
        }
        m.reset();
        g.throughput(Throughput::Elements(frames as u64));
        g.bench_function(
            BenchmarkId::new("8_stereo_2_aux", format!("frames={frames}")),
            |b| b.iter(|| m.process(black_box(&inputs), &mut buses).unwrap()),
        );
    }
    g.finish();
}

fn solo_mute(c: &mut Criterion) {
    let mut g = c.benchmark_group("mixer/solo_mute");
    g.throughput(Throughput::Elements(BLOCK as u64));
    for (name, muted, soloed) in [
        ("none", 0usize, 0usize),
        ("half_muted", 8, 0),
        ("one_soloed", 0, 1),
    ] {
        let (mut m, mut buses, inputs) = mixer(16, StripLayout::Stereo, 0, BLOCK);
        let h = m.handle();
        for s in 0..muted {
            h.set_mute(s, true).unwrap();
        }
        for s in 0..soloed {
            h.set_solo(s, true).unwrap();
        }
        m.reset();
        g.bench_function(BenchmarkId::new("16_stereo", name), |b| {
            b.iter(|| m.process(black_box(&inputs), &mut buses).unwrap())
        });
    }
    g.finish();
}

fn routing_and_conversion(c: &mut Criterion) {
    let mut g = c.benchmark_group("mixer/routing");
    let (m, _, _) = mixer(32, StripLayout::Stereo, 8, BLOCK);
    let h = m.handle();
    g.throughput(Throughput::Elements(32 * 8));
    g.bench_function("send_lookup/matrix=32x8", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for s in 0..32 {
                for bus in 0..8 {
                    acc += h.send_db(black_box(s), black_box(bus)).unwrap_or(0.0);
                }
            }
            acc
        })
    });
    g.finish();

    let mut g = c.benchmark_group("mixer/db_conversion");
    let dbs: Vec<f32> = (0..BLOCK).map(|i| -60.0 + i as f32 * 0.1).collect();
    let lins: Vec<f32> = dbs.iter().map(|&d| db_to_linear(d)).collect();
    g.throughput(Throughput::Elements(BLOCK as u64));
    g.bench_function("db_to_linear/values=512", |b| {
        b.iter(|| {
            black_box(&dbs)
                .iter()
                .map(|&d| db_to_linear(d))
                .sum::<f32>()
        })
    });
    g.bench_function("linear_to_db/values=512", |b| {
        b.iter(|| {
            black_box(&lins)
                .iter()
                .map(|&l| linear_to_db(l))
                .sum::<f32>()
        })
    });
    g.bench_function("fast_db_to_linear/values=512", |b| {
        b.iter(|| {
            black_box(&dbs)
                .iter()
                .map(|&d| kmidi_dsp::fastmath::fast_db_to_linear(d))
                .sum::<f32>()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("mixer/create");
    for strips in [8usize, 32] {
        g.bench_function(
            BenchmarkId::new("prepare", format!("channels={strips}")),
            |b| {
                b.iter(|| {
                    let mut m =
                        Mixer::new(&MixerConfig::uniform(strips, StripLayout::Stereo)).unwrap();
                    m.prepare(&StreamSpec::new(SAMPLE_RATE, BLOCK, 2).unwrap())
                        .unwrap();
                    black_box(m.create_buses())
                })
            },
        );
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = criterion_config();
    targets = gain, process_vs_naive, scaling, block_sizes, solo_mute, routing_and_conversion
}
criterion_main!(benches);
