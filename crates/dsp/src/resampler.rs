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
//! Unusable samples (NaN, ±Inf, beyond ±[`SAMPLE_LIMIT`](crate::sample::SAMPLE_LIMIT))
//! are read as silence: a chunk that holds one is copied and cleaned before
//! rubato sees it (rubato's FFT resampler panics on a non-finite spectrum).
//! Clean chunks still pass without a copy; the check is one vectorised pass.
//!
//! [`Resampler`] is a [`BufferProcessor`]: `prepare` rebuilds it for the
//! stream's rate, channels and block size, keeping the output rate and
//! quality, so the conformance suite can drive it like any other node.
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

use crate::processor::{FrameMapping, IoLayout};
use crate::sample::{all_usable, usable_or_silence};
use crate::spec::{MAX_BLOCK_FRAMES, MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};
use crate::{AudioBuffer, BufferProcessor, ConfigError, ProcessError, StreamSpec};

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

/// Taps of the [`ResamplerQuality::Sinc`] filter.
const SINC_TAPS: usize = 256;

/// Relative cutoff of the [`ResamplerQuality::Sinc`] filter (of the lower
/// Nyquist frequency). rubato's automatic choice for 256 taps and a
/// Blackman-Harris² window puts the middle of the transition band at
/// Nyquist, so a 96 → 48 kHz conversion let 24.1-24.3 kHz alias back at
/// -46 dBr. At 0.88 the whole transition band lies below Nyquist: every
/// component above it is down by more than 100 dB (tests/dsp/resampler.rs),
/// and the passband is flat to 0.1 dB up to 0.8 × Nyquist.
const SINC_CUTOFF: f32 = 0.88;

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
    /// A cleaned copy of a chunk that held unusable samples.
    clean: AudioBuffer,
    output: AudioBuffer,
    latency: usize,
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

fn construction_error(e: rubato::ResamplerConstructionError) -> ConfigError {
    ConfigError::Resampler(crate::Cause::new(e))
}

/// rubato's run-time errors, as static text (they cannot happen when the
/// bookkeeping below is right; if one does, the block is silent).
fn run_error(e: &rubato::ResampleError) -> ProcessError {
    use rubato::ResampleError as E;
    ProcessError::Resampler(match e {
        E::WrongNumberOfInputChannels { .. } => "wrong number of input channels",
        E::WrongNumberOfOutputChannels { .. } => "wrong number of output channels",
        E::WrongNumberOfMaskChannels { .. } => "wrong number of mask channels",
        E::InsufficientInputBufferSize { .. } => "input buffer too short",
        E::InsufficientOutputBufferSize { .. } => "output buffer too short",
        E::InvalidChunkSize { .. } => "invalid chunk size",
        _ => "resampling ratio refused",
    })
}

/// Where an impulse at input frame 0 peaks in the output, in output
/// frames, rounded (measured with band-limited impulses at every rate pair
/// by the conformance suite's `latency` check and `tests/dsp/resampler.rs`).
///
/// * FFT: rubato's own `output_delay`, half the output FFT.
/// * Sinc and polynomial: rubato's asynchronous resamplers report
///   `points / 2 × ratio`, but their first output frame already sits one
///   output frame into the filter, so the peak comes one output frame
///   earlier (at 48 → 96 kHz, 255 rather than 256).
fn true_delay(quality: ResamplerQuality, inner: &Inner, ratio: f64) -> usize {
    let points = match quality {
        ResamplerQuality::Fft => return inner.output_delay(),
        ResamplerQuality::Sinc => SINC_TAPS as f64,
        ResamplerQuality::Polynomial => POLYNOMIAL_POINTS as f64,
    };
    (points / 2.0 * ratio - 1.0).round().max(0.0) as usize
}

/// Points of the cubic polynomial interpolator.
const POLYNOMIAL_POINTS: usize = 4;

