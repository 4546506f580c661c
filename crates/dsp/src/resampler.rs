//! Sample-rate conversion on rubato 5, for blocks of any length.
//!
//! rubato's resamplers take fixed-size input chunks. [`Resampler`] sits in
//! front of one and accepts blocks of any length: whole chunks are handed to
//! rubato straight from the caller's buffer (no copy), and the remainder is
//! kept in a small FIFO until the next call completes a chunk. Output goes
//! straight into a buffer allocated at construction, through
//! `process_into_buffer`, so processing never allocates.
//!
//! When the input and output rates are equal, [`Resampler::process`] returns
//! the caller's own buffer: a zero-copy bypass.
//!
//! Qualities:
//! * [`ResamplerQuality::Fft`] (default): rubato's synchronous FFT
//!   resampler. Fixed rational ratio, highest quality per CPU cycle.
//! * [`ResamplerQuality::Sinc`]: asynchronous windowed-sinc (256 taps,
//!   Blackman-Harris², cubic interpolation of an oversampled table).
//! * [`ResamplerQuality::Polynomial`]: asynchronous cubic interpolation,
//!   cheapest and lowest quality, with no anti-aliasing filter.

use rubato::audioadapter_buffers::direct::SequentialSliceOfSlices;
use rubato::{
    Async, Fft, FixedAsync, FixedSync, PolynomialDegree, SincInterpolationParameters,
    WindowFunction,
};

use crate::spec::{MAX_BLOCK_FRAMES, MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};
use crate::{AudioBuffer, ConfigError};

/// Which rubato resampler runs underneath.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResamplerQuality {
    /// Synchronous FFT resampler (default).
    #[default]
    Fft,
    /// Asynchronous windowed-sinc resampler.
    Sinc,
    /// Asynchronous cubic polynomial interpolation.
    Polynomial,
}

/// How to build a [`Resampler`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResamplerConfig {
    /// Input sample rate, in Hz (8 000 to 384 000).
    pub input_rate: u32,
    /// Output sample rate, in Hz (8 000 to 384 000).
    pub output_rate: u32,
    /// Channels (1 to 64).
    pub channels: usize,
    /// Largest input block `process` will see, in frames (1 to 8192).
    pub max_input_frames: usize,
    /// Frames per rubato chunk. `None` uses `max_input_frames`, which makes
    /// host blocks of that size pass straight through without buffering.
    pub chunk_frames: Option<usize>,
    /// The algorithm.
    pub quality: ResamplerQuality,
}

impl ResamplerConfig {
    /// A config with the default quality and chunking.
    pub fn new(
        input_rate: u32,
        output_rate: u32,
        channels: usize,
        max_input_frames: usize,
    ) -> Self {
        Self {
            input_rate,
            output_rate,
            channels,
            max_input_frames,
            chunk_frames: None,
            quality: ResamplerQuality::Fft,
        }
    }

    /// The same config with another quality.
    pub fn with_quality(mut self, quality: ResamplerQuality) -> Self {
        self.quality = quality;
        self
    }
}

type Inner = Box<dyn rubato::Resampler<f32> + Send>;

/// A block-size-agnostic resampler. See the [module docs](self).
///
/// ```
/// use kmidi_dsp::AudioBuffer;
/// use kmidi_dsp::resampler::{Resampler, ResamplerConfig};
/// let mut rs = Resampler::new(ResamplerConfig::new(44_100, 48_000, 2, 512)).unwrap();
/// let mut block = AudioBuffer::new(2, 512);
/// let mut produced = 0;
/// for _ in 0..10 {
///     produced += rs.process(&block).unwrap().frames();
/// }
/// // 10 blocks of 512 frames at 44.1 kHz come out as about 5573 frames at 48 kHz.
/// assert!((produced as i64 - 5573).abs() <= 160);
/// ```
pub struct Resampler {
    config: ResamplerConfig,
    inner: Option<Inner>,
    chunk: usize,
    fifo: AudioBuffer,
    fifo_fill: usize,
    output: AudioBuffer,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("config", &self.config)
            .field("chunk", &self.chunk)
            .field("fifo_fill", &self.fifo_fill)
            .finish()
    }
}

