//! Lock-free parameters and the smoothing that makes their changes click-free.
//!
//! A control thread writes an [`AtomicF32`]; the audio thread reads it once
//! per block (a relaxed load, never a lock) and hands the value to a
//! [`LinearRamp`] as its new target, so the change is spread over a few
//! milliseconds instead of landing as a step.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// An `f32` that can be shared between threads without a lock.
///
/// ```
/// use kmidi_dsp::param::AtomicF32;
/// let p = AtomicF32::new(0.5);
/// p.store(-3.0);
/// assert_eq!(p.load(), -3.0);
/// ```
#[derive(Debug, Default)]
pub struct AtomicF32(AtomicU32);

impl AtomicF32 {
    /// A new atomic holding `value`.
    pub fn new(value: f32) -> Self {
        Self(AtomicU32::new(value.to_bits()))
    }

    /// Reads the value (relaxed: parameters carry no other data with them).
    #[inline]
    pub fn load(&self) -> f32 {
        f32::from_bits(self.0.load(Ordering::Relaxed))
    }

    /// Writes the value.
    #[inline]
    pub fn store(&self, value: f32) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }
}

/// A boolean switch shared between threads (mute, solo, bypass).
#[derive(Debug, Default)]
pub struct AtomicSwitch(AtomicBool);

impl AtomicSwitch {
    /// A new switch in state `on`.
    pub fn new(on: bool) -> Self {
        Self(AtomicBool::new(on))
    }
    /// Reads the state.
    #[inline]
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
    /// Sets the state.
    #[inline]
    pub fn set(&self, on: bool) {
        self.0.store(on, Ordering::Relaxed);
    }
}

/// A value that moves linearly to its target over a fixed number of frames.
///
/// Linear ramps of a gain are what mixing consoles use against zipper noise:
/// the slope is bounded, so the change has no step in it.
///
/// ```
/// use kmidi_dsp::param::LinearRamp;
/// let mut r = LinearRamp::new(0.0, 4);
/// r.set_target(1.0);
/// let v: Vec<f32> = (0..5).map(|_| r.next_value()).collect();
/// assert_eq!(v, [0.25, 0.5, 0.75, 1.0, 1.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearRamp {
    current: f32,
    target: f32,
    step: f32,
    remaining: usize,
    ramp_frames: usize,
}

impl LinearRamp {
    /// A ramp resting at `value` that takes `ramp_frames` frames (at least 1)
    /// for each change.
    pub fn new(value: f32, ramp_frames: usize) -> Self {
        Self {
            current: value,
            target: value,
            step: 0.0,
            remaining: 0,
            ramp_frames: ramp_frames.max(1),
        }
    }

    /// Frames each change takes.
    pub fn ramp_frames(&self) -> usize {
        self.ramp_frames
    }

    /// Changes the ramp length for later targets.
    pub fn set_ramp_frames(&mut self, frames: usize) {
        self.ramp_frames = frames.max(1);
    }

    /// Starts a ramp from the current value to `target`. A non-finite target
    /// is ignored, so a NaN from a control thread cannot reach the audio.
    #[inline]
    pub fn set_target(&mut self, target: f32) {
        if !target.is_finite() || target == self.target {
            return;
        }
        self.target = target;
        self.remaining = self.ramp_frames;
        self.step = (target - self.current) / self.ramp_frames as f32;
    }

    /// Jumps to `value` at once (used by `reset` and at start-up).
    pub fn set_immediate(&mut self, value: f32) {
        if value.is_finite() {
            self.current = value;
            self.target = value;
            self.remaining = 0;
            self.step = 0.0;
        }
    }

    /// The value now.
    #[inline]
    pub fn current(&self) -> f32 {
        self.current
    }

    /// The value being moved to.
    #[inline]
    pub fn target(&self) -> f32 {
        self.target
    }

    /// Whether a ramp is in progress.
    #[inline]
    pub fn is_ramping(&self) -> bool {
        self.remaining > 0
    }

    /// Advances one frame and returns the new value.
    #[inline]
    pub fn next_value(&mut self) -> f32 {
        if self.remaining > 0 {
            self.remaining -= 1;
            if self.remaining == 0 {
                self.current = self.target;
            } else {
                self.current += self.step;
            }
        }
        self.current
    }

    /// Advances `frames` frames at once. Returns `(start, step, ramp_len)`:
    /// the value after the first frame is `start + step`, and after
    /// `ramp_len` frames the ramp holds at the target for the rest.
    #[inline]
    pub fn advance_block(&mut self, frames: usize) -> (f32, f32, usize) {
        let start = self.current;
        let n = self.remaining.min(frames);
        let step = self.step;
        if n == 0 {
            return (start, 0.0, 0);
        }
        self.remaining -= n;
        self.current = if self.remaining == 0 {
            self.target
        } else {
            start + step * n as f32
        };
        (start, step, n)
    }
}
