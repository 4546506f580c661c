//! Plain audio kernels, written the way a small DSP crate would write them,
//! with no kmidi code: the peer suite on which `kmidi-perf ab` is gated.

/// Direct-form FIR filter: `output[i] = Σ taps[k] · input[i − k]`, with
/// the input before the block taken as silence.
pub fn fir_filter(taps: &[f32], input: &[f32], output: &mut [f32]) {
    for (i, out) in output.iter_mut().enumerate() {
        let n = taps.len().min(i + 1);
        let mut acc = 0.0f32;
        for k in 0..n {
            acc += taps[k] * input[i - k];
        }
        *out = acc;
    }
}

/// One biquad section (transposed direct form II).
#[derive(Clone, Copy)]
pub struct Biquad {
    b: [f32; 3],
    a: [f32; 2],
    z: [f32; 2],
}

impl Biquad {
    /// A low-pass section (RBJ cookbook) at `cutoff` / `rate` with `q`.
    pub fn low_pass(cutoff: f32, rate: f32, q: f32) -> Self {
        let w = 2.0 * std::f32::consts::PI * cutoff / rate;
        let alpha = w.sin() / (2.0 * q);
        let cos = w.cos();
        let a0 = 1.0 + alpha;
        Self {
            b: [
                (1.0 - cos) / 2.0 / a0,
                (1.0 - cos) / a0,
                (1.0 - cos) / 2.0 / a0,
            ],
            a: [-2.0 * cos / a0, (1.0 - alpha) / a0],
            z: [0.0; 2],
        }
    }

    /// Filters `block` in place.
    pub fn process(&mut self, block: &mut [f32]) {
        for x in block.iter_mut() {
            let y = self.b[0] * *x + self.z[0];
            self.z[0] = self.b[1] * *x - self.a[0] * y + self.z[1];
            self.z[1] = self.b[2] * *x - self.a[1] * y;
            *x = y;
        }
    }
}

/// Resamples `input` by `ratio` (output rate / input rate) with cubic
/// Hermite interpolation; returns the frames written.
pub fn resample_cubic(input: &[f32], ratio: f64, output: &mut [f32]) -> usize {
    let step = 1.0 / ratio;
    let mut pos = 1.0f64;
    let mut written = 0;
    while written < output.len() && (pos as usize) + 2 < input.len() {
        let i = pos as usize;
        let t = (pos - i as f64) as f32;
        let (y0, y1, y2, y3) = (input[i - 1], input[i], input[i + 1], input[i + 2]);
        let c1 = 0.5 * (y2 - y0);
        let c2 = y0 - 2.5 * y1 + 2.0 * y2 - 0.5 * y3;
        let c3 = 0.5 * (y3 - y0) + 1.5 * (y1 - y2);
        output[written] = ((c3 * t + c2) * t + c1) * t + y1;
        written += 1;
        pos += step;
    }
    written
}

/// Sliding-window RMS of `input` over `window` samples.
pub fn rms_meter(input: &[f32], window: usize, output: &mut [f32]) {
    let mut sum = 0.0f64;
    for (i, out) in output.iter_mut().enumerate() {
        let x = f64::from(input[i]);
        sum += x * x;
        if i >= window {
            let old = f64::from(input[i - window]);
            sum -= old * old;
        }
        *out = (sum.max(0.0) / window as f64).sqrt() as f32;
    }
}

/// Mixes `channels` into `out` with one gain per channel.
pub fn mix_down(channels: &[Vec<f32>], gains: &[f32], out: &mut [f32]) {
    out.fill(0.0);
    for (ch, g) in channels.iter().zip(gains) {
        for (o, x) in out.iter_mut().zip(ch) {
            *o += g * x;
        }
    }
}

/// Peak envelope follower with attack and release coefficients.
pub fn envelope(input: &[f32], attack: f32, release: f32, output: &mut [f32]) {
    let mut env = 0.0f32;
    for (x, out) in input.iter().zip(output.iter_mut()) {
        let level = x.abs();
        let coeff = if level > env { attack } else { release };
        env = level + coeff * (env - level);
        *out = env;
    }
}

/// A deterministic test signal: a sum of three sines with a little noise.
pub fn test_signal(len: usize) -> Vec<f32> {
    let mut seed = 0x2545_f491_u32;
    (0..len)
        .map(|i| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let t = i as f32 / 48_000.0;
            let noise = (seed as f32 / u32::MAX as f32 - 0.5) * 0.01;
            0.5 * (2.0 * std::f32::consts::PI * 220.0 * t).sin()
                + 0.3 * (2.0 * std::f32::consts::PI * 1_375.0 * t).sin()
                + 0.1 * (2.0 * std::f32::consts::PI * 5_120.0 * t).sin()
                + noise
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fir_of_an_impulse_is_its_taps() {
        let taps = [0.5, 0.25, 0.125];
        let mut input = vec![0.0; 8];
        input[0] = 1.0;
        let mut out = vec![0.0; 8];
        fir_filter(&taps, &input, &mut out);
        assert_eq!(&out[..4], &[0.5, 0.25, 0.125, 0.0]);
    }

    #[test]
    fn cubic_resampling_keeps_a_line() {
        let input: Vec<f32> = (0..64).map(|i| i as f32).collect();
        let mut out = vec![0.0; 100];
        let n = resample_cubic(&input, 1.5, &mut out);
        assert!(n > 80);
        for (k, y) in out[..n].iter().enumerate() {
            assert!((y - (1.0 + k as f32 / 1.5)).abs() < 1e-3);
        }
    }
}
