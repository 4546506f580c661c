//! Estimators over samples: medians, and a seeded percentile bootstrap of
//! the change between two medians, drawn from the lab's one random
//! generator ([`rng`]).

/// Bootstrap resamples for the interval of a change.
pub const BOOTSTRAP_RESAMPLES: usize = 4_000;

/// The median of values already sorted (0 items is a caller bug).
pub fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// A sorted copy (NaN-free input).
pub fn sorted(xs: &[f64]) -> Vec<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// The median of unsorted values (NaN-free; 0 items is a caller bug).
pub fn median_of(xs: &[f64]) -> f64 {
    median(&sorted(xs))
}

/// The lab's one random generator (fastrand's wyrand), seeded so that
/// every interval it draws is reproducible.
pub fn rng(seed: u64) -> fastrand::Rng {
    fastrand::Rng::with_seed(seed)
}

fn resampled_median(xs: &[f64], rng: &mut fastrand::Rng, scratch: &mut Vec<f64>) -> f64 {
    scratch.clear();
    scratch.extend((0..xs.len()).map(|_| xs[rng.usize(..xs.len())]));
    scratch.sort_by(f64::total_cmp);
    median(scratch)
}

/// A stable seed from a bench id.
pub fn seed_for(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }) | 1
}

/// The change of the median from `base` to `new`, percent, and its
/// percentile-bootstrap 95% interval ([`BOOTSTRAP_RESAMPLES`] resamples of
/// each side, seeded by `seed`).
///
/// ```
/// use kmidi_perf::stats::median_change;
/// let base = [100.0, 101.0, 99.0, 100.5, 100.2, 99.8, 100.1, 99.9];
/// let slow: Vec<f64> = base.iter().map(|x| x * 1.2).collect();
/// let (change, (lo, hi)) = median_change(&base, &slow, 7);
/// assert!((change - 20.0).abs() < 1e-9 && lo > 15.0 && hi < 25.0);
/// ```
pub fn median_change(base: &[f64], new: &[f64], seed: u64) -> (f64, (f64, f64)) {
    let (sb, sn) = (sorted(base), sorted(new));
    let change = (median(&sn) / median(&sb) - 1.0) * 100.0;
    let mut rng = rng(seed);
    let mut scratch = Vec::with_capacity(base.len().max(new.len()));
    let mut ratios: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| {
            let b = resampled_median(base, &mut rng, &mut scratch);
            let n = resampled_median(new, &mut rng, &mut scratch);
            (n / b - 1.0) * 100.0
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
    (change, (at(0.025), at(0.975)))
}
