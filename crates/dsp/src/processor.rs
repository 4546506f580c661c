//! The one trait every audio-thread node implements.

use crate::{AudioBuffer, ConfigError, StreamSpec};

/// A node that runs on the audio thread.
///
/// The contract (see `docs/ARCHITECTURE.md`):
///
/// * [`prepare`](Processor::prepare) is the only method that may allocate.
/// * [`process`](Processor::process) never allocates, locks, blocks, does I/O
///   or panics, for any input: NaN or infinite samples may disturb the block
///   they arrive in, but never a processor's state for good.
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
    /// the prepared maximum; a block larger than that, or one with another
    /// channel count, is processed up to what was prepared and the rest is
    /// left untouched rather than panicking.
    fn process(&mut self, block: &mut AudioBuffer);

    /// Clears internal state as if the stream had just started.
    fn reset(&mut self);

    /// Delay this processor adds, in frames at the prepared sample rate.
    fn latency_frames(&self) -> usize {
        0
    }
}
