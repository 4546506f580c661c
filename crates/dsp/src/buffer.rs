//! Planar audio buffers with a fixed capacity, and the interleave helpers used
//! at the edges (WAV files, ring buffers, host APIs).

use crate::{ConfigError, spec::MAX_CHANNELS};

/// A planar `f32` buffer: one contiguous slice per channel, as VST3, CLAP and
/// JUCE hosts hand them over.
///
/// The channel count and the capacity (largest block, in frames) are fixed when
/// the buffer is made; the number of valid frames can change per block with
/// [`set_frames`](AudioBuffer::set_frames) without allocating.
///
/// ```
/// use kmidi_dsp::AudioBuffer;
/// let mut buf = AudioBuffer::new(2, 4);
/// buf.deinterleave_from(&[1.0, -1.0, 2.0, -2.0], 2).unwrap();
/// assert_eq!(buf.frames(), 2);
/// assert_eq!(buf.channel(1), &[-1.0, -2.0]);
/// let mut out = [0.0; 4];
/// buf.interleave_into(&mut out).unwrap();
/// assert_eq!(out, [1.0, -1.0, 2.0, -2.0]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AudioBuffer {
    data: Vec<f32>,
    channels: usize,
    capacity: usize,
    stride: usize,
    frames: usize,
}

impl AudioBuffer {
    /// A silent buffer of `channels` channels holding up to `capacity` frames.
    /// Its frame count starts at `capacity`.
    ///
    /// Channel counts above 64 are clamped to 64; use
    /// [`try_new`](AudioBuffer::try_new) for a checked constructor.
    pub fn new(channels: usize, capacity: usize) -> Self {
        let channels = channels.clamp(1, MAX_CHANNELS);
        // Pad each channel to a multiple of 16 samples (64 bytes) so every
        // channel starts on the same alignment relative to the allocation.
        let stride = capacity.div_ceil(16).max(1) * 16;
        Self {
            data: vec![0.0; stride * channels],
            channels,
            capacity,
            stride,
            frames: capacity,
        }
    }

    /// Like [`new`](AudioBuffer::new), but rejects a channel count outside
    /// 1 to 64 instead of clamping it.
    ///
    /// # Errors
    /// [`ConfigError::OutOfRange`] naming `channels`.
    pub fn try_new(channels: usize, capacity: usize) -> Result<Self, ConfigError> {
        ConfigError::check_count("channels", channels, 1, MAX_CHANNELS)?;
        Ok(Self::new(channels, capacity))
    }

    /// Number of channels.
    #[inline]
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Largest number of frames the buffer can hold.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Number of valid frames in the current block.
    #[inline]
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Sets the number of valid frames. Never allocates.
    ///
    /// # Errors
    /// [`ConfigError::OutOfRange`] if `frames` exceeds the capacity.
    pub fn set_frames(&mut self, frames: usize) -> Result<(), ConfigError> {
        ConfigError::check_count("frames", frames, 0, self.capacity)?;
        self.frames = frames;
        Ok(())
    }

    /// Sets the number of valid frames, clamped to the capacity. Returns the
    /// number actually set.
    #[inline]
    pub fn set_frames_clamped(&mut self, frames: usize) -> usize {
        self.frames = frames.min(self.capacity);
        self.frames
    }

    /// The valid samples of channel `ch`. An out-of-range channel gives an
    /// empty slice rather than a panic.
    #[inline]
    pub fn channel(&self, ch: usize) -> &[f32] {
        if ch >= self.channels {
            return &[];
        }
        let start = ch * self.stride;
        &self.data[start..start + self.frames]
    }

    /// The valid samples of channel `ch`, mutable. An out-of-range channel
    /// gives an empty slice.
    #[inline]
    pub fn channel_mut(&mut self, ch: usize) -> &mut [f32] {
        if ch >= self.channels {
            return &mut [];
        }
        let start = ch * self.stride;
        &mut self.data[start..start + self.frames]
    }

    /// Two different channels at once, mutably (for stereo processing).
    /// Returns `None` if `a == b` or either is out of range.
    pub fn channel_pair_mut(&mut self, a: usize, b: usize) -> Option<(&mut [f32], &mut [f32])> {
        if a == b || a >= self.channels || b >= self.channels {
            return None;
        }
        let frames = self.frames;
        let stride = self.stride;
        let (lo, hi, swapped) = if a < b { (a, b, false) } else { (b, a, true) };
        let (head, tail) = self.data.split_at_mut(hi * stride);
        let x = &mut head[lo * stride..lo * stride + frames];
        let y = &mut tail[..frames];
        Some(if swapped { (y, x) } else { (x, y) })
    }

