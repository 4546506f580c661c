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
//!    [`fast_log2`];
//! 2. gain computer and smoothing: serial, but only a few flops per sample;
//! 3. dB to gain with [`fast_exp2`], applied to
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

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::fastmath::{DB_PER_LOG2, LOG2_PER_DB, fast_exp2, fast_log2};
use crate::gain::db_to_linear;
use crate::param::{AtomicF32, AtomicSwitch, LinearRamp};
use crate::true_peak::{BandLimiter, Interpolator, TRUE_PEAK_MARGIN_DB};
use crate::{AudioBuffer, ConfigError, Processor, StreamSpec};

/// How the compressor measures level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Detection {
    /// Instantaneous sample peak.
    #[default]
    Peak,
    /// Mean square over a short window (see [`CompressorSettings::rms_window_ms`]).
    Rms,
}

/// Compressor settings. [`CompressorSettings::validate`] gives the ranges.
///
/// With the `serde` feature a config file gives any of the fields (the rest
/// take [`CompressorSettings::default`]'s values), with the detection
/// written as `rms = true` or `false`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct CompressorSettings {
    /// Level above which gain is reduced, in dBFS (-60 to 0).
    pub threshold_db: f32,
    /// Input dB over threshold per output dB over threshold (1 to 100).
    pub ratio: f32,
    /// Width of the soft knee, in dB (0 = hard knee, up to 24).
    pub knee_db: f32,
    /// Time constant for gain reduction to rise, in ms (0.01 to 500).
    pub attack_ms: f32,
    /// Time constant for gain reduction to fall back, in ms (1 to 5000).
    pub release_ms: f32,
    /// Gain added after compression, in dB (-24 to +24).
    pub makeup_db: f32,
    /// Peak or RMS detection.
    #[cfg_attr(feature = "serde", serde(rename = "rms", with = "detection_as_rms"))]
    pub detection: Detection,
    /// One detector for all channels (the loudest drives the gain), so the
    /// stereo image does not move; `false` compresses each channel alone.
    pub stereo_link: bool,
    /// RMS averaging time, in ms (0.1 to 300).
    pub rms_window_ms: f32,
}

/// `detection` as the config files write it: `rms = true` or `false`.
#[cfg(feature = "serde")]
mod detection_as_rms {
    use super::Detection;

    pub fn serialize<S: serde::Serializer>(d: &Detection, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(*d == Detection::Rms)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Detection, D::Error> {
        let rms = <bool as serde::Deserialize>::deserialize(d)?;
        Ok(if rms { Detection::Rms } else { Detection::Peak })
    }
}

impl Default for CompressorSettings {
    fn default() -> Self {
        Self {
            threshold_db: -18.0,
            ratio: 4.0,
            knee_db: 6.0,
            attack_ms: 5.0,
            release_ms: 100.0,
            makeup_db: 0.0,
            detection: Detection::Peak,
            stereo_link: true,
            rms_window_ms: 10.0,
        }
    }
}

impl CompressorSettings {
    /// Checks every field.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first field out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let c = ConfigError::check_f32;
        c("threshold_db", self.threshold_db, -60.0, 0.0, " dB")?;
        c("ratio", self.ratio, 1.0, 100.0, ":1")?;
        c("knee_db", self.knee_db, 0.0, 24.0, " dB")?;
        c("attack_ms", self.attack_ms, 0.01, 500.0, " ms")?;
        c("release_ms", self.release_ms, 1.0, 5000.0, " ms")?;
        c("makeup_db", self.makeup_db, -24.0, 24.0, " dB")?;
        c("rms_window_ms", self.rms_window_ms, 0.1, 300.0, " ms")?;
        Ok(())
    }
}

/// The static curve: output level in dB for an input level in dB
/// (Giannoulis et al., eq. 4, quadratic soft knee).
///
/// ```
/// use kmidi_dsp::dynamics::gain_computer_db;
/// // 10 dB over a -20 dB threshold at 4:1 comes out 2.5 dB over.
/// assert_eq!(gain_computer_db(-10.0, -20.0, 4.0, 0.0), -17.5);
/// assert_eq!(gain_computer_db(-30.0, -20.0, 4.0, 6.0), -30.0);
/// ```
#[inline(always)]
pub fn gain_computer_db(input_db: f32, threshold_db: f32, ratio: f32, knee_db: f32) -> f32 {
    input_db + gain_reduction_db(input_db, threshold_db, ratio, knee_db)
}

/// The static curve as a gain change: `gain_computer_db(x) - x`, computed
/// directly so that it is exactly 0 below the knee and at ratio 1.
///
/// Branch-free: with `k = clamp(over + W/2, 0, W)` the curve is
/// `slope * (k² / 2W + max(over - W/2, 0))`, which is 0 below the knee, the
/// quadratic inside it and `slope * over` above it. On noisy input the
/// three-way branch of the textbook form mispredicts constantly.
#[inline(always)]
pub fn gain_reduction_db(input_db: f32, threshold_db: f32, ratio: f32, knee_db: f32) -> f32 {
    let half = knee_db * 0.5;
    let inv_2w = 1.0 / (2.0 * knee_db.max(1e-6));
    gain_reduction_db_prepared(
        input_db - threshold_db,
        1.0 / ratio - 1.0,
        half,
        knee_db,
        inv_2w,
    )
}

