//! Per-block time statistics: an HDR histogram of nanoseconds, and the
//! deadline figures derived from it against the block period.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Largest block time the histogram holds, ns (10 s); longer blocks are
/// clamped to it (and still counted as xruns).
pub const MAX_TRACKED_NS: u64 = 10_000_000_000;

/// Block times, in nanoseconds, with the period they must meet.
#[derive(Debug, Clone)]
pub struct BlockTimes {
    histogram: Histogram<u64>,
    period_ns: f64,
    margin: f64,
    over_period: u64,
    over_margin: u64,
    total_ns: u128,
}

impl BlockTimes {
    /// An empty record for blocks of `period_ns`; `margin` is the share of
    /// the period (0 to 1) above which a block counts as "over the safety
    /// margin".
    pub fn new(period_ns: f64, margin: f64) -> Self {
        // 3 significant digits from 1 ns to 10 s: about 30 KB.
        let histogram = Histogram::new_with_bounds(1, MAX_TRACKED_NS, 3)
            .expect("constant, valid histogram bounds");
        Self {
            histogram,
            period_ns,
            margin,
            over_period: 0,
            over_margin: 0,
            total_ns: 0,
        }
    }

    /// Records one block. No allocation: the histogram's buckets are
    /// allocated up front for the whole range.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        let v = ns.clamp(1, MAX_TRACKED_NS);
        // In range by construction, so this cannot fail.
        let _ = self.histogram.record(v);
        self.total_ns += ns as u128;
        let t = ns as f64;
        if t > self.period_ns {
            self.over_period += 1;
        }
        if t > self.period_ns * self.margin {
            self.over_margin += 1;
        }
    }

    /// Adds another record's blocks (same period and margin).
    pub fn merge(&mut self, other: &BlockTimes) {
        let _ = self.histogram.add(&other.histogram);
        self.over_period += other.over_period;
        self.over_margin += other.over_margin;
        self.total_ns += other.total_ns;
    }

    /// Blocks recorded.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// Sum of all block times, ns.
    pub fn total_ns(&self) -> u128 {
        self.total_ns
    }

    /// Bytes the histogram holds.
    pub fn memory_bytes(&self) -> usize {
        self.histogram.distinct_values() * std::mem::size_of::<u64>()
    }

    /// The summary.
    pub fn summary(&self) -> BlockSummary {
        let h = &self.histogram;
        let us = |ns: u64| ns as f64 / 1000.0;
        let q = |p: f64| us(h.value_at_quantile(p));
        let mean_ns = if h.is_empty() {
            0.0
        } else {
            self.total_ns as f64 / h.len() as f64
        };
        BlockSummary {
            blocks: h.len(),
            period_us: self.period_ns / 1000.0,
            mean_us: mean_ns / 1000.0,
            median_us: q(0.5),
            p95_us: q(0.95),
            p99_us: q(0.99),
            p999_us: q(0.999),
            max_us: us(h.max()),
            min_us: us(h.min()),
            dsp_load_mean_percent: 100.0 * mean_ns / self.period_ns,
            dsp_load_worst_percent: 100.0 * h.max() as f64 / self.period_ns,
            xruns: self.over_period,
            safety_margin: self.margin,
            over_margin: self.over_margin,
        }
    }

    /// Log-spaced buckets for plots, each [`BUCKET_RATIO`] wide, the empty
    /// ones left out (each keeps its own lower bound, so a gap stays a gap).
    pub fn buckets(&self) -> Vec<Bucket> {
        if self.histogram.is_empty() {
            return Vec::new();
        }
        let first = self.histogram.min().max(1);
        let mut lower_ns = 0u64;
        let mut out = Vec::new();
        for v in self.histogram.iter_log(first, BUCKET_RATIO) {
            let upper_ns = v.value_iterated_to();
            if v.count_since_last_iteration() > 0 {
                out.push(Bucket {
                    lower_us: lower_ns as f64 / 1000.0,
                    upper_us: upper_ns as f64 / 1000.0,
                    blocks: v.count_since_last_iteration(),
                });
            }
            lower_ns = upper_ns;
        }
        out
    }
}

/// Width of a plot bucket: each is this many times the one below (about
/// 24 per decade, so a tail an order of magnitude out is still resolved).
pub const BUCKET_RATIO: f64 = 1.1;

