//! Posteriors to notes: Basic Pitch's `output_to_notes_polyphonic`,
//! `get_pitch_bends` and `model_frames_to_time` (from `note_creation.py`
//! of basic-pitch 0.4.0), with its defaults.
//!
//! The steps, as there:
//! 1. *Inferred onsets*: where a key's note posterior rises over one and
//!    over two frames (the smaller rise), scaled so its largest value is
//!    the largest onset posterior; the onset posterior becomes the larger
//!    of the two.
//! 2. *Onset peaks*: frames where that onset value is a strict local
//!    maximum in time and at least the onset threshold.
//! 3. From the latest peak to the earliest, a note runs while its key's
//!    note posterior has not stayed under the frame threshold for 11
//!    frames (the energy tolerance); notes no longer than the minimum
//!    length are skipped; a kept note clears its key and the two
//!    neighbouring keys from the "remaining energy".
//! 4. *Melodia trick*: while any remaining energy exceeds the frame
//!    threshold, the strongest cell grows forwards and backwards the same
//!    way into a note (without an onset), clearing as it goes.
//! 5. Times: frame `i` is at `i·256/22050` s less a per-window correction
//!    Basic Pitch applies for the windows' overlap.
//!
//! Differences from the Python: values are compared in `f64`, as numpy
//! does after its float64 copies; the strongest cell of step 4 comes from a
//! heap rather than a full scan each time (the same cell: ties go to the
//! earliest frame, then the lowest key, as `np.argmax`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{
    CONTOUR_BINS, FRAME_HOP, KEYS, LOWEST_KEY, MODEL_SAMPLE_RATE, Posteriors, WINDOW_FRAMES,
    WINDOW_SAMPLES,
};
use crate::MlError;

/// Thresholds and lengths for [`decode`]; the defaults are Basic Pitch's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoteParams {
    /// An onset peak at least this starts a note (0.05 to 0.95; 0.5).
    pub onset_threshold: f64,
    /// A note lasts while its note posterior is at least this (0.05 to
    /// 0.95; 0.3).
    pub frame_threshold: f64,
    /// Notes must be longer than this, ms (0 to 2000; 127.70).
    pub minimum_note_ms: f64,
    /// Also start notes where the note posterior rises sharply (true).
    pub infer_onsets: bool,
    /// Turn remaining energy without an onset into notes (true).
    pub melodia_trick: bool,
}

impl Default for NoteParams {
    fn default() -> Self {
        Self {
            onset_threshold: 0.5,
            frame_threshold: 0.3,
            minimum_note_ms: 127.70,
            infer_onsets: true,
            melodia_trick: true,
        }
    }
}

/// Frames under the frame threshold a note may span before it ends.
const ENERGY_TOLERANCE: usize = 11;
/// Contour bins either side of a note's bin searched for its bend.
const BEND_TOLERANCE_BINS: usize = 25;
/// Standard deviation of the Gaussian weighting of those bins, in bins.
const BEND_GAUSSIAN_STD: f64 = 5.0;

impl NoteParams {
    /// Checks the ranges given on each field.
    ///
    /// # Errors
    /// [`MlError::OutOfRange`] naming the field and what is allowed.
    pub fn validate(&self) -> Result<(), MlError> {
        for (what, v, lo, hi, allowed) in [
            (
                "onset_threshold",
                self.onset_threshold,
                0.05,
                0.95,
                "0.05 to 0.95",
            ),
            (
                "frame_threshold",
                self.frame_threshold,
                0.05,
                0.95,
                "0.05 to 0.95",
            ),
            (
                "minimum_note_ms",
                self.minimum_note_ms,
                0.0,
                2000.0,
                "0 to 2000 ms",
            ),
        ] {
            if !(lo..=hi).contains(&v) {
                return Err(MlError::OutOfRange {
                    what,
                    value: v.to_string(),
                    allowed,
                });
            }
        }
        Ok(())
    }

    /// The minimum length in frames, rounded as Basic Pitch rounds it
    /// (127.70 ms gives 11).
    pub fn minimum_note_frames(&self) -> usize {
        (self.minimum_note_ms / 1000.0 * f64::from(MODEL_SAMPLE_RATE) / FRAME_HOP as f64)
            .round_ties_even() as usize
    }
}

