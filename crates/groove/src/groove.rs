//! Quantize, swing, humanize and groove templates, on [`Note`]s in ticks.
//!
//! - [`Grid`]: 1/4 to 1/64 notes, straight or triplet.
//! - [`quantize`]: moves note starts toward the nearest grid line by a
//!   strength (100% lands on the grid), only within a capture window, with
//!   optional swing of the grid's off-beats.
//! - [`swing`]: MPC-style swing of 8ths or 16ths: the percentage is the
//!   share of each pair of grid steps taken by the first one (50% straight,
//!   66% a triplet feel, 75% a dotted feel). Times are warped piecewise
//!   linearly inside each pair, so notes off the grid move consistently.
//! - [`humanize`]: random timing and velocity offsets, seeded and
//!   deterministic.
//! - [`GrooveTemplate`]: per-step timing offsets and velocities, extracted
//!   from a performance and applied to other material, with a library of
//!   common feels ([`GrooveTemplate::library`]).
//!
//! ```
//! use kmidi_groove::event::Note;
//! use kmidi_groove::groove::{Division, Grid, quantize, QuantizeSettings};
//! let grid = Grid::new(480, Division::Sixteenth, false)?;
//! let mut notes = vec![Note { start: 130, duration: 60, channel: 9, key: 42, velocity: 90 }];
//! quantize(&mut notes, grid, QuantizeSettings::default())?;
//! assert_eq!(notes[0].start, 120); // the nearest 16th at 480 PPQ
//! # Ok::<(), kmidi_groove::GrooveError>(())
//! ```

use crate::GrooveError;
use crate::error::out_of_range;
use crate::event::Note;

/// Note values a grid can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Division {
    /// Quarter notes.
    Quarter,
    /// Eighth notes.
    Eighth,
    /// Sixteenth notes.
    Sixteenth,
    /// Thirty-second notes.
    ThirtySecond,
    /// Sixty-fourth notes.
    SixtyFourth,
}

impl Division {
    fn per_whole(self) -> u64 {
        match self {
            Division::Quarter => 4,
            Division::Eighth => 8,
            Division::Sixteenth => 16,
            Division::ThirtySecond => 32,
            Division::SixtyFourth => 64,
        }
    }
}

/// A quantize grid: its step in ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Grid {
    /// Ticks per grid step.
    pub step: u64,
}

impl Grid {
    /// The grid of `division` notes (triplets: three in the time of two) at
    /// `ppq` ticks per quarter.
    ///
    /// # Errors
    /// [`GrooveError::OutOfRange`] if the step would not be a whole number
    /// of ticks (1/64 triplets need a PPQ divisible by 48).
    pub fn new(ppq: u16, division: Division, triplet: bool) -> Result<Grid, GrooveError> {
        // A whole note is 4 quarters; a triplet step is 2/3 of the straight one.
        let whole = ppq as u64 * 4;
        let (num, den) = if triplet {
            (whole * 2, division.per_whole() * 3)
        } else {
            (whole, division.per_whole())
        };
        if num % den != 0 || num / den == 0 {
            return Err(out_of_range(
                "grid",
                format!(
                    "1/{}{} at {ppq} PPQ",
                    division.per_whole(),
                    if triplet { " triplet" } else { "" }
                ),
                "a step of a whole number of ticks (raise the PPQ)",
            ));
        }
        Ok(Grid { step: num / den })
    }
}

/// Settings of [`quantize`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantizeSettings {
    /// How far toward the grid, 0 to 100%.
    pub strength: f64,
    /// Swing of the grid's off-beats, 50 (straight) to 75%.
    pub swing: f64,
    /// Only notes within this share of half a step from a grid line move,
    /// 0 to 100% (100% captures everything).
    pub window: f64,
}

impl Default for QuantizeSettings {
    fn default() -> Self {
        Self {
            strength: 100.0,
            swing: 50.0,
            window: 100.0,
        }
    }
}

fn check_percent(
    what: &'static str,
    v: f64,
    lo: f64,
    hi: f64,
    allowed: &'static str,
) -> Result<(), GrooveError> {
    if !v.is_finite() || v < lo || v > hi {
        return Err(out_of_range(what, format!("{v}%"), allowed));
    }
    Ok(())
}

/// The swung position of grid line `index` (odd lines move later).
fn swung_line(grid: Grid, index: u64, swing: f64) -> u64 {
    let base = index * grid.step;
    if index % 2 == 1 {
        base + ((swing / 100.0 - 0.5) * 2.0 * grid.step as f64).round() as u64
    } else {
        base
    }
}

