//! Signal helpers shared by the integration tests.
#![allow(dead_code)]

use kmidi_dsp::AudioBuffer;

/// Seeded test noise (fastrand, the workspace's one generator).
pub struct Noise(fastrand::Rng);

impl Noise {
    pub fn new(seed: u64) -> Self {
        Self(fastrand::Rng::with_seed(seed))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0.u64(..)
    }
    /// Uniform in [-1, 1).
    pub fn sample(&mut self) -> f32 {
        self.0.f32() * 2.0 - 1.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        self.0.usize(..n)
    }
}

pub fn sine(freq: f64, sample_rate: f64, frames: usize, amplitude: f32) -> Vec<f32> {
    (0..frames)
        .map(|i| {
            (amplitude as f64 * (2.0 * std::f64::consts::PI * freq * i as f64 / sample_rate).sin())
                as f32
        })
        .collect()
}

/// Fills every channel of `buf` from `signal[offset..]`.
pub fn fill_from(buf: &mut AudioBuffer, signal: &[f32], offset: usize) {
    for ch in 0..buf.channels() {
        let frames = buf.frames();
        buf.channel_mut(ch)
            .copy_from_slice(&signal[offset..offset + frames]);
    }
}

/// RMS of the difference between consecutive samples' second differences:
/// a crude detector of clicks (steps show up as large second differences).
pub fn max_second_difference(x: &[f32]) -> f32 {
    x.windows(3)
        .map(|w| (w[2] - 2.0 * w[1] + w[0]).abs())
        .fold(0.0, f32::max)
}
