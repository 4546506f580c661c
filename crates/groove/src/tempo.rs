//! The tempo map: PPQ, tempo changes and time signatures, with exact
//! conversion between ticks, seconds and sample frames.
//!
//! Tempos are stored as MIDI stores them, in integer microseconds per
//! quarter note, and every conversion is done in 128-bit integers: the
//! frame of a tick is `floor(µs × sample_rate / 10⁶)` computed exactly, so
//! there is no accumulated rounding, and the position after an hour is as
//! exact as after a second.
//!
//! ```
//! use kmidi_groove::tempo::TempoMap;
//! let mut map = TempoMap::new(960)?;
//! map.set_tempo_bpm(0, 120.0)?;
//! map.set_tempo_bpm(960 * 4, 90.0)?; // one bar of 120, then 90
//! assert_eq!(map.tick_to_frame(960 * 4, 48_000), 96_000);
//! assert_eq!(map.tick_to_frame(960 * 5, 48_000), 96_000 + 32_000);
//! assert_eq!(map.frame_to_tick(128_000, 48_000), 960 * 5);
//! # Ok::<(), kmidi_groove::GrooveError>(())
//! ```

use crate::GrooveError;
use crate::error::out_of_range;

/// Microseconds per quarter at 120 BPM, the MIDI default.
pub const DEFAULT_US_PER_QUARTER: u32 = 500_000;
/// Largest tempo value a MIDI file can store (24 bits).
pub const MAX_US_PER_QUARTER: u32 = 0xFF_FFFF;

/// A tempo from a tick on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TempoChange {
    /// Where it starts.
    pub tick: u64,
    /// Microseconds per quarter note.
    pub us_per_quarter: u32,
}

impl TempoChange {
    /// Beats (quarters) per minute.
    pub fn bpm(&self) -> f64 {
        60_000_000.0 / self.us_per_quarter as f64
    }
}

/// A time signature from a tick on (which should be a bar line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeSignature {
    /// Where it starts.
    pub tick: u64,
    /// Beats per bar.
    pub numerator: u8,
    /// The beat's note value: 1, 2, 4, 8, 16, 32 or 64.
    pub denominator: u8,
}

/// A position in bars and beats (all counted from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BarBeat {
    /// Bar.
    pub bar: u64,
    /// Beat within the bar.
    pub beat: u32,
    /// Ticks after the beat.
    pub tick: u64,
}

/// PPQ, tempo changes and time signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TempoMap {
    ppq: u16,
    tempos: Vec<TempoChange>,
    signatures: Vec<TimeSignature>,
    /// Microseconds × PPQ from tick 0 to each tempo change.
    scaled_us: Vec<u128>,
}

impl TempoMap {
    /// A map at 120 BPM in 4/4 with `ppq` ticks per quarter (1 to 32767).
    ///
    /// # Errors
    /// [`GrooveError::OutOfRange`] for a PPQ outside 1 to 32767.
    pub fn new(ppq: u16) -> Result<Self, GrooveError> {
        if ppq == 0 || ppq > 0x7FFF {
            return Err(out_of_range(
                "ppq",
                ppq,
                "1 to 32767 ticks per quarter note",
            ));
        }
        Ok(Self {
            ppq,
            tempos: vec![TempoChange {
                tick: 0,
                us_per_quarter: DEFAULT_US_PER_QUARTER,
            }],
            signatures: vec![TimeSignature {
                tick: 0,
                numerator: 4,
                denominator: 4,
            }],
            scaled_us: vec![0],
        })
    }

    /// Ticks per quarter note.
    pub fn ppq(&self) -> u16 {
        self.ppq
    }

    /// The tempo changes, the first at tick 0.
    pub fn tempos(&self) -> &[TempoChange] {
        &self.tempos
    }

    /// The time signatures, the first at tick 0.
    pub fn signatures(&self) -> &[TimeSignature] {
        &self.signatures
    }