#[inline(always)]
fn gain_reduction_db_prepared(
    over: f32,
    slope: f32,
    half_knee: f32,
    knee: f32,
    inv_2w: f32,
) -> f32 {
    let k = (over + half_knee).clamp(0.0, knee);
    slope * (k * k * inv_2w + (over - half_knee).max(0.0))
}

/// `|x|` for a usable sample, 0 for NaN, ±Inf or anything beyond
/// [`SAMPLE_LIMIT`](crate::sample::SAMPLE_LIMIT). Branch-free.
#[inline(always)]
fn usable_magnitude(x: f32) -> f32 {
    let a = x.abs();
    if a <= crate::sample::SAMPLE_LIMIT {
        a
    } else {
        0.0
    }
}

/// Time constants a one-pole state needs to forget a difference: from
/// 100 dB of gain reduction down to 1e-4 dB, or from 1 to 1e-5 in linear
/// gain (ln 10⁶ ≈ 13.8).
const TIME_CONSTANTS_TO_FORGET: f64 = 14.0;

/// Time-constant coefficient for a one-pole smoother: the fraction of the
/// old value kept per frame (reaches 1 - 1/e of a step after `ms`).
pub fn one_pole_coefficient(ms: f64, sample_rate: f64) -> f32 {
    (-1.0 / (ms * 0.001 * sample_rate)).exp() as f32
}

#[derive(Debug)]
struct SharedCompressor {
    version: AtomicU32,
    threshold_db: AtomicF32,
    ratio: AtomicF32,
    knee_db: AtomicF32,
    attack_ms: AtomicF32,
    release_ms: AtomicF32,
    makeup_db: AtomicF32,
    rms: AtomicSwitch,
    stereo_link: AtomicSwitch,
    rms_window_ms: AtomicF32,
}

impl SharedCompressor {
    fn new(s: &CompressorSettings) -> Self {
        let me = Self {
            version: AtomicU32::new(0),
            threshold_db: AtomicF32::default(),
            ratio: AtomicF32::default(),
            knee_db: AtomicF32::default(),
            attack_ms: AtomicF32::default(),
            release_ms: AtomicF32::default(),
            makeup_db: AtomicF32::default(),
            rms: AtomicSwitch::default(),
            stereo_link: AtomicSwitch::default(),
            rms_window_ms: AtomicF32::default(),
        };
        me.store(s);
        me
    }

    fn store(&self, s: &CompressorSettings) {
        self.threshold_db.store(s.threshold_db);
        self.ratio.store(s.ratio);
        self.knee_db.store(s.knee_db);
        self.attack_ms.store(s.attack_ms);
        self.release_ms.store(s.release_ms);
        self.makeup_db.store(s.makeup_db);
        self.rms.set(s.detection == Detection::Rms);
        self.stereo_link.set(s.stereo_link);
        self.rms_window_ms.store(s.rms_window_ms);
        self.version.fetch_add(1, Ordering::Release);
    }

    fn load(&self) -> CompressorSettings {
        CompressorSettings {
            threshold_db: self.threshold_db.load(),
            ratio: self.ratio.load(),
            knee_db: self.knee_db.load(),
            attack_ms: self.attack_ms.load(),
            release_ms: self.release_ms.load(),
            makeup_db: self.makeup_db.load(),
            detection: if self.rms.get() {
                Detection::Rms
            } else {
                Detection::Peak
            },
            stereo_link: self.stereo_link.get(),
            rms_window_ms: self.rms_window_ms.load(),
        }
    }
}

/// The control side of a [`Compressor`].
#[derive(Debug, Clone)]
pub struct CompressorHandle(Arc<SharedCompressor>);

impl CompressorHandle {
    /// Replaces all settings; the audio thread picks them up next block.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first field out of range.
    pub fn set(&self, settings: &CompressorSettings) -> Result<(), ConfigError> {
        settings.validate()?;
        self.0.store(settings);
        Ok(())
    }

    /// The settings last stored.
    pub fn get(&self) -> CompressorSettings {
        self.0.load()
    }
}

/// Lowest level the detector reports, in dBFS (silence).
const DETECTOR_FLOOR_DB: f32 = -200.0;
/// Highest level the detector reports: anything louder (Inf included) is
/// treated as this, so one bad sample cannot push the envelope beyond reach.
const DETECTOR_CEILING_DB: f32 = 60.0;

/// A feed-forward compressor implementing [`Processor`].
///
/// ```
/// use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};
/// use kmidi_dsp::dynamics::{Compressor, CompressorSettings};
/// let mut comp = Compressor::new(CompressorSettings { threshold_db: -20.0, ratio: 4.0, ..Default::default() }).unwrap();
/// comp.prepare(&StreamSpec::new(48_000.0, 512, 2).unwrap()).unwrap();
/// let mut block = AudioBuffer::new(2, 512);
/// for ch in 0..2 { block.channel_mut(ch).fill(0.5); }
/// for _ in 0..200 { comp.process(&mut block); for ch in 0..2 { block.channel_mut(ch).fill(0.5); } }
/// assert!(comp.gain_reduction_db() < -5.0);
/// ```
#[derive(Debug)]
pub struct Compressor {
    shared: Arc<SharedCompressor>,
    seen_version: u32,
    settings: CompressorSettings,
    attack_coeff: f32,
    release_coeff: f32,
    rms_coeff: f32,
    makeup: LinearRamp,
    /// Smoothed gain reduction (dB, <= 0), per detector.
    envelope_db: Vec<f32>,
    /// Mean-square state, per detector.
    mean_square: Vec<f32>,
    /// Scratch: detector level, then gain in dB, then linear gain.
    scratch: Vec<f32>,
    sample_rate: f64,
    channels: usize,
    prepared: bool,
}