/// Moves note starts toward the nearest (swung) grid line.
///
/// # Errors
/// [`GrooveError::OutOfRange`] for strength or window outside 0–100% or
/// swing outside 50–75%.
pub fn quantize(
    notes: &mut [Note],
    grid: Grid,
    settings: QuantizeSettings,
) -> Result<(), GrooveError> {
    check_percent("strength", settings.strength, 0.0, 100.0, "0 to 100%")?;
    check_percent("swing", settings.swing, 50.0, 75.0, "50 (straight) to 75%")?;
    check_percent("window", settings.window, 0.0, 100.0, "0 to 100%")?;
    let reach = settings.window / 100.0 * grid.step as f64 / 2.0;
    let straight = settings.swing == 50.0;
    for n in notes.iter_mut() {
        let i = (n.start + grid.step / 2) / grid.step;
        let target = if straight {
            i * grid.step
        } else {
            // The nearest of the swung lines around the note.
            [i.saturating_sub(1), i, i + 1]
                .iter()
                .map(|&k| swung_line(grid, k, settings.swing))
                .min_by_key(|&t| t.abs_diff(n.start))
                .unwrap_or(n.start)
        };
        let delta = target as f64 - n.start as f64;
        if delta.abs() <= reach + 1e-9 {
            n.start = (n.start as f64 + delta * settings.strength / 100.0)
                .round()
                .max(0.0) as u64;
        }
    }
    Ok(())
}

/// Swings notes: `percent` of each pair of `grid` steps goes to the first
/// step (50% leaves the notes as they are). Use an 8th or 16th grid.
///
/// # Errors
/// [`GrooveError::OutOfRange`] for a percentage outside 50–75%.
pub fn swing(notes: &mut [Note], grid: Grid, percent: f64) -> Result<(), GrooveError> {
    check_percent("swing", percent, 50.0, 75.0, "50 (straight) to 75%")?;
    let pair = 2 * grid.step;
    let split = percent / 100.0 * pair as f64;
    for n in notes.iter_mut() {
        let base = n.start / pair * pair;
        let x = (n.start - base) as f64;
        let s = grid.step as f64;
        let warped = if x < s {
            x * split / s
        } else {
            split + (x - s) * (pair as f64 - split) / s
        };
        n.start = base + warped.round() as u64;
    }
    Ok(())
}

