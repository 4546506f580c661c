//! The stream-format checks: every rate, channel count and block size
//! the processor claims, and any partition of a signal into blocks giving
//! the same output.

use super::*;

pub(super) fn rates<P: BufferProcessor>(suite: &Suite, subject: &Subject<P>) -> Outcome {
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

pub(super) fn channels<P: BufferProcessor>(suite: &Suite, subject: &Subject<P>) -> Outcome {
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

pub(super) fn blocks<P: BufferProcessor>(suite: &Suite, subject: &Subject<P>) -> Outcome {
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

pub(super) fn partition<P: BufferProcessor>(suite: &Suite, subject: &Subject<P>) -> Outcome {
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
        let Some(mut reference) = t.prepare(p, s) else {
            continue;
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
            let Some(mut d) = t.prepare(p, s) else {
                continue;
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
