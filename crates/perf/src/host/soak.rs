//! The soak: minutes of continuous playback on a host, with the engine's
//! state checked for drift.
//!
//! The input is a probe (the music's first seconds), the music for the
//! soak's length, silence long enough for every tail to die away, and the
//! probe again. The output of the two probes is captured: with no state
//! drift (no accumulator creeping, no filter state left behind) the two
//! are identical, sample for sample. The summary gives xruns per hour by
//! class, the worst callback, the drift of the per-minute worst case (a
//! least-squares slope), and the growth of resident memory.

use serde::{Deserialize, Serialize};

use super::session::{Music, RunPlan, Segment};
use super::{HostInfo, MinuteStats, XrunClass, compare_outputs};

/// Seconds of music in each probe.
pub const PROBE_SECONDS: f64 = 5.0;
/// Seconds of silence before the second probe.
pub const SETTLE_SECONDS: f64 = 10.0;

/// The soak's input plan and its length in callbacks.
pub fn soak_plan(
    music: Music,
    channels: usize,
    input_rate: u32,
    engine_rate: u32,
    block: usize,
    minutes: f64,
) -> (RunPlan, u64) {
    let secs = |s: f64| (s * f64::from(input_rate)).round() as u64;
    let probe = secs(PROBE_SECONDS);
    let main = secs(minutes * 60.0);
    let settle = secs(SETTLE_SECONDS);
    let to_out = |frames: u64| frames * u64::from(engine_rate) / u64::from(input_rate);
    // The second probe's first output frame, and a probe's length in
    // output frames (less a block, so rounding never runs it past the end).
    let second = to_out(probe + main + settle);
    let probe_out = to_out(probe).saturating_sub(block as u64);
    let total_out = to_out(2 * probe + main + settle);
    let plan = RunPlan {
        music,
        channels,
        segments: vec![
            Segment::Probe(probe),
            Segment::Music(main),
            Segment::Silence(settle),
            Segment::Probe(probe),
        ],
        capture: vec![(0, probe_out), (second, probe_out)],
    };
    (plan, total_out.div_ceil(block as u64))
}

/// What a soak found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SoakSummary {
    /// Minutes of playback measured.
    pub minutes: f64,
    /// Xruns per hour blamed on the engine.
    pub engine_xruns_per_hour: f64,
    /// Xruns per hour blamed on the host.
    pub host_xruns_per_hour: f64,
    /// The worst callback, µs, and the minute it came in.
    pub worst_callback_us: f64,
    /// Minute of the worst callback, from 1.
    pub worst_minute: u32,
    /// Least-squares slope of the per-minute worst callback, µs per hour
    /// (positive: the worst case grows as the soak goes on).
    pub worst_drift_us_per_hour: f64,
    /// Least-squares slope of the per-minute mean callback, µs per hour.
    pub mean_drift_us_per_hour: f64,
    /// Resident memory growth from the first minute's end to the last's,
    /// bytes.
    pub rss_growth_bytes: i64,
    /// Whether the engine's output for the probe was identical at the
    /// start and at the end (None: not captured, e.g. a run cut short).
    pub probe_identical: Option<bool>,
    /// The first differing frame of the probe, if any.
    pub probe_first_difference: Option<u64>,
}

/// Least-squares slope of `y` over 0, 1, 2, ...
fn slope(y: &[f64]) -> f64 {
    let n = y.len() as f64;
    if y.len() < 2 {
        return 0.0;
    }
    let mx = (n - 1.0) / 2.0;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, v) in y.iter().enumerate() {
        let dx = i as f64 - mx;
        sxy += dx * (v - my);
        sxx += dx * dx;
    }
    sxy / sxx
}

/// The summary of a soak from its minutes, its host figures and the two
/// captured probes.
pub fn summarize(
    minutes: &[MinuteStats],
    info: &HostInfo,
    captured: &[Vec<f32>],
    block_seconds: f64,
) -> SoakSummary {
    let hours = info.callbacks as f64 * block_seconds / 3600.0;
    let per_hour =
        |c: XrunClass| info.xruns.iter().filter(|x| x.class == c).count() as f64 / hours.max(1e-9);
    let (worst_minute, worst) = minutes
        .iter()
        .map(|m| (m.minute, m.worst_us))
        .fold((0, 0.0f64), |a, b| if b.1 > a.1 { b } else { a });
    let worst_series: Vec<f64> = minutes.iter().map(|m| m.worst_us).collect();
    let mean_series: Vec<f64> = minutes.iter().map(|m| m.mean_us).collect();
    let rss = |m: Option<&MinuteStats>| m.map_or(0, |m| m.rss_bytes as i64);
    let (identical, first) = match captured {
        [a, b] if !a.is_empty() && a.len() == b.len() => {
            let (same, _, first) = compare_outputs(b, a, 0);
            (Some(same), first)
        }
        _ => (None, None),
    };
    SoakSummary {
        minutes: hours * 60.0,
        engine_xruns_per_hour: per_hour(XrunClass::Engine),
        host_xruns_per_hour: per_hour(XrunClass::Host),
        worst_callback_us: worst,
        worst_minute,
        worst_drift_us_per_hour: slope(&worst_series) * 60.0,
        mean_drift_us_per_hour: slope(&mean_series) * 60.0,
        rss_growth_bytes: rss(minutes.last()) - rss(minutes.first()),
        probe_identical: identical,
        probe_first_difference: first,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_captures_both_probes() {
        let (plan, callbacks) = soak_plan(Music::Generated(48_000), 2, 48_000, 48_000, 512, 1.0);
        let probe = 240_000u64;
        assert_eq!(plan.input_frames(), 2 * probe + 2_880_000 + 480_000);
        assert_eq!(plan.capture[0], (0, probe - 512));
        assert_eq!(plan.capture[1].0, probe + 2_880_000 + 480_000);
        assert_eq!(callbacks, plan.input_frames().div_ceil(512));
    }

    #[test]
    fn slopes_are_per_hour() {
        // 1 µs more each minute: 60 µs an hour.
        assert!((slope(&[10.0, 11.0, 12.0, 13.0]) * 60.0 - 60.0).abs() < 1e-9);
        assert_eq!(slope(&[5.0]), 0.0);
    }
}
