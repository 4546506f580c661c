//! Criterion 0.5 benches of the peer kernels.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use peer_kernels::*;

const BLOCK: usize = 4096;

fn kernels(c: &mut Criterion) {
    let input = test_signal(BLOCK);
    let mut output = vec![0.0f32; BLOCK];

    let mut fir = c.benchmark_group("fir");
    fir.throughput(Throughput::Elements(BLOCK as u64));
    for taps in [32usize, 128] {
        let coefficients: Vec<f32> = (0..taps).map(|k| 1.0 / (k as f32 + 1.0)).collect();
        fir.bench_function(format!("{taps}taps"), |b| {
            b.iter(|| fir_filter(black_box(&coefficients), black_box(&input), &mut output))
        });
    }
    fir.finish();

    c.bench_function("biquad/cascade4", |b| {
        let mut stages = [Biquad::low_pass(2_000.0, 48_000.0, 0.707); 4];
        let mut block = input.clone();
        b.iter(|| {
            block.copy_from_slice(&input);
            for s in &mut stages {
                s.process(black_box(&mut block));
            }
        })
    });
    c.bench_function("resample/cubic_44k1_to_48k", |b| {
        let mut out = vec![0.0f32; BLOCK * 2];
        b.iter(|| resample_cubic(black_box(&input), 48_000.0 / 44_100.0, &mut out))
    });
    c.bench_function("meter/rms_1024", |b| {
        b.iter(|| rms_meter(black_box(&input), 1024, &mut output))
    });
    c.bench_function("mix/8ch", |b| {
        let channels: Vec<Vec<f32>> = (0..8).map(|_| input.clone()).collect();
        let gains = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2];
        b.iter(|| mix_down(black_box(&channels), &gains, &mut output))
    });
    c.bench_function("dynamics/envelope", |b| {
        b.iter(|| envelope(black_box(&input), 0.9, 0.999, &mut output))
    });
}

criterion_group!(benches, kernels);
criterion_main!(benches);
