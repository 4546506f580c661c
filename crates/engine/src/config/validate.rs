//! Checking every value of a config, naming the first bad one and what
//! is allowed.

use super::*;

impl EngineConfig {
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
