//! One test per defect that the conformance run of issue 14 found in the
//! DSP core. Each uses only API that existed before the fixes, so the same
//! file shows them failing on the old code (docs/ARCHITECTURE.md,
//! "Conformance").

use crate::common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use kmidi_dsp::alloc_probe::count_allocations;
use kmidi_dsp::biquad::FilterType;
use kmidi_dsp::dynamics::{Compressor, CompressorSettings, Limiter, LimiterSettings};
use kmidi_dsp::eq::{BandSettings, Equalizer};
use kmidi_dsp::gain::Gain;
use kmidi_dsp::resampler::{Resampler, ResamplerConfig, ResamplerQuality};
use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};

fn stereo_spec(frames: usize) -> StreamSpec {
    StreamSpec::new(48_000.0, frames, 2).unwrap()
}

#[test]
fn the_fft_resampler_survives_nan_inf_and_max_blocks() {
    for poison in [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MAX,
        -f32::MAX,
    ] {
        let mut rs = Resampler::new(ResamplerConfig::new(44_100, 48_000, 2, 512)).unwrap();
        let mut block = AudioBuffer::new(2, 512);
        let mut finite_after = true;
        let result = catch_unwind(AssertUnwindSafe(|| {
            for k in 0..8 {
                for ch in 0..2 {
                    block.channel_mut(ch).fill(0.1);
                }
                if k == 2 {
                    if poison.is_nan() {
                        block.channel_mut(0)[100] = poison;
                    } else {
                        block.channel_mut(1).fill(poison);
                    }
                }
                let out = rs.process(&block).unwrap();
                if k >= 4 {
                    finite_after &= (0..2).all(|ch| out.channel(ch).iter().all(|v| v.is_finite()));
                }
            }
        }));
        assert!(result.is_ok(), "the FFT resampler panicked on {poison}");
        assert!(finite_after, "non-finite output long after {poison}");
    }
}

/// Sub-frame position of the largest output sample.
fn peak_position(x: &[f32]) -> f64 {
    let i = (0..x.len())
        .max_by(|&a, &b| x[a].abs().total_cmp(&x[b].abs()))
        .unwrap();
    let (a, b, c) = (x[i - 1] as f64, x[i] as f64, x[i + 1] as f64);
    i as f64 + 0.5 * (a - c) / (a - 2.0 * b + c)
}

/// A Blackman-windowed sinc pulse at `at`, cut off at `cutoff` of Nyquist.
fn pulse(len: usize, at: usize, cutoff: f64) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let x = i as f64 - at as f64;
            if x.abs() > 64.0 {
                return 0.0;
            }
            let s = if x == 0.0 {
                1.0
            } else {
                (std::f64::consts::PI * cutoff * x).sin() / (std::f64::consts::PI * cutoff * x)
            };
            let n = (x + 64.0) / 128.0;
            let w = 0.42 - 0.5 * (std::f64::consts::TAU * n).cos()
                + 0.08 * (2.0 * std::f64::consts::TAU * n).cos();
            (s * w) as f32 * 0.5
        })
        .collect()
}

fn stream(rs: &mut Resampler, x: &[f32]) -> Vec<f32> {
    let mut out = Vec::new();
    let mut buf = AudioBuffer::new(1, 512);
    for chunk in x.chunks(512) {
        buf.set_frames(chunk.len()).unwrap();
        buf.channel_mut(0).copy_from_slice(chunk);
        out.extend_from_slice(rs.process(&buf).unwrap().channel(0));
    }
    out
}

#[test]
fn async_resamplers_report_the_delay_an_impulse_really_has() {
    for quality in [ResamplerQuality::Sinc, ResamplerQuality::Polynomial] {
        for (from, to) in [(48_000u32, 96_000u32), (44_100, 48_000), (48_000, 44_100)] {
            let mut rs =
                Resampler::new(ResamplerConfig::new(from, to, 1, 512).with_quality(quality))
                    .unwrap();
            let ratio = to as f64 / from as f64;
            let at = 2_000;
            let y = stream(&mut rs, &pulse(8_192, at, 0.4 * ratio.min(1.0)));
            let measured = peak_position(&y) - at as f64 * ratio;
            let reported = rs.latency_frames() as f64;
            assert!(
                (measured - reported).abs() <= 0.5 + 1e-3,
                "{quality:?} {from}->{to}: the impulse is {measured:.2} frames late, {reported} reported"
            );
        }
    }
}

