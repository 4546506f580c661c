//! Trend estimators over a history of runs: the Mann-Kendall test of a
//! monotonic trend, the Theil-Sen slope, and the drift analysis of one
//! bench's series built on them.

use serde::Serialize;

use super::normal_cdf;

/// Mann-Kendall test: the two-sided p-value of a monotonic trend in
/// `xs` (1 for fewer than 4 points).
pub fn mann_kendall_p(xs: &[f64]) -> f64 {
    let n = xs.len();
    if n < 4 {
        return 1.0;
    }
    let mut s = 0.0;
    for i in 0..n {
        for j in i + 1..n {
            s += (xs[j] - xs[i]).signum() * f64::from(u8::from(xs[j] != xs[i]));
        }
    }
    let nf = n as f64;
    let var = nf * (nf - 1.0) * (2.0 * nf + 5.0) / 18.0;
    let z = if s > 0.0 {
        (s - 1.0) / var.sqrt()
    } else if s < 0.0 {
        (s + 1.0) / var.sqrt()
    } else {
        0.0
    };
    2.0 * (1.0 - normal_cdf(z.abs()))
}

/// Theil-Sen slope: the median of all pairwise slopes.
pub fn theil_sen_slope(xs: &[f64]) -> f64 {
    let mut slopes = Vec::new();
    for i in 0..xs.len() {
        for j in i + 1..xs.len() {
            slopes.push((xs[j] - xs[i]) / (j - i) as f64);
        }
    }
    if slopes.is_empty() {
        return 0.0;
    }
    slopes.sort_by(f64::total_cmp);
    let n = slopes.len();
    if n % 2 == 1 {
        slopes[n / 2]
    } else {
        (slopes[n / 2 - 1] + slopes[n / 2]) / 2.0
    }
}

/// The fitted change over a window that counts as a slow drift, unless
/// told otherwise, %.
pub const DEFAULT_DRIFT_PERCENT: f64 = 5.0;
/// One step between runs beyond which a change is a step, not a drift,
/// unless told otherwise, %.
pub const DEFAULT_STEP_PERCENT: f64 = 10.0;

/// One point of a trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// Run id (increasing).
    pub run_id: i64,
    /// Commit.
    pub git_commit: String,
    /// When.
    pub recorded_at: String,
    /// The value.
    pub value: f64,
}

/// A trend of one bench's metric with its drift analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    /// Bench id.
    pub bench: String,
    /// Metric.
    pub metric: String,
    /// Oldest first.
    pub points: Vec<Point>,
    /// Theil-Sen fitted change from the first to the last run, percent of
    /// the series median.
    pub fitted_change_percent: f64,
    /// The largest single step between consecutive runs, percent.
    pub largest_step_percent: f64,
    /// Mann-Kendall two-sided p-value of a monotonic trend.
    pub trend_p_value: f64,
    /// A slow drift: significant trend, fitted change beyond the drift
    /// threshold, and no single step beyond the step threshold.
    pub slow_drift: bool,
    /// Some single step went beyond the step threshold.
    pub step_change: bool,
}

/// Analyses a series: `drift_percent` is the smallest fitted change over
/// the window that counts as drift, `step_percent` the regression
/// threshold for one step.
pub fn analyse(
    bench: &str,
    metric: &str,
    points: Vec<Point>,
    drift_percent: f64,
    step_percent: f64,
) -> Trend {
    let xs: Vec<f64> = points.iter().map(|p| p.value).collect();
    let mut sorted = xs.clone();
    sorted.sort_by(f64::total_cmp);
    let center = if sorted.is_empty() {
        0.0
    } else {
        sorted[sorted.len() / 2]
    };
    let fitted = if xs.len() >= 2 && center != 0.0 {
        theil_sen_slope(&xs) * (xs.len() - 1) as f64 / center * 100.0
    } else {
        0.0
    };
    let largest_step = xs
        .windows(2)
        .filter(|w| w[0] != 0.0)
        .map(|w| (w[1] / w[0] - 1.0) * 100.0)
        .fold(0.0_f64, |m, s| if s.abs() > m.abs() { s } else { m });
    let p = mann_kendall_p(&xs);
    let step_change = largest_step.abs() > step_percent;
    Trend {
        bench: bench.into(),
        metric: metric.into(),
        points,
        fitted_change_percent: fitted,
        largest_step_percent: largest_step,
        trend_p_value: p,
        slow_drift: p < 0.01 && fitted.abs() >= drift_percent && !step_change,
        step_change,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_matches_tables() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
        assert!((normal_cdf(-1.0) - 0.158_655).abs() < 1e-5);
    }
}