impl Compressor {
    /// A compressor with these settings.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first field out of range.
    pub fn new(settings: CompressorSettings) -> Result<Self, ConfigError> {
        settings.validate()?;
        Ok(Self {
            shared: Arc::new(SharedCompressor::new(&settings)),
            seen_version: u32::MAX,
            settings,
            attack_coeff: 0.0,
            release_coeff: 0.0,
            rms_coeff: 0.0,
            makeup: LinearRamp::new(settings.makeup_db, 1),
            envelope_db: Vec::new(),
            mean_square: Vec::new(),
            scratch: Vec::new(),
            sample_rate: 48_000.0,
            channels: 0,
            prepared: false,
        })
    }

    /// A handle for changing settings from another thread.
    pub fn handle(&self) -> CompressorHandle {
        CompressorHandle(Arc::clone(&self.shared))
    }

    /// The current gain reduction (the first detector's), in dB (<= 0).
    pub fn gain_reduction_db(&self) -> f32 {
        self.envelope_db.first().copied().unwrap_or(0.0)
    }

    /// The settings in force.
    pub fn settings(&self) -> &CompressorSettings {
        &self.settings
    }

    fn apply_settings(&mut self, s: CompressorSettings) {
        self.settings = s;
        self.attack_coeff = one_pole_coefficient(s.attack_ms as f64, self.sample_rate);
        self.release_coeff = one_pole_coefficient(s.release_ms as f64, self.sample_rate);
        self.rms_coeff = 1.0 - one_pole_coefficient(s.rms_window_ms as f64, self.sample_rate);
        self.makeup.set_target(s.makeup_db);
    }

    fn poll(&mut self) {
        let v = self.shared.version.load(Ordering::Acquire);
        if v != self.seen_version {
            self.seen_version = v;
            let s = self.shared.load();
            self.apply_settings(s);
        }
    }

    /// Detector pass: writes the level in dB of channels `chans` into
    /// `level`, updating the RMS state `ms`.
    #[inline(always)]
    fn detect(
        block: &AudioBuffer,
        chans: std::ops::Range<usize>,
        level: &mut [f32],
        rms: Option<(&mut f32, f32)>,
    ) {
        let frames = level.len();
        match rms {
            None => {
                // Unusable samples (NaN, ±Inf, beyond SAMPLE_LIMIT) are
                // silence to the detector: one +Inf block used to duck the
                // next 0.4-2 s by 58 dB.
                let first = block.channel(chans.start);
                for (l, x) in level.iter_mut().zip(&first[..frames]) {
                    *l = usable_magnitude(*x);
                }
                for ch in chans.start + 1..chans.end {
                    for (l, x) in level.iter_mut().zip(&block.channel(ch)[..frames]) {
                        *l = l.max(usable_magnitude(*x));
                    }
                }
                for l in level.iter_mut() {
                    *l =
                        (fast_log2(*l) * DB_PER_LOG2).clamp(DETECTOR_FLOOR_DB, DETECTOR_CEILING_DB);
                }
            }
            Some((ms, coeff)) => {
                let n = (chans.end - chans.start) as f32;
                let first = block.channel(chans.start);
                for (l, x) in level.iter_mut().zip(&first[..frames]) {
                    let x = usable_magnitude(*x);
                    *l = x * x;
                }
                for ch in chans.start + 1..chans.end {
                    for (l, x) in level.iter_mut().zip(&block.channel(ch)[..frames]) {
                        let x = usable_magnitude(*x);
                        *l += x * x;
                    }
                }
                let inv = 1.0 / n;
                let mut m = *ms;
                for l in level.iter_mut() {
                    let sq = *l * inv;
                    // NaN/Inf input must not reach the state.
                    let sq = if sq.is_finite() { sq } else { 0.0 };
                    m += (sq - m) * coeff;
                    *l = m;
                }
                *ms = m;
                for l in level.iter_mut() {
                    *l = (fast_log2(*l) * (DB_PER_LOG2 * 0.5))
                        .clamp(DETECTOR_FLOOR_DB, DETECTOR_CEILING_DB);
                }
            }
        }
    }

