//! The process run as the unit of evidence.
//!
//! On a shared VM the median of one bench moves by tens of percent from one
//! process to the next, while each process's own samples agree to about 1%:
//! the variance lies *between* processes (memory placement, the physical
//! core a vCPU lands on, other tenants' load). Samples pooled within
//! processes are not independent draws of that variance, so every estimate
//! here takes one number per process, its median, and treats processes as
//! the exchangeable units.
//!
//! What is compared is the **fastest half** of each side's per-process
//! medians ([`COMPARED_SHARE`], their geometric mean). Interference only
//! ever slows a process down, so the slow processes carry the machine's
//! noise and the fast ones the code's cost; the fastest half stays in the
//! clean group as long as half of the processes ran undisturbed, where the
//! median of all and the rank test are pulled along by every disturbed
//! process, and it averages over several processes, where a single
//! quantile rests on one.
//!
//! * [`fast_shift_test`]: the change of the fastest half, its
//!   permutation test over processes (exact when the splits are few, else
//!   Monte Carlo) and its bootstrap interval over processes. Under "no
//!   change" the processes of both sides are exchangeable (the sides
//!   alternate in ABBA blocks), so the permutation test holds its level
//!   whatever the shape of the per-process distribution, modes and
//!   disturbed processes included;
//! * [`rank_test`]: the Wilcoxon–Mann–Whitney rank test over per-process
//!   medians, reported beside it as a second, whole-distribution view;
//! * [`modes`]: whether the per-process medians split into modes, judged
//!   against each process's own precision;
//! * [`power`]: the chance of detecting a given change at this number of
//!   processes, from the bootstrap standard error.

use statrs::distribution::{ContinuousCDF, Normal};

use super::{median, rng, sorted};

/// Largest number of splits of the processes enumerated by the exact
/// rank test; above it, the normal approximation.
pub const EXACT_SPLITS_LIMIT: u64 = 20_000;

/// Smallest gap between two modes of per-process medians, as a fraction
/// of the median (3%): closer clusters are one mode, however precise each
/// process is.
pub const MODE_MIN_GAP: f64 = 0.03;

/// A gap between modes must also be this many times the standard error of
/// one process's median.
pub const MODE_GAP_STANDARD_ERRORS: f64 = 6.0;

/// A mode needs at least this share of the processes (and at least two);
/// smaller clusters are outliers.
pub const MODE_MIN_SHARE: f64 = 0.15;

fn standard_normal() -> Normal {
    Normal::standard()
}

/// The standard normal distribution function.
pub fn normal_cdf(z: f64) -> f64 {
    standard_normal().cdf(z)
}

/// The standard normal quantile function, `p` in (0, 1).
pub fn normal_quantile(p: f64) -> f64 {
    standard_normal().inverse_cdf(p)
}

/// The outcome of a rank test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankTest {
    /// The Mann–Whitney U of the new side: pairs (base, new) where new is
    /// slower, ties counting one half.
    pub u: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Whether `p_value` is exact (every split enumerated).
    pub exact: bool,
}

/// Mid-ranks (1-based) of `values`, ties sharing their mean rank.
fn mid_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let rank = (start + end + 1) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// Binomial coefficient, saturating.
fn choose(n: u64, k: u64) -> u64 {
    let k = k.min(n - k);
    let mut c: u64 = 1;
    for i in 0..k {
        c = c.saturating_mul(n - i) / (i + 1);
    }
    c
}

/// Every way of putting `k` of `n` mid-ranks on one side: how many give a
/// rank sum at least as far from its mean as `observed`.
fn exact_tail(ranks: &[f64], k: usize, observed: f64, mean: f64) -> f64 {
    let distance = (observed - mean).abs() - 1e-9;
    let (mut extreme, mut total) = (0u64, 0u64);
    for_each_split(ranks.len(), k, |index| {
        let sum: f64 = index.iter().map(|&i| ranks[i]).sum();
        total += 1;
        if (sum - mean).abs() >= distance {
            extreme += 1;
        }
    });
    extreme as f64 / total as f64
}

