//! Resampler: spectral purity, block-size independence, bypass, latency.

use crate::common;

use kmidi_dsp::AudioBuffer;
use kmidi_dsp::resampler::{Resampler, ResamplerConfig, ResamplerQuality};

/// Streams `input` (mono) through a resampler in blocks of the given sizes
/// (cycled), returning everything it produced.
fn stream(rs: &mut Resampler, input: &[f32], blocks: &[usize]) -> Vec<f32> {
    let mut out = Vec::new();
    let mut buf = AudioBuffer::new(1, rs.config().max_input_frames);
    let mut pos = 0;
    let mut k = 0;
    while pos < input.len() {
        let n = blocks[k % blocks.len()].min(input.len() - pos);
        k += 1;
        buf.set_frames(n).unwrap();
        buf.channel_mut(0).copy_from_slice(&input[pos..pos + n]);
        pos += n;
        let y = rs.process(&buf).unwrap();
        out.extend_from_slice(y.channel(0));
    }
    out
}

/// Returns (peak bin frequency in Hz, level of the strongest other
/// component in dBFS) for a window of exactly `rate` samples (1 Hz bins).
/// The tone must complete a whole number of cycles in it (coherent
/// sampling), so a rectangular window leaks nothing: every other bin is
/// aliasing, imaging, distortion or noise.
fn analyse(signal: &[f32], rate: usize) -> (usize, f64) {
    let mut planner = realfft::RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(rate);
    let mut x: Vec<f64> = signal[..rate].iter().map(|&v| v as f64).collect();
    let mut spec = fft.make_output_vec();
    fft.process(&mut x, &mut spec).unwrap();
    let level = |k: usize| 20.0 * (2.0 * spec[k].norm() / rate as f64).max(1e-20).log10();
    let peak = (1..spec.len())
        .max_by(|&a, &b| spec[a].norm().total_cmp(&spec[b].norm()))
        .unwrap();
    let worst_other = (1..spec.len())
        .filter(|&k| k != peak)
        .map(level)
        .fold(f64::MIN, f64::max);
    (peak, worst_other)
}

fn sine_through(quality: ResamplerQuality, from: u32, to: u32) -> (usize, f64, f64) {
    let mut rs =
        Resampler::new(ResamplerConfig::new(from, to, 1, 512).with_quality(quality)).unwrap();
    let x = common::sine(1_000.0, from as f64, from as usize * 3, 0.5);
    let y = stream(&mut rs, &x, &[512]);
    // Skip the first second (start-up transient and delay).
    let tail = &y[to as usize..];
    let (peak, worst) = analyse(tail, to as usize);
    let level = 20.0
        * (tail
            .iter()
            .take(to as usize)
            .fold(0.0f32, |m, v| m.max(v.abs())) as f64)
            .log10();
    (peak, worst, level)
}

#[test]
fn fft_quality_is_clean_to_minus_90_dbfs_up_and_down() {
    for (from, to) in [
        (44_100, 48_000),
        (48_000, 44_100),
        (48_000, 96_000),
        (96_000, 48_000),
    ] {
        let (peak, worst, level) = sine_through(ResamplerQuality::Fft, from, to);
        assert_eq!(peak, 1_000, "{from}->{to}: tone at {peak} Hz");
        assert!(
            (level + 6.02).abs() < 0.05,
            "{from}->{to}: tone level {level} dBFS"
        );
        assert!(
            worst <= -90.0,
            "{from}->{to}: strongest spurious component {worst:.1} dBFS"
        );
    }
}

#[test]
fn sinc_quality_is_clean_to_minus_90_dbfs() {
    let (peak, worst, _) = sine_through(ResamplerQuality::Sinc, 44_100, 48_000);
    assert_eq!(peak, 1_000);
    assert!(
        worst <= -90.0,
        "strongest spurious component {worst:.1} dBFS"
    );
}

#[test]
fn polynomial_quality_keeps_the_frequency() {
    let (peak, worst, _) = sine_through(ResamplerQuality::Polynomial, 44_100, 48_000);
    assert_eq!(peak, 1_000);
    assert!(worst < -40.0, "{worst}");
}

