//! The checks. Each takes the suite (strictness, seed) and the subject and
//! returns an [`Outcome`].

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kmidi_dsp::alloc_probe::count_allocations;
use kmidi_dsp::{AudioBuffer, BufferProcessor, FrameMapping, InPlace, Processor, StreamSpec};

use crate::driver::{Driver, Fault, panic_message};
use crate::probe::{SyscallCounter, ThreadUsage, allocation_counting_works};
use crate::signal::{Planar, Poison, band_limited_impulse, music, peak_position, sine};
use crate::{Failure, Outcome, SpecLabel, Subject, Suite};

/// A named check.
pub(crate) type Check<P> = (&'static str, fn(&Suite, &Subject<P>) -> Outcome);

/// Failures kept per check: enough to see a pattern, few enough to read.
const MAX_FAILURES: usize = 5;

/// The checks every buffer processor gets, in order.
pub(crate) fn buffer_checks<P: BufferProcessor>() -> Vec<Check<P>> {
    vec![
        ("rates", rates::<P>),
        ("channels", channels::<P>),
        ("blocks", blocks::<P>),
        ("partition", partition::<P>),
        ("oversized", oversized_buffer::<P>),
        ("reprepare", reprepare::<P>),
        ("reset", reset::<P>),
        ("automation", automation::<P>),
        ("poison", poison::<P>),
        ("latency", latency::<P>),
        ("allocations", allocations::<P>),
        ("syscalls", syscalls::<P>),
    ]
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

fn rates<P: BufferProcessor>(suite: &Suite, subject: &Subject<P>) -> Outcome {
    let Some(ch) = natural_channels(subject) else {
        return no_standard("rates");
    };
    let mut t = Tally::new("rates");
    for &rate in suite.strictness.rates() {
        let Some(s) = spec(rate, 512, ch) else {
            continue;
        };
        let blocks = vec![512; (rate * 0.25 / 512.0).ceil() as usize];
        stream_music(suite, subject, "rates", s, &blocks, &mut t);
    }
    t.outcome()
}

fn channels<P: BufferProcessor>(suite: &Suite, subject: &Subject<P>) -> Outcome {
    let mut t = Tally::new("channels");
    // The levels' counts, and the subject's own if it takes a fixed one.
    let mut counts = suite.strictness.channel_counts().to_vec();
    if let Some(natural) = natural_channels(subject).filter(|n| !counts.contains(n)) {
        counts.push(natural);
    }
    for ch in counts {
        let Some(s) = spec(48_000.0, 512, ch) else {
            continue;
        };
        stream_music(suite, subject, "channels", s, &[512; 24], &mut t);
    }
    if t.cases == 0 {
        return no_standard("channels");
    }
    t.outcome()
}

fn blocks<P: BufferProcessor>(suite: &Suite, subject: &Subject<P>) -> Outcome {
    let Some(ch) = natural_channels(subject) else {
        return no_standard("blocks");
    };
    let mut t = Tally::new("blocks");
    for &max in suite.strictness.max_blocks() {
        let Some(s) = spec(48_000.0, max, ch) else {
            continue;
        };
        let count = (12_000 / max.max(1)).clamp(16, 400);
        stream_music(
            suite,
            subject,
            "blocks",
            s,
            &block_pattern(max, count),
            &mut t,
        );
    }
    t.outcome()
}

fn partition<P: BufferProcessor>(suite: &Suite, subject: &Subject<P>) -> Outcome {
    let Some(ch) = natural_channels(subject) else {
        return no_standard("partition");
    };
    let mut t = Tally::new("partition");
    for &max in suite.strictness.max_blocks().iter().filter(|&&m| m >= 16) {
        let Some(s) = spec(48_000.0, max, ch) else {
            continue;
        };
        let whole_blocks = (16_384 / max).clamp(6, 64);
        let whole = vec![max; whole_blocks];
        let Some(p) = subject.build(&s) else {
            continue;
        };
        let mut reference = match Driver::new(p, s) {
            Ok(d) => d,
            Err(f) => {
                t.fault(&s, &f, "prepare only");
                continue;
            }
        };
        let frames = reference.input_frames_for(&whole);
        let mut rng = suite.rng("partition", max as u64);
        let signal = music(reference.layout.input_channels, frames, 48_000.0, &mut rng);
        let expected = match reference.run(&signal, &whole, |_| {}) {
            Ok((out, _)) => out,
            Err(f) => {
                t.fault(&s, &f, "whole blocks");
                continue;
            }
        };
        let expected_report = subject.observation(&reference.processor);
        for case in 0..suite.strictness.partitions() {
            let mut rng = suite.rng("partition", (max as u64) << 16 | case as u64);
            let mut cut = Vec::new();
            let mut left = max * whole_blocks;
            while left > 0 {
                let n = rng.usize(0..=max).min(left);
                cut.push(n);
                left -= n;
            }
            // The output drives for pulled nodes: the same output frames.
            let Some(p) = subject.build(&s) else {
                continue;
            };
            t.cases += 1;
            let mut d = match Driver::new(p, s) {
                Ok(d) => d,
                Err(f) => {
                    t.fault(&s, &f, "prepare only");
                    continue;
                }
            };
            let input = format!(
                "music, blocks {:?}{} (seed {:#x}, case {case})",
                &cut[..cut.len().min(16)],
                if cut.len() > 16 { " ..." } else { "" },
                suite.seed
            );
            match d.run(&signal, &cut, |_| {}) {
                Err(f) => t.fault(&s, &f, input),
                Ok((out, _)) => {
                    let report = subject.observation(&d.processor);
                    if report != expected_report {
                        t.fail(
                            Some(&s),
                            format!(
                                "what it reports differs from whole-block processing: {report:?} vs {expected_report:?}"
                            ),
                            input.clone(),
                        );
                    }
                    if let Some((c, i, a, b)) = first_disagreement(&out, &expected, 0, |a, b| {
                        subject.exactness.agrees(a, b)
                    }) {
                        t.fail(
                            Some(&s),
                            format!(
                                "output differs from whole-block processing at frame {i}, channel {c}: {a:e} vs {b:e} ({:?} required)",
                                subject.exactness
                            ),
                            input,
                        );
                    }
                }
            }
        }
    }
    t.outcome()
}

fn oversized_buffer<P: BufferProcessor>(_suite: &Suite, subject: &Subject<P>) -> Outcome {
    let Some((s, p)) = standard(subject) else {
        return no_standard("oversized");
    };
    let mut t = Tally::new("oversized");
    let mut d = match Driver::new(p, s) {
        Ok(d) => d,
        Err(f) => {
            t.fault(&s, &f, "prepare only");
            return t.outcome();
        }
    };
    t.cases += 1;
    let layout = d.layout;
    let pulled = matches!(layout.frames, FrameMapping::Pulled { .. });
    let extra = 37;
    let mut input = AudioBuffer::new(
        layout.input_channels,
        layout.max_input_frames + if pulled { 0 } else { extra },
    );
    for ch in 0..layout.input_channels {
        input.channel_mut(ch).fill(0.25);
    }
    let mut output = AudioBuffer::new(layout.output_channels, layout.max_output_frames + extra);
    for ch in 0..layout.output_channels {
        output.channel_mut(ch).fill(0.5);
    }
    if !pulled {
        output.set_frames_clamped(layout.max_output_frames);
    }
    let (processor, _, _) = d.buffers();
    let called = catch_unwind(AssertUnwindSafe(|| {
        count_allocations(|| processor.process_into(&input, &mut output))
    }));
    let what = if pulled {
        format!(
            "output.frames() = {} (prepared {})",
            layout.max_output_frames + extra,
            layout.max_output_frames
        )
    } else {
        format!(
            "input.frames() = {} (prepared {})",
            layout.max_input_frames + extra,
            layout.max_input_frames
        )
    };
    match called {
        Err(p) => t.fail(
            Some(&s),
            format!("process_into panicked: {}", panic_message(p)),
            what,
        ),
        Ok((result, stats)) => {
            if stats.allocations > 0 {
                t.fail(
                    Some(&s),
                    format!("process_into allocated {} times", stats.allocations),
                    what.clone(),
                );
            }
            if result.is_ok() {
                t.fail(
                    Some(&s),
                    "a block longer than prepared was accepted (expected an error)",
                    what.clone(),
                );
            }
            if (0..output.channels()).any(|ch| output.channel(ch).iter().any(|&v| v != 0.0)) {
                t.fail(Some(&s), "the output was not silent after the error", what);
            }
        }
    }
    t.outcome()
}

fn oversized_in_place<Q: Processor>(suite: &Suite, subject: &Subject<InPlace<Q>>) -> Outcome {
    let mut t = Tally::new("oversized");
    let Some(ch) = natural_channels(subject) else {
        return no_standard("oversized");
    };
    for &max in &[64usize, 512] {
        let Some(s) = spec(48_000.0, max, ch) else {
            continue;
        };
        let Some(InPlace(mut p)) = subject.build(&s) else {
            continue;
        };
        t.cases += 1;
        match catch_unwind(AssertUnwindSafe(|| p.prepare(&s))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                t.fail(Some(&s), format!("prepare failed: {e}"), "prepare only");
                continue;
            }
            Err(e) => {
                t.fail(
                    Some(&s),
                    format!("prepare panicked: {}", panic_message(e)),
                    "prepare only",
                );
                continue;
            }
        }
        let extra_frames = 37;
        let channels = (ch + 1).min(kmidi_dsp::MAX_CHANNELS);
        let mut block = AudioBuffer::new(channels, max + extra_frames);
        let mut rng = suite.rng("oversized", max as u64);
        for c in 0..channels {
            for v in block.channel_mut(c) {
                *v = rng.f32() - 0.5;
            }
        }
        let before = block.clone();
        let input = format!(
            "{} frames × {channels} channels of noise into a processor prepared for {max} × {ch} (seed {:#x})",
            max + extra_frames,
            suite.seed
        );
        let called = catch_unwind(AssertUnwindSafe(|| {
            count_allocations(|| p.process(&mut block))
        }));
        match called {
            Err(e) => t.fail(
                Some(&s),
                format!("process panicked: {}", panic_message(e)),
                input,
            ),
            Ok(((), stats)) => {
                if stats.allocations > 0 {
                    t.fail(
                        Some(&s),
                        format!("process allocated {} times", stats.allocations),
                        input.clone(),
                    );
                }
                for c in 0..channels {
                    let (a, b) = (block.channel(c), before.channel(c));
                    let from = if c < ch { max } else { 0 };
                    if let Some(i) = (from..a.len()).find(|&i| a[i].to_bits() != b[i].to_bits()) {
                        t.fail(
                            Some(&s),
                            format!(
                                "frame {i} of channel {c} is beyond what was prepared but was changed ({} -> {})",
                                b[i], a[i]
                            ),
                            input.clone(),
                        );
                        break;
                    }
                }
            }
        }
    }
    t.outcome()
}

/// Streams `signal` in `blocks` through a fresh processor built for `s`;
/// returns its output and what it reports after.
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

fn reprepare<P: BufferProcessor>(suite: &Suite, subject: &Subject<P>) -> Outcome {
    let Some((a, _)) = standard(subject) else {
        return no_standard("reprepare");
    };
    let mut t = Tally::new("reprepare");
    let others: Vec<StreamSpec> = [(96_000.0, 64), (44_100.0, 2048), (8_000.0, 1)]
        .iter()
        .take(if suite.strictness.level() >= 7 { 3 } else { 1 })
        .filter_map(|&(r, b)| spec(r, b, a.channels()))
        .filter(|b| subject.build(b).is_some())
        .collect();
    let mut rng = suite.rng("reprepare", 0);
    let blocks = vec![512; 24];
    for b in others {
        t.cases += 1;
        let Some(p) = subject.build(&a) else {
            continue;
        };
        let input = format!(
            "prepare {}; music; prepare {}; music; reset; prepare {}; music (seed {:#x})",
            SpecLabel::from(&a),
            SpecLabel::from(&b),
            SpecLabel::from(&a),
            suite.seed
        );
        type Observed = (Planar, Vec<f64>);
        let result = (|| -> Result<(Observed, Observed), Fault> {
            let mut d = Driver::new(p, a)?;
            let warm = music(
                d.layout.input_channels,
                d.input_frames_for(&blocks),
                48_000.0,
                &mut rng,
            );
            d.run(&warm, &blocks, |_| {})?;
            // A processor built for A may refuse B (a band above B's
            // Nyquist): a clear error is the defined behaviour, and it must
            // leave the processor fit to be prepared for A again.
            match d.reprepare(b) {
                Ok(()) => {
                    let other_blocks =
                        vec![b.max_block_frames(); (4096 / b.max_block_frames()).clamp(1, 64)];
                    let other = music(
                        d.layout.input_channels,
                        d.input_frames_for(&other_blocks),
                        b.sample_rate(),
                        &mut rng,
                    );
                    d.run(&other, &other_blocks, |_| {})?;
                }
                Err(Fault::Prepare(_)) => {}
                Err(f) => return Err(f),
            }
            d.reset()?;
            d.reprepare(a)?;
            let probe = music(
                d.layout.input_channels,
                d.input_frames_for(&blocks),
                48_000.0,
                &mut rng,
            );
            let (got, _) = d.run(&probe, &blocks, |_| {})?;
            let report = subject.observation(&d.processor);
            let expected = fresh_run(subject, a, &probe, &blocks)
                .unwrap_or(Err(Fault::Prepare("the subject stopped building".into())))?;
            Ok(((got, report), expected))
        })();
        match result {
            Err(f) => t.fault(&a, &f, input),
            Ok(((got, report), (expected, expected_report))) => {
                if report != expected_report {
                    t.fail(
                        Some(&a),
                        format!("after preparing again it reports {report:?}; a fresh processor {expected_report:?}"),
                        input.clone(),
                    );
                }
                if let Some((c, i, x, y)) =
                    first_disagreement(&got, &expected, 0, |x, y| subject.exactness.agrees(x, y))
                {
                    t.fail(
                        Some(&a),
                        format!("after preparing again, frame {i} of channel {c} is {x:e}; a fresh processor gives {y:e}"),
                        input,
                    );
                }
            }
        }
    }
    t.outcome()
}

fn reset<P: BufferProcessor>(suite: &Suite, subject: &Subject<P>) -> Outcome {
    let Some((s, p)) = standard(subject) else {
        return no_standard("reset");
    };
    let mut t = Tally::new("reset");
    t.cases += 1;
    let mut rng = suite.rng("reset", 0);
    let blocks = vec![512; 48];
    let input = format!("music; reset; music (seed {:#x})", suite.seed);
    type Observed = (Planar, Vec<f64>);
    let result = (|| -> Result<(Observed, Observed), Fault> {
        let mut d = Driver::new(p, s)?;
        let frames = d.input_frames_for(&blocks);
        let warm = music(d.layout.input_channels, frames, 48_000.0, &mut rng);
        d.run(&warm, &blocks, |_| {})?;
        d.reset()?;
        let probe = music(d.layout.input_channels, frames, 48_000.0, &mut rng);
        let (got, _) = d.run(&probe, &blocks, |_| {})?;
        let report = subject.observation(&d.processor);
        let expected = fresh_run(subject, s, &probe, &blocks)
            .unwrap_or(Err(Fault::Prepare("the subject stopped building".into())))?;
        Ok(((got, report), expected))
    })();
    match result {
        Err(f) => t.fault(&s, &f, input),
        Ok(((got, report), (expected, expected_report))) => {
            if report != expected_report {
                t.fail(
                    Some(&s),
                    format!(
                        "after reset it reports {report:?}; a fresh processor {expected_report:?}"
                    ),
                    input.clone(),
                );
            }
            if let Some((c, i, x, y)) =
                first_disagreement(&got, &expected, 0, |x, y| subject.exactness.agrees(x, y))
            {
                t.fail(
                    Some(&s),
                    format!("after reset, frame {i} of channel {c} is {x:e}; a fresh processor gives {y:e}"),
                    input,
                );
            }
        }
    }
    t.outcome()
}

/// The largest jump in slope (second difference) of the output, relative
/// to the output's peak. A 110 Hz sine has about 0.002 at 48 kHz; a gain or
/// filter change that lands as a step has the size of the step.
fn worst_kink(out: &Planar, from: usize) -> (f32, usize) {
    let peak = out
        .iter()
        .flat_map(|c| c.iter().skip(from))
        .fold(0.0f32, |m, v| m.max(v.abs()));
    if peak <= 1e-6 {
        return (0.0, 0);
    }
    let mut worst = (0.0f32, 0usize);
    for x in out {
        for i in from.max(2)..x.len() {
            let d2 = (x[i] - 2.0 * x[i - 1] + x[i - 2]).abs() / peak;
            if d2 > worst.0 {
                worst = (d2, i);
            }
        }
    }
    worst
}

/// Steps larger than this share of the output peak are clicks.
const CLICK_LIMIT: f32 = 0.02;

fn automation<P: BufferProcessor>(suite: &Suite, subject: &Subject<P>) -> Outcome {
    let Some(automate) = subject.automation.as_ref() else {
        return Outcome::Skip("the subject has no automatable parameters".into());
    };
    let Some((s, p)) = standard(subject) else {
        return no_standard("automation");
    };
    let mut t = Tally::new("automation");
    t.cases += 1;
    let mut changes = automate(&p);
    let mut d = match Driver::new(p, s) {
        Ok(d) => d,
        Err(f) => {
            t.fault(&s, &f, "prepare only");
            return t.outcome();
        }
    };
    let n = suite.strictness.automation_blocks();
    let blocks: Vec<usize> = block_pattern(512, n)
        .into_iter()
        .map(|b| b.max(1))
        .collect();
    let frames = d.input_frames_for(&blocks);
    let signal = sine(d.layout.input_channels, frames, 48_000.0, 110.0, 0.25);
    // Lock-step: before each block the audio thread asks for one change
    // and spins (no system call) until the control thread has made it.
    let requested = Arc::new(AtomicUsize::new(0));
    let applied = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut rng = suite.rng("automation", 0);
    let control = {
        let (requested, applied, stop) = (requested.clone(), applied.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Acquire) {
                let want = requested.load(Ordering::Acquire);
                if want > applied.load(Ordering::Relaxed) {
                    changes(&mut rng);
                    applied.store(want, Ordering::Release);
                } else {
                    std::thread::yield_now();
                }
            }
            changes
        })
    };
    let mut stalled = false;
    let result = d.run(&signal, &blocks, |k| {
        requested.store(k + 1, Ordering::Release);
        let start = Instant::now();
        while applied.load(Ordering::Acquire) < k + 1 {
            std::hint::spin_loop();
            if start.elapsed() > Duration::from_secs(5) {
                stalled = true;
                break;
            }
        }
    });
    stop.store(true, Ordering::Release);
    let changes = control.join();
    let input = format!(
        "110 Hz sine at -12 dBFS, {n} blocks {:?}..., one change per block (seed {:#x})",
        &blocks[..8.min(blocks.len())],
        suite.seed
    );
    if stalled {
        t.fail(
            Some(&s),
            "the control thread stopped answering (its automation call blocked for 5 s)",
            input.clone(),
        );
    }
    let mut changes = match changes {
        Ok(c) => c,
        Err(e) => {
            t.fail(
                Some(&s),
                format!("the automation closure panicked: {}", panic_message(e)),
                input,
            );
            return t.outcome();
        }
    };
    match result {
        Err(f) => t.fault(&s, &f, input.clone()),
        Ok((out, _)) => {
            if let Some((ch, i)) = first_non_finite(&out, 0) {
                t.fail(
                    Some(&s),
                    format!("non-finite output at frame {i}, channel {ch}"),
                    input.clone(),
                );
            } else if subject.clicks_checked {
                // The first blocks hold the processor's own start-up.
                let settle = (d.processor.latency_frames() + 2048).min(out[0].len());
                let (kink, at) = worst_kink(&out, settle);
                if kink > CLICK_LIMIT {
                    t.fail(
                        Some(&s),
                        format!(
                            "a click at output frame {at}: the slope jumps by {:.1}% of the peak (limit {:.0}%)",
                            kink * 100.0,
                            CLICK_LIMIT * 100.0
                        ),
                        input.clone(),
                    );
                }
            }
        }
    }
    if suite.strictness.racing_automation() {
        t.cases += 1;
        // Racing: the control thread changes parameters as fast as it can,
        // while blocks run, so changes land mid-block.
        let stop = Arc::new(AtomicBool::new(false));
        let racer = {
            let stop = stop.clone();
            let mut rng = suite.rng("automation", 1);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    changes(&mut rng);
                    std::thread::sleep(Duration::from_micros(20));
                }
            })
        };
        let result = d.run(&signal, &blocks, |_| {});
        stop.store(true, Ordering::Release);
        let raced = racer.join();
        let input = format!("{input}, racing");
        if raced.is_err() {
            t.fail(
                Some(&s),
                "the automation closure panicked while racing",
                input.clone(),
            );
        }
        match result {
            Err(f) => t.fault(&s, &f, input),
            Ok((out, _)) => {
                if let Some((ch, i)) = first_non_finite(&out, 0) {
                    t.fail(
                        Some(&s),
                        format!("non-finite output at frame {i}, channel {ch}"),
                        input,
                    );
                }
            }
        }
    }
    t.outcome()
}