/// Calls `visit` with every way of choosing `k` of `n` items (indices in
/// increasing order), in lexicographic order: the splits an exact
/// permutation test of two sides of `k` and `n − k` runs over.
fn for_each_split(n: usize, k: usize, mut visit: impl FnMut(&[usize])) {
    let mut index: Vec<usize> = (0..k).collect();
    loop {
        visit(&index);
        // The next combination: the last index that can still move, moved
        // one on, and every index after it right behind it.
        let Some(i) = (0..k).rev().find(|&i| index[i] < n - k + i) else {
            return;
        };
        index[i] += 1;
        for j in i + 1..k {
            index[j] = index[j - 1] + 1;
        }
    }
}

/// Σ (t³ − t) over groups of tied mid-ranks.
fn tie_sum(ranks: &[f64]) -> f64 {
    let sorted_ranks = sorted(ranks);
    let mut ties = 0.0;
    let mut i = 0;
    while i < sorted_ranks.len() {
        let j = sorted_ranks[i..]
            .iter()
            .take_while(|r| **r == sorted_ranks[i])
            .count();
        let t = j as f64;
        ties += t * t * t - t;
        i += j;
    }
    ties
}

/// The normal approximation of the rank test's two-sided p-value, with
/// the tie and continuity corrections.
fn normal_p_value(ranks: &[f64], na: usize, nb: usize, u: f64) -> f64 {
    let n = (na + nb) as f64;
    let ties = tie_sum(ranks);
    let variance = na as f64 * nb as f64 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    let mean_u = na as f64 * nb as f64 / 2.0;
    if variance <= 0.0 {
        1.0
    } else {
        let z = ((u - mean_u).abs() - 0.5).max(0.0) / variance.sqrt();
        (2.0 * (1.0 - normal_cdf(z))).min(1.0)
    }
}

/// The two-sided Wilcoxon–Mann–Whitney test of `new` against `base`
/// (per-process medians). Exact when the splits number at most
/// [`EXACT_SPLITS_LIMIT`], ties included; otherwise the normal
/// approximation with tie and continuity corrections. Needs at least one
/// value on each side.
///
/// ```
/// use kmidi_perf::stats::rank_test;
/// let base = [10.0, 10.2, 9.9, 10.1, 10.3, 9.8, 10.0, 10.1];
/// let slow: Vec<f64> = base.iter().map(|x| x * 1.1).collect();
/// let t = rank_test(&base, &slow);
/// assert!(t.exact && t.p_value < 0.001 && t.u == 64.0);
/// ```
pub fn rank_test(base: &[f64], new: &[f64]) -> RankTest {
    let (na, nb) = (base.len(), new.len());
    let pooled: Vec<f64> = base.iter().chain(new).copied().collect();
    let ranks = mid_ranks(&pooled);
    let n = (na + nb) as f64;
    let rank_sum_new: f64 = ranks[na..].iter().sum();
    let u = rank_sum_new - (nb * (nb + 1)) as f64 / 2.0;
    let mean_sum = nb as f64 * (n + 1.0) / 2.0;
    if choose((na + nb) as u64, nb as u64) <= EXACT_SPLITS_LIMIT {
        let p_value = exact_tail(&ranks, nb, rank_sum_new, mean_sum);
        return RankTest {
            u,
            p_value,
            exact: true,
        };
    }
    let p_value = normal_p_value(&ranks, na, nb, u);
    RankTest {
        u,
        p_value,
        exact: false,
    }
}

/// One mode of per-process medians.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Mode {
    /// The mode's median, ns.
    pub center_ns: f64,
    /// Lowest and highest per-process median in it, ns.
    pub range_ns: (f64, f64),
    /// Processes in it.
    pub processes: usize,
}

