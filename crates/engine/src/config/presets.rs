//! The built-in presets (minimal, band, large) and the track roles that
//! voice them.

use super::*;

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
}
