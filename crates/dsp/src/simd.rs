//! Runtime-dispatched vector kernels.
//!
//! The crate is built for the baseline target CPU (so valgrind and older
//! machines can run it); these kernels check once per call, through std's
//! cached feature detection, whether AVX is there and, if so, run a copy of
//! the same loop compiled with AVX enabled (8 lanes instead of SSE's 4).
//! AVX-512 is deliberately not used: valgrind 3.19 cannot run it.

/// `Σ a[i]·b[i]` over the shorter of the two slices, summed in eight
/// independent lanes so that it vectorizes (a single running sum is a
/// serial dependency chain). The FIRs, filterbanks and template scorers of
/// the analysis processors share it.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `dst[i] += src[i] * gain` over the shorter of the two slices.
#[inline]
pub fn multiply_accumulate(dst: &mut [f32], src: &[f32], gain: f32) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU supports AVX, checked on the line above; the
            // function only uses safe slice code compiled with AVX enabled.
            unsafe { multiply_accumulate_avx(dst, src, gain) };
            return;
        }
    }
    multiply_accumulate_generic(dst, src, gain);
}

/// `samples[i] *= gain`.
#[inline]
pub fn multiply(samples: &mut [f32], gain: f32) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: AVX support checked on the line above.
            unsafe { multiply_avx(samples, gain) };
            return;
        }
    }
    multiply_generic(samples, gain);
}

#[inline(always)]
fn multiply_accumulate_generic(dst: &mut [f32], src: &[f32], gain: f32) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s * gain;
    }
}

#[inline(always)]
fn multiply_generic(samples: &mut [f32], gain: f32) {
    for s in samples {
        *s *= gain;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn multiply_accumulate_avx(dst: &mut [f32], src: &[f32], gain: f32) {
    multiply_accumulate_generic(dst, src, gain);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn multiply_avx(samples: &mut [f32], gain: f32) {
    multiply_generic(samples, gain);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatched_kernels_match_scalar_reference() {
        for len in [0usize, 1, 7, 8, 9, 63, 64, 65, 511, 512, 2048] {
            let src: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let mut dst: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos()).collect();
            let expected: Vec<f32> = dst.iter().zip(&src).map(|(d, s)| d + s * 0.8).collect();
            multiply_accumulate(&mut dst, &src, 0.8);
            assert_eq!(dst, expected, "len {len}");
            let mut m = src.clone();
            multiply(&mut m, -0.5);
            let e: Vec<f32> = src.iter().map(|s| s * -0.5).collect();
            assert_eq!(m, e);
        }
    }

    #[test]
    fn dot_matches_a_double_precision_sum() {
        for len in [0usize, 1, 7, 8, 9, 63, 64, 65, 97, 512, 2048] {
            let a: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos()).collect();
            let want: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            let got = dot(&a, &b) as f64;
            assert!(
                (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                "len {len}: {got} vs {want}"
            );
        }
        // Slices of different lengths: the shorter one decides.
        assert_eq!(dot(&[1.0, 2.0, 3.0], &[4.0, 5.0]), 14.0);
    }
}
