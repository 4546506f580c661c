//! `oversized`: buffers larger than the block, and (in place) a buffer
//! longer than the prepared maximum, refused or handled without harm.

use super::*;

pub(super) fn oversized_buffer<P: BufferProcessor>(
    _suite: &Suite,
    subject: &Subject<P>,
) -> Outcome {
    let Some((s, p)) = standard(subject) else {
        return no_standard("oversized");
    };
    let mut t = Tally::new("oversized");
    let Some(mut d) = t.prepare(p, s) else {
        return t.outcome();
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

pub(super) fn oversized_in_place<Q: Processor>(
    suite: &Suite,
    subject: &Subject<InPlace<Q>>,
) -> Outcome {
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
