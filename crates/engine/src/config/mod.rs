//! What an [`Engine`](crate::Engine) is built from: the three presets, or a
//! TOML file validated field by field.
//!
//! A config file looks like this (every table and field but `[[track]]` is
//! optional; unknown fields are errors, so a typo never goes unnoticed):
//!
//! ```toml
//! sample_rate = 48000      # engine rate, Hz
//! block_frames = 512       # largest host block
//! input_rate = 44100       # rate of the input; resampled to sample_rate
//! stage_timing = true      # per-stage times for bottleneck tables
//!
//! [[track]]
//! name = "kick"
//! input_channel = 0
//! gain_db = -3.0
//! pan = 0.0
//! eq = [{ type = "highpass", frequency_hz = 30.0 },
//!       { type = "peaking", frequency_hz = 60.0, q = 1.2, gain_db = 3.0 }]
//! compressor = { threshold_db = -16.0, ratio = 4.0, attack_ms = 2.0, release_ms = 80.0 }
//!
//! [master]
//! eq = [{ type = "highshelf", frequency_hz = 10000.0, gain_db = 1.5 }]
//! limiter = { ceiling_db = -1.0, lookahead_ms = 2.0 }
//!
//! [analysis]
//! chords = true
//! onsets = true
//!
//! [ml]
//! harmony = true
//! dynamics = true
//! precision = "fp32"       # or "int8"
//!
//! [groove]
//! tempo_bpm = 120.0
//! swing_percent = 56.0
//! bars = 4
//! # midi_file = "drums.mid"  # instead of the built-in pattern
//! ```

use std::path::{Path, PathBuf};

use kmidi_dsp::ConfigError;
use kmidi_dsp::biquad::FilterType;
use kmidi_dsp::dynamics::{CompressorSettings, Detection, LimiterSettings};
use kmidi_dsp::eq::BandSettings;
use kmidi_dsp::{MAX_BLOCK_FRAMES, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};
use kmidi_ml::models::Precision;
use serde::Deserialize;

use crate::EngineError;

mod file;
mod presets;
mod validate;

pub use presets::TrackRole;

/// Most tracks an engine takes.
pub const MAX_TRACKS: usize = 256;
/// Most input channels.
pub const MAX_INPUT_CHANNELS: usize = 64;
/// The preset names, in size order.
pub const PRESETS: [&str; 3] = ["minimal", "band", "large"];

/// The whole engine. See the [module docs](self) for the file format.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    /// Engine sample rate, Hz (8 000 to 384 000).
    #[serde(default = "default_rate")]
    pub sample_rate: u32,
    /// Largest block the host will pass, frames (1 to 8192).
    #[serde(default = "default_block")]
    pub block_frames: usize,
    /// Sample rate of the input; `None` means the engine rate. Any other
    /// rate is resampled (rubato FFT) before the tracks.
    #[serde(default)]
    pub input_rate: Option<u32>,
    /// Input channels; `None` means one per track.
    #[serde(default)]
    pub input_channels: Option<usize>,
    /// Record the time of each stage per block.
    #[serde(default)]
    pub stage_timing: bool,
    /// The tracks, in mixer order (1 to 256).
    #[serde(rename = "track", default)]
    pub tracks: Vec<TrackConfig>,
    /// The master bus.
    #[serde(default)]
    pub master: MasterConfig,
    /// The analysis taps on the master.
    #[serde(default)]
    pub analysis: AnalysisConfig,
    /// The models fed off-thread.
    #[serde(default)]
    pub ml: MlConfig,
    /// The MIDI groove scheduler.
    #[serde(default)]
    pub groove: GrooveConfig,
}

fn default_rate() -> u32 {
    48_000
}
fn default_block() -> usize {
    512
}

/// One track strip: a mono input channel through EQ and compressor inserts,
/// then a fader and pan into the stereo mix.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackConfig {
    /// A name for tables and errors.
    #[serde(default)]
    pub name: String,
    /// Which input channel feeds the track.
    #[serde(default)]
    pub input_channel: usize,
    /// Fader, dB (-144 to +12).
    #[serde(default)]
    pub gain_db: f32,
    /// Pan, -1 (left) to +1 (right).
    #[serde(default)]
    pub pan: f32,
    /// EQ insert bands, in order (none: no EQ insert).
    #[serde(default)]
    pub eq: Vec<EqBandConfig>,
    /// Compressor insert after the EQ (none: no compressor).
    #[serde(default)]
    pub compressor: Option<CompressorSettings>,
}

/// One EQ band.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EqBandConfig {
    /// lowpass, highpass, bandpass, notch, peaking, lowshelf, highshelf or allpass.
    #[serde(rename = "type")]
    pub kind: FilterType,
    /// Centre or corner frequency, Hz.
    pub frequency_hz: f32,
    /// Q (default 0.707).
    #[serde(default = "default_q")]
    pub q: f32,
    /// Gain for peaking and shelving bands, dB.
    #[serde(default)]
    pub gain_db: f32,
}

fn default_q() -> f32 {
    std::f32::consts::FRAC_1_SQRT_2
}

