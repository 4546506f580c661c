//! RBJ Audio-EQ-Cookbook biquads in transposed direct form II.
//!
//! Coefficients are designed in `f64` (the cookbook formulas lose precision
//! in `f32` for low frequencies at high sample rates) and stored as `f32`.

use std::f64::consts::PI;

use crate::ConfigError;

/// The eight filter shapes of the Audio-EQ-Cookbook. With the `serde`
/// feature they read and write as `lowpass`, `highpass`, `bandpass`,
/// `notch`, `peaking`, `lowshelf`, `highshelf` and `allpass`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum FilterType {
    /// Second-order low pass (-12 dB/octave).
    LowPass,
    /// Second-order high pass.
    HighPass,
    /// Band pass with 0 dB peak gain.
    BandPass,
    /// Band reject.
    Notch,
    /// Bell: boost or cut around the centre frequency.
    Peaking,
    /// Shelf below the corner frequency.
    LowShelf,
    /// Shelf above the corner frequency.
    HighShelf,
    /// Phase shift only; magnitude 1 at every frequency.
    AllPass,
}

impl FilterType {
    /// All eight types, in cookbook order.
    pub const ALL: [FilterType; 8] = [
        FilterType::LowPass,
        FilterType::HighPass,
        FilterType::BandPass,
        FilterType::Notch,
        FilterType::Peaking,
        FilterType::LowShelf,
        FilterType::HighShelf,
        FilterType::AllPass,
    ];

    /// Whether the gain parameter changes this type's response.
    pub fn uses_gain(self) -> bool {
        matches!(
            self,
            FilterType::Peaking | FilterType::LowShelf | FilterType::HighShelf
        )
    }

    pub(crate) fn to_index(self) -> u32 {
        Self::ALL.iter().position(|&t| t == self).unwrap_or(0) as u32
    }

    pub(crate) fn from_index(i: u32) -> Self {
        Self::ALL
            .get(i as usize)
            .copied()
            .unwrap_or(FilterType::Peaking)
    }
}

/// Allowed Q range.
pub const Q_RANGE: (f64, f64) = (0.025, 40.0);
/// Allowed gain range for peaking and shelf filters, in dB.
pub const GAIN_RANGE_DB: (f64, f64) = (-48.0, 48.0);
/// Lowest allowed frequency, in Hz.
pub const MIN_FREQUENCY_HZ: f64 = 1.0;
/// Highest allowed frequency as a fraction of the sample rate (just below Nyquist).
pub const MAX_FREQUENCY_RATIO: f64 = 0.49;

/// Normalised biquad coefficients (`a0 = 1`): `H(z) = (b0 + b1 z^-1 + b2 z^-2)
/// / (1 + a1 z^-1 + a2 z^-2)`.
///
/// Coefficients and filter state are `f64` while samples are `f32`. With
/// `f32` coefficients, low corner frequencies at high sample rates (a 150 Hz
/// shelf at 96 kHz) miss the designed response by more than 0.01 dB, because
/// `a1` sits next to -2 and loses its low bits; `f64` keeps the response
/// exact and the noise floor low. The recurrence is latency-bound, and
/// scalar `f64` multiply-add has the same latency as `f32`, so this costs
/// next to nothing (`dsp/biquad` bench).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BiquadCoefficients {
    /// Feed-forward coefficient for x\[n\].
    pub b0: f64,
    /// Feed-forward coefficient for x\[n-1\].
    pub b1: f64,
    /// Feed-forward coefficient for x\[n-2\].
    pub b2: f64,
    /// Feedback coefficient for y\[n-1\].
    pub a1: f64,
    /// Feedback coefficient for y\[n-2\].
    pub a2: f64,
}

impl Default for BiquadCoefficients {
    fn default() -> Self {
        Self::IDENTITY
    }
}

impl BiquadCoefficients {
    /// The filter that passes its input through unchanged.
    pub const IDENTITY: Self = Self {
        b0: 1.0,
        b1: 0.0,
        b2: 0.0,
        a1: 0.0,
        a2: 0.0,
    };

