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

/// The role a preset gives a track, which also picks the generated
/// material for it (see [`crate::material`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackRole {
    /// Kick drum.
    Kick,
    /// Snare drum.
    Snare,
    /// Hi-hats.
    HiHat,
    /// Bass line.
    Bass,
    /// Chord comping (keys).
    Keys,
    /// Sustained chord pad.
    Pad,
    /// Melody.
    Lead,
    /// Room noise / texture.
    Texture,
}

impl TrackRole {
    /// The eight roles of the "band" preset, in track order.
    pub const BAND: [TrackRole; 8] = [
        TrackRole::Kick,
        TrackRole::Snare,
        TrackRole::HiHat,
        TrackRole::Bass,
        TrackRole::Keys,
        TrackRole::Pad,
        TrackRole::Lead,
        TrackRole::Texture,
    ];

    /// A lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            TrackRole::Kick => "kick",
            TrackRole::Snare => "snare",
            TrackRole::HiHat => "hihat",
            TrackRole::Bass => "bass",
            TrackRole::Keys => "keys",
            TrackRole::Pad => "pad",
            TrackRole::Lead => "lead",
            TrackRole::Texture => "texture",
        }
    }

    /// The role of track `index` in a preset with `tracks` tracks: one full
    /// mix for a single track, else the band roles in turn.
    pub fn for_track(index: usize, tracks: usize) -> Option<TrackRole> {
        if tracks == 1 {
            None
        } else {
            Some(Self::BAND[index % Self::BAND.len()])
        }
    }

    fn strip(self, index: usize, input_channel: usize) -> TrackConfig {
        use FilterType::*;
        let copy = index / Self::BAND.len();
        let name = if copy == 0 {
            self.name().to_string()
        } else {
            format!("{}{}", self.name(), copy + 1)
        };
        // Spread the copies in a large session across the stereo field.
        let spread = [0.0, -0.5, 0.5, -0.25][copy % 4];
        let (gain_db, pan, eq, comp): (f32, f32, Vec<EqBandConfig>, CompressorSettings) = match self
        {
            TrackRole::Kick => (
                -4.0,
                0.0,
                vec![
                    EqBandConfig::new(HighPass, 30.0, 0.707, 0.0),
                    EqBandConfig::new(Peaking, 60.0, 1.2, 3.0),
                    EqBandConfig::new(Peaking, 350.0, 1.5, -4.0),
                ],
                CompressorSettings {
                    threshold_db: -14.0,
                    ratio: 4.0,
                    attack_ms: 3.0,
                    release_ms: 80.0,
                    ..Default::default()
                },
            ),
            TrackRole::Snare => (
                -6.0,
                0.05,
                vec![
                    EqBandConfig::new(HighPass, 90.0, 0.707, 0.0),
                    EqBandConfig::new(Peaking, 200.0, 1.0, 2.0),
                    EqBandConfig::new(HighShelf, 6_000.0, 0.707, 2.0),
                ],
                CompressorSettings {
                    threshold_db: -16.0,
                    ratio: 3.0,
                    attack_ms: 5.0,
                    release_ms: 120.0,
                    ..Default::default()
                },
            ),
            TrackRole::HiHat => (
                -12.0,
                0.3,
                vec![
                    EqBandConfig::new(HighPass, 400.0, 0.707, 0.0),
                    EqBandConfig::new(HighShelf, 8_000.0, 0.707, 1.5),
                ],
                CompressorSettings {
                    threshold_db: -20.0,
                    ratio: 2.0,
                    attack_ms: 1.0,
                    release_ms: 60.0,
                    ..Default::default()
                },
            ),
            TrackRole::Bass => (
                -6.0,
                0.0,
                vec![
                    EqBandConfig::new(HighPass, 35.0, 0.707, 0.0),
                    EqBandConfig::new(LowShelf, 100.0, 0.707, 2.0),
                    EqBandConfig::new(LowPass, 4_000.0, 0.707, 0.0),
                ],
                CompressorSettings {
                    threshold_db: -18.0,
                    ratio: 4.0,
                    attack_ms: 10.0,
                    release_ms: 150.0,
                    detection: Detection::Rms,
                    ..Default::default()
                },
            ),
            TrackRole::Keys => (
                -9.0,
                -0.3,
                vec![
                    EqBandConfig::new(HighPass, 120.0, 0.707, 0.0),
                    EqBandConfig::new(Peaking, 2_500.0, 1.0, 1.5),
                ],
                CompressorSettings {
                    threshold_db: -20.0,
                    ratio: 2.5,
                    attack_ms: 15.0,
                    release_ms: 200.0,
                    detection: Detection::Rms,
                    ..Default::default()
                },
            ),
            TrackRole::Pad => (
                -14.0,
                -0.6,
                vec![
                    EqBandConfig::new(HighPass, 180.0, 0.707, 0.0),
                    EqBandConfig::new(LowPass, 7_000.0, 0.707, 0.0),
                ],
                CompressorSettings {
                    threshold_db: -24.0,
                    ratio: 2.0,
                    attack_ms: 30.0,
                    release_ms: 300.0,
                    detection: Detection::Rms,
                    ..Default::default()
                },
            ),
            TrackRole::Lead => (
                -8.0,
                0.35,
                vec![
                    EqBandConfig::new(HighPass, 200.0, 0.707, 0.0),
                    EqBandConfig::new(Peaking, 3_000.0, 1.4, 2.0),
                    EqBandConfig::new(Notch, 5_500.0, 4.0, 0.0),
                ],
                CompressorSettings {
                    threshold_db: -18.0,
                    ratio: 3.0,
                    attack_ms: 8.0,
                    release_ms: 120.0,
                    ..Default::default()
                },
            ),
            TrackRole::Texture => (
                -24.0,
                0.6,
                vec![
                    EqBandConfig::new(BandPass, 1_500.0, 0.5, 0.0),
                    EqBandConfig::new(LowPass, 9_000.0, 0.707, 0.0),
                ],
                CompressorSettings {
                    threshold_db: -30.0,
                    ratio: 2.0,
                    attack_ms: 20.0,
                    release_ms: 250.0,
                    detection: Detection::Rms,
                    ..Default::default()
                },
            ),
        };
        TrackConfig {
            name,
            input_channel,
            gain_db,
            pan: (pan + spread).clamp(-1.0, 1.0),
            eq,
            compressor: Some(comp),
        }
    }
}