/// Level in dB (re. the input tone) of what a tone at `freq` becomes.
fn tone_level_db(quality: ResamplerQuality, from: u32, to: u32, freq: f64) -> f64 {
    let mut rs =
        Resampler::new(ResamplerConfig::new(from, to, 1, 512).with_quality(quality)).unwrap();
    let n = from as usize;
    let x: Vec<f32> = (0..n)
        .map(|i| (std::f64::consts::TAU * freq * i as f64 / from as f64).sin() as f32 * 0.5)
        .collect();
    let y = stream(&mut rs, &x);
    let tail = &y[y.len() / 2..];
    let rms = (tail.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / tail.len() as f64).sqrt();
    20.0 * (rms / (0.5 / 2f64.sqrt())).max(1e-12).log10()
}

#[test]
fn sinc_downsampling_keeps_everything_above_the_new_nyquist_out() {
    // 96 -> 48 kHz let 24.1-24.3 kHz alias back at -46 dBr.
    for freq in [24_100.0, 24_200.0, 24_300.0, 26_000.0, 30_000.0] {
        let level = tone_level_db(ResamplerQuality::Sinc, 96_000, 48_000, freq);
        assert!(level < -100.0, "{freq} Hz comes through at {level:.1} dBr");
    }
    // ... while the passband stays flat to 0.1 dB up to 19.2 kHz (0.8 × Nyquist).
    for freq in [1_000.0, 10_000.0, 19_200.0] {
        let level = tone_level_db(ResamplerQuality::Sinc, 96_000, 48_000, freq);
        assert!(
            level.abs() < 0.1,
            "{freq} Hz comes through at {level:.3} dBr"
        );
    }
}

/// Processes `channels + 1` channels of `max + 37` frames through `p`,
/// prepared for `channels` × `max`, and returns whether anything past that
/// changed.
fn touches_beyond_prepared(p: &mut dyn Processor, channels: usize) -> bool {
    let max = 256;
    p.prepare(&StreamSpec::new(48_000.0, max, channels).unwrap())
        .unwrap();
    let mut block = AudioBuffer::new(channels + 1, max + 37);
    let mut noise = common::Noise::new(3);
    for ch in 0..channels + 1 {
        for v in block.channel_mut(ch) {
            *v = noise.sample();
        }
    }
    let before = block.clone();
    p.process(&mut block);
    (0..channels + 1).any(|ch| {
        let from = if ch < channels { max } else { 0 };
        block.channel(ch)[from..] != before.channel(ch)[from..]
    })
}

#[test]
fn blocks_longer_than_prepared_are_left_untouched_past_the_maximum() {
    assert!(!touches_beyond_prepared(&mut Gain::new(-6.0), 2), "Gain");
    let band = BandSettings::new(FilterType::Peaking, 1_000.0, 1.0, 6.0);
    assert!(
        !touches_beyond_prepared(&mut Equalizer::new(&[band]).unwrap(), 2),
        "Equalizer"
    );
    assert!(
        !touches_beyond_prepared(&mut Limiter::new(LimiterSettings::default()).unwrap(), 2),
        "Limiter"
    );
    assert!(
        !touches_beyond_prepared(
            &mut Compressor::new(CompressorSettings::default()).unwrap(),
            2
        ),
        "Compressor"
    );
}

#[test]
fn documented_limits_are_accepted_at_both_ends() {
    let at = |f: fn(&mut CompressorSettings, f32), v: f32| {
        let mut s = CompressorSettings::default();
        f(&mut s, v);
        s.validate()
    };
    at(|s, v| s.attack_ms = v, 0.01).expect("attack_ms = 0.01 is the documented minimum");
    at(|s, v| s.attack_ms = v, 500.0).unwrap();
    at(|s, v| s.rms_window_ms = v, 0.1).expect("rms_window_ms = 0.1 is the documented minimum");
    BandSettings::new(FilterType::Peaking, 1_000.0, 0.025, 0.0)
        .validate()
        .expect("q = 0.025 is the documented minimum");
    assert!(at(|s, v| s.attack_ms = v, 0.009).is_err());
}

#[test]
fn an_eq_handle_refuses_a_band_above_nyquist_instead_of_moving_it() {
    let mut eq =
        Equalizer::new(&[BandSettings::new(FilterType::Peaking, 1_000.0, 1.0, 0.0)]).unwrap();
    eq.prepare(&stereo_spec(512)).unwrap();
    let e = eq
        .handle()
        .set_band(
            0,
            BandSettings::new(FilterType::Peaking, 40_000.0, 1.0, 6.0),
        )
        .expect_err("a 40 kHz band at 48 kHz");
    assert!(e.to_string().contains("frequency_hz = 40000"), "{e}");
}

