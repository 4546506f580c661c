//! What counts as a usable sample, and what nodes do with the rest.
//!
//! A host can hand the audio thread anything: NaN from a bad plug-in
//! upstream, ±Inf from a division by zero, `f32::MAX` from a cast, 1e30 from
//! an uninitialised buffer. None of those is audio. Every node in this crate
//! treats a sample as **unusable** when it is not finite or its magnitude
//! is above [`SAMPLE_LIMIT`] (+120 dBFS, far beyond any real signal, even
//! after +48 dB of EQ on a clipping bus), and:
//!
//! * detectors and analysers (compressor level, limiter peak, chord and
//!   onset analysis, resampler input) read it as silence, so one bad
//!   sample cannot move an envelope, a chroma or an FFT for seconds;
//! * recursive filters may pass it through in the block it arrives in,
//!   but any state beyond [`STATE_LIMIT`] is cleared at the end of that
//!   block, so the next block starts clean.
//!
//! ```
//! use kmidi_dsp::sample::{is_usable, usable_or_silence, SAMPLE_LIMIT};
//! assert!(is_usable(0.5) && is_usable(-SAMPLE_LIMIT));
//! assert!(!is_usable(f32::NAN) && !is_usable(f32::INFINITY) && !is_usable(1e30));
//! assert_eq!(usable_or_silence(f32::MAX), 0.0);
//! ```

/// The largest magnitude a usable sample may have: 10⁶, +120 dBFS.
pub const SAMPLE_LIMIT: f32 = 1.0e6;

/// Recursive filter state beyond this magnitude (+240 dBFS) can only come
/// from unusable input; the filter clears it at the end of the block.
pub const STATE_LIMIT: f64 = 1.0e12;

/// Whether `x` is finite and within ±[`SAMPLE_LIMIT`].
#[inline(always)]
pub fn is_usable(x: f32) -> bool {
    // NaN compares false, so it is unusable too.
    x.abs() <= SAMPLE_LIMIT
}

/// `x` if it is usable, else 0 (silence).
#[inline(always)]
pub fn usable_or_silence(x: f32) -> f32 {
    if is_usable(x) { x } else { 0.0 }
}

/// Whether every sample of `block` is usable. Branch-free, so it
/// vectorises: one cheap pass that lets a node skip sanitising clean input.
#[inline]
pub fn all_usable(block: &[f32]) -> bool {
    block.iter().fold(true, |ok, &x| ok & is_usable(x))
}
