//! Compressor and limiter: static curve, ceiling, transparency, bad input.

use crate::common;

use kmidi_dsp::dynamics::{
    Compressor, CompressorSettings, Detection, Limiter, LimiterSettings, gain_computer_db,
};
use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};

/// The textbook curve, written independently of the crate's version.
fn expected_output_db(x: f64, t: f64, r: f64, w: f64) -> f64 {
    if x - t < -w / 2.0 {
        x
    } else if w == 0.0 || x - t > w / 2.0 {
        t + (x - t) / r
    } else {
        x + (1.0 / r - 1.0) * (x - t + w / 2.0).powi(2) / (2.0 * w)
    }
}

#[test]
fn gain_computer_matches_the_formula() {
    for &(t, r, w) in &[
        (-20.0, 4.0, 0.0),
        (-20.0, 4.0, 6.0),
        (-10.0, 2.0, 12.0),
        (-40.0, 20.0, 3.0),
    ] {
        for i in 0..=120 {
            let x = -80.0 + i as f64;
            let got = gain_computer_db(x as f32, t as f32, r as f32, w as f32) as f64;
            let want = expected_output_db(x, t, r, w);
            assert!(
                (got - want).abs() < 1e-4,
                "T={t} R={r} W={w} x={x}: {got} vs {want}"
            );
        }
    }
}

/// Runs a constant-level DC signal until the envelope settles and returns
/// the gain the compressor applies, in dB.
fn settled_gain_db(settings: CompressorSettings, level_db: f32) -> f32 {
    let spec = StreamSpec::new(48_000.0, 256, 2).unwrap();
    let mut comp = Compressor::new(settings).unwrap();
    comp.prepare(&spec).unwrap();
    let level = 10f32.powf(level_db / 20.0);
    let mut buf = AudioBuffer::new(2, 256);
    for _ in 0..400 {
        for ch in 0..2 {
            buf.channel_mut(ch).fill(level);
        }
        comp.process(&mut buf);
    }
    20.0 * (buf.channel(0)[255] / level).log10()
}

#[test]
fn steady_state_follows_the_static_curve_to_a_hundredth_of_a_db() {
    let base = CompressorSettings {
        threshold_db: -24.0,
        ratio: 4.0,
        knee_db: 6.0,
        attack_ms: 1.0,
        release_ms: 20.0,
        makeup_db: 0.0,
        detection: Detection::Peak,
        stereo_link: true,
        rms_window_ms: 5.0,
    };
    for level in [-40.0f32, -27.0, -25.0, -24.0, -22.0, -18.0, -6.0, 0.0] {
        let got = settled_gain_db(base, level);
        let want = (expected_output_db(level as f64, -24.0, 4.0, 6.0) - level as f64) as f32;
        assert!(
            (got - want).abs() < 0.01,
            "peak, level {level} dB: gain {got} dB, curve {want} dB"
        );
        // RMS of DC equals its peak, so RMS detection lands on the same curve.
        let got = settled_gain_db(
            CompressorSettings {
                detection: Detection::Rms,
                ..base
            },
            level,
        );
        assert!(
            (got - want).abs() < 0.01,
            "rms, level {level} dB: gain {got} dB, curve {want} dB"
        );
    }
    // Makeup is added on top.
    let got = settled_gain_db(
        CompressorSettings {
            makeup_db: 5.0,
            ..base
        },
        -6.0,
    );
    let want = (expected_output_db(-6.0, -24.0, 4.0, 6.0) + 6.0 + 5.0) as f32;
    assert!((got - want).abs() < 0.01, "makeup: {got} vs {want}");
}

#[test]
fn attack_is_faster_than_release() {
    let spec = StreamSpec::new(48_000.0, 480, 1).unwrap();
    let s = CompressorSettings {
        threshold_db: -20.0,
        ratio: 10.0,
        knee_db: 0.0,
        attack_ms: 1.0,
        release_ms: 200.0,
        ..Default::default()
    };
    let mut comp = Compressor::new(s).unwrap();
    comp.prepare(&spec).unwrap();
    let mut buf = AudioBuffer::new(1, 480);
    buf.channel_mut(0).fill(1.0);
    comp.process(&mut buf); // 10 ms of 0 dBFS: 10 attack time constants
    let after_attack = comp.gain_reduction_db();
    assert!(
        (after_attack + 18.0).abs() < 0.05,
        "full reduction after attack: {after_attack}"
    );
    buf.channel_mut(0).fill(0.0);
    comp.process(&mut buf); // 10 ms of silence: 1/20 of a release time constant
    let after_release = comp.gain_reduction_db();
    assert!(after_release < -16.0, "release is slow: {after_release}");
}

