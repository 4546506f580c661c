//! Resampling benches: kmidi's wrapper against raw rubato `Fft` in the same
//! group, ratios, channel counts, block sizes, qualities, continuous
//! streaming, creation cost and bypass.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kmidi_benches::{BLOCK, BLOCK_SIZES, criterion_config, signals};
use kmidi_dsp::resampler::{Resampler, ResamplerConfig, ResamplerQuality};
use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Fft, FixedSync, Resampler as _};

fn ours_vs_raw_rubato(c: &mut Criterion) {
    let mut g = c.benchmark_group("resampling/44k1_to_48k_stereo");
    for frames in BLOCK_SIZES {
        g.throughput(Throughput::Elements(frames as u64));
        let mut rs = Resampler::new(ResamplerConfig::new(44_100, 48_000, 2, frames)).unwrap();
        let input = signals::noise_block(2, frames, 1);
        g.bench_function(BenchmarkId::new("kmidi", format!("frames={frames}")), |b| {
            b.iter(|| black_box(rs.process(black_box(&input)).unwrap().frames()))
        });
        let mut raw = Fft::<f32>::new(44_100, 48_000, frames, 2, FixedSync::Input).unwrap();
        let in_vecs = vec![input.channel(0).to_vec(), input.channel(1).to_vec()];
        let out_frames = raw.output_frames_max();
        let mut out_vecs = vec![vec![0.0f32; out_frames]; 2];
        g.bench_function(
            BenchmarkId::new("raw_rubato_fft", format!("frames={frames}")),
            |b| {
                b.iter(|| {
                    let adapter_in =
                        SequentialSliceOfVecs::new(black_box(&in_vecs), 2, frames).unwrap();
                    let mut adapter_out =
                        SequentialSliceOfVecs::new_mut(&mut out_vecs, 2, out_frames).unwrap();
                    black_box(
                        raw.process_into_buffer(&adapter_in, &mut adapter_out, None)
                            .unwrap(),
                    )
                })
            },
        );
    }
    g.finish();
}

fn ratios(c: &mut Criterion) {
    let mut g = c.benchmark_group("resampling/ratio");
    g.throughput(Throughput::Elements(BLOCK as u64));
    for (from, to) in [
        (44_100u32, 48_000u32),
        (48_000, 44_100),
        (48_000, 96_000),
        (96_000, 48_000),
        (48_000, 48_000),
    ] {
        let mut rs = Resampler::new(ResamplerConfig::new(from, to, 2, BLOCK)).unwrap();
        let input = signals::noise_block(2, BLOCK, 2);
        let name = if from == to {
            "bypass".to_string()
        } else {
            format!("{from}_to_{to}")
        };
        g.bench_function(BenchmarkId::new("stereo", name), |b| {
            b.iter(|| black_box(rs.process(black_box(&input)).unwrap().frames()))
        });
    }
    g.finish();
}

fn channels(c: &mut Criterion) {
    let mut g = c.benchmark_group("resampling/channels");
    for ch in [1usize, 2, 4, 8] {
        g.throughput(Throughput::Elements((BLOCK * ch) as u64));
        let mut rs = Resampler::new(ResamplerConfig::new(44_100, 48_000, ch, BLOCK)).unwrap();
        let input = signals::noise_block(ch, BLOCK, 3);
        g.bench_function(
            BenchmarkId::new("44k1_to_48k", format!("channels={ch}")),
            |b| b.iter(|| black_box(rs.process(black_box(&input)).unwrap().frames())),
        );
    }
    g.finish();
}

fn qualities(c: &mut Criterion) {
    let mut g = c.benchmark_group("resampling/quality");
    g.throughput(Throughput::Elements(BLOCK as u64));
    for (name, q) in [
        ("fft", ResamplerQuality::Fft),
        ("sinc", ResamplerQuality::Sinc),
        ("polynomial", ResamplerQuality::Polynomial),
    ] {
        let mut rs =
            Resampler::new(ResamplerConfig::new(44_100, 48_000, 2, BLOCK).with_quality(q)).unwrap();
        let input = signals::noise_block(2, BLOCK, 4);
        g.bench_function(BenchmarkId::new("44k1_to_48k_stereo", name), |b| {
            b.iter(|| black_box(rs.process(black_box(&input)).unwrap().frames()))
        });
    }
    g.finish();
}

fn streaming_and_creation(c: &mut Criterion) {
    let mut g = c.benchmark_group("resampling/streaming");
    // One second of 44.1 kHz stereo in host blocks of 441 frames (10 ms),
    // which do not line up with the 512-frame chunks: exercises the FIFO.
    let seconds_in = 44_100;
    g.throughput(Throughput::Elements(seconds_in as u64));
    let mut rs = Resampler::new(ResamplerConfig {
        chunk_frames: Some(512),
        ..ResamplerConfig::new(44_100, 48_000, 2, 441)
    })
    .unwrap();
    let input = signals::noise_block(2, 441, 5);
    g.bench_function("one_second/blocks=441", |b| {
        b.iter(|| {
            let mut out = 0;
            for _ in 0..100 {
                out += rs.process(black_box(&input)).unwrap().frames();
            }
            black_box(out)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("resampling/create");
    for (name, q) in [
        ("fft", ResamplerQuality::Fft),
        ("sinc", ResamplerQuality::Sinc),
    ] {
        g.bench_function(BenchmarkId::new("44k1_to_48k_stereo", name), |b| {
            b.iter(|| {
                black_box(
                    Resampler::new(ResamplerConfig::new(44_100, 48_000, 2, BLOCK).with_quality(q))
                        .unwrap(),
                )
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = criterion_config();
    targets = ours_vs_raw_rubato, ratios, channels, qualities, streaming_and_creation
}
criterion_main!(benches);
