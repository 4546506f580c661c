//! Runs one processor over a planar signal in a given block partition,
//! catching panics, counting allocations and checking errors.

use std::panic::{AssertUnwindSafe, catch_unwind};

use kmidi_dsp::alloc_probe::count_allocations;
use kmidi_dsp::resampler::RateClock;
use kmidi_dsp::{AudioBuffer, BufferProcessor, FrameMapping, IoLayout, StreamSpec};

use crate::signal::Planar;

/// Something the processor did that the contract forbids.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fault {
    /// A call panicked; the message.
    Panic {
        call: &'static str,
        block: usize,
        message: String,
    },
    /// `prepare` returned an error for a stream it should support.
    Prepare(String),
    /// `process_into` returned an error for valid buffers.
    Process { block: usize, error: String },
    /// `process_into` or `reset` allocated.
    Allocated { call: &'static str, count: u64 },
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Panic {
                call,
                block,
                message,
            } => write!(f, "{call} panicked at block {block}: {message}"),
            Fault::Prepare(e) => write!(f, "prepare failed: {e}"),
            Fault::Process { block, error } => {
                write!(f, "process_into failed at block {block}: {error}")
            }
            Fault::Allocated { call, count } => {
                write!(f, "{call} allocated {count} times on the audio thread")
            }
        }
    }
}

pub(crate) fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a non-string panic payload)".to_string()
    }
}

/// The rate clock of a processor that pulls input at another rate, a
/// fresh one; `None` for one whose frames map one to one.
pub(crate) fn rate_clock(layout: &IoLayout) -> Option<RateClock> {
    match layout.frames {
        FrameMapping::Pulled {
            input_rate,
            output_rate,
        } => Some(RateClock::new(input_rate, output_rate)),
        _ => None,
    }
}

/// Calls `prepare`, catching a panic.
fn prepare_guarded<P: BufferProcessor>(processor: &mut P, spec: &StreamSpec) -> Result<(), Fault> {
    match catch_unwind(AssertUnwindSafe(|| processor.prepare(spec))) {
        Err(p) => Err(Fault::Panic {
            call: "prepare",
            block: 0,
            message: panic_message(p),
        }),
        Ok(Err(e)) => Err(Fault::Prepare(e.to_string())),
        Ok(Ok(())) => Ok(()),
    }
}

/// Calls `process_into` for block `block`, catching a panic and counting
/// the allocations it makes. Returns the allocations and the call's own
/// result, so that a caller can judge an allocation before an error.
pub(crate) fn process_guarded<P: BufferProcessor>(
    processor: &mut P,
    input: &AudioBuffer,
    output: &mut AudioBuffer,
    block: usize,
) -> Result<(u64, Result<(), Fault>), Fault> {
    let called = catch_unwind(AssertUnwindSafe(|| {
        count_allocations(|| processor.process_into(input, output))
    }));
    let (result, stats) = called.map_err(|p| Fault::Panic {
        call: "process_into",
        block,
        message: panic_message(p),
    })?;
    let result = result.map_err(|e| Fault::Process {
        block,
        error: e.to_string(),
    });
    Ok((stats.allocations, result))
}

/// A prepared processor and its buffers.
pub(crate) struct Driver<P> {
    pub processor: P,
    pub spec: StreamSpec,
    pub layout: IoLayout,
    input: AudioBuffer,
    output: AudioBuffer,
    clock: Option<RateClock>,
}

impl<P: BufferProcessor> Driver<P> {
    /// Prepares `processor` for `spec`, catching a panic.
    pub fn new(mut processor: P, spec: StreamSpec) -> Result<Self, Fault> {
        prepare_guarded(&mut processor, &spec)?;
        let layout = processor.layout(&spec);
        let clock = rate_clock(&layout);
        Ok(Self {
            input: AudioBuffer::new(layout.input_channels, layout.max_input_frames),
            output: AudioBuffer::new(layout.output_channels, layout.max_output_frames),
            processor,
            spec,
            layout,
            clock,
        })
    }

    /// Input frames a partition of `blocks` consumes.
    pub fn input_frames_for(&self, blocks: &[usize]) -> usize {
        match rate_clock(&self.layout) {
            Some(mut clock) => blocks.iter().map(|&b| clock.input_frames(b)).sum(),
            None => blocks.iter().sum(),
        }
    }

    /// Restarts the rate clock (after a reset of the processor).
    pub fn restart_clock(&mut self) {
        if let Some(clock) = rate_clock(&self.layout) {
            self.clock = Some(clock);
        }
    }

    /// Streams `signal` through in `blocks`, calling `before_block(k)`
    /// before each. Returns the output (planar) and, per block, the output
    /// frame where it ended.
    pub fn run(
        &mut self,
        signal: &Planar,
        blocks: &[usize],
        mut before_block: impl FnMut(usize),
    ) -> Result<(Planar, Vec<usize>), Fault> {
        let channels_out = self.layout.output_channels;
        let mut out: Planar = vec![Vec::new(); channels_out];
        let mut ends = Vec::with_capacity(blocks.len());
        let mut pos = 0;
        for (k, &n) in blocks.iter().enumerate() {
            let in_frames = match self.clock.as_mut() {
                Some(c) => c.input_frames(n),
                None => n,
            };
            self.input.set_frames_clamped(in_frames);
            for (ch, samples) in signal.iter().enumerate().take(self.layout.input_channels) {
                let dst = self.input.channel_mut(ch);
                for (i, d) in dst.iter_mut().enumerate() {
                    *d = samples.get(pos + i).copied().unwrap_or(0.0);
                }
            }
            pos += in_frames;
            if self.clock.is_some() {
                self.output.set_frames_clamped(n);
            }
            before_block(k);
            let (input, output, processor) = (&self.input, &mut self.output, &mut self.processor);
            let (allocations, result) = process_guarded(processor, input, output, k)?;
            if allocations > 0 {
                return Err(Fault::Allocated {
                    call: "process_into",
                    count: allocations,
                });
            }
            result?;
            for (ch, o) in out.iter_mut().enumerate() {
                o.extend_from_slice(self.output.channel(ch));
            }
            ends.push(out[0].len());
        }
        Ok((out, ends))
    }

    /// Calls `reset`, catching a panic and counting allocations.
    pub fn reset(&mut self) -> Result<(), Fault> {
        let processor = &mut self.processor;
        let called = catch_unwind(AssertUnwindSafe(|| count_allocations(|| processor.reset())));
        let ((), stats) = called.map_err(|p| Fault::Panic {
            call: "reset",
            block: 0,
            message: panic_message(p),
        })?;
        if stats.allocations > 0 {
            return Err(Fault::Allocated {
                call: "reset",
                count: stats.allocations,
            });
        }
        self.restart_clock();
        Ok(())
    }

    /// Prepares again with another spec (re-allocating the buffers).
    pub fn reprepare(&mut self, spec: StreamSpec) -> Result<(), Fault> {
        prepare_guarded(&mut self.processor, &spec)?;
        self.layout = self.processor.layout(&spec);
        self.spec = spec;
        self.input = AudioBuffer::new(self.layout.input_channels, self.layout.max_input_frames);
        self.output = AudioBuffer::new(self.layout.output_channels, self.layout.max_output_frames);
        self.restart_clock();
        Ok(())
    }

    /// The raw buffers, for checks that build their own calls.
    pub fn buffers(&mut self) -> (&mut P, &mut AudioBuffer, &mut AudioBuffer) {
        (&mut self.processor, &mut self.input, &mut self.output)
    }
}
