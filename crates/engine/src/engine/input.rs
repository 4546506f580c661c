//! The engine's input stage: input at any rate, delivered at the engine
//! rate through the DSP core's resampler and a FIFO.

use kmidi_dsp::resampler::{Resampler, ResamplerConfig};
use kmidi_dsp::{AudioBuffer, ProcessError};

use crate::EngineError;
use crate::config::EngineConfig;

/// Input at any rate, delivered at the engine rate.
pub(super) struct InputStage {
    pub(super) channels: usize,
    pub(super) resampler: Option<Resampler>,
    /// Engine-rate frames waiting to be played (resampled input only).
    pub(super) fifo: AudioBuffer,
    pub(super) fill: usize,
    pub(super) underruns: u64,
    pub(super) prime: usize,
    pub(super) rate_ratio: f64,
}

impl InputStage {
    pub(super) fn new(config: &EngineConfig) -> Result<Self, EngineError> {
        let channels = config.input_channel_count();
        let in_rate = config.effective_input_rate();
        let ratio = in_rate as f64 / config.sample_rate as f64;
        if in_rate == config.sample_rate {
            return Ok(Self {
                channels,
                resampler: None,
                fifo: AudioBuffer::new(channels, 0),
                fill: 0,
                underruns: 0,
                prime: 0,
                rate_ratio: 1.0,
            });
        }
        let max_in = ((config.block_frames as f64 * ratio).ceil() as usize + 1)
            .min(kmidi_dsp::MAX_BLOCK_FRAMES);
        let rs = Resampler::new(ResamplerConfig::new(
            in_rate,
            config.sample_rate,
            channels,
            max_in,
        ))?;
        // One chunk of output in hand covers the gap between chunks.
        let prime = rs.max_output_frames();
        let cap = prime * 2 + config.block_frames * 2;
        let mut s = Self {
            channels,
            resampler: Some(rs),
            fifo: AudioBuffer::try_new(channels, cap)?,
            fill: 0,
            underruns: 0,
            prime,
            rate_ratio: ratio,
        };
        s.reset();
        Ok(s)
    }

    pub(super) fn reset(&mut self) {
        if let Some(rs) = self.resampler.as_mut() {
            rs.reset();
            for ch in 0..self.channels {
                self.fifo.channel_capacity_mut(ch).fill(0.0);
            }
            self.fill = self.prime;
        }
        self.underruns = 0;
    }

    /// Makes `frames` engine-rate frames available; returns the buffer and
    /// the frame offset to read from.
    pub(super) fn pull<'a>(
        &'a mut self,
        input: &'a AudioBuffer,
        frames: usize,
    ) -> Result<&'a AudioBuffer, ProcessError> {
        ProcessError::check_equal(
            "input channels",
            self.channels,
            input.channels(),
            "the engine's input_channels",
        )?;
        let Some(rs) = self.resampler.as_mut() else {
            ProcessError::check_equal(
                "input frames",
                frames,
                input.frames(),
                "at the engine rate, one input frame per output frame",
            )?;
            return Ok(input);
        };
        let out = rs.process(input)?;
        let produced = out.frames();
        let room = self.fifo.capacity() - self.fill;
        let take = produced.min(room);
        for ch in 0..self.channels {
            self.fifo.channel_capacity_mut(ch)[self.fill..self.fill + take]
                .copy_from_slice(&out.channel(ch)[..take]);
        }
        self.fill += take;
        if self.fill < frames {
            let short = frames - self.fill;
            for ch in 0..self.channels {
                self.fifo.channel_capacity_mut(ch)[self.fill..frames].fill(0.0);
            }
            self.underruns += short as u64;
            self.fill = frames;
        }
        self.fifo.set_frames_clamped(frames);
        Ok(&self.fifo)
    }

    /// Drops the `frames` just played from the FIFO.
    pub(super) fn consume(&mut self, frames: usize) {
        if self.resampler.is_some() {
            let left = self.fill - frames;
            for ch in 0..self.channels {
                self.fifo
                    .channel_capacity_mut(ch)
                    .copy_within(frames..frames + left, 0);
            }
            self.fill = left;
        }
    }

    pub(super) fn latency_frames(&self) -> usize {
        self.resampler
            .as_ref()
            .map_or(0, |rs| rs.latency_frames() + self.prime)
    }
}
