//! The stream description a host hands to `prepare`.

use crate::ConfigError;

/// Lowest supported sample rate, in Hz.
pub const MIN_SAMPLE_RATE: f64 = 8_000.0;
/// Highest supported sample rate, in Hz.
pub const MAX_SAMPLE_RATE: f64 = 384_000.0;
/// Largest block a host may pass, in frames.
pub const MAX_BLOCK_FRAMES: usize = 8192;
/// Largest channel count of one buffer.
pub const MAX_CHANNELS: usize = 64;

/// Sample rate, largest block size and channel count of a stream.
///
/// A `StreamSpec` can only be built through [`StreamSpec::new`], which
/// validates every field, so a processor that receives one can trust it.
///
/// ```
/// use kmidi_dsp::StreamSpec;
/// let spec = StreamSpec::new(48_000.0, 512, 2).unwrap();
/// assert_eq!(spec.block_period_seconds(), 512.0 / 48_000.0);
/// assert!(StreamSpec::new(1_000.0, 512, 2).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamSpec {
    sample_rate: f64,
    max_block_frames: usize,
    channels: usize,
}

impl StreamSpec {
    /// Validates and builds a stream description.
    ///
    /// # Errors
    /// [`ConfigError`] naming `sample_rate` (8 000 to 384 000 Hz),
    /// `max_block_frames` (1 to 8192) or `channels` (1 to 64).
    pub fn new(
        sample_rate: f64,
        max_block_frames: usize,
        channels: usize,
    ) -> Result<Self, ConfigError> {
        ConfigError::check_range(
            "sample_rate",
            sample_rate,
            MIN_SAMPLE_RATE,
            MAX_SAMPLE_RATE,
            " Hz",
        )?;
        ConfigError::check_count("max_block_frames", max_block_frames, 1, MAX_BLOCK_FRAMES)?;
        ConfigError::check_count("channels", channels, 1, MAX_CHANNELS)?;
        Ok(Self {
            sample_rate,
            max_block_frames,
            channels,
        })
    }

    /// The same stream with another channel count.
    ///
    /// # Errors
    /// [`ConfigError`] if `channels` is outside 1 to 64.
    pub fn with_channels(&self, channels: usize) -> Result<Self, ConfigError> {
        Self::new(self.sample_rate, self.max_block_frames, channels)
    }

    /// Sample rate in Hz.
    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    /// The largest block `process` will be called with, in frames.
    pub fn max_block_frames(&self) -> usize {
        self.max_block_frames
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Duration of one full block: the deadline a real-time callback has.
    pub fn block_period_seconds(&self) -> f64 {
        self.max_block_frames as f64 / self.sample_rate
    }

    /// Converts a time in milliseconds to a whole number of frames (at least 1).
    pub fn ms_to_frames(&self, ms: f64) -> usize {
        ((ms * 0.001 * self.sample_rate).round() as usize).max(1)
    }
}
