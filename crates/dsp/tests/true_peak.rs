//! The limiter's true-peak mode against an independent meter: ideal
//! band-limited 4× interpolation by FFT zero-padding (not the BS.1770
//! filter the limiter itself uses). Inter-sample peaks must stay within
//! ceiling + 0.1 dB on the material that overshoots a sample-peak limiter.

mod common;

use kmidi_dsp::dynamics::{Limiter, LimiterSettings};
use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};
use realfft::RealFftPlanner;
use realfft::num_complex::Complex;

const RATE: f64 = 48_000.0;
const CEILING_DB: f32 = -1.0;

/// The largest magnitude of `x` reconstructed at 4× its rate, by zero-padding
/// its spectrum (ideal sinc interpolation). `x` should start and end in
/// silence, since the FFT wraps around.
fn true_peak_4x(x: &[f32]) -> f64 {
    let n = x.len();
    let mut planner = RealFftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(n);
    let inverse = planner.plan_fft_inverse(4 * n);
    let mut input: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let mut spectrum = forward.make_output_vec();
    forward.process(&mut input, &mut spectrum).unwrap();
    let mut wide = vec![Complex::new(0.0, 0.0); 2 * n + 1];
    wide[..spectrum.len()].copy_from_slice(&spectrum);
    if n.is_multiple_of(2) {
        // The Nyquist bin of the short signal is split between +/-.
        wide[n / 2] *= 0.5;
    }
    let mut out = inverse.make_output_vec();
    inverse.process(&mut wide, &mut out).unwrap();
    out.iter().map(|v| (v / n as f64).abs()).fold(0.0, f64::max)
}

fn db(x: f64) -> f64 {
    20.0 * x.log10()
}

/// Runs `signal` (mono) through a limiter, with silence around it.
fn limit(signal: &[f32], true_peak: bool) -> Vec<f32> {
    let settings = LimiterSettings {
        ceiling_db: CEILING_DB,
        true_peak,
        ..Default::default()
    };
    let mut lim = Limiter::new(settings).unwrap();
    lim.prepare(&StreamSpec::new(RATE, 512, 1).unwrap())
        .unwrap();
    let pad = 4_096;
    let mut x = vec![0.0f32; pad];
    x.extend_from_slice(signal);
    x.resize(x.len() + 2 * pad, 0.0);
    let mut out = Vec::with_capacity(x.len());
    let mut block = AudioBuffer::new(1, 512);
    for chunk in x.chunks(512) {
        block.set_frames(chunk.len()).unwrap();
        block.channel_mut(0).copy_from_slice(chunk);
        lim.process(&mut block);
        out.extend_from_slice(block.channel(0));
    }
    out
}

fn overshoot_db(signal: &[f32], true_peak: bool) -> f64 {
    db(true_peak_4x(&limit(signal, true_peak))) - CEILING_DB as f64
}

fn material() -> Vec<(&'static str, Vec<f32>)> {
    let n = RATE as usize;
    let mut noise = common::Noise::new(11);
    let loud_noise: Vec<f32> = (0..n).map(|_| 4.0 * noise.sample()).collect();
    let jumps: Vec<f32> = (0..n)
        .map(|i| {
            let level = if (i / 4_800).is_multiple_of(2) {
                0.05
            } else {
                4.0
            };
            level * noise.sample()
        })
        .collect();
    let sine_12k_45: Vec<f32> = (0..n)
        .map(|i| {
            2.0 * (std::f64::consts::TAU * 12_000.0 * i as f64 / RATE + std::f64::consts::FRAC_PI_4)
                .sin() as f32
        })
        .collect();
    let square = |freq: f64| -> Vec<f32> {
        (0..n)
            .map(|i| {
                if (freq * i as f64 / RATE).fract() < 0.5 {
                    2.0
                } else {
                    -2.0
                }
            })
            .collect()
    };
    let bursts: Vec<f32> = (0..n)
        .map(|i| {
            let on = (i % 4_800) < 240;
            let f = if (i / 4_800).is_multiple_of(2) {
                15_000.0
            } else {
                19_000.0
            };
            if on {
                3.0 * (std::f64::consts::TAU * f * i as f64 / RATE + 1.0).sin() as f32
            } else {
                0.0
            }
        })
        .collect();
    let mut other_noise = common::Noise::new(97);
    let noise_8: Vec<f32> = (0..n).map(|_| 8.0 * other_noise.sample()).collect();
    let sines: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f64 / RATE;
            let f = [10_000.0, 14_000.0, 17_000.0][(i / 16_000).min(2)];
            let phase = [0.5, 1.0, 1.3][(i / 16_000).min(2)];
            2.5 * (std::f64::consts::TAU * f * t + phase).sin() as f32
        })
        .collect();
    vec![
        ("noise at ±8 FS (another seed)", noise_8),
        ("10/14/17 kHz sines at other phases, 2.5 FS", sines),
        ("noise at ±4 FS", loud_noise),
        ("level jumps 0.05 ↔ 4 FS", jumps),
        ("12 kHz sine at 45°, 2 FS", sine_12k_45),
        ("1 kHz square, 2 FS", square(1_000.0)),
        ("997 Hz square, 2 FS", square(997.0)),
        ("15/19 kHz bursts, 3 FS", bursts),
    ]
}