/// One transcribed note.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscribedNote {
    /// Start, seconds from the start of the input.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// MIDI key, 21 (A0) to 108 (C8).
    pub key: u8,
    /// Mean note posterior over the note, 0..1 (Basic Pitch writes
    /// `round(127 × amplitude)` as the velocity).
    pub amplitude: f32,
    /// The pitch bend in each frame of the note, in thirds of a semitone
    /// from the key (from the contour posteriors).
    pub bends: Vec<i8>,
    /// Start and end as posterior frames (86 per second).
    pub frames: (usize, usize),
}

impl TranscribedNote {
    /// The MIDI velocity Basic Pitch gives the note, 1 to 127.
    pub fn velocity(&self) -> u8 {
        ((127.0 * self.amplitude).round() as i32).clamp(1, 127) as u8
    }

    /// The note's fundamental frequency, Hz (A4 = 440).
    pub fn frequency_hz(&self) -> f64 {
        440.0 * 2f64.powf((f64::from(self.key) - 69.0) / 12.0)
    }
}

/// The time of posterior frame `i`, seconds, as Basic Pitch computes it.
pub fn frame_time(i: usize) -> f64 {
    let hop_s = FRAME_HOP as f64 / f64::from(MODEL_SAMPLE_RATE);
    // Basic Pitch's window correction, with its empirical 1.8 ms.
    let window_offset =
        hop_s * (WINDOW_FRAMES as f64 - WINDOW_SAMPLES as f64 / FRAME_HOP as f64) + 0.0018;
    i as f64 * hop_s - window_offset * (i / WINDOW_FRAMES) as f64
}

/// The notes in `posteriors` (steps of the [module docs](self)).
pub fn decode(posteriors: &Posteriors, params: &NoteParams) -> Vec<TranscribedNote> {
    let n = posteriors.frames;
    if n == 0 {
        return Vec::new();
    }
    let frames: Vec<f64> = posteriors.note.iter().map(|&v| f64::from(v)).collect();
    let mut onsets: Vec<f64> = posteriors.onset.iter().map(|&v| f64::from(v)).collect();
    if params.infer_onsets {
        infer_onsets(&mut onsets, &frames, n);
    }
    let on_t = params.onset_threshold;
    let fr_t = params.frame_threshold;
    let min_len = params.minimum_note_frames();
    let at = |t: usize, k: usize| t * KEYS + k;

    // Onset peaks, latest first and, within a frame, highest key first.
    let mut peaks = Vec::new();
    for t in (1..n.saturating_sub(1)).rev() {
        for k in (0..KEYS).rev() {
            let v = onsets[at(t, k)];
            if v >= on_t && v > onsets[at(t - 1, k)] && v > onsets[at(t + 1, k)] {
                peaks.push((t, k));
            }
        }
    }
    let mut remaining = frames.clone();
    let mut found: Vec<(usize, usize, usize, f64)> = Vec::new();
    let mean = |a: usize, b: usize, k: usize| {
        if b <= a {
            f64::NAN
        } else {
            (a..b).map(|t| frames[at(t, k)]).sum::<f64>() / (b - a) as f64
        }
    };
    for (start, k) in peaks {
        if start >= n - 1 {
            continue;
        }
        let mut i = start + 1;
        let mut low = 0;
        while i < n - 1 && low < ENERGY_TOLERANCE {
            if remaining[at(i, k)] < fr_t {
                low += 1;
            } else {
                low = 0;
            }
            i += 1;
        }
        i -= low;
        if i - start <= min_len {
            continue;
        }
        for t in start..i {
            clear_key_and_neighbours(&mut remaining, t, k);
        }
        found.push((start, i, k, mean(start, i, k)));
    }

    if params.melodia_trick {
        // Cells above the threshold, strongest first; a cell cleared since
        // it was queued is skipped when it comes up (cells are only ever
        // cleared, never raised).
        let mut heap: BinaryHeap<(u64, Reverse<usize>)> = remaining
            .iter()
            .enumerate()
            .filter(|&(_, &v)| v > fr_t)
            .map(|(idx, &v)| (v.to_bits(), Reverse(idx)))
            .collect();
        while let Some((bits, Reverse(idx))) = heap.pop() {
            if remaining[idx].to_bits() != bits {
                continue;
            }
            let (mid, k) = (idx / KEYS, idx % KEYS);
            remaining[idx] = 0.0;
            // Forwards.
            let mut i = mid + 1;
            let mut low = 0;
            while i < n - 1 && low < ENERGY_TOLERANCE {
                if remaining[at(i, k)] < fr_t {
                    low += 1;
                } else {
                    low = 0;
                }
                clear_key_and_neighbours(&mut remaining, i, k);
                i += 1;
            }
            let end = i - 1 - low;
            // Backwards.
            let mut i = mid as isize - 1;
            let mut low = 0isize;
            while i > 0 && low < ENERGY_TOLERANCE as isize {
                let t = i as usize;
                if remaining[at(t, k)] < fr_t {
                    low += 1;
                } else {
                    low = 0;
                }
                clear_key_and_neighbours(&mut remaining, t, k);
                i -= 1;
            }
            let start = (i + 1 + low) as usize;
            if end as isize - start as isize <= min_len as isize {
                continue;
            }
            found.push((start, end, k, mean(start, end, k)));
        }
    }

    found
        .into_iter()
        .map(|(start, end, k, amplitude)| TranscribedNote {
            start_s: frame_time(start),
            end_s: frame_time(end),
            key: LOWEST_KEY + k as u8,
            amplitude: amplitude as f32,
            bends: pitch_bends(posteriors, start, end, k),
            frames: (start, end),
        })
        .collect()
}

