//! True peak: the level of the waveform between samples, and what the
//! limiter's true-peak mode needs to keep it under a ceiling.
//!
//! A DAC reconstructs a band-limited waveform from the samples; its peaks
//! can lie several dB above the largest sample (+6 dB on loud noise).
//! ITU-R BS.1770-4 measures them 4× oversampled. Meters disagree about
//! content near Nyquist: BS.1770's own 12-tap-per-phase interpolator
//! reads limited white noise 0.5 dB lower than scipy's `resample_poly` or
//! an ideal (FFT) interpolation. So the limiter's true-peak mode
//!
//! 1. band-limits its input to 0.8 × Nyquist (flat to 18 kHz, -6 dB at
//!    19.2 kHz at 48 kHz) with a linear-phase FIR ([`BandLimiter`]), a band
//!    where every good meter agrees;
//! 2. reads the true peak with a 4× interpolator that is flat to 0.01 dB
//!    up to that band edge ([`Interpolator`], 40 taps per phase), and
//! 3. aims 0.05 dB under the ceiling ([`TRUE_PEAK_MARGIN_DB`]): without
//!    it, the error that fast gain changes add between samples reached
//!    +0.01 dB.
//!
//! Measured (tests/true_peak.rs, an ideal FFT meter; docs/PERFORMANCE.md
//! has scipy's `resample_poly` readings too): at most 0.04 dB under the
//! ceiling on noise at ±4 and ±8 FS, level jumps, sines at 10-17 kHz at
//! awkward phases, squares and 15-19 kHz bursts, where sample-peak limiting
//! overshoots by up to +6.4 dB.
//!
//! [`TRUE_PEAK_PHASES`] is BS.1770-4's own filter, for meters that must
//! match the standard exactly.

use crate::simd::dot;

/// ITU-R BS.1770-4 Annex 2's 4× interpolation filter, in units of 2⁻¹³
/// (every published coefficient is an exact multiple of it). Phases 2
/// and 3 are phases 1 and 0 reversed.
const BS1770_TABLE: [[i16; 12]; 2] = [
    [
        14, 90, -161, 272, -487, 1125, 7964, -838, 390, -218, 122, -68,
    ],
    [
        -239, 240, -424, 730, -1364, 3810, 6388, -1641, 832, -477, 271, -155,
    ],
];

/// BS.1770-4's four phases as `f32`: `TRUE_PEAK_PHASES[p][k]` multiplies
/// the sample `k` frames old.
pub const TRUE_PEAK_PHASES: [[f32; 12]; 4] = {
    let mut out = [[0.0f32; 12]; 4];
    let mut k = 0;
    while k < 12 {
        out[0][k] = BS1770_TABLE[0][k] as f32 / 8192.0;
        out[1][k] = BS1770_TABLE[1][k] as f32 / 8192.0;
        out[2][k] = BS1770_TABLE[1][11 - k] as f32 / 8192.0;
        out[3][k] = BS1770_TABLE[0][11 - k] as f32 / 8192.0;
        k += 1;
    }
    out
};

/// How far under the ceiling the true-peak mode aims, in dB.
pub const TRUE_PEAK_MARGIN_DB: f32 = 0.05;

/// Taps per phase of the limiter's interpolator.
const INTERPOLATOR_TAPS: usize = 40;
/// Taps of the band-limiting FIR (odd: a whole-frame delay).
const BAND_LIMIT_TAPS: usize = 127;
/// The band limit, as a share of Nyquist.
const BAND_LIMIT: f64 = 0.8;

fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    for k in 1..60 {
        term *= (x / (2.0 * k as f64)).powi(2);
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// A Kaiser-windowed sinc of `len` points, centred, cut off at `cutoff`
/// cycles per point × 2 (so 1.0 is Nyquist of the points' rate).
fn kaiser_sinc(len: usize, beta: f64, cutoff: f64, step: f64) -> Vec<f64> {
    let centre = (len - 1) as f64 / 2.0;
    (0..len)
        .map(|i| {
            let x = (i as f64 - centre) * step;
            let sinc = if x == 0.0 {
                cutoff
            } else {
                (std::f64::consts::PI * cutoff * x).sin() / (std::f64::consts::PI * x)
            };
            let r = (i as f64 - centre) / centre;
            sinc * bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / bessel_i0(beta)
        })
        .collect()
}

/// A 4× polyphase interpolator that reports the largest magnitude of the
/// four points it reconstructs per input frame.
#[derive(Debug, Clone, Default)]
pub struct Interpolator {
    taps: usize,
    /// Phase-major, each phase reversed: `rev[p * taps + j]` multiplies
    /// the `j`-th oldest sample of the window.
    rev: Vec<f32>,
}

impl Interpolator {
    /// The limiter's interpolator: a Kaiser-windowed (β 8) sinc of 159
    /// points cut off at 0.9 × Nyquist, flat to 0.01 dB up to 0.75 ×
    /// Nyquist, the band limit's passband.
    pub fn limiter() -> Self {
        let taps = INTERPOLATOR_TAPS;
        // An odd length puts one tap on the centre, so the four phases
        // read the waveform exactly at whole and quarter frames.
        let mut proto = kaiser_sinc(4 * taps - 1, 8.0, 0.9, 0.25);
        proto.push(0.0);
        let mut rev = vec![0.0f32; 4 * taps];
        for p in 0..4 {
            // Each phase sums to 1: unity gain at DC whatever the phase.
            let sum: f64 = (0..taps).map(|k| proto[k * 4 + p]).sum();
            for k in 0..taps {
                rev[p * taps + (taps - 1 - k)] = (proto[k * 4 + p] / sum) as f32;
            }
        }
        Self { taps, rev }
    }

    /// BS.1770-4's interpolator ([`TRUE_PEAK_PHASES`]).
    pub fn bs1770() -> Self {
        let taps = 12;
        let mut rev = vec![0.0f32; 4 * taps];
        for (p, phase) in TRUE_PEAK_PHASES.iter().enumerate() {
            for (k, &c) in phase.iter().enumerate() {
                rev[p * taps + (taps - 1 - k)] = c;
            }
        }
        Self { taps, rev }
    }

    /// Samples one reading looks at.
    pub fn taps(&self) -> usize {
        self.taps
    }

    /// The true peak of `window` (`taps()` samples, oldest first): the
    /// largest of the four interpolated points' magnitudes.
    #[inline]
    pub fn peak(&self, window: &[f32]) -> f32 {
        self.rev
            .chunks_exact(self.taps)
            .map(|phase| dot(phase, window).abs())
            .fold(0.0f32, f32::max)
    }

    /// The true peak of a whole signal (offline: a meter).
    ///
    /// ```
    /// use kmidi_dsp::true_peak::Interpolator;
    /// // A 12 kHz sine at 48 kHz sampled at ±45°: samples reach 0.707,
    /// // the waveform 1.0.
    /// let x: Vec<f32> = (0..4800)
    ///     .map(|i| (std::f32::consts::TAU * 0.25 * i as f32 + std::f32::consts::FRAC_PI_4).sin())
    ///     .collect();
    /// let peak = Interpolator::bs1770().peak_of(&x);
    /// assert!((peak - 1.0).abs() < 0.02, "{peak}");
    /// ```
    pub fn peak_of(&self, signal: &[f32]) -> f32 {
        signal
            .windows(self.taps)
            .map(|w| self.peak(w))
            .fold(0.0f32, f32::max)
    }
}

/// A linear-phase FIR low-pass per channel: the true-peak mode's band
/// limit (127 taps, Kaiser β 8): flat to 0.75 × Nyquist (18 kHz at 48
/// kHz), -6 dB at 0.8 × Nyquist, below -90 dB from 0.92 × Nyquist up.
#[derive(Debug, Clone, Default)]
pub struct BandLimiter {
    taps: Vec<f32>,
    /// Per channel, the last `taps` inputs twice over.
    history: Vec<Vec<f32>>,
    pos: usize,
}

impl BandLimiter {
    /// A band limiter for `channels` channels.
    pub fn new(channels: usize) -> Self {
        let h = kaiser_sinc(BAND_LIMIT_TAPS, 8.0, BAND_LIMIT, 1.0);
        let sum: f64 = h.iter().sum();
        Self {
            // Symmetric, so its own reverse.
            taps: h.iter().map(|v| (v / sum) as f32).collect(),
            history: vec![vec![0.0; 2 * BAND_LIMIT_TAPS]; channels],
            pos: 0,
        }
    }

    /// Delay, frames.
    pub fn delay(&self) -> usize {
        self.taps.len() / 2
    }

    /// Filters one sample of channel `ch`; call [`advance`](Self::advance)
    /// once per frame after every channel.
    #[inline]
    pub fn filter(&mut self, ch: usize, x: f32) -> f32 {
        let n = self.taps.len();
        let h = &mut self.history[ch];
        h[self.pos] = x;
        h[self.pos + n] = x;
        dot(&self.taps, &h[self.pos + 1..self.pos + 1 + n])
    }

    /// Moves to the next frame.
    #[inline]
    pub fn advance(&mut self) {
        self.pos = if self.pos + 1 == self.taps.len() {
            0
        } else {
            self.pos + 1
        };
    }

    /// Clears the history.
    pub fn reset(&mut self) {
        for h in self.history.iter_mut() {
            h.fill(0.0);
        }
        self.pos = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interpolator_is_flat_to_the_band_limit() {
        let tp = Interpolator::limiter();
        for freq in [1_000.0, 6_000.0, 12_000.0, 16_000.0, 18_000.0] {
            // A sine whose samples never hit its peak. A 4× reading sees
            // the waveform at quarter frames: compare with the largest of
            // those exact points.
            let wave = |t: f64| (std::f64::consts::TAU * freq * t / 48_000.0 + 0.3).sin();
            let x: Vec<f32> = (0..4_800).map(|i| wave(i as f64) as f32).collect();
            let exact = (0..4 * 4_800)
                .map(|q| wave(q as f64 / 4.0).abs())
                .fold(0.0f64, f64::max);
            let db = 20.0 * (tp.peak_of(&x) as f64 / exact).log10();
            assert!(db.abs() < 0.01, "{freq} Hz reads {db:+.3} dB");
        }
    }

    #[test]
    fn the_band_limiter_passes_the_band_and_stops_nyquist() {
        // RMS over whole cycles, relative to the sine's (1 / √2).
        let level = |freq: f64| {
            let mut bl = BandLimiter::new(1);
            let mut energy = 0.0f64;
            for i in 0..9_600 {
                let x = (std::f64::consts::TAU * freq * i as f64 / 48_000.0).sin() as f32;
                let y = bl.filter(0, x);
                bl.advance();
                if i >= 4_800 {
                    energy += (y as f64).powi(2);
                }
            }
            10.0 * (energy / 4_800.0 * 2.0).log10()
        };
        for freq in [1_000.0, 10_000.0, 16_000.0, 18_000.0] {
            assert!(
                level(freq).abs() < 0.01,
                "{freq} Hz: {:+.3} dB",
                level(freq)
            );
        }
        for freq in [22_000.0, 23_000.0, 23_900.0] {
            assert!(level(freq) < -90.0, "{freq} Hz: {:+.1} dB", level(freq));
        }
    }
}