/// The highest band a preset keeps, as a share of the sample rate.
const PRESET_BAND_LIMIT: f32 = 0.4;

impl EngineConfig {
    /// A preset: "minimal" (1 track: a full mix through EQ and a bus
    /// compressor), "band" (8 tracks: kick, snare, hi-hat, bass, keys, pad,
    /// lead, texture) or "large" (32 tracks: four bands). Every preset has
    /// the master EQ and limiter and both analysis taps; "band" and "large"
    /// also feed the HarmonyPredictor and DynamicsEngine models.
    ///
    /// # Errors
    /// [`EngineError::UnknownPreset`] for any other name.
    pub fn preset(name: &str) -> Result<Self, EngineError> {
        let tracks = match name {
            "minimal" => 1,
            "band" => 8,
            "large" => 32,
            _ => return Err(EngineError::UnknownPreset(name.to_string())),
        };
        let strips = (0..tracks)
            .map(|i| match TrackRole::for_track(i, tracks) {
                Some(role) => role.strip(i, i),
                None => TrackConfig {
                    name: "mix".into(),
                    input_channel: 0,
                    gain_db: 0.0,
                    pan: 0.0,
                    eq: vec![
                        EqBandConfig::new(FilterType::HighPass, 30.0, 0.707, 0.0),
                        EqBandConfig::new(FilterType::Peaking, 2_000.0, 0.8, 1.0),
                    ],
                    compressor: Some(CompressorSettings {
                        threshold_db: -16.0,
                        ratio: 2.0,
                        attack_ms: 10.0,
                        release_ms: 150.0,
                        detection: Detection::Rms,
                        ..Default::default()
                    }),
                },
            })
            .collect();
        let ml = tracks > 1;
        Ok(Self {
            sample_rate: default_rate(),
            block_frames: default_block(),
            input_rate: None,
            input_channels: None,
            stage_timing: false,
            tracks: strips,
            master: MasterConfig::default(),
            analysis: AnalysisConfig::default(),
            ml: MlConfig {
                harmony: ml,
                dynamics: ml,
                precision: PrecisionName::Fp32,
            },
            groove: GrooveConfig::default(),
        })
    }