    /// Gain pass: level dB in, smoothed gain reduction dB out (in place).
    ///
    /// First the static curve, branch-free and vectorised, turns levels into
    /// target gain reductions. Then the serial smoother: the attack/release
    /// choice is taken off the recurrence by computing both one-pole
    /// candidates; when attack is the faster of the two, the wanted one is
    /// always the smaller (moving down towards more reduction the attack step
    /// goes further; moving up the release step stays lower), so a `min`
    /// replaces the compare-and-branch. When attack is the slower one, `max`
    /// picks it by the same argument.
    #[inline(always)]
    fn smooth(&self, levels: &mut [f32], env: &mut f32) {
        let s = &self.settings;
        let slope = 1.0 / s.ratio - 1.0;
        let half = s.knee_db * 0.5;
        let inv_2w = 1.0 / (2.0 * s.knee_db.max(1e-6));
        let threshold = s.threshold_db;
        let knee = s.knee_db;
        for l in levels.iter_mut() {
            *l = gain_reduction_db_prepared(*l - threshold, slope, half, knee, inv_2w);
        }
        let (att, rel) = (self.attack_coeff, self.release_coeff);
        let (att_in, rel_in) = (1.0 - att, 1.0 - rel);
        let mut e = *env;
        if att <= rel {
            for gr in levels.iter_mut() {
                e = (att * e + att_in * *gr).min(rel * e + rel_in * *gr);
                *gr = e;
            }
        } else {
            for gr in levels.iter_mut() {
                e = (att * e + att_in * *gr).max(rel * e + rel_in * *gr);
                *gr = e;
            }
        }
        *env = e;
    }

    /// The three passes over one block (see the module docs).
    #[inline(always)]
    fn run_block(&mut self, block: &mut AudioBuffer, frames: usize, channels: usize) {
        let (mk_start, mk_step, mk_len) = self.makeup.advance_block(frames);
        let mk_end = self.makeup.current();
        let groups = if self.settings.stereo_link {
            1
        } else {
            channels
        };
        let rms = self.settings.detection == Detection::Rms;
        let mut scratch = std::mem::take(&mut self.scratch);
        for g in 0..groups {
            let chans = if self.settings.stereo_link {
                0..channels
            } else {
                g..g + 1
            };
            let level = &mut scratch[..frames];
            let rms_state = if rms {
                Some((&mut self.mean_square[g], self.rms_coeff))
            } else {
                None
            };
            Self::detect(block, chans.clone(), level, rms_state);
            let mut env = self.envelope_db[g];
            self.smooth(level, &mut env);
            self.envelope_db[g] = env;
            // Makeup (ramped part, then constant), then dB -> linear in a
            // branch-free loop that vectorises.
            let (ramp, rest) = level.split_at_mut(mk_len.min(frames));
            for (i, l) in ramp.iter_mut().enumerate() {
                *l += mk_start + mk_step * (i + 1) as f32;
            }
            if mk_end != 0.0 {
                for l in rest.iter_mut() {
                    *l += mk_end;
                }
            }
            for l in level.iter_mut() {
                *l = fast_exp2(*l * LOG2_PER_DB);
            }
            for ch in chans {
                for (x, g) in block.channel_mut(ch).iter_mut().zip(level.iter()) {
                    *x *= g;
                }
            }
        }
        self.scratch = scratch;
    }

    /// [`run_block`](Self::run_block) compiled with AVX2: the detector and
    /// gain passes run 8 lanes wide. Same code, same results.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn run_block_avx2(&mut self, block: &mut AudioBuffer, frames: usize, channels: usize) {
        self.run_block(block, frames, channels);
    }
}

impl Processor for Compressor {
    fn prepare(&mut self, spec: &StreamSpec) -> Result<(), ConfigError> {
        self.sample_rate = spec.sample_rate();
        self.channels = spec.channels();
        self.envelope_db = vec![0.0; spec.channels()];
        self.mean_square = vec![0.0; spec.channels()];
        self.scratch = vec![0.0; spec.max_block_frames()];
        self.makeup
            .set_ramp_frames(spec.ms_to_frames(crate::gain::DEFAULT_RAMP_MS));
        let s = self.shared.load();
        self.seen_version = self.shared.version.load(Ordering::Acquire);
        self.apply_settings(s);
        self.makeup.set_immediate(s.makeup_db);
        self.prepared = true;
        Ok(())
    }

    fn process(&mut self, block: &mut AudioBuffer) {
        if !self.prepared {
            return;
        }
        self.poll();
        let frames = block.frames().min(self.scratch.len());
        let channels = block.channels().min(self.channels);
        if frames == 0 || channels == 0 {
            return;
        }
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: AVX2 support was checked on the line above.
                unsafe { self.run_block_avx2(block, frames, channels) };
            } else {
                self.run_block(block, frames, channels);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        self.run_block(block, frames, channels);
        for (e, m) in self.envelope_db.iter_mut().zip(self.mean_square.iter_mut()) {
            if !e.is_finite() {
                *e = 0.0;
            }
            if !m.is_finite() {
                *m = 0.0;
            }
        }
    }

    fn tail_frames(&self) -> usize {
        let s = &self.settings;
        let ms = s.attack_ms.max(s.release_ms) as f64
            + if s.detection == Detection::Rms {
                s.rms_window_ms as f64
            } else {
                0.0
            };
        (TIME_CONSTANTS_TO_FORGET * ms * 0.001 * self.sample_rate).ceil() as usize
            + self.makeup.ramp_frames()
    }

