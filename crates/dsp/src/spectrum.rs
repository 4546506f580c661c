//! The shared analysis front end: the periodic Hann window, the real FFT
//! (realfft), the power spectrum of the last `n` samples, and sparse
//! triangular filterbanks (mel, built as librosa builds it, and
//! log-spaced bands).
//!
//! The onset detector, the chord detector and the log-mel features all
//! take their spectra from here. [`PowerSpectrum`] allocates once, in
//! [`PowerSpectrum::new`]; [`PowerSpectrum::compute`] is allocation-free
//! and safe on the audio thread.
//!
//! ```
//! use kmidi_dsp::spectrum::{MelScale, PowerSpectrum, mel_filterbank};
//!
//! let n = 1024;
//! let mut spectrum = PowerSpectrum::new(n);
//! // A ring of the last n samples; its oldest sample is at index 0 here.
//! let ring: Vec<f32> = (0..n).map(|i| (i as f32 * 0.3).sin()).collect();
//! assert!(spectrum.compute(&ring, 0));
//! let peak = (0..spectrum.bins()).max_by(|&a, &b| spectrum.power()[a].total_cmp(&spectrum.power()[b]));
//! assert_eq!(peak, Some((0.3 * n as f32 / std::f32::consts::TAU).round() as usize));
//!
//! let bands = mel_filterbank(48_000.0, n, 40, 0.0, 24_000.0, MelScale::Slaney, true);
//! let energy: Vec<f32> = bands.iter().map(|b| b.apply(spectrum.power())).collect();
//! assert_eq!(energy.len(), 40);
//! ```

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use crate::simd::dot;

/// A periodic Hann window of `n` points (as librosa's and scipy's
/// `hann(n, sym=False)`), computed in f64 and stored as f32.
pub fn hann_periodic(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos()) as f32)
        .collect()
}

/// The power spectrum (|X|², bins 0 to n/2) of the last `n` samples,
/// Hann-windowed.
pub struct PowerSpectrum {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    power: Vec<f32>,
}

impl std::fmt::Debug for PowerSpectrum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PowerSpectrum")
            .field("fft_size", &self.window.len())
            .finish()
    }
}

impl PowerSpectrum {
    /// A front end for frames of `fft_size` samples (any size realfft
    /// plans; powers of two are fastest). Allocates.
    pub fn new(fft_size: usize) -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(fft_size.max(2));
        Self {
            window: hann_periodic(fft_size.max(2)),
            input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            power: vec![0.0; fft_size.max(2) / 2 + 1],
            fft,
        }
    }

    /// Samples per frame.
    pub fn fft_size(&self) -> usize {
        self.window.len()
    }

    /// Bins of the power spectrum (`fft_size / 2 + 1`).
    pub fn bins(&self) -> usize {
        self.power.len()
    }

    /// The power spectrum of `ring`, `fft_size` samples whose oldest is at
    /// index `oldest` (a circular buffer; 0 for samples in time order).
    /// Returns `false`, leaving the last spectrum, if `ring` is not
    /// `fft_size` long or `oldest` is outside it. No allocation.
    pub fn compute(&mut self, ring: &[f32], oldest: usize) -> bool {
        let n = self.window.len();
        if ring.len() != n || oldest >= n {
            return false;
        }
        // Unroll: the oldest samples first.
        let (newer, older) = ring.split_at(oldest);
        let split = older.len();
        let (in_old, in_new) = self.input.split_at_mut(split);
        let (w_old, w_new) = self.window.split_at(split);
        for ((o, &x), &w) in in_old.iter_mut().zip(older).zip(w_old) {
            *o = x * w;
        }
        for ((o, &x), &w) in in_new.iter_mut().zip(newer).zip(w_new) {
            *o = x * w;
        }
        if self
            .fft
            .process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch)
            .is_err()
        {
            return false;
        }
        for (p, c) in self.power.iter_mut().zip(&self.spectrum) {
            *p = c.norm_sqr();
        }
        true
    }

    /// The last power spectrum computed.
    #[inline]
    pub fn power(&self) -> &[f32] {
        &self.power
    }
}

/// One band of a filterbank: weights over a run of FFT bins.
#[derive(Debug, Clone, PartialEq)]
pub struct TriangularBand {
    /// The first bin.
    pub start: usize,
    /// One weight per bin from `start`.
    pub weights: Vec<f32>,
}

