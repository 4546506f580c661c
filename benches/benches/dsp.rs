//! DSP benches: biquad against the `biquad` crate, EQ fused against
//! sequential, compressor against a libm version, limiter, a full chain,
//! multichannel EQ, reset, ratio sensitivity, in-place against copy, and a
//! denormal tail with and without the FTZ guard.

use std::hint::black_box;

use biquad::{Biquad as _, Coefficients, DirectForm2Transposed, ToHertz, Type};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kmidi_benches::{BLOCK, BLOCK_SIZES, SAMPLE_RATE, criterion_config, peers, signals};
use kmidi_dsp::biquad::{Biquad, BiquadCoefficients, FilterType};
use kmidi_dsp::denormal::DenormalGuard;
use kmidi_dsp::dynamics::{Compressor, CompressorSettings, Limiter, LimiterSettings};
use kmidi_dsp::eq::{BandOrder, BandSettings, Equalizer};
use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};

fn spec(frames: usize, channels: usize) -> StreamSpec {
    StreamSpec::new(SAMPLE_RATE, frames, channels).unwrap()
}

fn three_bands() -> [BandSettings; 3] {
    [
        BandSettings::new(FilterType::LowShelf, 120.0, 0.707, 3.0),
        BandSettings::new(FilterType::Peaking, 1_000.0, 1.0, -4.0),
        BandSettings::new(FilterType::HighShelf, 8_000.0, 0.707, 2.0),
    ]
}

fn biquad_vs_crate(c: &mut Criterion) {
    let mut g = c.benchmark_group("dsp/biquad");
    for frames in BLOCK_SIZES {
        g.throughput(Throughput::Elements(frames as u64));
        let mut x = signals::noise(frames, 3);
        let mut ours = Biquad::new(
            BiquadCoefficients::design(FilterType::LowPass, SAMPLE_RATE, 1_000.0, 0.707, 0.0)
                .unwrap(),
        );
        g.bench_function(
            BenchmarkId::new("kmidi_tdf2", format!("frames={frames}")),
            |b| b.iter(|| ours.process_block(black_box(&mut x))),
        );
        let coeffs = Coefficients::<f32>::from_params(
            Type::LowPass,
            (SAMPLE_RATE as f32).hz(),
            1_000.0.hz(),
            0.707,
        )
        .unwrap();
        let mut theirs = DirectForm2Transposed::<f32>::new(coeffs);
        g.bench_function(
            BenchmarkId::new("biquad_crate_df2t", format!("frames={frames}")),
            |b| {
                b.iter(|| {
                    for s in black_box(&mut x).iter_mut() {
                        *s = theirs.run(*s);
                    }
                })
            },
        );
    }
    g.finish();
}

fn eq_fused_vs_sequential(c: &mut Criterion) {
    let mut g = c.benchmark_group("dsp/eq_3band_stereo");
    for frames in BLOCK_SIZES {
        g.throughput(Throughput::Elements(frames as u64));
        for (name, order) in [
            ("fused", BandOrder::Fused),
            ("sequential", BandOrder::Sequential),
        ] {
            let mut eq = Equalizer::new(&three_bands())
                .unwrap()
                .with_band_order(order);
            eq.prepare(&spec(frames, 2)).unwrap();
            let mut buf = signals::noise_block(2, frames, 5);
            g.bench_function(BenchmarkId::new(name, format!("frames={frames}")), |b| {
                b.iter(|| eq.process(black_box(&mut buf)))
            });
        }
    }
    g.finish();
}

fn compressor_vs_libm(c: &mut Criterion) {
    let mut g = c.benchmark_group("dsp/compressor_stereo");
    for frames in BLOCK_SIZES {
        g.throughput(Throughput::Elements(frames as u64));
        let settings = CompressorSettings::default();
        let mut comp = Compressor::new(settings).unwrap();
        comp.prepare(&spec(frames, 2)).unwrap();
        let src = signals::noise_block(2, frames, 9);
        let mut buf = src.clone();
        g.bench_function(
            BenchmarkId::new("kmidi_fastmath", format!("frames={frames}")),
            |b| {
                b.iter(|| {
                    buf.copy_from(&src).unwrap();
                    comp.process(black_box(&mut buf))
                })
            },
        );
        let mut naive = peers::NaiveCompressor::new(SAMPLE_RATE, -18.0, 4.0, 6.0, 5.0, 100.0);
        let (mut l, mut r) = (src.channel(0).to_vec(), src.channel(1).to_vec());
        g.bench_function(
            BenchmarkId::new("libm_log10_powf", format!("frames={frames}")),
            |b| {
                b.iter(|| {
                    l.copy_from_slice(src.channel(0));
                    r.copy_from_slice(src.channel(1));
                    naive.process(black_box(&mut l), black_box(&mut r))
                })
            },
        );
    }
    g.finish();
}

fn ratio_sensitivity(c: &mut Criterion) {
    let mut g = c.benchmark_group("dsp/compressor_ratio");
    g.throughput(Throughput::Elements(BLOCK as u64));
    for ratio in [1.0f32, 2.0, 4.0, 10.0, 100.0] {
        let mut comp = Compressor::new(CompressorSettings {
            ratio,
            ..Default::default()
        })
        .unwrap();
        comp.prepare(&spec(BLOCK, 2)).unwrap();
        let src = signals::noise_block(2, BLOCK, 11);
        let mut buf = src.clone();
        g.bench_function(BenchmarkId::new("stereo", format!("ratio={ratio}")), |b| {
            b.iter(|| {
                buf.copy_from(&src).unwrap();
                comp.process(black_box(&mut buf))
            })
        });
    }
    g.finish();
}