    /// A preset at `sample_rate` Hz. The presets are voiced at 48 kHz; at a
    /// rate whose Nyquist frequency is too low for a band (the master's
    /// 9 kHz air shelf at 8 kHz), the band moves down to 0.4 × the rate,
    /// the highest a shelf can sit and still shape the top octave. A config
    /// file's bands never move: one above Nyquist is an error.
    ///
    /// ```
    /// use kmidi_engine::EngineConfig;
    /// let c = EngineConfig::preset_at("band", 8_000)?;
    /// assert!(c.master.eq.iter().all(|b| b.frequency_hz <= 3_200.0));
    /// c.validate()?;
    /// # Ok::<(), kmidi_engine::EngineError>(())
    /// ```
    ///
    /// # Errors
    /// [`EngineError::UnknownPreset`] for an unknown name.
    pub fn preset_at(name: &str, sample_rate: u32) -> Result<Self, EngineError> {
        let mut config = Self::preset(name)?;
        config.sample_rate = sample_rate;
        let limit = PRESET_BAND_LIMIT * sample_rate as f32;
        let bands = config
            .tracks
            .iter_mut()
            .flat_map(|t| t.eq.iter_mut())
            .chain(config.master.eq.iter_mut());
        for band in bands {
            band.frequency_hz = band.frequency_hz.min(limit);
        }
        Ok(config)
    }