impl EqBandConfig {
    /// A band.
    pub fn new(kind: FilterType, frequency_hz: f32, q: f32, gain_db: f32) -> Self {
        Self {
            kind,
            frequency_hz,
            q,
            gain_db,
        }
    }

    /// The DSP settings.
    pub fn settings(&self) -> BandSettings {
        BandSettings::new(self.kind, self.frequency_hz, self.q, self.gain_db)
    }
}

/// The master bus: EQ, then a lookahead limiter.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MasterConfig {
    /// Master fader, dB (-144 to +12).
    pub gain_db: f32,
    /// EQ bands.
    pub eq: Vec<EqBandConfig>,
    /// The limiter.
    pub limiter: LimiterConfig,
}

impl Default for MasterConfig {
    fn default() -> Self {
        Self {
            gain_db: 0.0,
            eq: vec![
                EqBandConfig::new(FilterType::HighPass, 25.0, 0.707, 0.0),
                EqBandConfig::new(FilterType::Peaking, 320.0, 0.9, -1.5),
                EqBandConfig::new(FilterType::HighShelf, 9_000.0, 0.707, 1.0),
            ],
            limiter: LimiterConfig::default(),
        }
    }
}

/// Limiter settings as written in a config file.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimiterConfig {
    /// dBFS (-60 to 0).
    pub ceiling_db: f32,
    /// ms (0.1 to 20); this is the engine's latency.
    pub lookahead_ms: f32,
    /// ms (1 to 2000).
    pub release_ms: f32,
    /// Limit inter-sample (true) peaks, ITU-R BS.1770-4 (adds 11 frames
    /// of latency).
    pub true_peak: bool,
}

impl Default for LimiterConfig {
    fn default() -> Self {
        Self {
            ceiling_db: -1.0,
            lookahead_ms: 1.5,
            release_ms: 60.0,
            true_peak: false,
        }
    }
}

impl LimiterConfig {
    /// The DSP settings.
    pub fn settings(&self) -> LimiterSettings {
        LimiterSettings {
            ceiling_db: self.ceiling_db,
            lookahead_ms: self.lookahead_ms,
            release_ms: self.release_ms,
            true_peak: self.true_peak,
        }
    }
}

/// Which analysis taps run on the master.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalysisConfig {
    /// `ChordDetector` (chords, key, tuning).
    pub chords: bool,
    /// `OnsetDetector` (onsets, for tempo and beats).
    pub onsets: bool,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        Self {
            chords: true,
            onsets: true,
        }
    }
}

/// Which models the engine feeds through its inference worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MlConfig {
    /// HarmonyPredictor, fed the detected chords (needs `analysis.chords`).
    pub harmony: bool,
    /// DynamicsEngine, fed 10 ms loudness/onset/crest frames of the master.
    pub dynamics: bool,
    /// Weights precision.
    pub precision: PrecisionName,
}

impl Default for MlConfig {
    fn default() -> Self {
        Self {
            harmony: false,
            dynamics: false,
            precision: PrecisionName::Fp32,
        }
    }
}

impl MlConfig {
    /// Whether any model runs.
    pub fn enabled(&self) -> bool {
        self.harmony || self.dynamics
    }
}

/// A weights precision as written in a config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrecisionName {
    /// float32.
    Fp32,
    /// Dynamically quantized int8.
    Int8,
}

impl From<PrecisionName> for Precision {
    fn from(p: PrecisionName) -> Self {
        match p {
            PrecisionName::Fp32 => Precision::Fp32,
            PrecisionName::Int8 => Precision::Int8,
        }
    }
}

/// The MIDI groove the scheduler plays, in a loop.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrooveConfig {
    /// Whether the scheduler runs.
    pub enabled: bool,
    /// Tempo of the built-in pattern, BPM (20 to 400).
    pub tempo_bpm: f64,
    /// Swing of the built-in pattern's 16ths, % (50 to 75).
    pub swing_percent: f64,
    /// Bars of the built-in pattern (1 to 64).
    pub bars: u32,
    /// A Standard MIDI File to play instead of the built-in pattern.
    pub midi_file: Option<PathBuf>,
}

impl Default for GrooveConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            tempo_bpm: 120.0,
            swing_percent: 56.0,
            bars: 4,
            midi_file: None,
        }
    }
}

impl EngineConfig {
    /// The input channel count: `input_channels`, or one per track.
    pub fn input_channel_count(&self) -> usize {
        self.input_channels.unwrap_or(self.tracks.len())
    }

    /// The input rate: `input_rate`, or the engine rate.
    pub fn effective_input_rate(&self) -> u32 {
        self.input_rate.unwrap_or(self.sample_rate)
    }

    /// Feeds the tracks from `channels` input channels: track `t` reads
    /// channel `t % channels`. Used when a preset plays a file.
    pub fn route_inputs(&mut self, channels: usize) {
        self.input_channels = Some(channels);
        for (t, track) in self.tracks.iter_mut().enumerate() {
            track.input_channel = t % channels.max(1);
        }
    }
}