fn construction_error(e: impl std::fmt::Display) -> ConfigError {
    ConfigError::Resampler(e.to_string())
}

impl Resampler {
    /// Builds the resampler and allocates all its buffers.
    ///
    /// # Errors
    /// [`ConfigError`] naming `input_rate`, `output_rate`, `channels`,
    /// `max_input_frames` or `chunk_frames` when out of range, or
    /// [`ConfigError::Resampler`] if rubato rejects the combination.
    pub fn new(config: ResamplerConfig) -> Result<Self, ConfigError> {
        for (field, rate) in [
            ("input_rate", config.input_rate),
            ("output_rate", config.output_rate),
        ] {
            ConfigError::check_range(field, rate as f64, MIN_SAMPLE_RATE, MAX_SAMPLE_RATE, " Hz")?;
        }
        ConfigError::check_count("channels", config.channels, 1, MAX_CHANNELS)?;
        ConfigError::check_count(
            "max_input_frames",
            config.max_input_frames,
            1,
            MAX_BLOCK_FRAMES,
        )?;
        let chunk = config.chunk_frames.unwrap_or(config.max_input_frames);
        ConfigError::check_count("chunk_frames", chunk, 1, MAX_BLOCK_FRAMES)?;
        let channels = config.channels;
        if config.input_rate == config.output_rate {
            return Ok(Self {
                config,
                inner: None,
                chunk,
                fifo: AudioBuffer::new(channels, 1),
                fifo_fill: 0,
                output: AudioBuffer::new(channels, 1),
            });
        }
        let ratio = config.output_rate as f64 / config.input_rate as f64;
        let inner: Inner = match config.quality {
            ResamplerQuality::Fft => Box::new(
                Fft::<f32>::new(
                    config.input_rate as usize,
                    config.output_rate as usize,
                    chunk,
                    channels,
                    FixedSync::Input,
                )
                .map_err(construction_error)?,
            ),
            ResamplerQuality::Sinc => {
                let params = SincInterpolationParameters::new(256, WindowFunction::BlackmanHarris2);
                Box::new(
                    Async::<f32>::new_sinc(ratio, 1.0, &params, chunk, channels, FixedAsync::Input)
                        .map_err(construction_error)?,
                )
            }
            ResamplerQuality::Polynomial => Box::new(
                Async::<f32>::new_poly(
                    ratio,
                    1.0,
                    PolynomialDegree::Cubic,
                    chunk,
                    channels,
                    FixedAsync::Input,
                )
                .map_err(construction_error)?,
            ),
        };
        // Worst case per call: a FIFO one frame short of a chunk plus a full
        // input block completes this many chunks.
        let chunks_per_call = (chunk - 1 + config.max_input_frames).div_ceil(chunk);
        let out_capacity = chunks_per_call * inner.output_frames_max();
        Ok(Self {
            config,
            inner: Some(inner),
            chunk,
            fifo: AudioBuffer::new(channels, chunk),
            fifo_fill: 0,
            output: AudioBuffer::new(channels, out_capacity),
        })
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &ResamplerConfig {
        &self.config
    }

    /// Whether input and output rates match, so `process` passes blocks through.
    pub fn is_bypass(&self) -> bool {
        self.inner.is_none()
    }

    /// The algorithmic delay, in output frames: how far an impulse is
    /// shifted in the output when blocks are whole chunks.
    pub fn latency_frames(&self) -> usize {
        self.inner.as_ref().map_or(0, |r| r.output_delay())
    }

    /// The extra delay the FIFO can add when blocks are not whole chunks,
    /// at most, in input frames (`chunk - 1`; 0 in bypass).
    pub fn buffering_latency_frames(&self) -> usize {
        if self.inner.is_some() {
            self.chunk - 1
        } else {
            0
        }
    }

    /// The most frames one `process` call can return.
    pub fn max_output_frames(&self) -> usize {
        if self.inner.is_some() {
            self.output.capacity()
        } else {
            self.config.max_input_frames
        }
    }

    /// Resamples one block of any length up to `max_input_frames`. Returns
    /// the frames produced (possibly none, when the block only filled the
    /// FIFO); in bypass it returns `input` itself.
    ///
    /// # Errors
    /// [`ConfigError`] if `input` has the wrong channel count or more frames
    /// than configured. Never allocates or panics.
    pub fn process<'a>(
        &'a mut self,
        input: &'a AudioBuffer,
    ) -> Result<&'a AudioBuffer, ConfigError> {
        if input.channels() != self.config.channels {
            return Err(ConfigError::Mismatch {
                field: "input channels",
                expected: self.config.channels,
                actual: input.channels(),
                context: "the resampler's channel count",
            });
        }
        ConfigError::check_count("frames", input.frames(), 0, self.config.max_input_frames)?;
        let Some(inner) = self.inner.as_mut() else {
            return Ok(input);
        };
        let channels = self.config.channels;
        let chunk = self.chunk;
        let n = input.frames();
        let mut pos = 0;
        let mut written = 0;
        while pos < n {
            if self.fifo_fill == 0 && n - pos >= chunk {
                written += run_chunk(
                    inner,
                    input,
                    pos,
                    chunk,
                    &mut self.output,
                    written,
                    channels,
                )?;
                pos += chunk;
            } else {
                let take = (chunk - self.fifo_fill).min(n - pos);
                for ch in 0..channels {
                    let src = &input.channel(ch)[pos..pos + take];
                    self.fifo.channel_capacity_mut(ch)[self.fifo_fill..self.fifo_fill + take]
                        .copy_from_slice(src);
                }
                self.fifo_fill += take;
                pos += take;
                if self.fifo_fill == chunk {
                    self.fifo.set_frames_clamped(chunk);
                    written += run_chunk(
                        inner,
                        &self.fifo,
                        0,
                        chunk,
                        &mut self.output,
                        written,
                        channels,
                    )?;
                    self.fifo_fill = 0;
                }
            }
        }
        self.output.set_frames_clamped(written);
        Ok(&self.output)
    }

    /// Clears the FIFO and rubato's state.
    pub fn reset(&mut self) {
        self.fifo_fill = 0;
        if let Some(r) = self.inner.as_mut() {
            r.reset();
        }
    }
}