impl TriangularBand {
    /// The band's weighted sum of `power` (0 where `power` is too short).
    /// Inlined: it runs once per band per hop, often across crates.
    #[inline]
    pub fn apply(&self, power: &[f32]) -> f32 {
        power
            .get(self.start..self.start + self.weights.len())
            .map_or(0.0, |p| dot(&self.weights, p))
    }
}

/// Mel scale formula.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MelScale {
    /// Slaney's: linear below 1 kHz, logarithmic above (librosa's default).
    Slaney,
    /// HTK's: 2595 · log10(1 + f / 700).
    Htk,
}

const SLANEY_F_SP: f64 = 200.0 / 3.0;
const SLANEY_MIN_LOG_HZ: f64 = 1000.0;

fn slaney_logstep() -> f64 {
    6.4f64.ln() / 27.0
}

/// Hz to mel.
pub fn hz_to_mel(f: f64, scale: MelScale) -> f64 {
    match scale {
        MelScale::Htk => 2595.0 * (1.0 + f / 700.0).log10(),
        MelScale::Slaney => {
            if f >= SLANEY_MIN_LOG_HZ {
                SLANEY_MIN_LOG_HZ / SLANEY_F_SP + (f / SLANEY_MIN_LOG_HZ).ln() / slaney_logstep()
            } else {
                f / SLANEY_F_SP
            }
        }
    }
}

/// Mel to Hz.
pub fn mel_to_hz(m: f64, scale: MelScale) -> f64 {
    match scale {
        MelScale::Htk => 700.0 * (10f64.powf(m / 2595.0) - 1.0),
        MelScale::Slaney => {
            let min_log_mel = SLANEY_MIN_LOG_HZ / SLANEY_F_SP;
            if m >= min_log_mel {
                SLANEY_MIN_LOG_HZ * (slaney_logstep() * (m - min_log_mel)).exp()
            } else {
                SLANEY_F_SP * m
            }
        }
    }
}

/// The mel filterbank as `librosa.filters.mel` builds it: `n_mels`
/// triangles between `fmin` and `fmax` over the bins of an `n_fft` FFT,
/// computed in f64 and stored as f32, with Slaney (area) normalisation if
/// `slaney_norm`.
pub fn mel_filterbank(
    sample_rate: f64,
    n_fft: usize,
    n_mels: usize,
    fmin: f64,
    fmax: f64,
    scale: MelScale,
    slaney_norm: bool,
) -> Vec<TriangularBand> {
    let bins = n_fft / 2 + 1;
    // librosa: mel_frequencies(n_mels + 2, fmin, fmax), then triangles.
    let (lo, hi) = (hz_to_mel(fmin, scale), hz_to_mel(fmax, scale));
    let mel_f: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64, scale))
        .collect();
    let fft_f: Vec<f64> = (0..bins)
        .map(|k| k as f64 * sample_rate / n_fft as f64)
        .collect();
    (0..n_mels)
        .map(|i| {
            let enorm = if slaney_norm {
                2.0 / (mel_f[i + 2] - mel_f[i])
            } else {
                1.0
            };
            let w: Vec<f32> = fft_f
                .iter()
                .map(|&f| {
                    let lower = (f - mel_f[i]) / (mel_f[i + 1] - mel_f[i]);
                    let upper = (mel_f[i + 2] - f) / (mel_f[i + 2] - mel_f[i + 1]);
                    // librosa computes in f64 and stores f32; then it
                    // multiplies the stored f32 by the f64 norm.
                    let tri = lower.min(upper).max(0.0) as f32;
                    (tri as f64 * enorm) as f32
                })
                .collect();
            let start = w.iter().position(|&x| x != 0.0).unwrap_or(0);
            let end = w.iter().rposition(|&x| x != 0.0).map_or(start, |e| e + 1);
            TriangularBand {
                start,
                weights: w[start..end].to_vec(),
            }
        })
        .collect()
}

