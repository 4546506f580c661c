//! Decibel conversions and a smoothed gain stage.

use std::sync::Arc;

use crate::param::{AtomicF32, LinearRamp};
use crate::{AudioBuffer, ConfigError, Processor, StreamSpec};

/// Gains at or below this many dB are treated as silence (-inf dB).
pub const SILENCE_DB: f32 = -144.0;

/// Converts decibels to a linear amplitude factor. Values at or below
/// [`SILENCE_DB`] give exactly 0.
///
/// ```
/// use kmidi_dsp::gain::{db_to_linear, linear_to_db};
/// assert!((db_to_linear(-6.020_6) - 0.5).abs() < 1e-6);
/// assert_eq!(db_to_linear(-200.0), 0.0);
/// assert!((linear_to_db(2.0) - 6.020_6).abs() < 1e-4);
/// ```
#[inline]
pub fn db_to_linear(db: f32) -> f32 {
    if db <= SILENCE_DB {
        0.0
    } else {
        10f32.powf(db * 0.05)
    }
}

/// Converts a linear amplitude factor to decibels. Zero and negative values
/// (and NaN) give [`SILENCE_DB`].
#[inline]
pub fn linear_to_db(linear: f32) -> f32 {
    if linear > 0.0 {
        (20.0 * linear.log10()).max(SILENCE_DB)
    } else {
        SILENCE_DB
    }
}

/// Allowed gain range of [`Gain`], in dB.
pub const GAIN_RANGE_DB: (f32, f32) = (-144.0, 24.0);
/// Default smoothing time of gain changes, in milliseconds.
pub const DEFAULT_RAMP_MS: f64 = 20.0;

/// A gain stage whose changes ramp linearly over a configurable time, so a
/// jump from -inf to 0 dB makes no zipper noise or click.
///
/// The gain is set from any thread through a [`GainHandle`]; the audio
/// thread picks the new value up at the start of its next block.
#[derive(Debug)]
pub struct Gain {
    target_db: Arc<AtomicF32>,
    last_seen_db: f32,
    ramp: LinearRamp,
    ramp_ms: f64,
    max_frames: usize,
    channels: usize,
    prepared: bool,
}

/// The control side of a [`Gain`]: cheap to clone, safe to use from any thread.
#[derive(Debug, Clone)]
pub struct GainHandle(Arc<AtomicF32>);

impl GainHandle {
    /// Sets the gain in dB.
    ///
    /// # Errors
    /// [`ConfigError`] if `db` is not finite or outside -144 to +24 dB.
    pub fn set_db(&self, db: f32) -> Result<(), ConfigError> {
        ConfigError::check_f32(
            "gain_db",
            db,
            GAIN_RANGE_DB.0 as f64,
            GAIN_RANGE_DB.1 as f64,
            " dB",
        )?;
        self.0.store(db);
        Ok(())
    }

    /// The gain last set, in dB.
    pub fn db(&self) -> f32 {
        self.0.load()
    }
}

impl Gain {
    /// A gain stage starting at `db` (clamped to -144..=+24 dB), with the
    /// default 20 ms ramp.
    pub fn new(db: f32) -> Self {
        let db = if db.is_finite() {
            db.clamp(GAIN_RANGE_DB.0, GAIN_RANGE_DB.1)
        } else {
            0.0
        };
        Self {
            target_db: Arc::new(AtomicF32::new(db)),
            last_seen_db: db,
            ramp: LinearRamp::new(db_to_linear(db), 1),
            ramp_ms: DEFAULT_RAMP_MS,
            max_frames: 0,
            channels: 0,
            prepared: false,
        }
    }

    /// Sets how long a gain change takes, in milliseconds (0.1 to 1000).
    ///
    /// # Errors
    /// [`ConfigError`] naming `ramp_ms`.
    pub fn with_ramp_ms(mut self, ramp_ms: f64) -> Result<Self, ConfigError> {
        self.ramp_ms = ConfigError::check_range("ramp_ms", ramp_ms, 0.1, 1000.0, " ms")?;
        Ok(self)
    }

    /// A handle for changing the gain from another thread.
    pub fn handle(&self) -> GainHandle {
        GainHandle(Arc::clone(&self.target_db))
    }

    /// The linear gain being applied now.
    pub fn current_linear(&self) -> f32 {
        self.ramp.current()
    }
}

impl Processor for Gain {
    fn prepare(&mut self, spec: &StreamSpec) -> Result<(), ConfigError> {
        self.ramp.set_ramp_frames(spec.ms_to_frames(self.ramp_ms));
        self.max_frames = spec.max_block_frames();
        self.channels = spec.channels();
        self.prepared = true;
        Ok(())
    }

    fn process(&mut self, block: &mut AudioBuffer) {
        if !self.prepared {
            return;
        }
        let db = self.target_db.load();
        if db != self.last_seen_db {
            self.last_seen_db = db;
            self.ramp.set_target(db_to_linear(db));
        }
        let frames = block.frames().min(self.max_frames);
        let before = self.ramp;
        for ch in block.channels_iter_mut().take(self.channels) {
            // Every channel follows the same ramp.
            self.ramp = before;
            apply_ramped_gain(&mut ch[..frames], &mut self.ramp, frames);
        }
        if block.channels() == 0 {
            self.ramp.advance_block(frames);
        }
    }

    fn tail_frames(&self) -> usize {
        // A change in flight finishes within one ramp.
        self.ramp.ramp_frames()
    }

    fn reset(&mut self) {
        let db = self.target_db.load();
        self.last_seen_db = db;
        self.ramp.set_immediate(db_to_linear(db));
    }
}

/// Multiplies `samples` by the ramp's value, advancing it by `frames`.
/// The constant part after the ramp is a plain vectorised multiply.
#[inline]
pub fn apply_ramped_gain(samples: &mut [f32], ramp: &mut LinearRamp, frames: usize) {
    let (start, step, n) = ramp.advance_block(frames);
    // When the ramp ends inside this block its last frame takes the exact
    // target (start + step * n can miss it by an ulp), as does the rest.
    let n = if ramp.is_ramping() {
        n
    } else {
        n.saturating_sub(1)
    };
    let n = n.min(samples.len());
    let (ramped, rest) = samples.split_at_mut(n);
    for (i, s) in ramped.iter_mut().enumerate() {
        *s *= start + step * (i + 1) as f32;
    }
    let g = ramp.current();
    if g != 1.0 {
        for s in rest {
            *s *= g;
        }
    }
}

/// Multiplies every sample by a constant `gain`: the hot path of a static
/// gain (and the `mixer/gain` bench).
#[inline]
pub fn apply_gain(samples: &mut [f32], gain: f32) {
    for s in samples {
        *s *= gain;
    }
}