#[test]
fn unlinked_channels_compress_independently() {
    let spec = StreamSpec::new(48_000.0, 256, 2).unwrap();
    let s = CompressorSettings {
        stereo_link: false,
        threshold_db: -20.0,
        ratio: 4.0,
        knee_db: 0.0,
        ..Default::default()
    };
    let mut comp = Compressor::new(s).unwrap();
    comp.prepare(&spec).unwrap();
    let mut buf = AudioBuffer::new(2, 256);
    for _ in 0..400 {
        buf.channel_mut(0).fill(1.0);
        buf.channel_mut(1).fill(0.01);
        comp.process(&mut buf);
    }
    assert!((20.0 * buf.channel(0)[0].log10() + 15.0).abs() < 0.01);
    assert!(
        (buf.channel(1)[0] - 0.01).abs() < 1e-6,
        "quiet channel untouched"
    );
}

#[test]
fn ratio_one_is_transparent_within_1e6() {
    let spec = StreamSpec::new(48_000.0, 512, 2).unwrap();
    let mut comp = Compressor::new(CompressorSettings {
        ratio: 1.0,
        ..Default::default()
    })
    .unwrap();
    comp.prepare(&spec).unwrap();
    let mut noise = common::Noise::new(11);
    let mut buf = AudioBuffer::new(2, 512);
    for _ in 0..20 {
        let x: Vec<f32> = (0..512).map(|_| noise.sample()).collect();
        common::fill_from(&mut buf, &x, 0);
        comp.process(&mut buf);
        for (a, b) in buf.channel(1).iter().zip(&x) {
            assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
        }
    }
}

#[test]
fn nan_and_inf_do_not_poison_the_compressor() {
    let spec = StreamSpec::new(48_000.0, 128, 2).unwrap();
    for detection in [Detection::Peak, Detection::Rms] {
        let mut comp = Compressor::new(CompressorSettings {
            detection,
            release_ms: 20.0,
            ..Default::default()
        })
        .unwrap();
        comp.prepare(&spec).unwrap();
        let mut buf = AudioBuffer::new(2, 128);
        buf.channel_mut(0).fill(f32::NAN);
        buf.channel_mut(1).fill(f32::INFINITY);
        comp.process(&mut buf);
        for _ in 0..100 {
            buf.channel_mut(0).fill(0.001);
            buf.channel_mut(1).fill(0.001);
            comp.process(&mut buf);
        }
        assert!(comp.gain_reduction_db().is_finite());
        for ch in 0..2 {
            assert!(
                buf.channel(ch).iter().all(|v| (v - 0.001).abs() < 1e-5),
                "{detection:?} recovered"
            );
        }
    }
}

fn run_limiter(
    settings: LimiterSettings,
    channels: usize,
    signal: &dyn Fn(usize, usize) -> f32,
    frames: usize,
    block: usize,
) -> Vec<Vec<f32>> {
    let spec = StreamSpec::new(48_000.0, block, channels).unwrap();
    let mut lim = Limiter::new(settings).unwrap();
    lim.prepare(&spec).unwrap();
    let mut out = vec![Vec::new(); channels];
    let mut buf = AudioBuffer::new(channels, block);
    let mut pos = 0;
    while pos < frames {
        let n = block.min(frames - pos);
        buf.set_frames(n).unwrap();
        for ch in 0..channels {
            for (i, s) in buf.channel_mut(ch).iter_mut().enumerate() {
                *s = signal(ch, pos + i);
            }
        }
        lim.process(&mut buf);
        for (ch, o) in out.iter_mut().enumerate() {
            o.extend_from_slice(buf.channel(ch));
        }
        pos += n;
    }
    out
}

#[test]
fn limiter_never_exceeds_its_ceiling_on_random_input() {
    for (seed, ceiling_db, lookahead_ms, release_ms) in [
        (1u64, -0.3f32, 5.0f32, 80.0f32),
        (2, -6.0, 1.0, 10.0),
        (3, -1.0, 0.1, 1.0),
        (4, -12.0, 20.0, 500.0),
    ] {
        let ceiling = 10f32.powf(ceiling_db / 20.0);
        let noise = std::cell::RefCell::new(common::Noise::new(seed));
        // Bursts of loud noise (up to +24 dBFS) between quieter passages.
        let sig = |_ch: usize, i: usize| {
            let loud = if (i / 3000).is_multiple_of(2) {
                16.0
            } else {
                0.5
            };
            noise.borrow_mut().sample() * loud
        };
        let s = LimiterSettings {
            ceiling_db,
            lookahead_ms,
            release_ms,
            ..Default::default()
        };
        for block in [1usize, 64, 333, 512] {
            let out = run_limiter(s, 2, &sig, 48_000, block);
            let peak = out.iter().flatten().fold(0.0f32, |m, v| m.max(v.abs()));
            assert!(
                peak <= ceiling,
                "seed {seed} block {block}: peak {peak} > ceiling {ceiling}"
            );
        }
    }
}

