//! Proves that every processor family's `process` makes no heap allocation,
//! at any block size and while parameters glide. Uses the crate's counting
//! allocator, which counts per thread, so parallel tests do not interfere.

mod common;

use kmidi_dsp::alloc_probe::{CountingAllocator, count_allocations};
use kmidi_dsp::biquad::FilterType;
use kmidi_dsp::denormal::DenormalGuard;
use kmidi_dsp::dynamics::{Compressor, CompressorSettings, Detection, Limiter, LimiterSettings};
use kmidi_dsp::eq::{BandOrder, BandSettings, Equalizer};
use kmidi_dsp::gain::Gain;
use kmidi_dsp::mixer::{Mixer, MixerConfig, SendTap, StripLayout};
use kmidi_dsp::resampler::{Resampler, ResamplerConfig, ResamplerQuality};
use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const BLOCKS: [usize; 7] = [512, 1, 64, 333, 2048, 0, 7];

fn noisy(buf: &mut AudioBuffer, seed: u64) {
    let mut n = common::Noise::new(seed);
    for ch in buf.channels_iter_mut() {
        for s in ch {
            *s = n.sample();
        }
    }
}

/// Runs `proc` over every block size, calling `poke` (a parameter change
/// from the "control thread") between blocks, and counts only `process`.
fn assert_process_never_allocates(
    name: &str,
    proc: &mut dyn Processor,
    channels: usize,
    poke: &mut dyn FnMut(usize),
) {
    let spec = StreamSpec::new(48_000.0, 2048, channels).unwrap();
    proc.prepare(&spec).unwrap();
    let mut buf = AudioBuffer::new(channels, 2048);
    let mut total = 0;
    for round in 0..4 {
        for (i, &frames) in BLOCKS.iter().enumerate() {
            buf.set_frames(frames).unwrap();
            noisy(&mut buf, (round * 10 + i) as u64 + 1);
            poke(round * BLOCKS.len() + i);
            let ((), stats) = count_allocations(|| proc.process(&mut buf));
            total += stats.allocations;
        }
    }
    // NaN and Inf blocks take the recovery paths.
    buf.set_frames(256).unwrap();
    buf.channel_mut(0).fill(f32::NAN);
    let ((), stats) = count_allocations(|| proc.process(&mut buf));
    total += stats.allocations;
    let ((), stats) = count_allocations(|| proc.reset());
    total += stats.allocations;
    assert_eq!(total, 0, "{name}: process/reset allocated {total} times");
}

#[test]
fn the_probe_itself_counts() {
    let (v, stats) = count_allocations(|| vec![0u8; 100]);
    assert_eq!(stats.allocations, 1);
    assert_eq!(stats.bytes, 100);
    drop(v);
}

#[test]
fn gain_never_allocates() {
    let mut g = Gain::new(-3.0);
    let h = g.handle();
    assert_process_never_allocates("Gain", &mut g, 2, &mut |i| {
        h.set_db(-(i as f32 % 40.0)).unwrap()
    });
}

#[test]
fn equalizer_never_allocates_in_either_order() {
    let bands = [
        BandSettings::new(FilterType::LowShelf, 100.0, 0.7, 3.0),
        BandSettings::new(FilterType::Peaking, 1_000.0, 1.0, -3.0),
        BandSettings::new(FilterType::HighPass, 30.0, 0.7, 0.0),
    ];
    for order in [BandOrder::Fused, BandOrder::Sequential] {
        let mut eq = Equalizer::new(&bands).unwrap().with_band_order(order);
        let h = eq.handle();
        assert_process_never_allocates("Equalizer", &mut eq, 8, &mut |i| {
            h.set_band(
                1,
                BandSettings::new(
                    FilterType::Peaking,
                    500.0 + 100.0 * i as f32,
                    1.0,
                    (i % 12) as f32,
                ),
            )
            .unwrap()
        });
    }
}

#[test]
fn compressor_never_allocates() {
    for (detection, stereo_link) in [
        (Detection::Peak, true),
        (Detection::Rms, true),
        (Detection::Peak, false),
    ] {
        let mut c = Compressor::new(CompressorSettings {
            detection,
            stereo_link,
            ..Default::default()
        })
        .unwrap();
        let h = c.handle();
        assert_process_never_allocates("Compressor", &mut c, 2, &mut |i| {
            h.set(&CompressorSettings {
                threshold_db: -(i as f32 % 30.0),
                makeup_db: (i % 6) as f32,
                detection,
                stereo_link,
                ..Default::default()
            })
            .unwrap()
        });
    }
}

