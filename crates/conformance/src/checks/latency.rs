//! `latency`: the reported latency matches where an impulse comes out.

use super::*;

pub(super) fn latency<P: BufferProcessor>(suite: &Suite, subject: &Subject<P>) -> Outcome {
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
        let Some(mut d) = t.prepare(p, s) else {
            continue;
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