/// Outputs within this of a run without the poison count as recovered.
fn recovered(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-4 + 1e-3 * b.abs()
}

fn poison<P: BufferProcessor>(suite: &Suite, subject: &Subject<P>) -> Outcome {
    let Some((s, p)) = standard(subject) else {
        return no_standard("poison");
    };
    let mut t = Tally::new("poison");
    let probe = match Driver::new(p, s) {
        Ok(d) => d,
        Err(f) => {
            t.fault(&s, &f, "prepare only");
            return t.outcome();
        }
    };
    let latency = probe.processor.latency_frames();
    let tail = probe.processor.tail_frames();
    let ratio = match probe.layout.frames {
        FrameMapping::Resampled { ratio } => ratio,
        _ => 1.0,
    };
    let block = 512usize;
    let block_out = (block as f64 * ratio).ceil() as usize;
    let at_block = 3usize;
    let horizon = (at_block + 1) * block_out + latency + tail + 2 * block_out;
    let total_blocks = horizon.div_ceil(block_out) + 2;
    let blocks = vec![block; total_blocks];
    let frames = probe.input_frames_for(&blocks);
    let in_channels = probe.layout.input_channels;
    drop(probe);
    let mut rng = suite.rng("poison", 0);
    let base = music(in_channels, frames, 48_000.0, &mut rng);
    let start: usize = blocks[..at_block].iter().sum();
    for (kind_index, kind) in Poison::ALL.iter().enumerate() {
        let sample_kind = matches!(
            kind,
            Poison::NanSample | Poison::PositiveInfinitySample | Poison::Huge
        );
        let at_frame = 17 + kind_index;
        let mut poisoned = base.clone();
        let mut silenced = base.clone();
        let len = block.min(frames.saturating_sub(start));
        for ch in 0..in_channels {
            if sample_kind && ch > 0 {
                continue;
            }
            kind.apply(&mut poisoned[ch][start..start + len], at_frame, 48_000.0);
            if sample_kind {
                silenced[ch][start + at_frame.min(len - 1)] = 0.0;
            } else {
                silenced[ch][start..start + len].fill(0.0);
            }
        }
        t.cases += 1;
        let input = format!(
            "music with {} in input block {at_block} ({}{}), blocks of {block} (seed {:#x})",
            kind.name(),
            if sample_kind {
                "channel 0, frame "
            } else {
                "every channel"
            },
            if sample_kind {
                at_frame.to_string()
            } else {
                String::new()
            },
            suite.seed
        );
        let runs = fresh_run(subject, s, &poisoned, &blocks)
            .zip(fresh_run(subject, s, &silenced, &blocks));
        let Some((got, reference)) = runs else {
            continue;
        };
        let (got, reference) = match (got, reference) {
            (Err(f), _) | (_, Err(f)) => {
                t.fault(&s, &f, input);
                continue;
            }
            (Ok((g, _)), Ok((r, _))) => (g, r),
        };
        let next_block = (at_block + 1) * block_out;
        if let Some((ch, i)) = first_non_finite(&got, next_block.min(got[0].len())) {
            t.fail(
                Some(&s),
                format!(
                    "output still not finite at frame {i} (output block {}), channel {ch}, after {}",
                    i / block_out,
                    kind.name()
                ),
                input,
            );
            continue;
        }
        let back_by = next_block + latency + tail + block_out;
        if let Some((c, i, x, y)) = first_disagreement(&got, &reference, back_by, recovered) {
            t.fail(
                Some(&s),
                format!(
                    "after {}, output frame {i} (channel {c}) is {x:e} where the run without it has {y:e}: \
                     not recovered within latency {latency} + tail {tail} + one block",
                    kind.name()
                ),
                input,
            );
        }
    }
    t.outcome()
}