    /// Designs a cookbook filter.
    ///
    /// ```
    /// use kmidi_dsp::biquad::{BiquadCoefficients, FilterType};
    /// let c = BiquadCoefficients::design(FilterType::Peaking, 48_000.0, 1_000.0, 1.0, 6.0).unwrap();
    /// assert!((c.magnitude_db(1_000.0, 48_000.0) - 6.0).abs() < 1e-3);
    /// assert!(BiquadCoefficients::design(FilterType::LowPass, 48_000.0, 30_000.0, 0.7, 0.0).is_err());
    /// ```
    ///
    /// # Errors
    /// [`ConfigError`] naming `sample_rate`, `frequency_hz` (1 Hz to 0.49 ×
    /// sample rate), `q` (0.025 to 40) or `gain_db` (-48 to +48 dB).
    pub fn design(
        kind: FilterType,
        sample_rate: f64,
        frequency_hz: f64,
        q: f64,
        gain_db: f64,
    ) -> Result<Self, ConfigError> {
        ConfigError::check_range(
            "sample_rate",
            sample_rate,
            crate::spec::MIN_SAMPLE_RATE,
            crate::spec::MAX_SAMPLE_RATE,
            " Hz",
        )?;
        ConfigError::check_range(
            "frequency_hz",
            frequency_hz,
            MIN_FREQUENCY_HZ,
            MAX_FREQUENCY_RATIO * sample_rate,
            " Hz",
        )?;
        ConfigError::check_range("q", q, Q_RANGE.0, Q_RANGE.1, "")?;
        ConfigError::check_range("gain_db", gain_db, GAIN_RANGE_DB.0, GAIN_RANGE_DB.1, " dB")?;
        Ok(Self::design_unchecked(
            kind,
            sample_rate,
            frequency_hz,
            q,
            gain_db,
        ))
    }

    /// Designs without validation; callers clamp first. Used on the audio
    /// thread, where the values have already been checked by the handle.
    pub(crate) fn design_unchecked(
        kind: FilterType,
        sample_rate: f64,
        frequency_hz: f64,
        q: f64,
        gain_db: f64,
    ) -> Self {
        let f0 = frequency_hz.clamp(MIN_FREQUENCY_HZ, MAX_FREQUENCY_RATIO * sample_rate);
        let q = q.clamp(Q_RANGE.0, Q_RANGE.1);
        let gain_db = gain_db.clamp(GAIN_RANGE_DB.0, GAIN_RANGE_DB.1);
        let w0 = 2.0 * PI * f0 / sample_rate;
        let (sin_w0, cos_w0) = w0.sin_cos();
        let alpha = sin_w0 / (2.0 * q);
        let a = 10f64.powf(gain_db / 40.0);
        let (b0, b1, b2, a0, a1, a2) = match kind {
            FilterType::LowPass => {
                let b1 = 1.0 - cos_w0;
                (
                    b1 / 2.0,
                    b1,
                    b1 / 2.0,
                    1.0 + alpha,
                    -2.0 * cos_w0,
                    1.0 - alpha,
                )
            }
            FilterType::HighPass => {
                let b1 = -(1.0 + cos_w0);
                (
                    -b1 / 2.0,
                    b1,
                    -b1 / 2.0,
                    1.0 + alpha,
                    -2.0 * cos_w0,
                    1.0 - alpha,
                )
            }
            FilterType::BandPass => (alpha, 0.0, -alpha, 1.0 + alpha, -2.0 * cos_w0, 1.0 - alpha),
            FilterType::Notch => (
                1.0,
                -2.0 * cos_w0,
                1.0,
                1.0 + alpha,
                -2.0 * cos_w0,
                1.0 - alpha,
            ),
            FilterType::AllPass => (
                1.0 - alpha,
                -2.0 * cos_w0,
                1.0 + alpha,
                1.0 + alpha,
                -2.0 * cos_w0,
                1.0 - alpha,
            ),
            FilterType::Peaking => (
                1.0 + alpha * a,
                -2.0 * cos_w0,
                1.0 - alpha * a,
                1.0 + alpha / a,
                -2.0 * cos_w0,
                1.0 - alpha / a,
            ),
            FilterType::LowShelf => {
                let sq = 2.0 * a.sqrt() * alpha;
                (
                    a * ((a + 1.0) - (a - 1.0) * cos_w0 + sq),
                    2.0 * a * ((a - 1.0) - (a + 1.0) * cos_w0),
                    a * ((a + 1.0) - (a - 1.0) * cos_w0 - sq),
                    (a + 1.0) + (a - 1.0) * cos_w0 + sq,
                    -2.0 * ((a - 1.0) + (a + 1.0) * cos_w0),
                    (a + 1.0) + (a - 1.0) * cos_w0 - sq,
                )
            }
            FilterType::HighShelf => {
                let sq = 2.0 * a.sqrt() * alpha;
                (
                    a * ((a + 1.0) + (a - 1.0) * cos_w0 + sq),
                    -2.0 * a * ((a - 1.0) + (a + 1.0) * cos_w0),
                    a * ((a + 1.0) + (a - 1.0) * cos_w0 - sq),
                    (a + 1.0) - (a - 1.0) * cos_w0 + sq,
                    2.0 * ((a - 1.0) - (a + 1.0) * cos_w0),
                    (a + 1.0) - (a - 1.0) * cos_w0 - sq,
                )
            }
        };
        Self {
            b0: b0 / a0,
            b1: b1 / a0,
            b2: b2 / a0,
            a1: a1 / a0,
            a2: a2 / a0,
        }
    }