#[test]
fn limiter_never_allocates() {
    let mut l = Limiter::new(LimiterSettings::default()).unwrap();
    let h = l.handle();
    assert_process_never_allocates("Limiter", &mut l, 2, &mut |i| {
        h.set_ceiling_db(-(i as f32 % 12.0)).unwrap()
    });
}

#[test]
fn mixer_never_allocates() {
    let config = MixerConfig {
        strips: vec![StripLayout::Mono, StripLayout::Stereo, StripLayout::Stereo],
        aux_buses: 2,
        ramp_ms: 5.0,
    };
    let mut m = Mixer::new(&config).unwrap();
    m.prepare(&StreamSpec::new(48_000.0, 2048, 2).unwrap())
        .unwrap();
    let h = m.handle();
    let mut buses = m.create_buses();
    let mut inputs = vec![
        AudioBuffer::new(1, 2048),
        AudioBuffer::new(2, 2048),
        AudioBuffer::new(2, 2048),
    ];
    let mut total = 0;
    for (i, &frames) in BLOCKS.iter().cycle().take(28).enumerate() {
        for (k, input) in inputs.iter_mut().enumerate() {
            input.set_frames(frames).unwrap();
            noisy(input, (i * 3 + k) as u64 + 1);
        }
        h.set_gain_db(i % 3, -(i as f32)).unwrap();
        h.set_pan(0, (i as f32 / 14.0) - 1.0).unwrap();
        h.set_solo(1, i % 5 == 0).unwrap();
        h.set_mute(2, i % 4 == 0).unwrap();
        h.set_send(
            1,
            i % 2,
            -6.0,
            if i % 2 == 0 {
                SendTap::PreFader
            } else {
                SendTap::PostFader
            },
        )
        .unwrap();
        let (r, stats) = count_allocations(|| m.process(&inputs, &mut buses));
        r.unwrap();
        total += stats.allocations;
    }
    // The error path allocates nothing either.
    let (r, stats) = count_allocations(|| m.process(&inputs[..1], &mut buses));
    assert!(r.is_err());
    total += stats.allocations;
    assert_eq!(total, 0, "Mixer::process allocated {total} times");
}

#[test]
fn resampler_never_allocates_in_any_quality() {
    for quality in [
        ResamplerQuality::Fft,
        ResamplerQuality::Sinc,
        ResamplerQuality::Polynomial,
    ] {
        for (from, to) in [
            (44_100, 48_000),
            (48_000, 44_100),
            (96_000, 48_000),
            (48_000, 48_000),
        ] {
            let mut rs =
                Resampler::new(ResamplerConfig::new(from, to, 2, 2048).with_quality(quality))
                    .unwrap();
            let mut buf = AudioBuffer::new(2, 2048);
            let mut total = 0;
            for (i, &frames) in BLOCKS.iter().cycle().take(21).enumerate() {
                buf.set_frames(frames).unwrap();
                noisy(&mut buf, i as u64 + 1);
                let (r, stats) = count_allocations(|| rs.process(&buf).map(|o| o.frames()));
                r.unwrap();
                total += stats.allocations;
            }
            let ((), stats) = count_allocations(|| rs.reset());
            total += stats.allocations;
            assert_eq!(total, 0, "{quality:?} {from}->{to} allocated {total} times");
        }
    }
}

#[test]
fn ring_buffer_and_denormal_guard_never_allocate() {
    let (mut tx, mut rx) = kmidi_dsp::ring::channel::<f32>(4096);
    let block = [0.5f32; 512];
    let mut out = [0.0f32; 512];
    let ((), stats) = count_allocations(|| {
        let _guard = DenormalGuard::new();
        for _ in 0..100 {
            tx.push_entire_slice(&block).unwrap();
            tx.push(1.0).unwrap();
            rx.pop_entire_slice(&mut out).unwrap();
            rx.pop().unwrap();
        }
    });
    assert_eq!(stats.allocations, 0);
}
