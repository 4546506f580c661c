//! `poison`: NaN, Inf and denormal input never reaches the output as
//! NaN or Inf, and the processor recovers.

use super::*;

fn recovered(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-4 + 1e-3 * b.abs()
}

pub(super) fn poison<P: BufferProcessor>(suite: &Suite, subject: &Subject<P>) -> Outcome {
    let Some((s, p)) = standard(subject) else {
        return no_standard("poison");
    };
    let mut t = Tally::new("poison");
    let Some(probe) = t.prepare(p, s) else {
        return t.outcome();
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