/// The lowest output/input ratio [`ResamplerQuality::Polynomial`] accepts:
/// it interpolates without an anti-aliasing filter, so below this it
/// would fold most of the spectrum back, and its delay would turn
/// negative (the output would lead the input).
pub const POLYNOMIAL_MIN_RATIO: f64 = 0.5;

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
                clean: AudioBuffer::new(channels, 1),
                output: AudioBuffer::new(channels, 1),
                latency: 0,
            });
        }
        let ratio = config.output_rate as f64 / config.input_rate as f64;
        if config.quality == ResamplerQuality::Polynomial && ratio < POLYNOMIAL_MIN_RATIO {
            return Err(ConfigError::Invalid {
                field: "quality",
                value: format!(
                    "Polynomial from {} to {} Hz",
                    config.input_rate, config.output_rate
                ),
                expected: "Sinc or Fft to divide the rate by more than 2 (Polynomial has no anti-aliasing filter)",
            });
        }
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
                let params =
                    SincInterpolationParameters::new(SINC_TAPS, WindowFunction::BlackmanHarris2)
                        .f_cutoff(SINC_CUTOFF);
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
        let latency = true_delay(config.quality, &inner, ratio);
        Ok(Self {
            config,
            inner: Some(inner),
            chunk,
            fifo: AudioBuffer::new(channels, chunk),
            fifo_fill: 0,
            clean: AudioBuffer::new(channels, chunk),
            output: AudioBuffer::new(channels, out_capacity),
            latency,
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

    /// The algorithmic delay, in output frames: where an impulse at input
    /// frame 0 peaks in the output, when blocks are whole chunks.
    pub fn latency_frames(&self) -> usize {
        self.latency
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
    /// [`ProcessError`] if `input` has the wrong channel count or more
    /// frames than configured. Never allocates or panics.
    pub fn process<'a>(
        &'a mut self,
        input: &'a AudioBuffer,
    ) -> Result<&'a AudioBuffer, ProcessError> {
        ProcessError::check_equal(
            "input channels",
            self.config.channels,
            input.channels(),
            "the resampler's channel count",
        )?;
        ProcessError::check_frames("frames", input.frames(), self.config.max_input_frames)?;
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
                let clean =
                    (0..channels).all(|ch| all_usable(&input.channel(ch)[pos..pos + chunk]));
                let (src, offset) = if clean {
                    (input, pos)
                } else {
                    self.clean.set_frames_clamped(chunk);
                    for ch in 0..channels {
                        for (d, &x) in self
                            .clean
                            .channel_mut(ch)
                            .iter_mut()
                            .zip(&input.channel(ch)[pos..pos + chunk])
                        {
                            *d = usable_or_silence(x);
                        }
                    }
                    (&self.clean, 0)
                };
                written += run_chunk(
                    inner,
                    src,
                    offset,
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
                    for (d, &x) in self.fifo.channel_capacity_mut(ch)
                        [self.fifo_fill..self.fifo_fill + take]
                        .iter_mut()
                        .zip(src)
                    {
                        *d = usable_or_silence(x);
                    }
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

impl BufferProcessor for Resampler {
    /// Rebuilds for `spec`: its rate becomes the input rate (a whole number
    /// of Hz), its channels and block size the resampler's; the output
    /// rate, quality and chunking stay.
    fn prepare(&mut self, spec: &StreamSpec) -> Result<(), ConfigError> {
        let rate = spec.sample_rate();
        if rate.fract() != 0.0 {
            return Err(ConfigError::Invalid {
                field: "sample_rate",
                value: rate.to_string(),
                expected: "a whole number of Hz for the resampler",
            });
        }
        let config = ResamplerConfig {
            input_rate: rate as u32,
            channels: spec.channels(),
            max_input_frames: spec.max_block_frames(),
            chunk_frames: self
                .config
                .chunk_frames
                .map(|c| c.min(spec.max_block_frames())),
            ..self.config
        };
        *self = Resampler::new(config)?;
        Ok(())
    }

    fn layout(&self, spec: &StreamSpec) -> IoLayout {
        IoLayout {
            input_channels: spec.channels(),
            output_channels: spec.channels(),
            max_input_frames: spec.max_block_frames(),
            max_output_frames: self.max_output_frames(),
            output_rate: self.config.output_rate as f64,
            frames: FrameMapping::Resampled {
                ratio: self.config.output_rate as f64 / self.config.input_rate as f64,
            },
        }
    }

    fn process_into(
        &mut self,
        input: &AudioBuffer,
        output: &mut AudioBuffer,
    ) -> Result<(), ProcessError> {
        let result = ProcessError::check_equal(
            "output channels",
            self.config.channels,
            output.channels(),
            "the resampler's channel count",
        )
        .and_then(|()| self.process(input));
        match result {
            Ok(produced) if produced.frames() <= output.capacity() => {
                output.set_frames_clamped(produced.frames());
                for ch in 0..produced.channels() {
                    output.channel_mut(ch).copy_from_slice(produced.channel(ch));
                }
                Ok(())
            }
            Ok(produced) => {
                let actual = produced.frames();
                output.clear();
                Err(ProcessError::TooManyFrames {
                    field: "output capacity needed",
                    actual,
                    max: output.capacity(),
                })
            }
            Err(e) => {
                output.clear();
                Err(e)
            }
        }
    }

    fn reset(&mut self) {
        Resampler::reset(self);
    }

    fn latency_frames(&self) -> usize {
        self.latency
    }

    fn tail_frames(&self) -> usize {
        // The filter reaches as far after the peak as before it, plus the
        // FIFO's worth of frames still waiting for a chunk.
        let buffered = (self.buffering_latency_frames() as f64 * self.config.output_rate as f64
            / self.config.input_rate as f64)
            .ceil() as usize;
        self.latency + buffered
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
) -> Result<usize, ProcessError> {
    let mut in_refs: [&[f32]; MAX_CHANNELS] = [&[]; MAX_CHANNELS];
    for (ch, slot) in in_refs.iter_mut().enumerate().take(channels) {
        *slot = &src.channel(ch)[offset..offset + chunk];
    }
    let in_refs = &in_refs[..channels];
    let adapter_in = SequentialSliceOfSlices::new(in_refs, channels, chunk)
        .map_err(|_| ProcessError::Resampler("input adapter refused the chunk"))?;
    let capacity = out.capacity();
    out.set_frames_clamped(capacity);
    let mut out_refs: [&mut [f32]; MAX_CHANNELS] = std::array::from_fn(|_| <&mut [f32]>::default());
    for (slot, ch) in out_refs.iter_mut().zip(out.channels_iter_mut()) {
        *slot = &mut ch[out_offset..];
    }
    let frames_avail = capacity - out_offset;
    let out_refs = &mut out_refs[..channels];
    let mut adapter_out = SequentialSliceOfSlices::new_mut(out_refs, channels, frames_avail)
        .map_err(|_| ProcessError::Resampler("output adapter refused the buffer"))?;
    let (_, produced) = inner
        .process_into_buffer(&adapter_in, &mut adapter_out, None)
        .map_err(|e| run_error(&e))?;
    Ok(produced)
}

/// Counts input frames per output block when two rates differ: a
/// drift-free fractional count, so that over any run the input and output
/// durations match exactly. A host that pulls blocks of output from a node
/// fed at another rate ([`FrameMapping::Pulled`]) passes this many input
/// frames with each.
///
/// ```
/// use kmidi_dsp::resampler::RateClock;
/// let mut clock = RateClock::new(44_100, 48_000);
/// let total: usize = (0..1000).map(|_| clock.input_frames(512)).sum();
/// assert_eq!(total, 470_400); // 512 000 × 44.1 / 48
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RateClock {
    input_rate: u64,
    output_rate: u64,
    /// Output frames so far × input rate, modulo the output rate.
    remainder: u64,
}

impl RateClock {
    /// A clock from `input_rate` to `output_rate`.
    pub fn new(input_rate: u32, output_rate: u32) -> Self {
        Self {
            input_rate: input_rate as u64,
            output_rate: output_rate.max(1) as u64,
            remainder: 0,
        }
    }

    /// Input frames to pass with the next output block of `frames`.
    pub fn input_frames(&mut self, frames: usize) -> usize {
        let num = frames as u64 * self.input_rate + self.remainder;
        self.remainder = num % self.output_rate;
        (num / self.output_rate) as usize
    }
}