/// Per-process medians split into modes and outliers.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct ModeSplit {
    /// The modes, fastest first.
    pub modes: Vec<Mode>,
    /// Per-process medians in clusters too small to be a mode, ns.
    pub outliers_ns: Vec<f64>,
}

/// The modes of per-process medians `medians_ns`: sorted, and cut
/// wherever two neighbours differ by more than [`MODE_MIN_GAP`] of the
/// median and more than [`MODE_GAP_STANDARD_ERRORS`] times
/// `process_standard_error` (one process's own relative standard error of
/// its median). A cluster with fewer than [`MODE_MIN_SHARE`] of the
/// processes (or fewer than two) is a set of outliers, not a mode.
///
/// ```
/// use kmidi_perf::stats::modes;
/// let medians = [47.0, 73.0, 66.0, 46.0, 45.0, 69.0];
/// let m = modes(&medians, 0.01);
/// assert_eq!(m.modes.len(), 2);
/// assert_eq!((m.modes[0].processes, m.modes[1].processes), (3, 3));
/// ```
pub fn modes(medians_ns: &[f64], process_standard_error: f64) -> ModeSplit {
    let v = sorted(medians_ns);
    let mut split = ModeSplit::default();
    if v.is_empty() {
        return split;
    }
    let gap = MODE_MIN_GAP.max(MODE_GAP_STANDARD_ERRORS * process_standard_error);
    let least = ((v.len() as f64 * MODE_MIN_SHARE).ceil() as usize).max(2);
    let mut start = 0;
    for end in 1..=v.len() {
        if end < v.len() && (v[end] / v[end - 1]).ln() <= gap {
            continue;
        }
        let part = &v[start..end];
        if part.len() >= least {
            split.modes.push(Mode {
                center_ns: median(part),
                range_ns: (part[0], part[part.len() - 1]),
                processes: part.len(),
            });
        } else {
            split.outliers_ns.extend_from_slice(part);
        }
        start = end;
    }
    split
}

/// The relative standard error of one process's median, from its samples
/// (ns per iteration): 1.2533 × σ / √n, σ from the median absolute
/// deviation.
pub fn median_standard_error(samples_ns: &[f64]) -> f64 {
    if samples_ns.len() < 2 {
        return 0.0;
    }
    let s = sorted(samples_ns);
    let m = median(&s);
    let deviations = sorted(&s.iter().map(|x| (x - m).abs()).collect::<Vec<_>>());
    let sigma = 1.4826 * median(&deviations);
    1.2533 * sigma / (s.len() as f64).sqrt() / m
}

/// The `q` quantile of sorted values (linear interpolation between order
/// statistics, numpy's default; 0 items is a caller bug).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let at = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let (lo, frac) = (at.floor() as usize, at.fract());
    if lo + 1 < sorted.len() {
        sorted[lo] + (sorted[lo + 1] - sorted[lo]) * frac
    } else {
        sorted[lo]
    }
}

/// The share of each side's processes, the fastest, whose per-process
/// medians two sides are compared by.
pub const COMPARED_SHARE: f64 = 0.5;

/// Label permutations drawn when the splits are too many to enumerate.
pub const PERMUTATIONS: usize = 10_000;

/// Bootstrap resamples behind the interval of a change.
pub const FAST_BOOTSTRAP_RESAMPLES: usize = 10_000;

/// The change of the fastest processes between two sides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FastShift {
    /// Change of the geometric mean of the fastest half of the per-process
    /// medians, percent.
    pub change_percent: f64,
    /// Percentile-bootstrap interval of the change at the requested
    /// confidence, percent.
    pub interval_percent: (f64, f64),
    /// Two-sided permutation p-value over processes.
    pub p_value: f64,
    /// Whether `p_value` enumerated every split.
    pub exact: bool,
    /// Bootstrap standard error of the log change.
    pub standard_error: f64,
}

