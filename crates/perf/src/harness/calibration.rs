//! The harness measuring itself: timer resolution and cost, per-block
//! overhead, memory.

use std::time::Instant;

use kmidi_dsp::AudioBuffer;
use serde::{Deserialize, Serialize};

use super::drive::time_block;
use crate::stats::BlockTimes;

/// How precise and how costly the harness's own timing is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HarnessCalibration {
    /// Smallest non-zero step between two clock reads, ns.
    pub timer_resolution_ns: f64,
    /// Mean cost of one clock read, ns.
    pub timer_read_ns: f64,
    /// What timing one block adds (two clock reads, allocation count,
    /// histogram record), measured on a no-op processor against a bare
    /// loop, ns.
    pub overhead_ns_per_block: f64,
    /// Memory the harness holds for one grid point (histogram and input
    /// stems), bytes.
    pub memory_bytes: u64,
}

/// A processor that does nothing, for measuring the harness itself.
#[inline(never)]
pub fn noop_process(block: &mut AudioBuffer) {
    std::hint::black_box(block);
}

/// Measures the harness: timer resolution and cost, and the per-block
/// overhead of timing a no-op processor against a bare loop (the median
/// of 9 rounds, so one preemption does not decide it).
pub fn calibrate(material_bytes: u64) -> HarnessCalibration {
    const N: usize = 200_000;
    let mut min_step = u64::MAX;
    let t = Instant::now();
    let mut prev = Instant::now();
    for _ in 0..N {
        let now = Instant::now();
        let step = now.duration_since(prev).as_nanos() as u64;
        if step > 0 {
            min_step = min_step.min(step);
        }
        prev = now;
    }
    let read_ns = t.elapsed().as_nanos() as f64 / (N + 1) as f64;

    let mut block = AudioBuffer::new(2, 512);
    let mut times = BlockTimes::new(10_666_666.0, 0.8);
    let mut overheads = Vec::new();
    for _ in 0..9 {
        let t0 = Instant::now();
        for _ in 0..N {
            noop_process(&mut block);
        }
        let bare = t0.elapsed().as_nanos() as f64;
        let t0 = Instant::now();
        let mut allocations = 0;
        for _ in 0..N {
            let ((), a, _, _) = time_block(&mut times, || noop_process(&mut block));
            allocations += a;
        }
        std::hint::black_box(allocations);
        let timed = t0.elapsed().as_nanos() as f64;
        overheads.push(((timed - bare) / N as f64).max(0.0));
    }
    overheads.sort_by(f64::total_cmp);
    HarnessCalibration {
        timer_resolution_ns: if min_step == u64::MAX {
            0.0
        } else {
            min_step as f64
        },
        timer_read_ns: read_ns,
        overhead_ns_per_block: overheads[overheads.len() / 2],
        memory_bytes: times.memory_bytes() as u64 + material_bytes,
    }
}

/// Bytes the generated stems take at `rate`.
pub fn material_bytes(rate: u32) -> u64 {
    // Nine stems of 8 s.
    9 * 8 * rate as u64 * 4
}
