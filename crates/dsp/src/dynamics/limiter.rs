//! A lookahead brick-wall limiter, with an optional true-peak mode: the
//! module overview in [`super`] describes how the ceiling holds.

use std::sync::Arc;

use crate::gain::db_to_linear;
use crate::param::{AtomicF32, LinearRamp};
use crate::true_peak::{BandLimiter, Interpolator, TRUE_PEAK_MARGIN_DB};
use crate::{AudioBuffer, ConfigError, Processor, StreamSpec};

use super::{TIME_CONSTANTS_TO_FORGET, one_pole_coefficient};

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
