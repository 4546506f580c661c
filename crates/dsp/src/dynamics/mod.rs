//! Dynamics: a feed-forward compressor and a lookahead brick-wall limiter.
//!
//! # Compressor
//! The compressor follows Giannoulis, Massberg and Reiss, "Digital Dynamic
//! Range Compressor Design" (JAES 2012): level detection in dB, a static gain
//! computer with a quadratic soft knee, and attack/release smoothing of the
//! gain reduction in the dB domain. A block is processed in three passes so
//! that the two expensive conversions vectorise:
//!
//! 1. detector: peak (`max |x|` over linked channels) or RMS, to dB with
//!    [`fast_log2`](crate::fastmath::fast_log2);
//! 2. gain computer and smoothing: serial, but only a few flops per sample;
//! 3. dB to gain with [`fast_exp2`](crate::fastmath::fast_exp2), applied to
//!    every channel.
//!
//! # Limiter
//! [`Limiter`] delays the signal by its lookahead `L - 1` frames and applies
//! a gain that is the moving average, over `L` frames, of the running minimum
//! (over the last `L` frames) of the gain each sample needs. Every value in
//! the averaging window is at most the gain the delayed sample needs, so the
//! average is too: the ceiling holds by construction, with a smooth gain
//! curve. A final clamp guards against `f32` rounding.
//!
//! Ceiling changes glide over 20 ms, and the ceiling each frame was judged
//! against travels with it through the delay line, so a lower ceiling
//! lowers the gain before the first sample it applies to comes out: no
//! sample is clipped (a jump used to hard-clip 153 of the next 240).
//!
//! In **true-peak** mode ([`LimiterSettings::true_peak`]) the level of each
//! frame is also read between samples, 4× oversampled (ITU-R BS.1770-4's
//! method; [`crate::true_peak`] has the filters and why they are not the
//! Annex's own). Each interpolated peak limits the gain of every sample it
//! was interpolated from, so the reconstructed waveform stays under the
//! ceiling, not only its samples. It costs a band limit at 0.8 × Nyquist
//! and the interpolator (about 290 multiply-adds per frame and channel)
//! and 102 frames of latency.
//!
//! [`compressor`] and [`limiter`] hold one processor each; this module
//! holds what both use.

pub mod compressor;
pub mod limiter;

pub use compressor::{
    Compressor, CompressorHandle, CompressorSettings, Detection, gain_computer_db,
    gain_reduction_db,
};
pub use limiter::{Limiter, LimiterHandle, LimiterSettings};

/// Time constants a one-pole state needs to forget a difference: from
/// 100 dB of gain reduction down to 1e-4 dB, or from 1 to 1e-5 in linear
/// gain (ln 10⁶ ≈ 13.8).
const TIME_CONSTANTS_TO_FORGET: f64 = 14.0;

/// Time-constant coefficient for a one-pole smoother: the fraction of the
/// old value kept per frame (reaches 1 - 1/e of a step after `ms`).
pub fn one_pole_coefficient(ms: f64, sample_rate: f64) -> f32 {
    (-1.0 / (ms * 0.001 * sample_rate)).exp() as f32
}
