//! Test signals: music-like input, band-limited impulses, and the poison
//! values a host can deliver.

/// Planar audio: one `Vec` per channel.
pub type Planar = Vec<Vec<f32>>;

/// Ordinary program material: three tones a fifth and an octave apart
/// with a little noise, different per channel, peaking near -10 dBFS.
pub fn music(channels: usize, frames: usize, rate: f64, rng: &mut fastrand::Rng) -> Planar {
    (0..channels)
        .map(|ch| {
            let base = 110.0 * (1.0 + ch as f64 * 0.013);
            let phase = rng.f64() * std::f64::consts::TAU;
            (0..frames)
                .map(|i| {
                    let t = i as f64 / rate;
                    let w = std::f64::consts::TAU * base * t + phase;
                    let tones = 0.12 * w.sin() + 0.08 * (1.5 * w).sin() + 0.05 * (4.0 * w).sin();
                    (tones + 0.01 * (rng.f64() * 2.0 - 1.0)) as f32
                })
                .collect()
        })
        .collect()
}

/// A sine of `freq` Hz and amplitude `amp` on every channel.
pub fn sine(channels: usize, frames: usize, rate: f64, freq: f64, amp: f32) -> Planar {
    let one: Vec<f32> = (0..frames)
        .map(|i| amp * (std::f64::consts::TAU * freq * i as f64 / rate).sin() as f32)
        .collect();
    vec![one; channels]
}

/// A band-limited impulse of peak `amp` centred on frame `at`: a
/// Blackman-windowed sinc with its cutoff at `cutoff` of Nyquist, so that a
/// resampler passes it whole and its peak can be placed to a fraction of
/// a frame.
pub fn band_limited_impulse(
    channels: usize,
    frames: usize,
    at: usize,
    cutoff: f64,
    amp: f32,
) -> Planar {
    let half = 64isize;
    let one: Vec<f32> = (0..frames as isize)
        .map(|i| {
            let x = (i - at as isize) as f64;
            if x.abs() > half as f64 {
                return 0.0;
            }
            let sinc = if x == 0.0 {
                1.0
            } else {
                (std::f64::consts::PI * cutoff * x).sin() / (std::f64::consts::PI * cutoff * x)
            };
            let n = (x + half as f64) / (2.0 * half as f64);
            let w = 0.42 - 0.5 * (std::f64::consts::TAU * n).cos()
                + 0.08 * (2.0 * std::f64::consts::TAU * n).cos();
            amp * (sinc * w) as f32
        })
        .collect();
    vec![one; channels]
}

/// Where the largest magnitude of `x` lies, to a fraction of a frame
/// (parabolic interpolation of the peak and its neighbours).
pub fn peak_position(x: &[f32]) -> Option<f64> {
    let (i, _) = x
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))?;
    if i == 0 || i + 1 >= x.len() {
        return Some(i as f64);
    }
    let (a, b, c) = (
        x[i - 1].abs() as f64,
        x[i].abs() as f64,
        x[i + 1].abs() as f64,
    );
    let denom = a - 2.0 * b + c;
    let offset = if denom.abs() > 1e-12 {
        0.5 * (a - c) / denom
    } else {
        0.0
    };
    Some(i as f64 + offset.clamp(-0.5, 0.5))
}

/// A value or pattern a broken host can put into a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poison {
    /// One NaN sample.
    NanSample,
    /// A whole block of NaN.
    NanBlock,
    /// One +Inf sample.
    PositiveInfinitySample,
    /// A whole block of -Inf.
    NegativeInfinityBlock,
    /// A block of subnormal values.
    Denormals,
    /// One sample of 1e30.
    Huge,
    /// A block of `f32::MAX`.
    PositiveMax,
    /// A block of `-f32::MAX`.
    NegativeMax,
    /// A block of DC at full scale (1.0).
    FullScaleDc,
    /// A block of silence.
    Silence,
    /// A full-scale square wave at about 1 kHz.
    FullScaleSquare,
}