/// The mean log of the fastest [`COMPARED_SHARE`] of `values` (at least
/// one).
fn log_fast(values: &[f64], scratch: &mut Vec<f64>) -> f64 {
    scratch.clear();
    scratch.extend_from_slice(values);
    scratch.sort_by(f64::total_cmp);
    let k = ((values.len() as f64 * COMPARED_SHARE).ceil() as usize).clamp(1, values.len());
    scratch[..k].iter().map(|x| x.ln()).sum::<f64>() / k as f64
}

/// The geometric mean of the fastest [`COMPARED_SHARE`] of per-process
/// medians: what a side's speed is reported as.
pub fn fast_share_mean(values: &[f64]) -> f64 {
    log_fast(values, &mut Vec::with_capacity(values.len())).exp()
}

/// Tests and estimates the change of the fastest half of per-process
/// medians (their geometric mean) from `base` to `new` (positive values,
/// at least two per side):
/// a permutation test of the side labels over processes (every split when
/// they number at most [`EXACT_SPLITS_LIMIT`], else [`PERMUTATIONS`]
/// seeded draws) and a percentile-bootstrap interval at `confidence`
/// ([`FAST_BOOTSTRAP_RESAMPLES`] resamples of each side's processes).
///
/// ```
/// use kmidi_perf::stats::fast_shift_test;
/// // Three of eight processes disturbed on each side; the code 10% slower.
/// let base = [46.0, 46.2, 45.9, 46.1, 46.0, 61.0, 70.3, 52.0];
/// let new = [50.7, 50.5, 90.0, 50.6, 58.0, 50.8, 50.6, 77.0];
/// let s = fast_shift_test(&base, &new, 0.99, 7);
/// assert!(s.exact && s.p_value < 0.05);
/// assert!((s.change_percent - 10.0).abs() < 1.0);
/// ```
pub fn fast_shift_test(base: &[f64], new: &[f64], confidence: f64, seed: u64) -> FastShift {
    let (na, nb) = (base.len(), new.len());
    let mut scratch = Vec::with_capacity(na + nb);
    let observed = log_fast(new, &mut scratch) - log_fast(base, &mut scratch);
    let pooled: Vec<f64> = base.iter().chain(new).copied().collect();
    let mut rng = rng(seed);
    let (mut a, mut b) = (Vec::with_capacity(na), Vec::with_capacity(nb));
    let mut statistic = |in_new: &dyn Fn(usize) -> bool, scratch: &mut Vec<f64>| {
        a.clear();
        b.clear();
        for (i, x) in pooled.iter().enumerate() {
            if in_new(i) { b.push(*x) } else { a.push(*x) }
        }
        log_fast(&b, scratch) - log_fast(&a, scratch)
    };
    let distance = observed.abs() - 1e-12;
    let exact = choose((na + nb) as u64, nb as u64) <= EXACT_SPLITS_LIMIT;
    let p_value = if exact {
        let (mut extreme, mut total) = (0u64, 0u64);
        let mut member = vec![false; na + nb];
        for_each_split(na + nb, nb, |index| {
            member.iter_mut().for_each(|m| *m = false);
            index.iter().for_each(|&i| member[i] = true);
            total += 1;
            if statistic(&|i| member[i], &mut scratch).abs() >= distance {
                extreme += 1;
            }
        });
        extreme as f64 / total as f64
    } else {
        let mut order: Vec<usize> = (0..na + nb).collect();
        let mut member = vec![false; na + nb];
        let mut extreme = 0usize;
        for _ in 0..PERMUTATIONS {
            rng.shuffle(&mut order);
            member.iter_mut().for_each(|m| *m = false);
            order[..nb].iter().for_each(|&i| member[i] = true);
            if statistic(&|i| member[i], &mut scratch).abs() >= distance {
                extreme += 1;
            }
        }
        (extreme + 1) as f64 / (PERMUTATIONS + 1) as f64
    };
    let mut draws: Vec<f64> = (0..FAST_BOOTSTRAP_RESAMPLES)
        .map(|_| {
            a.clear();
            b.clear();
            a.extend((0..na).map(|_| base[rng.usize(..na)]));
            b.extend((0..nb).map(|_| new[rng.usize(..nb)]));
            log_fast(&b, &mut scratch) - log_fast(&a, &mut scratch)
        })
        .collect();
    let mean = draws.iter().sum::<f64>() / draws.len() as f64;
    let standard_error =
        (draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (draws.len() - 1) as f64).sqrt();
    draws.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    let percent = |d: f64| (d.exp() - 1.0) * 100.0;
    FastShift {
        change_percent: percent(observed),
        interval_percent: (
            percent(quantile(&draws, tail)),
            percent(quantile(&draws, 1.0 - tail)),
        ),
        p_value,
        exact,
        standard_error,
    }
}