#[test]
fn lowering_the_limiter_ceiling_does_not_clip() {
    let mut lim = Limiter::new(LimiterSettings::default()).unwrap();
    lim.prepare(&StreamSpec::new(48_000.0, 240, 1).unwrap())
        .unwrap();
    let h = lim.handle();
    let mut block = AudioBuffer::new(1, 240);
    let mut t = 0usize;
    let mut fill = |b: &mut AudioBuffer| {
        for v in b.channel_mut(0) {
            *v = 0.9 * (std::f64::consts::TAU * 440.0 * t as f64 / 48_000.0).sin() as f32;
            t += 1;
        }
    };
    let mut flat_top = 0;
    let mut longest_flat = 0;
    for k in 0..40 {
        if k == 20 {
            h.set_ceiling_db(-12.0).unwrap();
        }
        fill(&mut block);
        lim.process(&mut block);
        if k >= 20 {
            // A clipped sample sits exactly on the ceiling, next to others
            // that do: count runs of equal magnitude.
            let x = block.channel(0);
            let mut run = 0;
            for i in 1..x.len() {
                if x[i].abs() == x[i - 1].abs() && x[i] != 0.0 {
                    run += 1;
                    flat_top += 1;
                    longest_flat = longest_flat.max(run);
                } else {
                    run = 0;
                }
            }
        }
    }
    assert_eq!(
        flat_top, 0,
        "flat tops after a ceiling change (longest {longest_flat})"
    );
}

#[test]
fn one_sample_of_1e30_is_forgotten_by_a_narrow_deep_band() {
    let band = BandSettings::new(FilterType::Peaking, 40.0, 40.0, 24.0);
    let run = |poison: bool| {
        let mut eq = Equalizer::new(&[band]).unwrap();
        eq.prepare(&StreamSpec::new(48_000.0, 512, 1).unwrap())
            .unwrap();
        let mut block = AudioBuffer::new(1, 512);
        let mut out = Vec::new();
        for k in 0..200 {
            for (i, v) in block.channel_mut(0).iter_mut().enumerate() {
                let t = (k * 512 + i) as f64 / 48_000.0;
                *v = 0.1 * (std::f64::consts::TAU * 220.0 * t).sin() as f32;
            }
            if k == 3 {
                block.channel_mut(0)[7] = if poison { 1e30 } else { 0.0 };
            }
            eq.process(&mut block);
            out.extend_from_slice(block.channel(0));
        }
        out
    };
    let (with, without) = (run(true), run(false));
    // Two seconds later (the issue found 3e28 there, and 99 s to recover).
    let at = 2 * 48_000;
    let worst = (at..with.len())
        .map(|i| (with[i] - without[i]).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst < 1e-3,
        "still {worst:e} away from the clean run after 2 s"
    );
}

#[test]
fn an_infinite_block_does_not_duck_the_compressor() {
    let run = |poison: bool| {
        let mut comp = Compressor::new(CompressorSettings::default()).unwrap();
        comp.prepare(&stereo_spec(512)).unwrap();
        let mut block = AudioBuffer::new(2, 512);
        let mut reductions = Vec::new();
        for k in 0..20 {
            for ch in 0..2 {
                block.channel_mut(ch).fill(if poison && k == 5 {
                    f32::INFINITY
                } else {
                    0.05
                });
            }
            comp.process(&mut block);
            reductions.push(comp.gain_reduction_db());
        }
        reductions
    };
    let (with, without) = (run(true), run(false));
    for k in 6..20 {
        assert!(
            (with[k] - without[k]).abs() < 0.01,
            "block {k}: {} dB of gain reduction, {} without the Inf block",
            with[k],
            without[k]
        );
    }
}

/// The old error path turned rubato's errors into a `String` on the audio
/// thread. That path cannot be reached from outside (it needs a bookkeeping
/// bug), so the guarantee is structural: every error `process` can return
/// is `Copy`, which a heap-owning value cannot be.
#[test]
fn audio_thread_errors_cannot_own_heap_memory() {
    fn is_copy<T: Copy>() {}
    is_copy::<kmidi_dsp::ProcessError>();
}

#[test]
fn the_resamplers_error_path_does_not_allocate() {
    // Every error `process` can return, including one relayed from rubato,
    // is `Copy`: it cannot own a `String`, so building it cannot allocate.
    // (Before the fix the error type was `ConfigError`, whose
    // `Resampler(String)` variant is built from rubato's message: this
    // does not compile against that version.)
    fn returns_a_copy_error<'a, E: Copy>(
        _: fn(&'a mut Resampler, &'a AudioBuffer) -> Result<&'a AudioBuffer, E>,
    ) {
    }
    returns_a_copy_error(Resampler::process);
    let mut rs = Resampler::new(ResamplerConfig::new(44_100, 48_000, 2, 64)).unwrap();
    let wrong = AudioBuffer::new(1, 64);
    let (failed, stats) = count_allocations(|| rs.process(&wrong).is_err());
    assert!(failed);
    assert_eq!(stats.allocations, 0);
}