impl Poison {
    /// Every kind, in the order the suite tries them.
    pub const ALL: [Poison; 11] = [
        Poison::NanSample,
        Poison::NanBlock,
        Poison::PositiveInfinitySample,
        Poison::NegativeInfinityBlock,
        Poison::Denormals,
        Poison::Huge,
        Poison::PositiveMax,
        Poison::NegativeMax,
        Poison::FullScaleDc,
        Poison::Silence,
        Poison::FullScaleSquare,
    ];

    /// Whether the values are not usable audio (non-finite, subnormal or
    /// absurdly large), as opposed to legal but extreme signals.
    pub fn is_invalid(self) -> bool {
        !matches!(
            self,
            Poison::FullScaleDc | Poison::Silence | Poison::FullScaleSquare
        )
    }

    /// Writes the poison into `samples` (one channel of one block), at
    /// `frame` for the one-sample kinds.
    pub fn apply(self, samples: &mut [f32], frame: usize, rate: f64) {
        let at = frame.min(samples.len().saturating_sub(1));
        match self {
            Poison::NanSample => {
                if let Some(s) = samples.get_mut(at) {
                    *s = f32::NAN;
                }
            }
            Poison::PositiveInfinitySample => {
                if let Some(s) = samples.get_mut(at) {
                    *s = f32::INFINITY;
                }
            }
            Poison::Huge => {
                if let Some(s) = samples.get_mut(at) {
                    *s = 1.0e30;
                }
            }
            Poison::NanBlock => samples.fill(f32::NAN),
            Poison::NegativeInfinityBlock => samples.fill(f32::NEG_INFINITY),
            Poison::Denormals => {
                for (i, s) in samples.iter_mut().enumerate() {
                    let d = f32::MIN_POSITIVE * 0.25;
                    *s = if i % 2 == 0 { d } else { -d };
                }
            }
            Poison::PositiveMax => samples.fill(f32::MAX),
            Poison::NegativeMax => samples.fill(-f32::MAX),
            Poison::FullScaleDc => samples.fill(1.0),
            Poison::Silence => samples.fill(0.0),
            Poison::FullScaleSquare => {
                let half_period = ((rate / 2_000.0).round() as usize).max(1);
                for (i, s) in samples.iter_mut().enumerate() {
                    *s = if (i / half_period).is_multiple_of(2) {
                        1.0
                    } else {
                        -1.0
                    };
                }
            }
        }
    }

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Poison::NanSample => "one NaN sample",
            Poison::NanBlock => "a NaN block",
            Poison::PositiveInfinitySample => "one +Inf sample",
            Poison::NegativeInfinityBlock => "a -Inf block",
            Poison::Denormals => "a block of denormals",
            Poison::Huge => "one sample of 1e30",
            Poison::PositiveMax => "a block of +f32::MAX",
            Poison::NegativeMax => "a block of -f32::MAX",
            Poison::FullScaleDc => "a block of full-scale DC",
            Poison::Silence => "a block of silence",
            Poison::FullScaleSquare => "a full-scale square block",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_of_a_band_limited_impulse_is_found_between_frames() {
        let x = band_limited_impulse(1, 400, 200, 0.8, 1.0);
        let p = peak_position(&x[0]).unwrap();
        assert!((p - 200.0).abs() < 1e-6, "{p}");
        // Half a frame later: resample by linear-phase interpolation.
        let shifted: Vec<f32> = (0..399).map(|i| 0.5 * (x[0][i] + x[0][i + 1])).collect();
        let p = peak_position(&shifted).unwrap();
        assert!((p - 199.5).abs() < 0.05, "{p}");
    }

    #[test]
    fn invalid_poisons_are_told_from_extreme_signals() {
        assert!(Poison::NanSample.is_invalid());
        assert!(!Poison::FullScaleSquare.is_invalid());
        let mut b = [0.5f32; 8];
        Poison::Huge.apply(&mut b, 3, 48_000.0);
        assert_eq!(b[3], 1e30);
        assert_eq!(b[2], 0.5);
    }
}