    /// Sets the tempo from `tick` on (replacing a change at the same tick).
    ///
    /// # Errors
    /// [`GrooveError::OutOfRange`] for 0 or more than 16 777 215 µs per quarter.
    pub fn set_tempo(&mut self, tick: u64, us_per_quarter: u32) -> Result<(), GrooveError> {
        if us_per_quarter == 0 || us_per_quarter > MAX_US_PER_QUARTER {
            return Err(out_of_range(
                "tempo",
                format!("{us_per_quarter} µs per quarter"),
                "1 to 16777215 µs per quarter (about 3.6 to 60 000 000 BPM)",
            ));
        }
        let change = TempoChange {
            tick,
            us_per_quarter,
        };
        match self.tempos.binary_search_by_key(&tick, |t| t.tick) {
            Ok(i) => self.tempos[i] = change,
            Err(i) => self.tempos.insert(i, change),
        }
        self.rebuild();
        Ok(())
    }

    /// Sets the tempo in BPM (quarters per minute, rounded to whole
    /// microseconds per quarter as MIDI stores it).
    ///
    /// # Errors
    /// [`GrooveError::OutOfRange`] for a BPM that is not finite or outside
    /// 4 to 1000.
    pub fn set_tempo_bpm(&mut self, tick: u64, bpm: f64) -> Result<(), GrooveError> {
        if !bpm.is_finite() || !(4.0..=1000.0).contains(&bpm) {
            return Err(out_of_range("tempo", format!("{bpm} BPM"), "4 to 1000 BPM"));
        }
        self.set_tempo(tick, (60_000_000.0 / bpm).round() as u32)
    }

    /// Sets the time signature from `tick` on.
    ///
    /// # Errors
    /// [`GrooveError::OutOfRange`] for a zero numerator or a denominator
    /// that is not a power of two from 1 to 64.
    pub fn set_signature(
        &mut self,
        tick: u64,
        numerator: u8,
        denominator: u8,
    ) -> Result<(), GrooveError> {
        if numerator == 0 {
            return Err(out_of_range(
                "time signature numerator",
                numerator,
                "1 to 255",
            ));
        }
        if !denominator.is_power_of_two() || denominator > 64 {
            return Err(out_of_range(
                "time signature denominator",
                denominator,
                "1, 2, 4, 8, 16, 32 or 64",
            ));
        }
        let sig = TimeSignature {
            tick,
            numerator,
            denominator,
        };
        match self.signatures.binary_search_by_key(&tick, |s| s.tick) {
            Ok(i) => self.signatures[i] = sig,
            Err(i) => self.signatures.insert(i, sig),
        }
        Ok(())
    }

    fn rebuild(&mut self) {
        self.scaled_us.clear();
        let mut acc = 0u128;
        for (i, t) in self.tempos.iter().enumerate() {
            if i > 0 {
                let prev = self.tempos[i - 1];
                acc += (t.tick - prev.tick) as u128 * prev.us_per_quarter as u128;
            }
            self.scaled_us.push(acc);
        }
    }