    fn reset(&mut self) {
        self.envelope_db.fill(0.0);
        self.mean_square.fill(0.0);
        let mk = self.makeup.target();
        self.makeup.set_immediate(mk);
    }
}

/// Limiter settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimiterSettings {
    /// Largest output level, in dBFS (-60 to 0): the sample peak, or with
    /// `true_peak` the inter-sample (true) peak.
    pub ceiling_db: f32,
    /// How far ahead the limiter looks, in ms (0.1 to 20); this is also its latency.
    pub lookahead_ms: f32,
    /// Time constant for the gain to recover, in ms (1 to 2000).
    pub release_ms: f32,
    /// Limit the true peak (4× oversampled, as ITU-R BS.1770-4 measures
    /// it) instead of the sample peak: the output is band-limited to 0.8 ×
    /// Nyquist, and latency grows by 102 frames (see [`crate::true_peak`]).
    pub true_peak: bool,
}

impl Default for LimiterSettings {
    fn default() -> Self {
        Self {
            ceiling_db: -0.3,
            lookahead_ms: 5.0,
            release_ms: 80.0,
            true_peak: false,
        }
    }
}

impl LimiterSettings {
    /// Checks every field.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first field out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let c = ConfigError::check_f32;
        c("ceiling_db", self.ceiling_db, -60.0, 0.0, " dB")?;
        c("lookahead_ms", self.lookahead_ms, 0.1, 20.0, " ms")?;
        c("release_ms", self.release_ms, 1.0, 2000.0, " ms")?;
        Ok(())
    }
}

/// The true-peak side of a [`Limiter`]: the band limit, the interpolator
/// and its windows (see [`crate::true_peak`]).
#[derive(Debug, Clone, Default)]
struct TruePeakDetector {
    band_limit: BandLimiter,
    interpolator: Interpolator,
    /// Per channel, the last `taps` band-limited samples, twice over
    /// (written at `i` and `i + taps`) so a window is always contiguous.
    history: Vec<Vec<f32>>,
    pos: usize,
    /// The needed gains of the last `taps` windows (a min-window).
    needed: Vec<f32>,
    needed_pos: usize,
}

impl TruePeakDetector {
    fn new(channels: usize) -> Self {
        let interpolator = Interpolator::limiter();
        let taps = interpolator.taps();
        Self {
            band_limit: BandLimiter::new(channels),
            interpolator,
            history: vec![vec![0.0; 2 * taps]; channels],
            pos: 0,
            needed: vec![1.0; taps],
            needed_pos: 0,
        }
    }

    fn reset(&mut self) {
        self.band_limit.reset();
        for h in self.history.iter_mut() {
            h.fill(0.0);
        }
        self.pos = 0;
        self.needed.fill(1.0);
        self.needed_pos = 0;
    }

    /// Frames from input to the lookahead: the band limit's delay and the
    /// interpolation window.
    fn delay(&self) -> usize {
        self.band_limit.delay() + self.interpolator.taps() - 1
    }

    /// Pushes `x` for channel `ch`; returns the true peak of the window
    /// now and the (band-limited) sample leaving it.
    #[inline(always)]
    fn push(&mut self, ch: usize, x: f32) -> (f32, f32) {
        let x = self.band_limit.filter(ch, x);
        let taps = self.interpolator.taps();
        let h = &mut self.history[ch];
        h[self.pos] = x;
        h[self.pos + taps] = x;
        let window = &h[self.pos + 1..self.pos + 1 + taps];
        (self.interpolator.peak(window), window[0])
    }

    /// Ends a frame whose windows needed `needed`; returns the smallest
    /// gain any window holding the leaving sample needs.
    #[inline(always)]
    fn end_frame(&mut self, needed: f32) -> f32 {
        self.band_limit.advance();
        let taps = self.interpolator.taps();
        self.pos = if self.pos + 1 == taps {
            0
        } else {
            self.pos + 1
        };
        self.needed[self.needed_pos] = needed;
        self.needed_pos = if self.needed_pos + 1 == taps {
            0
        } else {
            self.needed_pos + 1
        };
        self.needed.iter().fold(1.0f32, |m, &g| m.min(g))
    }
}