    /// Whether this is exactly the pass-through filter.
    pub fn is_identity(&self) -> bool {
        *self == Self::IDENTITY
    }

    /// Whether both poles lie strictly inside the unit circle (the stability
    /// triangle `|a2| < 1`, `|a1| < 1 + a2`).
    pub fn is_stable(&self) -> bool {
        self.a2.abs() < 1.0 && self.a1.abs() < 1.0 + self.a2
    }

    /// Frames until anything the filter was fed has died away to `db`
    /// decibels below the input's level: the slowest pole's decay, from the
    /// filter's peak gain down (0-ish for a filter without feedback).
    pub fn decay_frames(&self, db: f64) -> usize {
        // Poles of z² + a1 z + a2: a complex pair has radius √a2 and angle
        // acos(-a1 / 2√a2); real ones are the roots themselves.
        let disc = self.a1 * self.a1 - 4.0 * self.a2;
        let (radius, angle) = if disc < 0.0 {
            let r = self.a2.max(0.0).sqrt();
            let c = (-self.a1 / (2.0 * r.max(1e-300))).clamp(-1.0, 1.0);
            (r, c.acos())
        } else {
            let d = disc.sqrt();
            let (p1, p2) = ((-self.a1 + d) * 0.5, (-self.a1 - d) * 0.5);
            let p = if p1.abs() >= p2.abs() { p1 } else { p2 };
            (p.abs(), if p < 0.0 { std::f64::consts::PI } else { 0.0 })
        };
        if radius < 1e-9 {
            return 2;
        }
        if radius >= 1.0 {
            return usize::MAX / 4;
        }
        let frequency = angle / std::f64::consts::TAU;
        let peak_db = [frequency, 0.0, 0.4999]
            .iter()
            .map(|&f| self.magnitude_db(f, 1.0))
            .fold(0.0f64, f64::max);
        let decades = (db + peak_db) / 20.0;
        (decades * std::f64::consts::LN_10 / -radius.ln()).ceil() as usize + 2
    }

    /// Linear interpolation between two coefficient sets. The stability
    /// triangle is convex, so mixing two stable filters gives a stable one.
    #[inline]
    pub fn lerp(&self, to: &Self, t: f64) -> Self {
        let m = |a: f64, b: f64| a + (b - a) * t;
        Self {
            b0: m(self.b0, to.b0),
            b1: m(self.b1, to.b1),
            b2: m(self.b2, to.b2),
            a1: m(self.a1, to.a1),
            a2: m(self.a2, to.a2),
        }
    }

    /// The complex response `H(e^{jω})` at `frequency_hz`, as `(re, im)`.
    pub fn response(&self, frequency_hz: f64, sample_rate: f64) -> (f64, f64) {
        let w = 2.0 * PI * frequency_hz / sample_rate;
        let (s1, c1) = w.sin_cos();
        let (s2, c2) = (2.0 * w).sin_cos();
        let (b0, b1, b2) = (self.b0, self.b1, self.b2);
        let (a1, a2) = (self.a1, self.a2);
        // e^{-jw} = c1 - j s1
        let num = (b0 + b1 * c1 + b2 * c2, -(b1 * s1 + b2 * s2));
        let den = (1.0 + a1 * c1 + a2 * c2, -(a1 * s1 + a2 * s2));
        let d = den.0 * den.0 + den.1 * den.1;
        (
            (num.0 * den.0 + num.1 * den.1) / d,
            (num.1 * den.0 - num.0 * den.1) / d,
        )
    }