fn latency<P: BufferProcessor>(suite: &Suite, subject: &Subject<P>) -> Outcome {
    let Some(ch) = natural_channels(subject) else {
        return no_standard("latency");
    };
    let mut t = Tally::new("latency");
    let rates: &[f64] = if suite.strictness.level() >= 7 {
        suite.strictness.rates()
    } else {
        &[44_100.0, 48_000.0, 96_000.0]
    };
    for &rate in rates {
        let Some(s) = spec(rate, 512, ch) else {
            continue;
        };
        let Some(p) = subject.build(&s) else {
            continue;
        };
        t.cases += 1;
        let mut d = match Driver::new(p, s) {
            Ok(d) => d,
            Err(f) => {
                t.fault(&s, &f, "prepare only");
                continue;
            }
        };
        let reported = d.processor.latency_frames();
        let ratio = match d.layout.frames {
            FrameMapping::Equal => 1.0,
            FrameMapping::Resampled { ratio } => ratio,
            FrameMapping::Pulled {
                input_rate,
                output_rate,
            } => output_rate as f64 / input_rate as f64,
        };
        let at = 3 * 512 + 17;
        let expected = at as f64 * ratio + reported as f64;
        let out_frames = expected as usize + 1024;
        let blocks = match d.layout.frames {
            FrameMapping::Pulled { .. } => vec![512; out_frames.div_ceil(512) + 1],
            _ => vec![512; (out_frames as f64 / ratio / 512.0).ceil() as usize + 2],
        };
        let frames = d.input_frames_for(&blocks);
        let cutoff = 0.4 * ratio.min(1.0);
        let signal = band_limited_impulse(d.layout.input_channels, frames, at, cutoff, 0.05);
        let input = format!(
            "a band-limited impulse (cutoff {cutoff:.2} of Nyquist, peak 0.05) at input frame {at}"
        );
        match d.run(&signal, &blocks, |_| {}) {
            Err(f) => t.fault(&s, &f, input),
            Ok((out, _)) => {
                let loudest = out
                    .iter()
                    .max_by(|a, b| energy(a).total_cmp(&energy(b)))
                    .cloned()
                    .unwrap_or_default();
                let onset = || {
                    matches!(d.layout.frames, FrameMapping::Equal)
                        .then(|| impulse_onset(subject, s, at, blocks.len()))
                        .flatten()
                };
                match peak_position(&loudest) {
                    None => t.fail(Some(&s), "no impulse came out", input),
                    Some(measured) if (measured - expected).abs() > 0.6 => {
                        // A minimum-phase filter (an EQ's low-pass) moves
                        // the peak by its group delay, which is not latency:
                        // its response starts on time. Either measure may
                        // match the report.
                        match onset() {
                            Some(first) if (first as f64 - expected).abs() <= 0.5 => {}
                            first => t.fail(
                                Some(&s),
                                format!(
                                    "reported latency {reported} frames, but the impulse came out {:.2} frames after its input position (expected at {expected:.2}, peak at {measured:.2}{})",
                                    measured - at as f64 * ratio,
                                    first.map_or(String::new(), |f| format!(", a unit impulse's response starting at {f}"))
                                ),
                                input,
                            ),
                        }
                    }
                    Some(_) => {}
                }
            }
        }
    }
    t.outcome()
}