/// A lookahead brick-wall limiter implementing [`Processor`]: no output
/// sample (or, in true-peak mode, no inter-sample peak) exceeds the
/// ceiling. Unusable input samples (NaN, ±Inf, beyond
/// [`SAMPLE_LIMIT`](crate::sample::SAMPLE_LIMIT)) are replaced by silence
/// before they reach the delay line.
///
/// The ceiling and release can change at run time through
/// [`LimiterHandle`]; the lookahead and the peak mode are fixed at
/// construction because they set the latency the host compensates for.
///
/// ```
/// use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};
/// use kmidi_dsp::dynamics::{Limiter, LimiterSettings};
/// let mut lim = Limiter::new(LimiterSettings { ceiling_db: -1.0, ..Default::default() }).unwrap();
/// lim.prepare(&StreamSpec::new(48_000.0, 512, 1).unwrap()).unwrap();
/// let mut block = AudioBuffer::new(1, 512);
/// block.channel_mut(0).fill(4.0);
/// lim.process(&mut block);
/// assert!(block.peak() <= 10f32.powf(-1.0 / 20.0));
/// ```
#[derive(Debug)]
pub struct Limiter {
    settings: LimiterSettings,
    ceiling: Arc<AtomicF32>,
    release_ms: Arc<AtomicF32>,
    seen_release_ms: f32,
    release_coeff: f32,
    /// The ceiling the incoming frame is judged against, gliding.
    ceiling_glide: LinearRamp,
    seen_ceiling: f32,
    lookahead: usize,
    sample_rate: f64,
    max_frames: usize,
    delay: Vec<Vec<f32>>,
    /// The ceiling each delayed frame was judged against. Written only
    /// while a glide is in the delay line; `settling` keeps writing for a
    /// whole lookahead after it ends, so the ring then holds the settled
    /// ceiling everywhere and the next glide starts from a true history.
    ceiling_delay: Vec<f32>,
    /// Frames until the delay line holds one ceiling again after a glide.
    settling: usize,
    /// Per-frame work space, sized by `prepare`.
    scratch: LimiterScratch,
    delay_pos: usize,
    /// True-peak mode's detector.
    true_peak: TruePeakDetector,
    /// [`TRUE_PEAK_MARGIN_DB`] as a factor.
    true_peak_margin: f32,
    /// Sliding-minimum deque over the needed gains: (frame index, gain).
    min_queue: Vec<(u64, f32)>,
    min_head: usize,
    min_len: usize,
    box_ring: Vec<f32>,
    box_pos: usize,
    box_sum: f64,
    envelope: f32,
    frame_index: u64,
    prepared: bool,
}

/// The limiter's per-frame work space for one block.
#[derive(Debug, Default)]
struct LimiterScratch {
    /// The gain each frame needs, then the smoothed gain applied to it.
    needed: Vec<f32>,
    /// The ceiling each incoming frame is judged against (while gliding).
    ceiling_in: Vec<f32>,
    /// The ceiling each outgoing frame is clamped to (while gliding).
    ceiling_out: Vec<f32>,
}

/// The control side of a [`Limiter`].
#[derive(Debug, Clone)]
pub struct LimiterHandle {
    ceiling: Arc<AtomicF32>,
    release_ms: Arc<AtomicF32>,
}

impl LimiterHandle {
    /// Sets the ceiling in dBFS (-60 to 0). The limiter glides to it over
    /// 20 ms, without clipping.
    ///
    /// # Errors
    /// [`ConfigError`] naming `ceiling_db`.
    pub fn set_ceiling_db(&self, db: f32) -> Result<(), ConfigError> {
        ConfigError::check_f32("ceiling_db", db, -60.0, 0.0, " dB")?;
        self.ceiling.store(db_to_linear(db));
        Ok(())
    }

    /// Sets the release time in ms (1 to 2000).
    ///
    /// # Errors
    /// [`ConfigError`] naming `release_ms`.
    pub fn set_release_ms(&self, ms: f32) -> Result<(), ConfigError> {
        ConfigError::check_f32("release_ms", ms, 1.0, 2000.0, " ms")?;
        self.release_ms.store(ms);
        Ok(())
    }
}

/// How often the smoothing window's running sum is recomputed, in frames
/// counted from reset (so the result does not depend on block sizes).
const RESUM_FRAMES: u64 = 4096;

impl Limiter {
    /// A limiter with these settings.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first field out of range.
    pub fn new(settings: LimiterSettings) -> Result<Self, ConfigError> {
        settings.validate()?;
        let ceiling = db_to_linear(settings.ceiling_db);
        Ok(Self {
            settings,
            ceiling: Arc::new(AtomicF32::new(ceiling)),
            release_ms: Arc::new(AtomicF32::new(settings.release_ms)),
            seen_release_ms: f32::NAN,
            release_coeff: 0.0,
            ceiling_glide: LinearRamp::new(ceiling, 1),
            seen_ceiling: ceiling,
            lookahead: 1,
            sample_rate: 48_000.0,
            max_frames: 0,
            delay: Vec::new(),
            ceiling_delay: Vec::new(),
            settling: 0,
            scratch: LimiterScratch::default(),
            delay_pos: 0,
            true_peak: TruePeakDetector::default(),
            true_peak_margin: db_to_linear(-TRUE_PEAK_MARGIN_DB),
            min_queue: Vec::new(),
            min_head: 0,
            min_len: 0,
            box_ring: Vec::new(),
            box_pos: 0,
            box_sum: 0.0,
            envelope: 1.0,
            frame_index: 0,
            prepared: false,
        })
    }

    /// A handle for changing the ceiling and release from another thread.
    pub fn handle(&self) -> LimiterHandle {
        LimiterHandle {
            ceiling: Arc::clone(&self.ceiling),
            release_ms: Arc::clone(&self.release_ms),
        }
    }

    /// The gain applied to the last frame (1 = no limiting).
    pub fn current_gain(&self) -> f32 {
        (self.box_sum / self.lookahead as f64) as f32
    }

    /// The settings it was built with (the ceiling and release may have
    /// moved since, through the handle).
    pub fn settings(&self) -> &LimiterSettings {
        &self.settings
    }