#[test]
fn output_does_not_depend_on_block_sizes() {
    let mut noise = common::Noise::new(9);
    let x: Vec<f32> = (0..44_100).map(|_| noise.sample() * 0.5).collect();
    for quality in [
        ResamplerQuality::Fft,
        ResamplerQuality::Sinc,
        ResamplerQuality::Polynomial,
    ] {
        let cfg = ResamplerConfig::new(44_100, 48_000, 1, 512).with_quality(quality);
        let whole = stream(&mut Resampler::new(cfg).unwrap(), &x, &[512]);
        let odd = stream(
            &mut Resampler::new(cfg).unwrap(),
            &x,
            &[1, 7, 512, 100, 333, 64, 2],
        );
        let n = whole.len().min(odd.len());
        assert!(n > 40_000);
        assert_eq!(&whole[..n], &odd[..n], "{quality:?}");
    }
}

#[test]
fn matching_rates_bypass_without_copying() {
    let mut rs = Resampler::new(ResamplerConfig::new(48_000, 48_000, 2, 256)).unwrap();
    assert!(rs.is_bypass());
    assert_eq!(rs.latency_frames(), 0);
    let input = AudioBuffer::new(2, 256);
    let out = rs.process(&input).unwrap();
    assert!(
        std::ptr::eq(out, &input),
        "bypass must hand back the caller's buffer"
    );
}

#[test]
fn reported_latency_matches_an_impulse() {
    for (from, to) in [(44_100u32, 48_000u32), (48_000, 96_000), (96_000, 48_000)] {
        let mut rs = Resampler::new(ResamplerConfig::new(from, to, 1, 512)).unwrap();
        let mut x = vec![0.0f32; 512 * 8];
        x[0] = 1.0;
        let y = stream(&mut rs, &x, &[512]);
        let peak = (0..y.len())
            .max_by(|&a, &b| y[a].abs().total_cmp(&y[b].abs()))
            .unwrap();
        let delay = rs.latency_frames();
        assert!(
            peak.abs_diff(delay) <= 1,
            "{from}->{to}: impulse at {peak}, reported {delay}"
        );
    }
}

#[test]
fn stereo_channels_stay_separate() {
    let mut rs = Resampler::new(ResamplerConfig::new(44_100, 48_000, 2, 512)).unwrap();
    let mut buf = AudioBuffer::new(2, 512);
    let mut left = Vec::new();
    let mut right = Vec::new();
    for _ in 0..20 {
        buf.channel_mut(0).fill(0.5);
        buf.channel_mut(1).fill(0.0);
        let y = rs.process(&buf).unwrap();
        left.extend_from_slice(y.channel(0));
        right.extend_from_slice(y.channel(1));
    }
    assert!(right.iter().all(|v| v.abs() < 1e-6));
    assert!((left[left.len() - 1] - 0.5).abs() < 1e-3);
}

#[test]
fn bad_configs_and_blocks_are_rejected_with_the_field_named() {
    let e = Resampler::new(ResamplerConfig::new(1_000, 48_000, 2, 512)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "input_rate = 1000 Hz is out of range: allowed 8000 to 384000 Hz"
    );
    let e = Resampler::new(ResamplerConfig::new(48_000, 44_100, 0, 512)).unwrap_err();
    assert!(
        e.to_string().starts_with("channels = 0 is out of range"),
        "{e}"
    );
    let mut rs = Resampler::new(ResamplerConfig::new(48_000, 44_100, 2, 64)).unwrap();
    let e = rs.process(&AudioBuffer::new(1, 64)).unwrap_err();
    assert!(
        e.to_string()
            .contains("input channels is 1, but 2 was expected"),
        "{e}"
    );
    let e = rs.process(&AudioBuffer::new(2, 128)).unwrap_err();
    assert!(
        e.to_string()
            .contains("frames = 128 is out of range: allowed 0 to 64"),
        "{e}"
    );
}
