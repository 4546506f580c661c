//! The checks. Each takes the suite (strictness, seed) and the subject and
//! returns an [`Outcome`]. This module holds the list, the tally and the
//! helpers they share; each check (or family of checks) has its own module.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kmidi_dsp::alloc_probe::count_allocations;
use kmidi_dsp::{AudioBuffer, BufferProcessor, FrameMapping, InPlace, Processor, StreamSpec};

use crate::driver::{Driver, Fault, panic_message, process_guarded, rate_clock};
use crate::probe::{SyscallCounter, ThreadUsage, allocation_counting_works};
use crate::signal::{Planar, Poison, band_limited_impulse, music, peak_position, sine};
use crate::{Failure, Outcome, SpecLabel, Subject, Suite};

mod automation;
mod format;
mod latency;
mod oversized;
mod poison;
mod realtime;
mod state;

use automation::automation;
use format::{blocks, channels, partition, rates};
use latency::latency;
use oversized::{oversized_buffer, oversized_in_place};
use poison::poison;
use realtime::{allocations, syscalls};
use state::{reprepare, reset};

/// A named check.
pub(crate) type Check<P> = (&'static str, fn(&Suite, &Subject<P>) -> Outcome);

/// Failures kept per check: enough to see a pattern, few enough to read.
const MAX_FAILURES: usize = 5;

/// The names of the checks, in the order they run (what `--check` and
/// `KMIDI_CONFORMANCE_CHECK` accept).
pub const CHECK_NAMES: [&str; 12] = [
    "rates",
    "channels",
    "blocks",
    "partition",
    "oversized",
    "reprepare",
    "reset",
    "automation",
    "poison",
    "latency",
    "allocations",
    "syscalls",
];

/// The checks every buffer processor gets, in the order of
/// [`CHECK_NAMES`].
pub(crate) fn buffer_checks<P: BufferProcessor>() -> Vec<Check<P>> {
    let run: [fn(&Suite, &Subject<P>) -> Outcome; 12] = [
        rates::<P>,
        channels::<P>,
        blocks::<P>,
        partition::<P>,
        oversized_buffer::<P>,
        reprepare::<P>,
        reset::<P>,
        automation::<P>,
        poison::<P>,
        latency::<P>,
        allocations::<P>,
        syscalls::<P>,
    ];
    CHECK_NAMES.into_iter().zip(run).collect()
}

/// The same, with the in-place form of `oversized`.
pub(crate) fn in_place_checks<Q: Processor>() -> Vec<Check<InPlace<Q>>> {
    let mut list = buffer_checks::<InPlace<Q>>();
    for entry in list.iter_mut() {
        if entry.0 == "oversized" {
            entry.1 = oversized_in_place::<Q>;
        }
    }
    list
}

/// Collects failures and cases.
struct Tally {
    check: &'static str,
    failures: Vec<Failure>,
    cases: usize,
}

impl Tally {
    fn new(check: &'static str) -> Self {
        Self {
            check,
            failures: Vec::new(),
            cases: 0,
        }
    }

    fn fail(
        &mut self,
        spec: Option<&StreamSpec>,
        what: impl Into<String>,
        input: impl Into<String>,
    ) {
        if self.failures.len() < MAX_FAILURES {
            self.failures.push(Failure {
                check: self.check,
                spec: spec.map(SpecLabel::from),
                what: what.into(),
                input: input.into(),
            });
        }
    }

    fn fault(&mut self, spec: &StreamSpec, fault: &Fault, input: impl Into<String>) {
        self.fail(Some(spec), fault.to_string(), input);
    }

    /// Prepares `processor` for `spec`, recording a fault (and giving
    /// `None`) if it panics or refuses.
    fn prepare<P: BufferProcessor>(&mut self, processor: P, spec: StreamSpec) -> Option<Driver<P>> {
        match Driver::new(processor, spec) {
            Ok(d) => Some(d),
            Err(f) => {
                self.fault(&spec, &f, "prepare only");
                None
            }
        }
    }

    fn outcome(self) -> Outcome {
        if self.failures.is_empty() {
            Outcome::Pass { cases: self.cases }
        } else {
            Outcome::Fail(self.failures)
        }
    }
}

fn spec(rate: f64, block: usize, channels: usize) -> Option<StreamSpec> {
    StreamSpec::new(rate, block, channels).ok()
}

/// The standard stream: 48 kHz, 512 frames, the first channel count the
/// subject takes (2, then 1, then the rest).
fn standard<P: BufferProcessor>(subject: &Subject<P>) -> Option<(StreamSpec, P)> {
    [2usize, 1, 3, 4, 5, 6, 7, 8, 16, 32, 64]
        .iter()
        .filter_map(|&ch| spec(48_000.0, 512, ch))
        .find_map(|s| subject.build(&s).map(|p| (s, p)))
}

fn no_standard(check: &'static str) -> Outcome {
    let mut t = Tally::new(check);
    t.fail(
        None,
        "the subject builds no processor for 48 kHz / 512 frames at any channel count",
        "none",
    );
    t.outcome()
}

/// Block lengths from 0 to `max`, the awkward ones first.
fn block_pattern(max: usize, count: usize) -> Vec<usize> {
    let shapes = [max, 1, max / 2 + 1, 0, max.saturating_sub(1), 3, max, 2];
    (0..count)
        .map(|i| shapes[i % shapes.len()].min(max))
        .collect()
}

/// Where the first non-finite output sample at or after `from` is.
fn first_non_finite(out: &Planar, from: usize) -> Option<(usize, usize)> {
    out.iter().enumerate().find_map(|(ch, x)| {
        x.iter()
            .enumerate()
            .skip(from)
            .find(|(_, v)| !v.is_finite())
            .map(|(i, _)| (ch, i))
    })
}

/// The first frame at or after `from` where `a` and `b` disagree.
fn first_disagreement(
    a: &Planar,
    b: &Planar,
    from: usize,
    agrees: impl Fn(f32, f32) -> bool,
) -> Option<(usize, usize, f32, f32)> {
    for (ch, (x, y)) in a.iter().zip(b).enumerate() {
        if x.len() != y.len() {
            return Some((ch, x.len().min(y.len()), f32::NAN, f32::NAN));
        }
        for i in from..x.len() {
            if !agrees(x[i], y[i]) {
                return Some((ch, i, x[i], y[i]));
            }
        }
    }
    None
}

/// Builds, prepares and streams `frames` of music in `blocks`.
fn stream_music<P: BufferProcessor>(
    suite: &Suite,
    subject: &Subject<P>,
    check: &'static str,
    s: StreamSpec,
    blocks: &[usize],
    t: &mut Tally,
) {
    let Some(p) = subject.build(&s) else {
        return;
    };
    t.cases += 1;
    let mut d = match Driver::new(p, s) {
        Ok(d) => d,
        Err(f) => return t.fault(&s, &f, "prepare only"),
    };
    let frames = d.input_frames_for(blocks);
    let mut rng = suite.rng(check, s.sample_rate() as u64 ^ (s.channels() as u64) << 32);
    let signal = music(d.layout.input_channels, frames, s.sample_rate(), &mut rng);
    let input = format!(
        "music (seed {:#x}), blocks {:?}",
        suite.seed,
        &blocks[..blocks.len().min(12)]
    );
    match d.run(&signal, blocks, |_| {}) {
        Err(f) => t.fault(&s, &f, input),
        Ok((out, _)) => {
            if let Some((ch, i)) = first_non_finite(&out, 0) {
                t.fail(
                    Some(&s),
                    format!("non-finite output at frame {i}, channel {ch}, from finite input"),
                    input,
                );
            }
        }
    }
}

fn natural_channels<P: BufferProcessor>(subject: &Subject<P>) -> Option<usize> {
    standard(subject).map(|(s, _)| s.channels())
}

/// Streams `signal` in `blocks` through a fresh processor built for `s`;
fn fresh_run<P: BufferProcessor>(
    subject: &Subject<P>,
    s: StreamSpec,
    signal: &Planar,
    blocks: &[usize],
) -> Option<Result<(Planar, Vec<f64>), Fault>> {
    let p = subject.build(&s)?;
    Some(Driver::new(p, s).and_then(|mut d| {
        let (out, _) = d.run(signal, blocks, |_| {})?;
        Ok((out, subject.observation(&d.processor)))
    }))
}