    #[inline(always)]
    fn push_min(&mut self, index: u64, gain: f32) {
        // Indices wrap by comparison, not `%`: a hardware divide per sample
        // was the limiter's largest cost.
        let cap = self.min_queue.len();
        let wrap = |i: usize| if i >= cap { i - cap } else { i };
        // Drop entries from the back that can never be the minimum again.
        while self.min_len > 0 {
            let back = wrap(self.min_head + self.min_len - 1);
            if self.min_queue[back].1 >= gain {
                self.min_len -= 1;
            } else {
                break;
            }
        }
        let slot = wrap(self.min_head + self.min_len);
        self.min_queue[slot] = (index, gain);
        self.min_len += 1;
        // Expire the front once it leaves the window.
        let window = self.lookahead as u64;
        while self.min_len > 0 && self.min_queue[self.min_head].0 + window <= index {
            self.min_head = wrap(self.min_head + 1);
            self.min_len -= 1;
        }
    }

    /// One segment of a block, in three passes: the gain each frame needs
    /// (per channel in sample-peak mode, so it vectorises), the gain
    /// envelope (per frame: the sliding minimum is sequential), then each
    /// channel's delay line with the gain and the ceiling applied.
    /// `TRUE_PEAK` selects the detector and `GLIDING` a moving ceiling at
    /// compile time, so the common path carries neither.
    #[inline(always)]
    fn run<const TRUE_PEAK: bool, const GLIDING: bool>(
        &mut self,
        block: &mut AudioBuffer,
        span: std::ops::Range<usize>,
        channels: usize,
    ) {
        let l = self.lookahead;
        let len = span.len();
        let was_ramping = self.ceiling_glide.is_ramping();
        // Settled: one ceiling in force, in and out of the delay line.
        let settled = self.ceiling_glide.current();
        // Moved out for the segment (no allocation: the empty default
        // does not allocate) so the passes can borrow `self` as well.
        let mut scratch = std::mem::take(&mut self.scratch);
        let needed = &mut scratch.needed[..len];
        let ceiling_in = &mut scratch.ceiling_in[..len];
        let ceiling_out = &mut scratch.ceiling_out[..len];
        if GLIDING {
            let mut pos = self.delay_pos;
            for (c_in, c_out) in ceiling_in.iter_mut().zip(ceiling_out.iter_mut()) {
                *c_in = self.ceiling_glide.next_value();
                self.ceiling_delay[pos] = *c_in;
                pos = if pos + 1 == l { 0 } else { pos + 1 };
                *c_out = self.ceiling_delay[pos];
            }
        }
        let c_in_at = |i: usize| if GLIDING { ceiling_in[i] } else { settled };

        // Pass 1: the frame entering the lookahead replaces the input in
        // place, and `needed` gets the gain it needs. In sample-peak mode
        // the entering frame is the incoming one; in true-peak mode the
        // one 11 frames back, whose 12 interpolation windows are complete.
        if TRUE_PEAK {
            for (i, n) in span.clone().enumerate() {
                let c_in = c_in_at(i);
                let aim = c_in * self.true_peak_margin;
                let mut peak = 0.0f32;
                let mut tp_needed = 1.0f32;
                for ch in 0..channels {
                    let x = &mut block.channel_mut(ch)[n];
                    let (tp, old) = self
                        .true_peak
                        .push(ch, crate::sample::usable_or_silence(*x));
                    if tp > aim {
                        tp_needed = tp_needed.min(aim / tp);
                    }
                    // The sample leaving the interpolation window enters
                    // the lookahead.
                    peak = peak.max(old.abs());
                    *x = old;
                }
                let g = if peak > c_in { c_in / peak } else { 1.0 };
                // Every window that used the entering sample must be met.
                needed[i] = g.min(self.true_peak.end_frame(tp_needed));
            }
        } else {
            let peak = &mut *needed;
            peak.fill(0.0);
            for ch in 0..channels {
                let x = &mut block.channel_mut(ch)[span.clone()];
                for (p, v) in peak.iter_mut().zip(x.iter_mut()) {
                    *v = crate::sample::usable_or_silence(*v);
                    *p = p.max(v.abs());
                }
            }
            for (i, g) in needed.iter_mut().enumerate() {
                let c_in = c_in_at(i);
                *g = if *g > c_in { c_in / *g } else { 1.0 };
            }
        }

        // Pass 2: the gain envelope, held over the lookahead, released and
        // smoothed by a box filter as long as the lookahead; it replaces
        // `needed` frame by frame.
        let inv_l = 1.0 / l as f64;
        for g in needed.iter_mut() {
            let idx = self.frame_index;
            self.frame_index += 1;
            self.push_min(idx, *g);
            let held = self.min_queue[self.min_head].1;
            let released = self.envelope + (1.0 - self.envelope) * self.release_coeff;
            self.envelope = held.min(released);
            self.box_sum += self.envelope as f64 - self.box_ring[self.box_pos] as f64;
            self.box_ring[self.box_pos] = self.envelope;
            self.box_pos = if self.box_pos + 1 == l {
                0
            } else {
                self.box_pos + 1
            };
            *g = (self.box_sum * inv_l) as f32;
        }
        let gain = &*needed;

        // Pass 3: each channel through its delay line (`lookahead - 1`
        // frames: the write slot is read back one lap later).
        let start_pos = self.delay_pos;
        let mut end_pos = start_pos;
        for ch in 0..channels {
            let d = &mut self.delay[ch];
            let x = &mut block.channel_mut(ch)[span.clone()];
            let mut pos = start_pos;
            for (i, (v, &g)) in x.iter_mut().zip(gain).enumerate() {
                d[pos] = *v;
                pos = if pos + 1 == l { 0 } else { pos + 1 };
                let c_out = if GLIDING { ceiling_out[i] } else { settled };
                *v = (d[pos] * g).clamp(-c_out, c_out);
            }
            end_pos = pos;
        }
        if channels == 0 {
            end_pos = (start_pos + len) % l;
        }
        self.delay_pos = end_pos;
        self.scratch = scratch;

        if GLIDING {
            // The delay line holds the glide until `lookahead` frames after
            // it ends; then one ceiling is in force again.
            self.settling = if was_ramping || self.ceiling_glide.is_ramping() {
                l
            } else {
                self.settling.saturating_sub(len)
            };
        }
    }
}