/// One histogram bucket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Lower bound, µs (0 in runs saved before it was recorded).
    #[serde(default)]
    pub lower_us: f64,
    /// Upper bound, µs.
    pub upper_us: f64,
    /// Blocks in the bucket.
    pub blocks: u64,
}

/// What the deadline figures of a run were.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BlockSummary {
    /// Blocks timed.
    pub blocks: u64,
    /// The block period (frames ÷ rate), µs.
    pub period_us: f64,
    /// Mean block time, µs.
    pub mean_us: f64,
    /// Median, µs.
    pub median_us: f64,
    /// 95th percentile, µs.
    pub p95_us: f64,
    /// 99th percentile, µs.
    pub p99_us: f64,
    /// 99.9th percentile, µs.
    pub p999_us: f64,
    /// Worst block, µs.
    pub max_us: f64,
    /// Best block, µs.
    pub min_us: f64,
    /// DSP load as JUCE's `AudioProcessLoadMeasurer` and Ardour define it:
    /// time in the callback ÷ the block period, averaged over blocks, %.
    pub dsp_load_mean_percent: f64,
    /// The worst block's load, %.
    pub dsp_load_worst_percent: f64,
    /// Blocks that took longer than the period: each would be an xrun
    /// (a dropout) in a real-time host.
    pub xruns: u64,
    /// The safety margin, as a share of the period.
    pub safety_margin: f64,
    /// Blocks over the safety margin.
    pub over_margin: u64,
}

impl BlockSummary {
    /// Whether p99 is more than 3× the median: a heavy tail worth a warning.
    pub fn heavy_tail(&self) -> bool {
        self.p99_us > 3.0 * self.median_us
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn plot_buckets_keep_their_own_bounds_across_a_gap() {
        let mut t = BlockTimes::new(10_666_667.0, 0.8);
        for _ in 0..100 {
            t.record(100_000); // 100 µs
        }
        t.record(4_300_000); // one 4.3 ms block
        let b = t.buckets();
        assert_eq!(b.iter().map(|b| b.blocks).sum::<u64>(), 101);
        let tail = b.last().unwrap();
        assert_eq!(tail.blocks, 1);
        // The tail's bar is one bucket wide, not everything from the body up.
        assert!(
            tail.upper_us / tail.lower_us <= BUCKET_RATIO * 1.01,
            "{tail:?}"
        );
        assert!(tail.lower_us > 3_000.0, "{tail:?}");
        for w in b.windows(2) {
            assert!(w[0].upper_us <= w[1].lower_us + 1e-9, "{w:?}");
        }
    }
    use super::*;

    #[test]
    fn summary_matches_the_recorded_blocks() {
        // Period 10 µs, margin 80%.
        let mut t = BlockTimes::new(10_000.0, 0.8);
        for i in 1..=1000u64 {
            t.record(i * 10); // 10 ns to 10 µs
        }
        t.record(25_000); // one xrun
        let s = t.summary();
        assert_eq!(s.blocks, 1001);
        assert!((s.median_us - 5.0).abs() < 0.02, "{}", s.median_us);
        assert!((s.p99_us - 9.9).abs() < 0.05, "{}", s.p99_us);
        assert!((s.max_us - 25.0).abs() < 0.05);
        assert_eq!(s.xruns, 1);
        // 8.01 µs and up: 200 blocks, plus the xrun.
        assert_eq!(s.over_margin, 201);
        let mean = (1..=1000u64).map(|i| i * 10).sum::<u64>() + 25_000;
        assert!((s.mean_us - mean as f64 / 1001.0 / 1000.0).abs() < 1e-9);
        assert!((s.dsp_load_worst_percent - 250.0).abs() < 0.5);
        assert!(!s.heavy_tail());
        let buckets = t.buckets();
        assert_eq!(buckets.iter().map(|b| b.blocks).sum::<u64>(), 1001);
    }

    #[test]
    fn a_heavy_tail_is_flagged() {
        let mut t = BlockTimes::new(1e6, 0.8);
        for i in 0..100 {
            t.record(if i < 97 { 1000 } else { 5000 });
        }
        assert!(t.summary().heavy_tail());
    }
}
