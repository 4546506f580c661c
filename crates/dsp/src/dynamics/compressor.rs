//! A feed-forward compressor (Giannoulis, Massberg and Reiss 2012): the
//! module overview in [`super`] describes its three passes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::fastmath::{DB_PER_LOG2, LOG2_PER_DB, fast_exp2, fast_log2};
use crate::param::{AtomicF32, AtomicSwitch, LinearRamp};
use crate::{AudioBuffer, ConfigError, Processor, StreamSpec};

use super::{TIME_CONSTANTS_TO_FORGET, one_pole_coefficient};

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