fn clear_key_and_neighbours(remaining: &mut [f64], t: usize, k: usize) {
    let row = &mut remaining[t * KEYS..(t + 1) * KEYS];
    row[k] = 0.0;
    if k + 1 < KEYS {
        row[k + 1] = 0.0;
    }
    if k > 0 {
        row[k - 1] = 0.0;
    }
}

/// Step 1: onsets inferred from rises of the note posteriors.
fn infer_onsets(onsets: &mut [f64], frames: &[f64], n: usize) {
    const N_DIFF: usize = 2;
    let mut diff = vec![0.0f64; frames.len()];
    for t in N_DIFF..n {
        for k in 0..KEYS {
            let now = frames[t * KEYS + k];
            let d = (1..=N_DIFF)
                .map(|back| now - frames[(t - back) * KEYS + k])
                .fold(f64::INFINITY, f64::min);
            diff[t * KEYS + k] = d.max(0.0);
        }
    }
    let max_diff = diff.iter().copied().fold(0.0, f64::max);
    let max_onset = onsets.iter().copied().fold(0.0, f64::max);
    if max_diff <= 0.0 {
        // Nothing rises: numpy would divide 0 by 0 here; nothing is added.
        return;
    }
    for (o, d) in onsets.iter_mut().zip(&diff) {
        *o = o.max(max_onset * d / max_diff);
    }
}

/// The bend of each frame of a note: the contour bin with the largest
/// Gaussian-weighted posterior within 25 bins of the key's bin, as an
/// offset in thirds of a semitone.
fn pitch_bends(p: &Posteriors, start: usize, end: usize, k: usize) -> Vec<i8> {
    // The key's contour bin: 36 × log2(f / 27.5) with f the key's
    // frequency, that is 3 bins per semitone above A0.
    let centre = 3 * k;
    let lo = centre.saturating_sub(BEND_TOLERANCE_BINS);
    let hi = (centre + BEND_TOLERANCE_BINS + 1).min(CONTOUR_BINS);
    (start..end.min(p.frames))
        .map(|t| {
            let row = &p.contour[t * CONTOUR_BINS..(t + 1) * CONTOUR_BINS];
            let mut best = (f64::NEG_INFINITY, centre);
            for (b, &v) in row.iter().enumerate().take(hi).skip(lo) {
                let x = (b as f64 - centre as f64) / BEND_GAUSSIAN_STD;
                let w = f64::from(v) * (-0.5 * x * x).exp();
                if w > best.0 {
                    best = (w, b);
                }
            }
            (best.1 as isize - centre as isize) as i8
        })
        .collect()
}
