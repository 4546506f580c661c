//! The real-time contract: one family of traits that every audio-thread
//! node belongs to.
//!
//! * [`Processor`] works in place: the block it reads is the block it writes
//!   (gain, EQ, dynamics, the analysers).
//! * [`BufferProcessor`] reads one buffer and writes another, whose channel
//!   count, length or rate may differ (resampler, mixer, engine), in the
//!   way rubato's one `Resampler` trait covers a whole family.
//!
//! Every [`Processor`] becomes a [`BufferProcessor`] through [`InPlace`]
//! (which copies the input into the output and processes it there), so
//! generic code, the benches and the conformance suite
//! (`kmidi-conformance`) drive every node through one interface. (An
//! adapter rather than a blanket implementation: with a blanket one, every
//! in-place processor would have two `prepare` methods in scope wherever
//! both traits are imported.)

use crate::{AudioBuffer, ConfigError, StreamSpec};

/// A node that runs on the audio thread and works in place.
///
/// The contract (see `docs/ARCHITECTURE.md`):
///
/// * [`prepare`](Processor::prepare) is the only method that may allocate.
/// * [`process`](Processor::process) never allocates, locks, blocks, does I/O
///   or panics, for any input: NaN or infinite samples may disturb the block
///   they arrive in, but never a processor's state for good.
/// * **Blocks longer than prepared**: frames past the prepared maximum,
///   and channels past the prepared count, are neither read nor written.
///   The conformance suite checks that they come back bit for bit.
/// * [`reset`](Processor::reset) clears state (delay lines, envelopes) without
///   allocating.
///
/// ```
/// use kmidi_dsp::{AudioBuffer, Processor, StreamSpec, gain::Gain};
/// let spec = StreamSpec::new(48_000.0, 512, 2).unwrap();
/// let mut gain = Gain::new(-6.0);
/// gain.prepare(&spec).unwrap();
/// let mut block = AudioBuffer::new(2, 512);
/// block.set_frames(256).unwrap();
/// block.channel_mut(0).fill(1.0);
/// gain.process(&mut block);
/// assert!((block.channel(0)[255] - 0.501_187).abs() < 1e-5);
/// ```
pub trait Processor: Send {
    /// Allocates and configures for `spec`.
    ///
    /// # Errors
    /// [`ConfigError`] if the processor cannot run with this spec.
    fn prepare(&mut self, spec: &StreamSpec) -> Result<(), ConfigError>;

    /// Processes `block` in place. `block.frames()` may be anything from 0 to
    /// the prepared maximum. Frames past that maximum and channels past the
    /// prepared count are left untouched, never read and never a panic.
    fn process(&mut self, block: &mut AudioBuffer);

    /// Clears internal state as if the stream had just started.
    fn reset(&mut self);

    /// Delay this processor adds, in frames at the prepared sample rate: an
    /// impulse in comes out this many frames later.
    fn latency_frames(&self) -> usize {
        0
    }

    /// How long the processor remembers its input, in frames at the
    /// prepared rate (VST3's tail, widened to every kind of state): after
    /// `latency_frames() + tail_frames()` frames, what went in before no
    /// longer changes the output by more than -100 dB (filter ring-out,
    /// envelope release, analysis windows). 0 for a memoryless node.
    fn tail_frames(&self) -> usize {
        0
    }
}

/// How the output length of a [`BufferProcessor`] relates to its input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FrameMapping {
    /// One output frame per input frame (in-place processors, the mixer).
    Equal,
    /// The input drives: any number of input frames goes in, and whatever
    /// the resampler completes comes out (rubato's fixed-input mode).
    Resampled {
        /// Output frames per input frame.
        ratio: f64,
    },
    /// The output drives: the caller asks for `output.frames()` and passes
    /// the input frames that cover them, as counted by a
    /// [`RateClock`](crate::resampler::RateClock) from `input_rate` to
    /// `output_rate` (the engine with input at another rate).
    Pulled {
        /// Input sample rate, Hz.
        input_rate: u32,
        /// Output sample rate, Hz.
        output_rate: u32,
    },
}

/// The buffers a prepared [`BufferProcessor`] reads and writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IoLayout {
    /// Channels of the input buffer.
    pub input_channels: usize,
    /// Channels of the output buffer.
    pub output_channels: usize,
    /// Most input frames one call accepts.
    pub max_input_frames: usize,
    /// Capacity the output buffer needs.
    pub max_output_frames: usize,
    /// Sample rate of the output, Hz.
    pub output_rate: f64,
    /// How output length follows input length.
    pub frames: FrameMapping,
}

impl IoLayout {
    /// The layout of an in-place processor prepared with `spec`.
    pub fn in_place(spec: &StreamSpec) -> Self {
        Self {
            input_channels: spec.channels(),
            output_channels: spec.channels(),
            max_input_frames: spec.max_block_frames(),
            max_output_frames: spec.max_block_frames(),
            output_rate: spec.sample_rate(),
            frames: FrameMapping::Equal,
        }
    }
}

