//! `automation`: parameter changes while running, ramped without clicks
//! and without allocation, from another thread too.

use super::*;

/// The largest jump in slope (second difference) of the output, relative
/// to the output's peak. A 110 Hz sine has about 0.002 at 48 kHz; a gain or
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

pub(super) fn automation<P: BufferProcessor>(suite: &Suite, subject: &Subject<P>) -> Outcome {
    let Some(automate) = subject.automation.as_ref() else {
        return Outcome::Skip("the subject has no automatable parameters".into());
    };
    let Some((s, p)) = standard(subject) else {
        return no_standard("automation");
    };
    let mut t = Tally::new("automation");
    t.cases += 1;
    let mut changes = automate(&p);
    let Some(mut d) = t.prepare(p, s) else {
        return t.outcome();
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
