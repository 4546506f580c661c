//! Fast `log2`/`exp2` (and dB conversions built on them) for per-sample use.
//!
//! Both are degree-4 polynomials fitted by least squares on Chebyshev nodes
//! (`scripts/fit_fastmath.py`). Measured worst-case errors, checked by the
//! tests below over the whole useful range:
//!
//! | function | worst error | in dB |
//! |---|---|---|
//! | [`fast_log2`] | 1.2e-4 (absolute) | 0.0007 dB |
//! | [`fast_exp2`] | 4.8e-6 (relative), exact at integers | 0.00004 dB |
//!
//! so a level detector and gain computer built on them stay within the
//! 0.01 dB the compressor promises. Unlike libm's `log10f`/`powf`, they are
//! branch-free and vectorise, which is why the compressor uses them
//! (`benches/benches/dsp.rs`, group `dsp/compressor`, has the comparison).

/// `20 / log2(10)`: dB per octave of amplitude (log2 units to dB).
pub const DB_PER_LOG2: f32 = 6.020_6;
/// `log2(10) / 20`: log2 units per dB.
pub const LOG2_PER_DB: f32 = 0.166_096_4;

/// `log2(x)` for positive, finite, normal `x`. Zero, denormals and negative
/// values give a large negative number near -127 instead of NaN.
#[inline(always)]
pub fn fast_log2(x: f32) -> f32 {
    let bits = x.max(f32::MIN_POSITIVE).to_bits();
    let exponent = ((bits >> 23) & 0xff) as i32 - 127;
    let mantissa = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000) - 1.0;
    let t = mantissa;
    let p = t * (1.438_638_f32 + t * (-0.677_743_27 + t * (0.321_879_7 + t * -0.082_860_7)));
    exponent as f32 + p
}

/// `2^x`, with `x` clamped to `[-126, 127]` so the result is always a normal,
/// finite number.
#[inline(always)]
pub fn fast_exp2(x: f32) -> f32 {
    let x = x.clamp(-126.0, 127.0);
    // floor via truncation: `f32::floor` is a libm call on the baseline
    // x86-64 target (roundps needs SSE4.1) and would stop vectorisation.
    let truncated = x as i32;
    let floor_i = truncated - ((truncated as f32) > x) as i32;
    let floor = floor_i as f32;
    let t = x - floor;
    let p = 1.0_f32 + t * (0.693_033 + t * (0.241_369_79 + t * (0.052_054_82 + t * 0.013_542_428)));
    let scale = f32::from_bits(((floor_i + 127) as u32) << 23);
    p * scale
}

/// Amplitude to dB with [`fast_log2`]. Zero maps to about -764 dB.
#[inline(always)]
pub fn fast_linear_to_db(x: f32) -> f32 {
    fast_log2(x) * DB_PER_LOG2
}

/// dB to amplitude with [`fast_exp2`].
#[inline(always)]
pub fn fast_db_to_linear(db: f32) -> f32 {
    fast_exp2(db * LOG2_PER_DB)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log2_within_budget_over_audio_range() {
        let mut worst = 0.0f64;
        // 1e-9 (-180 dBFS) to 1e4 (+80 dB), log-spaced.
        for i in 0..200_000 {
            let x = 10f64.powf(-9.0 + 13.0 * i as f64 / 200_000.0) as f32;
            let err = (fast_log2(x) as f64 - (x as f64).log2()).abs();
            worst = worst.max(err);
        }
        assert!(worst < 1.3e-4, "worst log2 error {worst}");
        assert!(
            worst * 6.0206 < 0.01,
            "worst error in dB {}",
            worst * 6.0206
        );
    }

    #[test]
    fn exp2_within_budget() {
        let mut worst = 0.0f64;
        for i in 0..200_000 {
            let x = -40.0 + 50.0 * i as f64 / 200_000.0;
            let approx = fast_exp2(x as f32) as f64;
            let rel = (approx / x.exp2() - 1.0).abs();
            worst = worst.max(rel);
        }
        assert!(worst < 5e-6, "worst relative exp2 error {worst}");
        assert_eq!(fast_exp2(0.0), 1.0);
        assert_eq!(fast_exp2(1.0), 2.0);
        assert_eq!(fast_exp2(-3.0), 0.125);
    }

    #[test]
    fn db_round_trip_within_a_hundredth_of_a_db() {
        for i in -1200..=240 {
            let db = i as f32 * 0.1;
            let back = fast_linear_to_db(fast_db_to_linear(db));
            assert!((back - db).abs() < 0.01, "{db} dB came back as {back}");
        }
    }

    #[test]
    fn degenerate_inputs_stay_finite() {
        for x in [0.0, -1.0, f32::MIN_POSITIVE / 2.0, f32::INFINITY, f32::NAN] {
            let y = fast_log2(x);
            assert!(y.is_finite() || x.is_nan() || x.is_infinite(), "{x} -> {y}");
        }
        assert!(fast_exp2(1000.0).is_finite());
        assert!(fast_exp2(-1000.0) > 0.0);
        assert!(fast_exp2(f32::NAN).is_nan() || fast_exp2(f32::NAN).is_finite());
    }
}
