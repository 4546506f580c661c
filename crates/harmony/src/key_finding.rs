//! Key finding over a 12-bin chroma (Krumhansl–Schmuckler, with the
//! Aarden–Essen and Temperley profiles): what the chord detector reports
//! as its key, and usable on any pitch-class histogram.
//!
//! ```
//! use kmidi_harmony::key_finding::estimate_key;
//! // C major's scale, tonic and dominant weighted.
//! let chroma = [3.0, 0.0, 1.0, 0.0, 2.0, 1.0, 0.0, 2.5, 0.0, 1.0, 0.0, 1.0];
//! assert_eq!(estimate_key(&chroma).unwrap().key.to_string(), "C major");
//! ```

use crate::key::{Key, Mode};
use crate::pitch::PitchClass;

/// A key estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyEstimate {
    /// The best key.
    pub key: Key,
    /// Its correlation with the key profile (-1 to 1).
    pub correlation: f32,
    /// The second-best key's correlation.
    pub runner_up: f32,
}

/// Aarden–Essen key profiles (the ones music21's `analyze('key')` uses), C
/// first. On rendered chorales they tell a minor key from its relative
/// major far better than Temperley's alone (docs/ACCURACY.md); with
/// Temperley's beside them, short progressions that end on the dominant
/// keep their tonic.
const MAJOR_PROFILE: [f64; 12] = [
    17.766, 0.146, 14.927, 0.160, 19.805, 11.359, 0.291, 22.062, 0.146, 8.155, 0.233, 4.951,
];
const MINOR_PROFILE: [f64; 12] = [
    18.265, 0.738, 14.050, 16.860, 0.702, 14.436, 0.702, 18.616, 4.566, 1.932, 7.376, 1.756,
];
/// Temperley's (Kostka–Payne) profiles, C first.
const TEMPERLEY_MAJOR: [f64; 12] = [
    0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400,
];
const TEMPERLEY_MINOR: [f64; 12] = [
    0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330,
];

/// Krumhansl–Schmuckler key finding over a 12-bin chroma: the key whose
/// rotated profiles (Aarden–Essen and Temperley, averaged) correlate best.
pub fn estimate_key(chroma: &[f64; 12]) -> Option<KeyEstimate> {
    let total: f64 = chroma.iter().sum();
    if total <= 1e-12 {
        return None;
    }
    let mut best = (f64::MIN, 0usize, Mode::Major);
    let mut second = f64::MIN;
    for (mode, profile, other) in [
        (Mode::Major, &MAJOR_PROFILE, &TEMPERLEY_MAJOR),
        (Mode::Minor, &MINOR_PROFILE, &TEMPERLEY_MINOR),
    ] {
        for tonic in 0..12 {
            let r = 0.5 * (correlation(chroma, profile, tonic) + correlation(chroma, other, tonic));
            if r > best.0 {
                second = best.0;
                best = (r, tonic, mode);
            } else if r > second {
                second = r;
            }
        }
    }
    Some(KeyEstimate {
        key: Key::from_pitch_class(PitchClass::new(best.1 as i32), best.2),
        correlation: best.0 as f32,
        runner_up: second as f32,
    })
}

fn correlation(x: &[f64; 12], profile: &[f64; 12], tonic: usize) -> f64 {
    let mx = x.iter().sum::<f64>() / 12.0;
    let mp = profile.iter().sum::<f64>() / 12.0;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..12 {
        let a = x[(i + tonic) % 12] - mx;
        let b = profile[i] - mp;
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    if sxx <= 0.0 {
        return 0.0;
    }
    sxy / (sxx * syy).sqrt()
}
