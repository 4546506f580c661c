//! The real-time checks: no allocation and no system call on the audio
//! thread in a steady loop.

use super::*;

/// Runs `blocks` of `signal` through the driver's own buffers with no
/// collection (so the loop itself makes no allocation or system call),
fn steady_loop<P: BufferProcessor>(
    d: &mut Driver<P>,
    signal: &Planar,
    block: usize,
    count: usize,
) -> Result<u64, Fault> {
    let mut allocations = 0;
    let mut clock = rate_clock(&d.layout);
    let pulled = clock.is_some();
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
        let (allocated, result) = process_guarded(processor, input, output, k)?;
        allocations += allocated;
        result?;
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

pub(super) fn allocations<P: BufferProcessor>(suite: &Suite, subject: &Subject<P>) -> Outcome {
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

pub(super) fn syscalls<P: BufferProcessor>(suite: &Suite, subject: &Subject<P>) -> Outcome {
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