/// Why a block could not be processed. `Copy` and built from static text
/// only, so that returning one on the audio thread can never allocate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    /// Two sizes that must agree do not.
    #[error("{field} is {actual}, but {expected} was expected ({context})")]
    Mismatch {
        /// The field's name.
        field: &'static str,
        /// What was expected.
        expected: usize,
        /// What was given.
        actual: usize,
        /// Where the expectation comes from.
        context: &'static str,
    },
    /// More frames than the processor was prepared for.
    #[error("{field} = {actual} is out of range: allowed 0 to {max}")]
    TooManyFrames {
        /// The field's name.
        field: &'static str,
        /// What was given.
        actual: usize,
        /// The prepared maximum.
        max: usize,
    },
    /// The processor was used before `prepare` succeeded.
    #[error("{processor} was used before prepare(): call prepare with a StreamSpec first")]
    NotPrepared {
        /// The processor's type name.
        processor: &'static str,
    },
    /// The resampling library refused a call (a bug in this crate's
    /// bookkeeping if it ever happens; the output is silent).
    #[error("resampler: {0}")]
    Resampler(&'static str),
}

impl ProcessError {
    /// Checks `actual <= max`.
    ///
    /// # Errors
    /// [`ProcessError::TooManyFrames`].
    #[inline]
    pub fn check_frames(field: &'static str, actual: usize, max: usize) -> Result<(), Self> {
        if actual > max {
            Err(ProcessError::TooManyFrames { field, actual, max })
        } else {
            Ok(())
        }
    }

    /// Checks `actual == expected`.
    ///
    /// # Errors
    /// [`ProcessError::Mismatch`].
    #[inline]
    pub fn check_equal(
        field: &'static str,
        expected: usize,
        actual: usize,
        context: &'static str,
    ) -> Result<(), Self> {
        if actual != expected {
            Err(ProcessError::Mismatch {
                field,
                expected,
                actual,
                context,
            })
        } else {
            Ok(())
        }
    }
}

/// A node that reads one buffer and writes another: the general form of
/// the contract, for nodes that change channel count, length or rate.
///
/// The same rules as [`Processor`] hold: only `prepare` allocates, and
/// `process_into` never allocates, locks, does I/O or panics. On an error
/// it writes silence into `output` (its current frame count) and returns
/// the reason, so a host that ignores the error plays nothing bad.
///
/// ```
/// use kmidi_dsp::{AudioBuffer, BufferProcessor, InPlace, StreamSpec, gain::Gain};
/// // Every in-place Processor is a BufferProcessor through InPlace.
/// let mut gain = InPlace(Gain::new(-6.0));
/// let spec = StreamSpec::new(48_000.0, 64, 1)?;
/// gain.prepare(&spec)?;
/// let layout = gain.layout(&spec);
/// let mut input = AudioBuffer::new(layout.input_channels, layout.max_input_frames);
/// let mut output = AudioBuffer::new(layout.output_channels, layout.max_output_frames);
/// input.channel_mut(0).fill(1.0);
/// gain.process_into(&input, &mut output).unwrap();
/// assert!((output.channel(0)[63] - 0.501_187).abs() < 1e-5);
/// # Ok::<(), kmidi_dsp::ConfigError>(())
/// ```
pub trait BufferProcessor: Send {
    /// Allocates and configures for an input stream `spec`.
    ///
    /// # Errors
    /// [`ConfigError`] if the processor cannot run with this spec.
    fn prepare(&mut self, spec: &StreamSpec) -> Result<(), ConfigError>;

    /// The buffers `process_into` reads and writes once prepared with `spec`.
    fn layout(&self, spec: &StreamSpec) -> IoLayout;

    /// Reads `input` and writes `output`, setting `output.frames()` where
    /// the mapping is [`FrameMapping::Equal`] or
    /// [`FrameMapping::Resampled`]; with [`FrameMapping::Pulled`] the
    /// caller sets it.
    ///
    /// # Errors
    /// [`ProcessError`] when the buffers do not match the layout; `output`
    /// is then silent.
    fn process_into(
        &mut self,
        input: &AudioBuffer,
        output: &mut AudioBuffer,
    ) -> Result<(), ProcessError>;

    /// Clears internal state as if the stream had just started.
    fn reset(&mut self);

    /// Delay from input to output, in output frames.
    fn latency_frames(&self) -> usize;

    /// How long input is remembered, in output frames (see
    /// [`Processor::tail_frames`]).
    fn tail_frames(&self) -> usize;
}

/// Any in-place [`Processor`] as a [`BufferProcessor`]: the input is
/// copied into the output, which is then processed in place.
#[derive(Debug, Clone, Default)]
pub struct InPlace<P>(pub P);

impl<P: Processor> BufferProcessor for InPlace<P> {
    fn prepare(&mut self, spec: &StreamSpec) -> Result<(), ConfigError> {
        self.0.prepare(spec)
    }

    fn layout(&self, spec: &StreamSpec) -> IoLayout {
        IoLayout::in_place(spec)
    }

    fn process_into(
        &mut self,
        input: &AudioBuffer,
        output: &mut AudioBuffer,
    ) -> Result<(), ProcessError> {
        if let Err(e) = ProcessError::check_equal(
            "output channels",
            input.channels(),
            output.channels(),
            "an in-place processor writes the input's channels",
        )
        .and_then(|()| {
            ProcessError::check_frames("input frames", input.frames(), output.capacity())
        }) {
            output.clear();
            return Err(e);
        }
        output.set_frames_clamped(input.frames());
        for ch in 0..input.channels() {
            output.channel_mut(ch).copy_from_slice(input.channel(ch));
        }
        self.0.process(output);
        Ok(())
    }

    fn reset(&mut self) {
        self.0.reset();
    }

    fn latency_frames(&self) -> usize {
        self.0.latency_frames()
    }

    fn tail_frames(&self) -> usize {
        self.0.tail_frames()
    }
}