/// Where the response of a fresh processor to a unit impulse at `at`
/// starts: the first frame above 10⁻⁴ of its largest magnitude.
fn impulse_onset<P: BufferProcessor>(
    subject: &Subject<P>,
    s: StreamSpec,
    at: usize,
    blocks: usize,
) -> Option<usize> {
    let p = subject.build(&s)?;
    let mut d = Driver::new(p, s).ok()?;
    let blocks = vec![512; blocks];
    let frames = d.input_frames_for(&blocks);
    let mut signal = vec![vec![0.0f32; frames]; d.layout.input_channels];
    for ch in signal.iter_mut() {
        ch[at] = 0.05;
    }
    let (out, _) = d.run(&signal, &blocks, |_| {}).ok()?;
    let peak = out
        .iter()
        .flat_map(|c| c.iter())
        .fold(0.0f32, |m, v| m.max(v.abs()));
    (0..out[0].len()).find(|&i| out.iter().any(|c| c[i].abs() > peak * 1e-4))
}

fn energy(x: &[f32]) -> f64 {
    x.iter().map(|&v| (v as f64) * (v as f64)).sum()
}

/// Runs `blocks` of `signal` through the driver's own buffers with no
/// collection (so the loop itself makes no allocation or system call),
/// returning the first non-finite output block and the allocations.
fn steady_loop<P: BufferProcessor>(
    d: &mut Driver<P>,
    signal: &Planar,
    block: usize,
    count: usize,
) -> Result<u64, Fault> {
    let mut allocations = 0;
    let pulled = matches!(d.layout.frames, FrameMapping::Pulled { .. });
    let mut clock = match d.layout.frames {
        FrameMapping::Pulled {
            input_rate,
            output_rate,
        } => Some(kmidi_dsp::resampler::RateClock::new(
            input_rate,
            output_rate,
        )),
        _ => None,
    };
    let mut pos = 0;
    let (processor, input, output) = d.buffers();
    for k in 0..count {
        let n = clock.as_mut().map_or(block, |c| c.input_frames(block));
        input.set_frames_clamped(n);
        for (ch, src) in signal.iter().enumerate() {
            let dst = input.channel_mut(ch);
            let end = (pos + n).min(src.len());
            let m = end.saturating_sub(pos);
            dst[..m].copy_from_slice(&src[pos..end]);
            dst[m..].fill(0.0);
        }
        pos += n;
        if pulled {
            output.set_frames_clamped(block);
        }
        let called = catch_unwind(AssertUnwindSafe(|| {
            count_allocations(|| processor.process_into(input, output))
        }));
        let (result, stats) = called.map_err(|p| Fault::Panic {
            call: "process_into",
            block: k,
            message: panic_message(p),
        })?;
        allocations += stats.allocations;
        result.map_err(|e| Fault::Process {
            block: k,
            error: e.to_string(),
        })?;
    }
    Ok(allocations)
}