#[test]
fn limiter_holds_full_scale_square_waves_without_relying_on_the_clamp() {
    let s = LimiterSettings {
        ceiling_db: -3.0,
        lookahead_ms: 5.0,
        release_ms: 50.0,
        ..Default::default()
    };
    let ceiling = 10f32.powf(-3.0 / 20.0);
    for period in [4usize, 50, 480, 4800] {
        let sig = |ch: usize, i: usize| {
            let v = if (i / (period / 2).max(1)).is_multiple_of(2) {
                1.0
            } else {
                -1.0
            };
            if ch == 0 { v } else { -v * 0.5 }
        };
        let out = run_limiter(s, 2, &sig, 96_000, 512);
        let peak = out.iter().flatten().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(peak <= ceiling, "period {period}: {peak}");
        // Steady state reaches the ceiling (the gain is not just crushed).
        let tail_peak = out[0][90_000..].iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(
            tail_peak > ceiling * 0.99,
            "period {period}: tail peak {tail_peak}"
        );
    }
}

#[test]
fn limiter_is_transparent_below_the_ceiling_apart_from_its_delay() {
    let s = LimiterSettings {
        ceiling_db: -1.0,
        lookahead_ms: 2.0,
        release_ms: 50.0,
        ..Default::default()
    };
    let x = common::sine(440.0, 48_000.0, 9_600, 0.5);
    let out = run_limiter(s, 1, &|_, i| x[i], 9_600, 256);
    let spec = StreamSpec::new(48_000.0, 256, 1).unwrap();
    let mut lim = Limiter::new(s).unwrap();
    lim.prepare(&spec).unwrap();
    let d = lim.latency_frames();
    assert_eq!(d, 95);
    for i in d..9_600 {
        assert!((out[0][i] - x[i - d]).abs() < 1e-6);
    }
}

#[test]
fn limiter_ceiling_can_change_at_run_time() {
    let spec = StreamSpec::new(48_000.0, 512, 1).unwrap();
    let mut lim = Limiter::new(LimiterSettings::default()).unwrap();
    lim.prepare(&spec).unwrap();
    let h = lim.handle();
    let mut buf = AudioBuffer::new(1, 512);
    for i in 0..50 {
        if i == 25 {
            h.set_ceiling_db(-12.0).unwrap();
        }
        buf.channel_mut(0).fill(0.9);
        lim.process(&mut buf);
        // The new ceiling glides in over 20 ms and then has to come
        // through the 5 ms lookahead: in force 2.3 blocks later.
        if i > 25 + 3 {
            assert!(buf.peak() <= 10f32.powf(-12.0 / 20.0));
        }
        assert!(buf.peak() <= 10f32.powf(-0.3 / 20.0));
    }
    assert!(h.set_ceiling_db(3.0).is_err());
}

#[test]
fn limiter_replaces_non_finite_input_with_silence() {
    let sig = |_: usize, i: usize| {
        if i.is_multiple_of(7) {
            f32::NAN
        } else if i.is_multiple_of(11) {
            f32::INFINITY
        } else {
            0.5
        }
    };
    let out = run_limiter(LimiterSettings::default(), 1, &sig, 4_800, 128);
    assert!(out[0].iter().all(|v| v.is_finite() && v.abs() <= 1.0));
}

#[test]
fn settings_errors_name_the_field_and_range() {
    let e = Compressor::new(CompressorSettings {
        ratio: 0.5,
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "ratio = 0.5:1 is out of range: allowed 1 to 100:1"
    );
    let e = Limiter::new(LimiterSettings {
        lookahead_ms: 50.0,
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "lookahead_ms = 50 ms is out of range: allowed 0.1 to 20 ms"
    );
    let e = Compressor::new(CompressorSettings {
        attack_ms: f32::NAN,
        ..Default::default()
    })
    .unwrap_err();
    assert!(e.to_string().starts_with("attack_ms is NaN"), "{e}");
}

#[test]
fn attack_slower_than_release_is_honoured() {
    // The smoother picks attack or release without a branch (min when attack
    // is faster, max when slower); check the slower-attack side.
    let spec = StreamSpec::new(48_000.0, 480, 1).unwrap();
    let s = CompressorSettings {
        threshold_db: -20.0,
        ratio: 10.0,
        knee_db: 0.0,
        attack_ms: 200.0,
        release_ms: 1.0,
        ..Default::default()
    };
    let mut comp = Compressor::new(s).unwrap();
    comp.prepare(&spec).unwrap();
    let mut buf = AudioBuffer::new(1, 480);
    buf.channel_mut(0).fill(1.0);
    comp.process(&mut buf); // 10 ms: 1/20 of the attack time constant
    let after_attack = comp.gain_reduction_db();
    let expected = -18.0 * (1.0 - (-10.0f32 / 200.0).exp());
    assert!(
        (after_attack - expected).abs() < 0.05,
        "{after_attack} vs {expected}"
    );
    buf.channel_mut(0).fill(0.0);
    comp.process(&mut buf); // 10 ms of silence: 10 release time constants
    assert!(
        comp.gain_reduction_db() > -0.01,
        "{}",
        comp.gain_reduction_db()
    );
}