/// Runs one rubato chunk from `src[offset..offset + chunk]` into `out` at
/// frame `out_offset`. Returns the frames written.
fn run_chunk(
    inner: &mut Inner,
    src: &AudioBuffer,
    offset: usize,
    chunk: usize,
    out: &mut AudioBuffer,
    out_offset: usize,
    channels: usize,
) -> Result<usize, ConfigError> {
    let mut in_refs: [&[f32]; MAX_CHANNELS] = [&[]; MAX_CHANNELS];
    for (ch, slot) in in_refs.iter_mut().enumerate().take(channels) {
        *slot = &src.channel(ch)[offset..offset + chunk];
    }
    let in_refs = &in_refs[..channels];
    let adapter_in =
        SequentialSliceOfSlices::new(in_refs, channels, chunk).map_err(construction_error)?;
    let capacity = out.capacity();
    out.set_frames_clamped(capacity);
    let mut out_refs: [&mut [f32]; MAX_CHANNELS] = std::array::from_fn(|_| <&mut [f32]>::default());
    for (slot, ch) in out_refs.iter_mut().zip(out.channels_iter_mut()) {
        *slot = &mut ch[out_offset..];
    }
    let frames_avail = capacity - out_offset;
    let out_refs = &mut out_refs[..channels];
    let mut adapter_out = SequentialSliceOfSlices::new_mut(out_refs, channels, frames_avail)
        .map_err(construction_error)?;
    let (_, produced) = inner
        .process_into_buffer(&adapter_in, &mut adapter_out, None)
        .map_err(|e| ConfigError::Resampler(e.to_string()))?;
    Ok(produced)
}