    /// Iterates over the valid samples of every channel.
    pub fn channels_iter(&self) -> impl Iterator<Item = &[f32]> {
        let frames = self.frames;
        self.data
            .chunks_exact(self.stride)
            .map(move |c| &c[..frames])
    }

    /// Iterates mutably over the valid samples of every channel.
    pub fn channels_iter_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
        let frames = self.frames;
        self.data
            .chunks_exact_mut(self.stride)
            .map(move |c| &mut c[..frames])
    }

    /// The whole capacity of channel `ch`, ignoring the frame count.
    pub fn channel_capacity_mut(&mut self, ch: usize) -> &mut [f32] {
        let start = ch * self.stride;
        &mut self.data[start..start + self.capacity]
    }

    /// Sets every valid sample to zero.
    pub fn clear(&mut self) {
        for ch in self.channels_iter_mut() {
            ch.fill(0.0);
        }
    }

    /// Copies `other`'s valid frames into this buffer, channel by channel,
    /// and takes over its frame count.
    ///
    /// # Errors
    /// [`ConfigError::Mismatch`] if the channel counts differ, or
    /// [`ConfigError::OutOfRange`] if `other` has more frames than this
    /// buffer's capacity.
    pub fn copy_from(&mut self, other: &AudioBuffer) -> Result<(), ConfigError> {
        if other.channels != self.channels {
            return Err(ConfigError::Mismatch {
                field: "channels",
                expected: self.channels,
                actual: other.channels,
                context: "AudioBuffer::copy_from needs equal channel counts",
            });
        }
        self.set_frames(other.frames)?;
        for ch in 0..self.channels {
            self.channel_mut(ch).copy_from_slice(other.channel(ch));
        }
        Ok(())
    }

    /// Fills the buffer from interleaved samples (`L R L R ...` for stereo)
    /// with `channels` channels per frame, and sets the frame count.
    ///
    /// # Errors
    /// [`ConfigError`] if `channels` differs from the buffer's, if
    /// `interleaved.len()` is not a multiple of it, or if there are more
    /// frames than the capacity.
    pub fn deinterleave_from(
        &mut self,
        interleaved: &[f32],
        channels: usize,
    ) -> Result<(), ConfigError> {
        self.check_interleaved(interleaved.len(), channels)?;
        let frames = interleaved.len() / channels;
        self.set_frames(frames)?;
        match channels {
            1 => self.channel_mut(0).copy_from_slice(interleaved),
            2 => {
                if let Some((l, r)) = self.channel_pair_mut(0, 1) {
                    for ((frame, l), r) in interleaved.chunks_exact(2).zip(l).zip(r) {
                        *l = frame[0];
                        *r = frame[1];
                    }
                }
            }
            _ => {
                for ch in 0..channels {
                    let dst = self.channel_mut(ch);
                    for (d, frame) in dst.iter_mut().zip(interleaved.chunks_exact(channels)) {
                        *d = frame[ch];
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes the valid frames interleaved into `out`, which must hold exactly
    /// `frames() * channels()` samples.
    ///
    /// # Errors
    /// [`ConfigError::Mismatch`] if `out` has the wrong length.
    pub fn interleave_into(&self, out: &mut [f32]) -> Result<(), ConfigError> {
        let expected = self.frames * self.channels;
        if out.len() != expected {
            return Err(ConfigError::Mismatch {
                field: "interleaved length",
                expected,
                actual: out.len(),
                context: "frames() * channels() samples",
            });
        }
        let channels = self.channels;
        match channels {
            1 => out.copy_from_slice(self.channel(0)),
            2 => {
                let (l, r) = (self.channel(0), self.channel(1));
                for ((frame, l), r) in out.chunks_exact_mut(2).zip(l).zip(r) {
                    frame[0] = *l;
                    frame[1] = *r;
                }
            }
            _ => {
                for ch in 0..channels {
                    for (frame, s) in out.chunks_exact_mut(channels).zip(self.channel(ch)) {
                        frame[ch] = *s;
                    }
                }
            }
        }
        Ok(())
    }

    fn check_interleaved(&self, len: usize, channels: usize) -> Result<(), ConfigError> {
        if channels != self.channels {
            return Err(ConfigError::Mismatch {
                field: "channels",
                expected: self.channels,
                actual: channels,
                context: "interleaved data must have the buffer's channel count",
            });
        }
        if !len.is_multiple_of(channels) {
            return Err(ConfigError::Mismatch {
                field: "interleaved length",
                expected: len - len % channels,
                actual: len,
                context: "a whole number of frames",
            });
        }
        Ok(())
    }

    /// Largest absolute sample value over all valid frames (NaN is ignored).
    pub fn peak(&self) -> f32 {
        self.channels_iter()
            .flat_map(|c| c.iter())
            .fold(0.0f32, |m, &s| m.max(s.abs()))
    }
}
