//! Trends as a terminal table: one row per bench, with a sparkline of its
//! series, its fitted change, its largest step and its flag.

use std::fmt::Write;

use crate::stats::Trend;

/// A terminal sparkline of `xs` (eight levels).
pub fn sparkline(xs: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let (lo, hi) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| {
            (l.min(*x), h.max(*x))
        });
    xs.iter()
        .map(|x| {
            if hi > lo {
                BARS[(((x - lo) / (hi - lo)) * 7.0).round() as usize]
            } else {
                BARS[3]
            }
        })
        .collect()
}

/// Columns of the sparkline: the latest runs.
const SPARKLINE_WIDTH: usize = 20;

/// The table `kmidi-perf history trend` prints for `metric` over the
/// last `last` runs.
pub fn table(trends: &[Trend], metric: &str, last: usize) -> String {
    let drifting = trends.iter().filter(|t| t.slow_drift).count();
    let width = trends.iter().map(|t| t.bench.len()).max().unwrap_or(5);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{metric} over the last {last} runs ({} benches, {drifting} drifting)",
        trends.len()
    );
    let _ = writeln!(
        out,
        "{:<width$}  {:<SPARKLINE_WIDTH$}  {:>5}  {:>8}  {:>8}  flag",
        "bench", "trend", "runs", "fitted", "step"
    );
    for t in trends {
        let xs: Vec<f64> = t.points.iter().map(|p| p.value).collect();
        let flag = if t.slow_drift {
            format!("SLOW DRIFT (p = {:.4})", t.trend_p_value)
        } else if t.step_change {
            "step".into()
        } else {
            String::new()
        };
        // Scaled over the whole window; the latest runs shown.
        let spark: Vec<char> = sparkline(&xs).chars().collect();
        let recent: String = spark[spark.len().saturating_sub(SPARKLINE_WIDTH)..]
            .iter()
            .collect();
        let _ = writeln!(
            out,
            "{:<width$}  {:<SPARKLINE_WIDTH$}  {:>5}  {:>+7.1}%  {:>+7.1}%  {flag}",
            t.bench,
            recent,
            xs.len(),
            t.fitted_change_percent,
            t.largest_step_percent
        );
    }
    out
}