#[test]
fn true_peak_mode_keeps_inter_sample_peaks_under_the_ceiling() {
    let mut report = String::new();
    let mut worst = f64::MIN;
    for (name, signal) in material() {
        let sample_mode = overshoot_db(&signal, false);
        let true_mode = overshoot_db(&signal, true);
        report.push_str(&format!(
            "{name}: sample-peak mode {sample_mode:+.2} dB, true-peak mode {true_mode:+.2} dB\n"
        ));
        worst = worst.max(true_mode);
    }
    println!("{report}");
    assert!(
        worst <= 0.1,
        "inter-sample peaks over the ceiling by up to {worst:+.2} dB:\n{report}"
    );
}

#[test]
fn below_the_ceiling_both_modes_are_a_delay() {
    let x = common::sine(440.0, RATE, 9_600, 0.5);
    for true_peak in [false, true] {
        let settings = LimiterSettings {
            ceiling_db: -1.0,
            true_peak,
            ..Default::default()
        };
        let mut lim = Limiter::new(settings).unwrap();
        lim.prepare(&StreamSpec::new(RATE, 512, 1).unwrap())
            .unwrap();
        let d = lim.latency_frames();
        let mut block = AudioBuffer::new(1, 512);
        let mut out = Vec::new();
        for chunk in x.chunks(512) {
            block.set_frames(chunk.len()).unwrap();
            block.channel_mut(0).copy_from_slice(chunk);
            lim.process(&mut block);
            out.extend_from_slice(block.channel(0));
        }
        // True-peak mode also band-limits (flat to 0.01 dB at 440 Hz).
        let tolerance = if true_peak { 1e-3 } else { 1e-6 };
        for i in d + 200..x.len() {
            assert!(
                (out[i] - x[i - d]).abs() < tolerance,
                "true_peak {true_peak}, frame {i}: {} vs {}",
                out[i],
                x[i - d]
            );
        }
        assert_eq!(d, 239 + if true_peak { 102 } else { 0 });
    }
}

/// Writes every limited signal to `target/true-peak/` (raw little-endian
/// f32, mono, 48 kHz) for meters outside this crate:
/// `cargo test -p kmidi-dsp --test true_peak -- --ignored`, then
/// `scripts/eval/true_peak_scipy.py` reads them with scipy.
#[test]
#[ignore = "writes files for the scipy cross-check"]
fn write_outputs_for_external_meters() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/true-peak");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, signal) in material() {
        for (mode, true_peak) in [("sample-peak", false), ("true-peak", true)] {
            let out = limit(&signal, true_peak);
            let bytes: Vec<u8> = out.iter().flat_map(|v| v.to_le_bytes()).collect();
            let file = format!("{mode} {name}.f32").replace(['/', '±', '↔', '°'], "_");
            std::fs::write(dir.join(file), bytes).unwrap();
        }
    }
}