/// The chance that a test at level `alpha` detects a change of
/// `change_percent` when the log change has standard error
/// `standard_error` (normal approximation).
///
/// ```
/// use kmidi_perf::stats::power;
/// assert!(power(0.01, 10.0, 0.002) > 0.99);
/// assert!(power(0.2, 10.0, 0.002) < 0.1);
/// ```
pub fn power(standard_error: f64, change_percent: f64, alpha: f64) -> f64 {
    if standard_error <= 0.0 {
        return 1.0;
    }
    let effect = (1.0 + change_percent.abs() / 100.0).ln();
    normal_cdf(effect / standard_error - normal_quantile(1.0 - alpha / 2.0))
}

/// Processes per side (in whole ABBA blocks, two per side) that bring the
/// power to detect `change_percent` to `target`, scaling a standard error
/// measured at `processes` by √(processes / n).
///
/// ```
/// use kmidi_perf::stats::processes_for_power;
/// assert_eq!(processes_for_power(0.01, 8, 10.0, 0.002, 0.9), 8);
/// assert!(processes_for_power(0.05, 8, 10.0, 0.002, 0.9) > 8);
/// ```
pub fn processes_for_power(
    standard_error: f64,
    processes: usize,
    change_percent: f64,
    alpha: f64,
    target: f64,
) -> usize {
    if power(standard_error, change_percent, alpha) >= target {
        return processes;
    }
    let effect = (1.0 + change_percent.abs() / 100.0).ln();
    let z = normal_quantile(1.0 - alpha / 2.0) + normal_quantile(target);
    let n = processes as f64 * (standard_error * z / effect).powi(2);
    (n.ceil() as usize).div_ceil(2) * 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_split_is_visited_once() {
        for (n, k) in [(4, 0), (4, 4), (6, 3), (10, 4)] {
            let mut seen = std::collections::BTreeSet::new();
            for_each_split(n, k, |index| {
                assert!(index.windows(2).all(|w| w[0] < w[1]) && index.iter().all(|&i| i < n));
                assert!(seen.insert(index.to_vec()), "{index:?} twice");
            });
            assert_eq!(
                seen.len() as u64,
                choose(n as u64, k as u64),
                "{n} choose {k}"
            );
        }
    }

    // Expected p-values from scipy 1.17.1 (`scipy.stats.mannwhitneyu`,
    // two-sided; method="exact" without ties, "asymptotic" with
    // use_continuity=True otherwise), an implementation kmidi did not
    // write.
    #[test]
    fn rank_test_agrees_with_scipy() {
        let a = [47.0, 73.0, 66.0, 46.0, 45.0, 69.0];
        let b = [51.0, 80.0, 72.0, 50.0, 49.0, 76.0, 52.0];
        let t = rank_test(&a, &b);
        assert!(t.exact);
        assert_eq!(t.u, 29.0);
        assert!((t.p_value - 0.294_871_794_871_794_9).abs() < 1e-12, "{t:?}");

        let a: Vec<f64> = (0..12).map(|i| 100.0 + f64::from(i)).collect();
        let b: Vec<f64> = (0..12).map(|i| 104.0 + f64::from(i)).collect();
        let t = rank_test(&a, &b);
        assert!(!t.exact);
        assert_eq!(t.u, 112.0);
        assert!((t.p_value - 0.022_341_570_564_099_74).abs() < 1e-9, "{t:?}");

        let a = [1.0, 2.0, 2.0, 3.0];
        let b = [2.0, 3.0, 3.0, 4.0];
        let t = rank_test(&a, &b);
        assert!(t.exact);
        assert_eq!(t.u, 13.0);
        // The exact permutation distribution of the tied mid-ranks
        // (scipy.stats.permutation_test on the U statistic, all 70
        // splits).
        assert!((t.p_value - 0.285_714_285_714_285_7).abs() < 1e-12, "{t:?}");
    }

    #[test]
    fn rank_test_of_identical_sides_is_one() {
        let a = [5.0; 9];
        assert_eq!(rank_test(&a, &a).p_value, 1.0);
    }

    // Expected p-values from scipy 1.17.1's `permutation_test` over every
    // split (n_resamples=np.inf) of the statistic |mean log of the fastest
    // half of new − the same of base|, alternative="greater".
    #[test]
    fn quantile_permutation_test_agrees_with_scipy() {
        let base = [46.0, 46.2, 45.9, 46.1, 46.0, 61.0, 70.3, 52.0];
        let new = [50.7, 50.5, 90.0, 50.6, 58.0, 50.8, 50.6, 77.0];
        let s = fast_shift_test(&base, &new, 0.99, 1);
        assert!(s.exact);
        assert!(
            (s.p_value - 0.037_296_037_296_037_296).abs() < 1e-12,
            "{s:?}"
        );
        let same = [46.1, 45.8, 46.3, 70.0, 46.0, 46.2, 52.5, 45.9];
        let s = fast_shift_test(&base, &same, 0.99, 1);
        assert!((s.p_value - 0.728_049_728_049_728).abs() < 1e-12, "{s:?}");
    }

    #[test]
    fn bootstrap_interval_covers_the_change() {
        let base: Vec<f64> = (0..20).map(|i| 100.0 + f64::from(i % 5)).collect();
        let new: Vec<f64> = base.iter().map(|x| x * 1.10).collect();
        let s = fast_shift_test(&base, &new, 0.99, 3);
        assert!(!s.exact);
        assert!((s.change_percent - 10.0).abs() < 0.5, "{s:?}");
        assert!(
            s.interval_percent.0 > 5.0 && s.interval_percent.1 < 15.0,
            "{s:?}"
        );
        assert!(s.p_value < 0.001, "{s:?}");
    }

    #[test]
    fn one_outlier_is_not_a_mode() {
        let m = modes(&[10.0, 10.1, 9.9, 10.0, 14.0], 0.001);
        assert_eq!(m.modes.len(), 1);
        assert_eq!(m.modes[0].processes, 4);
        assert_eq!(m.outliers_ns, vec![14.0]);
    }

    #[test]
    fn precise_processes_split_closer_modes() {
        let medians = [10.0, 10.05, 10.0, 10.5, 10.55, 10.5];
        assert_eq!(modes(&medians, 0.001).modes.len(), 2);
        assert_eq!(modes(&medians, 0.02).modes.len(), 1);
    }

    #[test]
    fn standard_error_of_a_median() {
        let samples: Vec<f64> = (0..100).map(|i| 100.0 + f64::from(i % 11) - 5.0).collect();
        let se = median_standard_error(&samples);
        assert!(se > 0.001 && se < 0.01, "{se}");
    }

    #[test]
    fn normal_functions_invert() {
        assert!((normal_cdf(1.959_963_984_540_054) - 0.975).abs() < 1e-9);
        assert!((normal_quantile(0.995) - 2.575_829_303_548_901).abs() < 1e-9);
    }
}