/// Log-spaced triangular bands, `bands_per_octave` from `lowest_hz` to
/// `top_hz`, each an average (weights summing to 1, so wide high bands do
/// not outweigh narrow low ones). Where bands are narrower than a bin,
/// there is one band per bin.
pub fn log_spaced_bands(
    sample_rate: f32,
    fft_size: usize,
    lowest_hz: f32,
    bands_per_octave: f32,
    top_hz: f32,
) -> Vec<TriangularBand> {
    let bin_hz = sample_rate / fft_size as f32;
    let mut centres: Vec<usize> = Vec::new();
    let mut f = lowest_hz;
    while f <= top_hz {
        let bin = (f / bin_hz).round() as usize;
        if bin >= 1 && centres.last() != Some(&bin) {
            centres.push(bin);
        }
        f *= 2f32.powf(1.0 / bands_per_octave);
    }
    centres
        .windows(3)
        .map(|w| {
            let (l, c, r) = (w[0], w[1], w[2]);
            let mut weights: Vec<f32> = (l..=r)
                .map(|k| {
                    if k <= c {
                        (k - l) as f32 / (c - l) as f32
                    } else {
                        (r - k) as f32 / (r - c) as f32
                    }
                })
                .collect();
            let sum: f32 = weights.iter().sum();
            weights.iter_mut().for_each(|w| *w /= sum);
            TriangularBand { start: l, weights }
        })
        .collect()
}

/// The SuperFlux novelty of one frame (Böck and Widmer 2013): the sum
/// over bins of how far each bin of `current` rises above the largest of
/// the same bin and its two neighbours in `reference` (an earlier frame),
/// rises only. The neighbour maximum keeps vibrato and a slow glide from
/// counting as new notes. The onset detector (over bands) and the chord
/// detector (over bins) both take their novelty from here. The inner bins
/// are summed in eight lanes, which the compiler vectorizes.
/// Allocation-free; `current` and `reference` should be the same length
/// (the shorter one counts).
///
/// ```
/// use kmidi_dsp::spectrum::superflux_rise;
/// let before = [0.0, 1.0, 0.0, 0.0, 0.0];
/// // A bin beside the old peak rising to it is no rise; a new one is.
/// assert_eq!(superflux_rise(&[0.0, 1.0, 1.0, 0.0, 0.5], &before), 0.5);
/// ```
pub fn superflux_rise(current: &[f32], reference: &[f32]) -> f32 {
    rise_sums::<false>(current, reference).0
}

/// [`superflux_rise`] and the sum of the squared rises, in one pass. The
/// two give how widely a rise is spread over the bins: `sum² / (bins ×
/// squares)` is 1 when every bin rises alike (the noise of a drum hit) and
/// `1 / bins` when one bin does (a single partial).
///
/// ```
/// use kmidi_dsp::spectrum::superflux_rise_and_squares;
/// let before = [0.0; 4];
/// assert_eq!(superflux_rise_and_squares(&[1.0, 1.0, 0.0, 2.0], &before), (4.0, 6.0));
/// ```
pub fn superflux_rise_and_squares(current: &[f32], reference: &[f32]) -> (f32, f32) {
    rise_sums::<true>(current, reference)
}