    fn segment_of_tick(&self, tick: u64) -> usize {
        match self.tempos.binary_search_by_key(&tick, |t| t.tick) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// Microseconds × PPQ from the start to `tick`, exactly.
    fn scaled_us_at(&self, tick: u64) -> u128 {
        let k = self.segment_of_tick(tick);
        let t = self.tempos[k];
        self.scaled_us[k] + (tick.saturating_sub(t.tick)) as u128 * t.us_per_quarter as u128
    }

    /// The tempo in force at `tick`.
    pub fn tempo_at(&self, tick: u64) -> TempoChange {
        self.tempos[self.segment_of_tick(tick)]
    }

    /// Seconds from the start to `tick`.
    pub fn tick_to_seconds(&self, tick: u64) -> f64 {
        self.scaled_us_at(tick) as f64 / (self.ppq as f64 * 1e6)
    }

    /// The sample frame at which `tick` falls (rounded down), at an
    /// integer sample rate. Exact: no error accumulates over time.
    pub fn tick_to_frame(&self, tick: u64, sample_rate: u32) -> u64 {
        let num = self.scaled_us_at(tick) * sample_rate as u128;
        (num / (self.ppq as u128 * 1_000_000)) as u64
    }

    /// The last tick whose frame is at or before `frame` (the inverse of
    /// [`tick_to_frame`](Self::tick_to_frame) for ticks that fall on
    /// distinct frames). Exact, in integers.
    pub fn frame_to_tick(&self, frame: u64, sample_rate: u32) -> u64 {
        let sr = sample_rate.max(1) as u128;
        // tick_to_frame(t) <= frame  ⇔  scaled_us(t)·sr < (frame + 1)·ppq·10⁶
        let limit = (frame as u128 + 1) * self.ppq as u128 * 1_000_000;
        let k = self
            .scaled_us
            .partition_point(|&s| s * sr < limit)
            .saturating_sub(1);
        let t = self.tempos[k];
        let rest = limit - self.scaled_us[k] * sr;
        let per_tick = t.us_per_quarter as u128 * sr;
        t.tick + ((rest - 1) / per_tick) as u64
    }

    /// The tick at `seconds` from the start (rounded down).
    pub fn seconds_to_tick(&self, seconds: f64) -> u64 {
        if !seconds.is_finite() || seconds <= 0.0 {
            return 0;
        }
        let target = seconds * self.ppq as f64 * 1e6;
        let k = self
            .scaled_us
            .partition_point(|&s| s as f64 <= target)
            .saturating_sub(1);
        let t = self.tempos[k];
        t.tick + ((target - self.scaled_us[k] as f64) / t.us_per_quarter as f64).floor() as u64
    }

    /// Ticks in one beat of the signature in force at `tick`, rounded up
    /// to a whole tick (a beat can be shorter than a tick: an eighth at
    /// PPQ 1), so it is never 0.
    pub fn beat_ticks_at(&self, tick: u64) -> u64 {
        let sig = self.signature_at(tick);
        (self.ppq as u64 * 4)
            .div_ceil(sig.denominator as u64)
            .max(1)
    }

    /// The time signature in force at `tick`.
    pub fn signature_at(&self, tick: u64) -> TimeSignature {
        let i = match self.signatures.binary_search_by_key(&tick, |s| s.tick) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        self.signatures[i]
    }

    /// Bar, beat and tick of `tick`, with each signature change starting a
    /// new bar. Exact at any PPQ and signature: lengths are counted in
    /// ticks × denominator, so a beat shorter than a tick (an eighth at
    /// PPQ 1) divides nothing by zero; `tick` is then the whole ticks past
    /// the beat, rounded down.
    ///
    /// ```
    /// use kmidi_groove::tempo::TempoMap;
    /// let mut map = TempoMap::new(1)?;
    /// map.set_signature(0, 6, 8)?; // a bar of 6/8 is 3 ticks at PPQ 1
    /// let bb = map.bar_beat(7);
    /// assert_eq!((bb.bar, bb.beat, bb.tick), (2, 2, 0));
    /// # Ok::<(), kmidi_groove::GrooveError>(())
    /// ```
    pub fn bar_beat(&self, tick: u64) -> BarBeat {
        let mut bar = 0u64;
        for (i, sig) in self.signatures.iter().enumerate() {
            let den = sig.denominator as u128;
            // In units of 1/den of a tick: a beat is ppq·4 of them.
            let beat = self.ppq as u128 * 4;
            let bar_len = beat * sig.numerator as u128;
            let end = self.signatures.get(i + 1).map_or(u64::MAX, |n| n.tick);
            if tick < end {
                let into = (tick - sig.tick) as u128 * den;
                let in_bar = into % bar_len;
                return BarBeat {
                    bar: bar + (into / bar_len) as u64,
                    beat: (in_bar / beat) as u32,
                    tick: ((in_bar % beat) / den) as u64,
                };
            }
            bar += ((end - sig.tick) as u128 * den).div_ceil(bar_len) as u64;
        }
        BarBeat {
            bar,
            beat: 0,
            tick: 0,
        }
    }
}
