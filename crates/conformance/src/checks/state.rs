//! The state checks: preparing again, and `reset`, leave the processor
//! as a fresh one.

use super::*;

pub(super) fn reprepare<P: BufferProcessor>(suite: &Suite, subject: &Subject<P>) -> Outcome {
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

pub(super) fn reset<P: BufferProcessor>(suite: &Suite, subject: &Subject<P>) -> Outcome {
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