fn steady_setup<P: BufferProcessor>(
    suite: &Suite,
    subject: &Subject<P>,
    check: &'static str,
) -> Result<(Driver<P>, Planar, usize), Outcome> {
    let (s, p) = standard(subject).ok_or_else(|| no_standard(check))?;
    let d = Driver::new(p, s).map_err(|f| {
        let mut t = Tally::new(check);
        t.fault(&s, &f, "prepare only");
        t.outcome()
    })?;
    let count = 200;
    let frames = d.input_frames_for(&vec![512; count]);
    let mut rng = suite.rng(check, 0);
    let signal = music(d.layout.input_channels, frames, 48_000.0, &mut rng);
    Ok((d, signal, count))
}

fn allocations<P: BufferProcessor>(suite: &Suite, subject: &Subject<P>) -> Outcome {
    if !allocation_counting_works() {
        let why = "allocation counting is not installed: add `#[global_allocator] static A: \
                   kmidi_dsp::alloc_probe::CountingAllocator = kmidi_dsp::alloc_probe::CountingAllocator;` \
                   to the test binary";
        if suite.strictness >= crate::Strictness::CI {
            let mut t = Tally::new("allocations");
            t.fail(None, why, "none");
            return t.outcome();
        }
        return Outcome::Skip(why.into());
    }
    let (mut d, signal, count) = match steady_setup(suite, subject, "allocations") {
        Ok(x) => x,
        Err(o) => return o,
    };
    let s = d.spec;
    let mut t = Tally::new("allocations");
    t.cases += 2;
    let input = format!(
        "{count} blocks of 512 frames of music, twice (seed {:#x})",
        suite.seed
    );
    for pass in 0..2 {
        match steady_loop(&mut d, &signal, 512, count) {
            Err(f) => t.fault(&s, &f, input.clone()),
            Ok(0) => {}
            Ok(n) => t.fail(
                Some(&s),
                format!("process_into allocated {n} times in pass {pass}"),
                input.clone(),
            ),
        }
        if let Err(f) = d.reset() {
            t.fault(&s, &f, input.clone());
        }
    }
    t.outcome()
}