impl Processor for Limiter {
    fn prepare(&mut self, spec: &StreamSpec) -> Result<(), ConfigError> {
        self.lookahead = spec.ms_to_frames(self.settings.lookahead_ms as f64);
        self.sample_rate = spec.sample_rate();
        self.max_frames = spec.max_block_frames();
        let l = self.lookahead;
        // In true-peak mode the interpolation window holds each frame
        // `taps - 1` frames before it enters this delay line.
        self.delay = vec![vec![0.0; l]; spec.channels()];
        self.ceiling_delay = vec![0.0; l];
        let frames = self.max_frames;
        self.scratch = LimiterScratch {
            needed: vec![0.0; frames],
            ceiling_in: vec![0.0; frames],
            ceiling_out: vec![0.0; frames],
        };
        self.true_peak = if self.settings.true_peak {
            TruePeakDetector::new(spec.channels())
        } else {
            TruePeakDetector::default()
        };
        self.min_queue = vec![(0, 1.0); l + 1];
        self.box_ring = vec![1.0; l];
        self.ceiling_glide
            .set_ramp_frames(spec.ms_to_frames(crate::gain::DEFAULT_RAMP_MS));
        self.seen_release_ms = f32::NAN;
        self.prepared = true;
        self.reset_state();
        Ok(())
    }

    fn process(&mut self, block: &mut AudioBuffer) {
        if !self.prepared {
            return;
        }
        let ceiling = self.ceiling.load();
        if ceiling != self.seen_ceiling {
            self.seen_ceiling = ceiling;
            self.ceiling_glide.set_target(ceiling);
        }
        let release_ms = self.release_ms.load();
        if release_ms != self.seen_release_ms {
            self.seen_release_ms = release_ms;
            self.release_coeff = 1.0 - one_pole_coefficient(release_ms as f64, self.sample_rate);
        }
        let channels = block.channels().min(self.delay.len());
        let frames = block.frames().min(self.max_frames);
        // Segments end where the frame count since reset reaches a
        // multiple of RESUM_FRAMES: the running sum is recomputed there,
        // at the same frames whatever the block sizes.
        let mut start = 0;
        while start < frames {
            let to_resum = RESUM_FRAMES - self.frame_index % RESUM_FRAMES;
            let end = frames.min(start + to_resum as usize);
            let gliding = self.ceiling_glide.is_ramping() || self.settling > 0;
            match (self.settings.true_peak, gliding) {
                (false, false) => self.run::<false, false>(block, start..end, channels),
                (false, true) => self.run::<false, true>(block, start..end, channels),
                (true, false) => self.run::<true, false>(block, start..end, channels),
                (true, true) => self.run::<true, true>(block, start..end, channels),
            }
            if self.frame_index.is_multiple_of(RESUM_FRAMES) {
                // Re-sum the smoothing window so rounding cannot drift.
                self.box_sum = self.box_ring.iter().map(|&g| g as f64).sum();
            }
            start = end;
        }
    }

    fn reset(&mut self) {
        self.reset_state();
    }

    fn latency_frames(&self) -> usize {
        self.lookahead - 1
            + if self.settings.true_peak {
                self.true_peak.delay()
            } else {
                0
            }
    }

    fn tail_frames(&self) -> usize {
        let release = self.release_ms.load().max(self.settings.release_ms) as f64;
        (TIME_CONSTANTS_TO_FORGET * release * 0.001 * self.sample_rate).ceil() as usize
            + self.lookahead
            + self.ceiling_glide.ramp_frames()
    }
}

impl Limiter {
    fn reset_state(&mut self) {
        for d in self.delay.iter_mut() {
            d.fill(0.0);
        }
        self.true_peak.reset();
        let ceiling = self.ceiling.load();
        self.seen_ceiling = ceiling;
        self.ceiling_glide.set_immediate(ceiling);
        self.ceiling_delay.fill(ceiling);
        self.settling = 0;
        self.delay_pos = 0;
        self.min_head = 0;
        self.min_len = 0;
        self.box_ring.fill(1.0);
        self.box_pos = 0;
        self.box_sum = self.lookahead as f64;
        self.envelope = 1.0;
        self.frame_index = 0;
    }
}