    /// Magnitude response at `frequency_hz`, in dB.
    pub fn magnitude_db(&self, frequency_hz: f64, sample_rate: f64) -> f64 {
        let (re, im) = self.response(frequency_hz, sample_rate);
        10.0 * (re * re + im * im).log10()
    }
}

/// One transposed-direct-form-II step: `y = b0 x + s1; s1 = (b1 x + s2) -
/// a1 y; s2 = b2 x - a2 y`.
///
/// The grouping matters: everything that does not depend on `y` is summed
/// first, so the loop-carried chain from one output to the next is only
/// multiply, subtract, add (9 cycles on current x86) instead of multiply,
/// subtract, add, add.
#[inline(always)]
pub fn tdf2_tick(c: &BiquadCoefficients, s: &mut [f64; 2], x: f64) -> f64 {
    let y = c.b0 * x + s[0];
    s[0] = (c.b1 * x + s[1]) - c.a1 * y;
    s[1] = c.b2 * x - c.a2 * y;
    y
}

/// Below this magnitude a filter state is flushed to zero at the end of a
/// block, so a decaying tail never reaches the denormal range even without
/// a [`DenormalGuard`](crate::denormal::DenormalGuard).
pub const STATE_FLUSH_THRESHOLD: f64 = 1e-20;

/// Flushes tiny values to zero and clears state poisoned by unusable input:
/// non-finite, or beyond [`STATE_LIMIT`](crate::sample::STATE_LIMIT) (one
/// sample of 1e30 into a 40 Hz, Q 40 band otherwise rang for 99 s).
/// Returns `true` if the state was cleared.
#[inline]
pub fn sanitize_state(s: &mut [f64; 2]) -> bool {
    // NaN fails the comparison, so it is cleared too.
    if !(s[0].abs() <= crate::sample::STATE_LIMIT && s[1].abs() <= crate::sample::STATE_LIMIT) {
        *s = [0.0; 2];
        return true;
    }
    for v in s.iter_mut() {
        if v.abs() < STATE_FLUSH_THRESHOLD {
            *v = 0.0;
        }
    }
    false
}

/// A single biquad section for one channel, in TDF2.
///
/// ```
/// use kmidi_dsp::biquad::{Biquad, BiquadCoefficients, FilterType};
/// let c = BiquadCoefficients::design(FilterType::LowPass, 48_000.0, 1_000.0, 0.707, 0.0).unwrap();
/// let mut f = Biquad::new(c);
/// let mut block = [1.0f32; 512];
/// f.process_block(&mut block);
/// assert!((block[511] - 1.0).abs() < 1e-3); // DC passes a low pass
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Biquad {
    coefficients: BiquadCoefficients,
    state: [f64; 2],
}

impl Biquad {
    /// A section with these coefficients and silent state.
    pub fn new(coefficients: BiquadCoefficients) -> Self {
        Self {
            coefficients,
            state: [0.0; 2],
        }
    }

    /// Replaces the coefficients, keeping the state (TDF2 tolerates this
    /// well; for click-free sweeps use [`Equalizer`](crate::eq::Equalizer),
    /// which interpolates).
    pub fn set_coefficients(&mut self, coefficients: BiquadCoefficients) {
        self.coefficients = coefficients;
    }

    /// The coefficients in use.
    pub fn coefficients(&self) -> &BiquadCoefficients {
        &self.coefficients
    }

    /// Filters one sample.
    #[inline(always)]
    pub fn tick(&mut self, x: f32) -> f32 {
        tdf2_tick(&self.coefficients, &mut self.state, x as f64) as f32
    }

    /// Filters a block in place, then flushes tiny or non-finite state.
    #[inline]
    pub fn process_block(&mut self, samples: &mut [f32]) {
        let c = self.coefficients;
        let mut s = self.state;
        for x in samples.iter_mut() {
            *x = tdf2_tick(&c, &mut s, *x as f64) as f32;
        }
        sanitize_state(&mut s);
        self.state = s;
    }

    /// Clears the state.
    pub fn reset(&mut self) {
        self.state = [0.0; 2];
    }
}