/// A standard normal draw (Box–Muller) from a seeded generator, so
/// humanizing is repeatable from a seed.
fn normal(rng: &mut fastrand::Rng) -> f64 {
    let u = rng.f64().max(1e-12);
    let v = rng.f64();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// Moves note starts by a normal random amount with standard deviation
/// `timing_ticks` (clamped to ±3σ) and velocities by one with standard
/// deviation `velocity` (kept within 1–127). The same seed gives the same
/// result.
///
/// # Errors
/// [`GrooveError::OutOfRange`] for negative or non-finite deviations.
pub fn humanize(
    notes: &mut [Note],
    timing_ticks: f64,
    velocity: f64,
    seed: u64,
) -> Result<(), GrooveError> {
    if !timing_ticks.is_finite() || timing_ticks < 0.0 {
        return Err(out_of_range(
            "timing deviation",
            timing_ticks,
            "0 ticks or more",
        ));
    }
    if !velocity.is_finite() || velocity < 0.0 {
        return Err(out_of_range("velocity deviation", velocity, "0 or more"));
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    for n in notes.iter_mut() {
        let dt = (normal(&mut rng).clamp(-3.0, 3.0) * timing_ticks).round();
        let dv = (normal(&mut rng).clamp(-3.0, 3.0) * velocity).round();
        n.start = (n.start as f64 + dt).max(0.0) as u64;
        n.velocity = (n.velocity as f64 + dv).clamp(1.0, 127.0) as u8;
    }
    Ok(())
}

/// Per-step timing offsets and velocities over a cycle of grid steps.
#[derive(Debug, Clone, PartialEq)]
pub struct GrooveTemplate {
    /// A name ("MPC 16th swing 62%").
    pub name: String,
    /// Ticks per step.
    pub step: u64,
    /// Timing offset of each step, in ticks (negative = early).
    pub offsets: Vec<i64>,
    /// Velocity of each step, if the template sets it.
    pub velocities: Vec<Option<u8>>,
}

impl GrooveTemplate {
    /// Extracts a template from `performance`: each note is assigned to its
    /// nearest grid line, and each step of the `steps`-long cycle gets the
    /// mean offset and mean velocity of its notes (steps with no notes get
    /// no offset and no velocity).
    ///
    /// # Errors
    /// [`GrooveError::OutOfRange`] for zero steps.
    pub fn extract(
        name: &str,
        performance: &[Note],
        grid: Grid,
        steps: usize,
    ) -> Result<Self, GrooveError> {
        if steps == 0 {
            return Err(out_of_range("template steps", 0, "1 or more"));
        }
        let mut sum_off = vec![0i64; steps];
        let mut sum_vel = vec![0u64; steps];
        let mut count = vec![0i64; steps];
        for n in performance {
            let line = (n.start + grid.step / 2) / grid.step;
            let offset = n.start as i64 - (line * grid.step) as i64;
            let s = (line % steps as u64) as usize;
            sum_off[s] += offset;
            sum_vel[s] += n.velocity as u64;
            count[s] += 1;
        }
        let offsets = (0..steps)
            .map(|s| {
                if count[s] > 0 {
                    (sum_off[s] as f64 / count[s] as f64).round() as i64
                } else {
                    0
                }
            })
            .collect();
        let velocities = (0..steps)
            .map(|s| {
                (count[s] > 0).then(|| {
                    (sum_vel[s] as f64 / count[s] as f64)
                        .round()
                        .clamp(1.0, 127.0) as u8
                })
            })
            .collect();
        Ok(Self {
            name: name.to_string(),
            step: grid.step,
            offsets,
            velocities,
        })
    }

    /// Applies the template at `strength` (0–100%): each note moves by its
    /// nearest step's offset and takes that step's velocity, blended.
    ///
    /// # Errors
    /// [`GrooveError::OutOfRange`] for a strength outside 0–100%.
    pub fn apply(&self, notes: &mut [Note], strength: f64) -> Result<(), GrooveError> {
        check_percent("strength", strength, 0.0, 100.0, "0 to 100%")?;
        let k = strength / 100.0;
        let steps = self.offsets.len() as u64;
        for n in notes.iter_mut() {
            let line = (n.start + self.step / 2) / self.step;
            let s = (line % steps) as usize;
            let target = n.start as f64 + self.offsets[s] as f64 * k;
            n.start = target.round().max(0.0) as u64;
            if let Some(v) = self.velocities[s] {
                n.velocity = (n.velocity as f64 + (v as f64 - n.velocity as f64) * k)
                    .round()
                    .clamp(1.0, 127.0) as u8;
            }
        }
        Ok(())
    }

    /// A template that delays the off-beat steps of `grid` by a swing
    /// percentage, velocities untouched.
    pub fn swing(name: &str, grid: Grid, percent: f64) -> Self {
        let off = ((percent / 100.0 - 0.5) * 2.0 * grid.step as f64).round() as i64;
        Self {
            name: name.to_string(),
            step: grid.step,
            offsets: vec![0, off],
            velocities: vec![None, None],
        }
    }

    /// The built-in feels at `ppq`: straight 16ths; MPC swing of 16ths at
    /// 54, 58, 62, 66, 71 and 75%; MPC swing of 8ths at the same amounts;
    /// a triplet shuffle of 8ths with accented downbeats; "laid back"
    /// (backbeats 2 and 4 late by a 64th); and "push" (off-beat 8ths
    /// early by a 64th, accented).
    pub fn library(ppq: u16) -> Vec<GrooveTemplate> {
        let q = ppq as u64;
        let s16 = Grid { step: q / 4 };
        let s8 = Grid { step: q / 2 };
        let mut out = vec![GrooveTemplate {
            name: "straight 16ths".into(),
            step: s16.step,
            offsets: vec![0],
            velocities: vec![None],
        }];
        for p in [54.0, 58.0, 62.0, 66.0, 71.0, 75.0] {
            out.push(Self::swing(&format!("MPC 16th swing {p}%"), s16, p));
        }
        for p in [54.0, 58.0, 62.0, 66.0, 71.0, 75.0] {
            out.push(Self::swing(&format!("MPC 8th swing {p}%"), s8, p));
        }
        let third = (q as f64 / 6.0).round() as i64; // an 8th pushed to the last triplet
        out.push(GrooveTemplate {
            name: "shuffle".into(),
            step: s8.step,
            offsets: vec![0, third],
            velocities: vec![Some(110), Some(80)],
        });
        let late = (q / 16) as i64;
        out.push(GrooveTemplate {
            name: "laid back".into(),
            step: q,
            offsets: vec![0, late, 0, late],
            velocities: vec![None; 4],
        });
        out.push(GrooveTemplate {
            name: "push".into(),
            step: s8.step,
            offsets: vec![0, -late],
            velocities: vec![None, Some(105)],
        });
        out
    }
}