    /// Reads and validates a TOML config file.
    ///
    /// # Errors
    /// [`EngineError::ConfigFile`] with the line and column of a syntax
    /// error, an unknown field or a value of the wrong type;
    /// [`EngineError::Config`] for a value out of range.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, EngineError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| EngineError::ConfigFile {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            detail: format!("cannot read: {e}"),
            source: Some(kmidi_dsp::Cause::new(e)),
        })?;
        let mut config = Self::from_toml_str(&text).map_err(|e| match e {
            EngineError::ConfigFile {
                line,
                column,
                detail,
                source,
                ..
            } => EngineError::ConfigFile {
                path: path.to_path_buf(),
                line,
                column,
                detail,
                source,
            },
            other => other,
        })?;
        // A relative MIDI file is relative to the config file.
        if let Some(midi) = &config.groove.midi_file
            && midi.is_relative()
            && let Some(dir) = path.parent()
        {
            config.groove.midi_file = Some(dir.join(midi));
        }
        Ok(config)
    }

    /// Parses and validates a TOML config from a string.
    ///
    /// # Errors
    /// As [`from_file`](Self::from_file), with an empty path.
    pub fn from_toml_str(text: &str) -> Result<Self, EngineError> {
        let config: EngineConfig = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| line_column(text, s.start))
                .unwrap_or((0, 0));
            EngineError::ConfigFile {
                path: PathBuf::from("<config>"),
                line,
                column,
                detail: e.message().trim().replace('\n', " "),
                source: Some(kmidi_dsp::Cause::new(e)),
            }
        })?;
        config.validate()?;
        Ok(config)
    }

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

    /// Checks every value and says which one is wrong and what is allowed.
    ///
    /// # Errors
    /// [`EngineError::Config`] naming the first bad value.
    pub fn validate(&self) -> Result<(), EngineError> {
        let rate = |field: &'static str, r: u32| {
            ConfigError::check_range(field, r as f64, MIN_SAMPLE_RATE, MAX_SAMPLE_RATE, " Hz")
                .map_err(|e| EngineError::config("engine", e))
        };
        rate("sample_rate", self.sample_rate)?;
        if let Some(r) = self.input_rate {
            rate("input_rate", r)?;
        }
        ConfigError::check_count("block_frames", self.block_frames, 1, MAX_BLOCK_FRAMES)
            .map_err(|e| EngineError::config("engine", e))?;
        ConfigError::check_count("track count", self.tracks.len(), 1, MAX_TRACKS)
            .map_err(|e| EngineError::config("engine", e))?;
        let inputs = self.input_channel_count();
        ConfigError::check_count("input_channels", inputs, 1, MAX_INPUT_CHANNELS)
            .map_err(|e| EngineError::config("engine", e))?;
        for (i, t) in self.tracks.iter().enumerate() {
            let ctx = || track_context(i, &t.name);
            if t.input_channel >= inputs {
                return Err(EngineError::config(
                    ctx(),
                    format!(
                        "input_channel = {} but the input has {inputs} channel{} (allowed 0 to {})",
                        t.input_channel,
                        if inputs == 1 { "" } else { "s" },
                        inputs - 1
                    ),
                ));
            }
            ConfigError::check_f32("gain_db", t.gain_db, -144.0, 12.0, " dB")
                .map_err(|e| EngineError::config(ctx(), e))?;
            ConfigError::check_f32("pan", t.pan, -1.0, 1.0, "")
                .map_err(|e| EngineError::config(ctx(), e))?;
            check_bands(&t.eq, self.sample_rate, &ctx())?;
            if let Some(c) = &t.compressor {
                c.validate()
                    .map_err(|e| EngineError::config(format!("{} compressor", ctx()), e))?;
            }
        }
        ConfigError::check_f32("gain_db", self.master.gain_db, -144.0, 12.0, " dB")
            .map_err(|e| EngineError::config("master", e))?;
        check_bands(&self.master.eq, self.sample_rate, "master")?;
        self.master
            .limiter
            .settings()
            .validate()
            .map_err(|e| EngineError::config("master limiter", e))?;
        if self.ml.harmony && !self.analysis.chords {
            return Err(EngineError::config(
                "ml",
                "harmony = true needs analysis.chords = true (the model is fed detected chords)",
            ));
        }
        let g = &self.groove;
        if g.enabled {
            ConfigError::check_range("tempo_bpm", g.tempo_bpm, 20.0, 400.0, " BPM")
                .map_err(|e| EngineError::config("groove", e))?;
            ConfigError::check_range("swing_percent", g.swing_percent, 50.0, 75.0, "%")
                .map_err(|e| EngineError::config("groove", e))?;
            ConfigError::check_count("bars", g.bars as usize, 1, 64)
                .map_err(|e| EngineError::config("groove", e))?;
        }
        Ok(())
    }
}

fn track_context(index: usize, name: &str) -> String {
    if name.is_empty() {
        format!("track {index}")
    } else {
        format!("track {index} (\"{name}\")")
    }
}

fn check_bands(bands: &[EqBandConfig], sample_rate: u32, context: &str) -> Result<(), EngineError> {
    ConfigError::check_count("eq bands", bands.len(), 0, 16)
        .map_err(|e| EngineError::config(context, e))?;
    let nyquist = sample_rate as f64 / 2.0;
    for (b, band) in bands.iter().enumerate() {
        let ctx = || format!("{context} eq band {b}");
        band.settings()
            .validate()
            .map_err(|e| EngineError::config(ctx(), e))?;
        if band.frequency_hz as f64 >= nyquist * 0.999 {
            return Err(EngineError::config(
                ctx(),
                format!(
                    "frequency_hz = {} is at or above Nyquist ({nyquist} Hz at {sample_rate} Hz): allowed below {:.0} Hz",
                    band.frequency_hz,
                    nyquist * 0.999
                ),
            ));
        }
    }
    Ok(())
}

/// 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(offset, |p| offset - p - 1) + 1;
    (line, column)
}