/// Sample-peak and true-peak modes side by side: the ratio is the cost of
/// the true-peak mode's band limit and 4× interpolation.
fn limiter(c: &mut Criterion) {
    let mut g = c.benchmark_group("dsp/limiter_stereo");
    for frames in BLOCK_SIZES {
        g.throughput(Throughput::Elements(frames as u64));
        for (name, true_peak) in [("lookahead_5ms", false), ("true_peak/lookahead_5ms", true)] {
            let mut lim = Limiter::new(LimiterSettings {
                true_peak,
                ..LimiterSettings::default()
            })
            .unwrap();
            lim.prepare(&spec(frames, 2)).unwrap();
            let mut buf = signals::noise_block(2, frames, 13);
            for ch in buf.channels_iter_mut() {
                for s in ch.iter_mut() {
                    *s *= 4.0;
                }
            }
            let src = buf.clone();
            g.bench_function(BenchmarkId::new(name, format!("frames={frames}")), |b| {
                b.iter(|| {
                    buf.copy_from(&src).unwrap();
                    lim.process(black_box(&mut buf))
                })
            });
        }
    }
    g.finish();
}

fn chain(c: &mut Criterion) {
    let mut g = c.benchmark_group("dsp/chain_eq_comp_limiter");
    for frames in BLOCK_SIZES {
        g.throughput(Throughput::Elements(frames as u64));
        let s = spec(frames, 2);
        let mut chain: Vec<Box<dyn Processor>> = vec![
            Box::new(Equalizer::new(&three_bands()).unwrap()),
            Box::new(Compressor::new(CompressorSettings::default()).unwrap()),
            Box::new(Limiter::new(LimiterSettings::default()).unwrap()),
        ];
        for p in chain.iter_mut() {
            p.prepare(&s).unwrap();
        }
        let src = signals::noise_block(2, frames, 17);
        let mut buf = src.clone();
        g.bench_function(
            BenchmarkId::new("stereo", format!("frames={frames}")),
            |b| {
                b.iter(|| {
                    buf.copy_from(&src).unwrap();
                    for p in chain.iter_mut() {
                        p.process(black_box(&mut buf));
                    }
                })
            },
        );
    }
    g.finish();
}

fn multichannel_eq(c: &mut Criterion) {
    let mut g = c.benchmark_group("dsp/eq_multichannel");
    for channels in [2usize, 4, 8, 16] {
        g.throughput(Throughput::Elements((BLOCK * channels) as u64));
        let mut eq = Equalizer::new(&three_bands()).unwrap();
        eq.prepare(&spec(BLOCK, channels)).unwrap();
        let mut buf = signals::noise_block(channels, BLOCK, 19);
        g.bench_function(
            BenchmarkId::new("3band", format!("channels={channels}")),
            |b| b.iter(|| eq.process(black_box(&mut buf))),
        );
    }
    g.finish();
}

fn reset_and_copy(c: &mut Criterion) {
    let mut g = c.benchmark_group("dsp/reset");
    let mut eq = Equalizer::new(&three_bands()).unwrap();
    eq.prepare(&spec(BLOCK, 2)).unwrap();
    let mut comp = Compressor::new(CompressorSettings::default()).unwrap();
    comp.prepare(&spec(BLOCK, 2)).unwrap();
    let mut lim = Limiter::new(LimiterSettings::default()).unwrap();
    lim.prepare(&spec(BLOCK, 2)).unwrap();
    g.bench_function("equalizer/bands=3", |b| b.iter(|| eq.reset()));
    g.bench_function("compressor/channels=2", |b| b.iter(|| comp.reset()));
    g.bench_function("limiter/lookahead=5ms", |b| b.iter(|| lim.reset()));
    g.finish();

    let mut g = c.benchmark_group("dsp/in_place_vs_copy");
    g.throughput(Throughput::Elements(BLOCK as u64));
    let mut eq = Equalizer::new(&three_bands()).unwrap();
    eq.prepare(&spec(BLOCK, 2)).unwrap();
    let src = signals::noise_block(2, BLOCK, 23);
    let mut buf = src.clone();
    g.bench_function("in_place/frames=512", |b| {
        b.iter(|| eq.process(black_box(&mut buf)))
    });
    let mut out = AudioBuffer::new(2, BLOCK);
    g.bench_function("copy_then_process/frames=512", |b| {
        b.iter(|| {
            out.copy_from(black_box(&src)).unwrap();
            eq.process(&mut out)
        })
    });
    g.finish();
}

fn denormal_tail(c: &mut Criterion) {
    let mut g = c.benchmark_group("dsp/denormal_tail");
    g.throughput(Throughput::Elements(BLOCK as u64));
    let tail = signals::decaying_tail(BLOCK);
    let normal = signals::noise(BLOCK, 29);
    let coeffs =
        BiquadCoefficients::design(FilterType::LowPass, SAMPLE_RATE, 200.0, 0.707, 0.0).unwrap();
    for (name, input) in [("normal_input", &normal), ("subnormal_tail", &tail)] {
        let mut f = Biquad::new(coeffs);
        let mut x = input.clone();
        g.bench_function(BenchmarkId::new("no_guard", name), |b| {
            b.iter(|| {
                x.copy_from_slice(input);
                f.process_block(black_box(&mut x))
            })
        });
        let mut f = Biquad::new(coeffs);
        g.bench_function(BenchmarkId::new("ftz_guard", name), |b| {
            let _guard = DenormalGuard::new();
            b.iter(|| {
                x.copy_from_slice(input);
                f.process_block(black_box(&mut x))
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = criterion_config();
    targets = biquad_vs_crate, eq_fused_vs_sequential, compressor_vs_libm, ratio_sensitivity,
        limiter, chain, multichannel_eq, reset_and_copy, denormal_tail
}
criterion_main!(benches);