/// The rises summed (and, with `SQUARES`, their squares too).
#[inline]
fn rise_sums<const SQUARES: bool>(current: &[f32], reference: &[f32]) -> (f32, f32) {
    let bins = current.len().min(reference.len());
    let (current, reference) = (&current[..bins], &reference[..bins]);
    let rise = |c: f32, l: f32, m: f32, r: f32| (c - l.max(m).max(r)).max(0.0);
    let square = |x: f32| if SQUARES { x * x } else { 0.0 };
    match bins {
        0 => return (0.0, 0.0),
        1 => {
            let x = rise(current[0], reference[0], reference[0], reference[0]);
            return (x, square(x));
        }
        _ => {}
    }
    // The edge bins (their maximum has one neighbour), then the inner ones.
    let first = rise(current[0], reference[0], reference[0], reference[1]);
    let last = rise(
        current[bins - 1],
        reference[bins - 2],
        reference[bins - 1],
        reference[bins - 1],
    );
    let mut novelty = first + last;
    let mut squares = square(first) + square(last);
    if bins > 2 {
        let (c, l, m, r) = (
            &current[1..bins - 1],
            &reference[..bins - 2],
            &reference[1..bins - 1],
            &reference[2..],
        );
        let (cc, lc, mc, rc) = (
            c.chunks_exact(8),
            l.chunks_exact(8),
            m.chunks_exact(8),
            r.chunks_exact(8),
        );
        let (ct, lt, mt, rt) = (
            cc.remainder(),
            lc.remainder(),
            mc.remainder(),
            rc.remainder(),
        );
        let mut lanes = [0.0f32; 8];
        let mut square_lanes = [0.0f32; 8];
        for (((c8, l8), m8), r8) in cc.zip(lc).zip(mc).zip(rc) {
            for k in 0..8 {
                let x = rise(c8[k], l8[k], m8[k], r8[k]);
                lanes[k] += x;
                square_lanes[k] += square(x);
            }
        }
        novelty += lanes.iter().sum::<f32>();
        squares += square_lanes.iter().sum::<f32>();
        for (((&c1, &l1), &m1), &r1) in ct.iter().zip(lt).zip(mt).zip(rt) {
            let x = rise(c1, l1, m1, r1);
            novelty += x;
            squares += square(x);
        }
    }
    (novelty, squares)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rise summed bin by bin, as the onset detector summed it before
    /// the lanes.
    fn superflux_rise_in_order(current: &[f32], reference: &[f32]) -> f32 {
        let bins = current.len();
        (0..bins)
            .map(|b| {
                let lo = b.saturating_sub(1);
                let hi = (b + 1).min(bins - 1);
                (current[b] - reference[lo].max(reference[b]).max(reference[hi])).max(0.0)
            })
            .sum()
    }

    #[test]
    fn superflux_rise_in_lanes_is_the_rise_summed_in_order() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 24) as f32
        };
        for bins in 0..70 {
            let current: Vec<f32> = (0..bins).map(|_| next() * 4.0).collect();
            let reference: Vec<f32> = (0..bins).map(|_| next() * 4.0).collect();
            let want = if bins == 0 {
                0.0
            } else {
                superflux_rise_in_order(&current, &reference)
            };
            let got = superflux_rise(&current, &reference);
            assert!(
                (got - want).abs() <= 1e-5 * want.max(1.0),
                "{bins} bins: {got} vs {want}"
            );
            let (sum, squares) = superflux_rise_and_squares(&current, &reference);
            assert_eq!(sum.to_bits(), got.to_bits(), "{bins} bins");
            let want_squares: f32 = (0..bins)
                .map(|b: usize| {
                    let lo = b.saturating_sub(1);
                    let hi = (b + 1).min(bins - 1);
                    let x =
                        (current[b] - reference[lo].max(reference[b]).max(reference[hi])).max(0.0);
                    x * x
                })
                .sum();
            assert!(
                (squares - want_squares).abs() <= 1e-4 * want_squares.max(1.0),
                "{bins} bins: {squares} vs {want_squares}"
            );
        }
        // Nothing rises: no novelty.
        assert_eq!(superflux_rise(&[1.0; 40], &[1.0; 40]), 0.0);
    }

    #[test]
    fn a_ring_gives_the_spectrum_of_its_samples_in_time_order() {
        let n = 256;
        let signal: Vec<f32> = (0..n).map(|i| ((i * i) % 17) as f32 / 17.0 - 0.5).collect();
        let mut ordered = PowerSpectrum::new(n);
        assert!(ordered.compute(&signal, 0));
        // The same samples in a ring whose oldest sample sits at 100.
        let mut ring = vec![0.0; n];
        for (i, &x) in signal.iter().enumerate() {
            ring[(100 + i) % n] = x;
        }
        let mut rotated = PowerSpectrum::new(n);
        assert!(rotated.compute(&ring, 100));
        assert_eq!(ordered.power(), rotated.power());
        assert!(!rotated.compute(&ring[..10], 0), "a short ring is refused");
        assert!(
            !rotated.compute(&ring, n),
            "a start outside the ring is refused"
        );
    }

    #[test]
    fn the_window_is_periodic_hann() {
        let w = hann_periodic(8);
        assert_eq!(w[0], 0.0);
        assert!((w[4] - 1.0).abs() < 1e-7);
        assert!((w[2] - 0.5).abs() < 1e-7 && (w[6] - 0.5).abs() < 1e-7);
    }

    #[test]
    fn mel_scales_round_trip() {
        for scale in [MelScale::Slaney, MelScale::Htk] {
            for f in [0.0, 440.0, 1000.0, 8000.0] {
                assert!((mel_to_hz(hz_to_mel(f, scale), scale) - f).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn log_spaced_bands_average_their_bins() {
        let bands = log_spaced_bands(48_000.0, 4096, 30.0, 24.0, 16_000.0);
        assert!(bands.len() > 100);
        for b in &bands {
            assert!((b.weights.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
        let flat = vec![1.0f32; 2049];
        assert!((bands[50].apply(&flat) - 1.0).abs() < 1e-5);
        assert_eq!(
            bands[0].apply(&flat[..1]),
            0.0,
            "too short a spectrum reads 0"
        );
    }
}