fn syscalls<P: BufferProcessor>(suite: &Suite, subject: &Subject<P>) -> Outcome {
    let (mut d, signal, count) = match steady_setup(suite, subject, "syscalls") {
        Ok(x) => x,
        Err(o) => return o,
    };
    let s = d.spec;
    let counter = match SyscallCounter::for_this_thread() {
        Ok(c) => Some(c),
        Err(why) => {
            if suite.strictness.level() >= 7 {
                let mut t = Tally::new("syscalls");
                t.fail(
                    None,
                    format!("system calls cannot be counted here: {why}"),
                    "none",
                );
                return t.outcome();
            }
            None
        }
    };
    let mut t = Tally::new("syscalls");
    // Warm up: the first pass may touch memory that prepare allocated.
    if let Err(f) = steady_loop(&mut d, &signal, 512, count) {
        t.fault(&s, &f, "warm-up");
        return t.outcome();
    }
    if let Err(f) = d.reset() {
        t.fault(&s, &f, "reset after warm-up");
        return t.outcome();
    }
    let measure = |d: &mut Driver<P>, blocks: usize| -> Result<(u64, ThreadUsage), Fault> {
        let usage = ThreadUsage::now();
        let before = counter.as_ref().map_or(0, SyscallCounter::read);
        steady_loop(d, &signal, 512, blocks)?;
        let after = counter.as_ref().map_or(0, SyscallCounter::read);
        let usage = usage.until(ThreadUsage::now());
        Ok((
            counter.as_ref().map_or(0, |c| c.between(before, after)),
            usage,
        ))
    };
    t.cases += 1;
    let input = format!(
        "{count} blocks of 512 frames of music after a warm-up pass (seed {:#x})",
        suite.seed
    );
    match (measure(&mut d, 0), measure(&mut d, count)) {
        (Err(f), _) | (_, Err(f)) => t.fault(&s, &f, input),
        (Ok((base_calls, base_usage)), Ok((calls, usage))) => {
            let calls = calls.saturating_sub(base_calls);
            let usage = ThreadUsage {
                voluntary_switches: usage
                    .voluntary_switches
                    .saturating_sub(base_usage.voluntary_switches),
                page_faults: usage.page_faults.saturating_sub(base_usage.page_faults),
            };
            if calls > 0 {
                t.fail(
                    Some(&s),
                    format!("{calls} system calls on the audio thread in {count} blocks"),
                    input.clone(),
                );
            }
            if usage.voluntary_switches > 0 {
                t.fail(
                    Some(&s),
                    format!(
                        "the audio thread blocked {} times (voluntary context switches: a lock, a sleep or I/O)",
                        usage.voluntary_switches
                    ),
                    input.clone(),
                );
            }
            if usage.page_faults > 0 {
                t.fail(
                    Some(&s),
                    format!(
                        "{} page faults on the audio thread after warm-up",
                        usage.page_faults
                    ),
                    input,
                );
            }
        }
    }
    if counter.is_none() && t.failures.is_empty() {
        return Outcome::Skip(
            "blocking and page faults checked, system calls not: tracefs or perf access missing \
             (as root: mount -t tracefs nodev /sys/kernel/tracing)"
                .into(),
        );
    }
    t.outcome()
}
