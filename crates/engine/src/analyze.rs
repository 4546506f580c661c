//! Offline analysis of a WAV file with the engine's own detectors: chords,
//! key, onsets, tempo and beats, as a program or a user would get them.
//!
//! The file is read block by block (512 frames by default, as the engine
//! runs) through the same [`ChordDetector`] and [`OnsetDetector`] the
//! engine taps its master bus with, at the file's sample rate. Times are in
//! seconds from the start of the file:
//!
//! * **chords**: each label change where the detector dates it
//!   ([`ChordChange::frame`](kmidi_harmony::detect::ChordChange::frame)),
//!   less its documented
//!   [`analysis_delay_frames`](ChordDetector::analysis_delay_frames). The
//!   detector dates a change where its new notes began (the rise of its
//!   spectral-flux novelty), not where the new chord won the chroma,
//!   which sustained timbres (organ, strings, reverb) delay by 100 ms or
//!   more. `N` is "no chord";
//! * **key**: the detector's key estimate at the end of the file, its key
//!   window stretched to the file's length (a whole-file key, as music21
//!   analyses a whole score; the live default forgets after 30 s);
//! * **onsets**: as the onset detector reports them;
//! * **tempo**: over the whole file (its period set by the onsets within
//!   the comb's metrical level, [`refine_tempo_to_onsets`]), and as a
//!   curve the way it is heard live (every 0.5 s, the last
//!   [`AnalysisConfig::tempo_window_s`]);
//! * **beats**: dynamic programming over the onset envelope at the whole
//!   file's tempo, following a tempo curve over 8 s windows only where it
//!   hears a real change ([`beat_tempo`]); none in a silent lead-in or
//!   tail;
//! * **beat chords**: one chord per beat, as a lead sheet gives it
//!   ([`beat_chords`]): the beat grid phased on the chord changes
//!   ([`beat_grid_offset_s`]), each beat labelled with the chord that
//!   sounds longest in it, its start weighing more than its end.
//!
//! [`Analysis`] writes itself as mir_eval `.lab` files; `kmidi-perf analyze`
//! writes those and JSON.
//!
//! ```no_run
//! use kmidi_engine::analyze::{analyze_wav, AnalysisConfig};
//! let a = analyze_wav("song.wav", &AnalysisConfig::default())?;
//! println!("{:?} at {:?} BPM, {} onsets", a.key, a.tempo_bpm, a.onsets_s.len());
//! std::fs::write("song.chords.lab", a.chords_lab())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::Path;

use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};
use kmidi_groove::beat::{
    Material, TempoEstimate, TempoPrior, beat_tempo, estimate_tempo, refine_tempo_to_onsets,
    tempo_curve, track_beats_varying,
};
use kmidi_groove::onset::{OnsetConfig, OnsetDetector};
use kmidi_harmony::detect::{ChordDetector, DetectorConfig};
use serde::Serialize;

use crate::error::EngineError;
use crate::render::WavSource;

/// How to analyse.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisConfig {
    /// Frames per block fed to the detectors (1 to 8192), as the engine's
    /// block size.
    pub block_frames: usize,
    /// The chord detector's settings.
    pub chords: DetectorConfig,
    /// The onset detector's settings.
    pub onsets: OnsetConfig,
    /// Seconds of onset envelope behind each point of the live tempo
    /// curve (2 to 60). Shorter relocks sooner after a tempo change
    /// (about half of it) and wavers more.
    pub tempo_window_s: f64,
    /// Seconds of onset envelope behind the tempo the beat tracker follows
    /// (2 to 60).
    pub beat_tempo_window_s: f64,
    /// Keep the onset envelope (the onset detector's novelty per hop) in
    /// the result, for plotting or another tracker.
    pub keep_envelope: bool,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        Self {
            block_frames: 512,
            chords: DetectorConfig::default(),
            onsets: OnsetConfig::default(),
            tempo_window_s: 5.5,
            beat_tempo_window_s: 8.0,
            keep_envelope: false,
        }
    }
}

/// One chord segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChordSegment {
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// Harte label (`C:maj`, `A:min7`), or `N` for no chord.
    pub label: String,
    /// The detector's confidence when the label took over (0 to 1).
    pub confidence: f32,
}

/// One point of the live tempo curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TempoPoint {
    /// Time of the last envelope hop the estimate saw, seconds.
    pub time_s: f64,
    /// The tempo, beats per minute.
    pub bpm: f64,
    /// Its comb strength (0 to 1).
    pub strength: f64,
}

/// The material of a file as the tempo estimate heard it ([`Material`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MaterialReport {
    /// [`Material::broadband_share`].
    pub broadband_share: f64,
    /// [`Material::rise_spread`].
    pub rise_spread: f64,
    /// [`Material::has_drum_kit`]: the tempo prior was
    /// [`TempoPrior::DRUM_KIT`], else [`TempoPrior::PITCHED`].
    pub drum_kit: bool,
}

/// What [`analyze_wav`] found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// The file's sample rate, Hz.
    pub sample_rate: u32,
    /// Its length, seconds.
    pub duration_s: f64,
    /// Frames per analysis block.
    pub block_frames: usize,
    /// The chord detector's documented delay, subtracted from every chord
    /// change, seconds.
    pub chord_delay_s: f64,
    /// How long after a chord begins the detector reports it live,
    /// seconds ([`ChordDetector::reporting_delay_frames`]).
    pub chord_reporting_delay_s: f64,
    /// Chord segments covering the file.
    pub chords: Vec<ChordSegment>,
    /// The key, as mir_eval writes it (`G major`, `F# minor`), or `None`
    /// before any pitched input.
    pub key: Option<String>,
    /// Onset times, seconds.
    pub onsets_s: Vec<f64>,
    /// The tempo over the whole file, BPM.
    pub tempo_bpm: Option<f64>,
    /// What the onset flux says about the whole file's material, which
    /// chose the tempo prior ([`TempoPrior::for_material`]).
    pub material: MaterialReport,
    /// The tempo as heard live, every 0.5 s.
    pub tempo_curve: Vec<TempoPoint>,
    /// Beat times, seconds.
    pub beats_s: Vec<f64>,
    /// One chord per beat ([`beat_chords`]), on the beats moved by
    /// [`Analysis::beat_chord_offset_s`]; before the first beat and after
    /// the last, the chord segments as they are.
    pub beat_chords: Vec<ChordSegment>,
    /// How far the beat grid of [`Analysis::beat_chords`] lies from
    /// [`Analysis::beats_s`], seconds ([`beat_grid_offset_s`]; negative is
    /// earlier).
    pub beat_chord_offset_s: f64,
    /// Seconds per envelope value (the onset detector's hop).
    pub envelope_hop_s: f64,
    /// The time of the first envelope value, seconds (each value belongs
    /// to the middle of its analysis window).
    pub envelope_start_s: f64,
    /// The onset envelope, if [`AnalysisConfig::keep_envelope`] asked for
    /// it (else empty).
    pub envelope: Vec<f32>,
}

/// Chord segments covering `0..duration_s` from label changes
/// `(frame, Harte label, confidence)` in frame order; "N" before the first.
fn segments_from(
    changes: &[(u64, Option<String>, f32)],
    seconds: &dyn Fn(u64) -> f64,
    duration_s: f64,
) -> Vec<ChordSegment> {
    let mut segments: Vec<ChordSegment> = Vec::new();
    let mut start = 0.0;
    let mut label = "N".to_string();
    let mut confidence = 0.0;
    for (frame, l, c) in changes {
        let t = seconds(*frame).min(duration_s);
        if t > start {
            segments.push(ChordSegment {
                start_s: start,
                end_s: t,
                label: label.clone(),
                confidence,
            });
            start = t;
        }
        label = l.clone().unwrap_or_else(|| "N".to_string());
        confidence = *c;
    }
    if duration_s > start {
        segments.push(ChordSegment {
            start_s: start,
            end_s: duration_s,
            label,
            confidence,
        });
    }
    segments
}

/// How much more a beat's start counts than its end when [`beat_chords`]
/// picks the beat's chord: the weight of each instant falls linearly from
/// `1 + BEAT_START_EMPHASIS` at the beat to `1 - BEAT_START_EMPHASIS` at
/// the next one, so the start counts twice as much as the end. In
/// common-practice harmony a chord is struck on the beat and passing notes
/// follow it, so where two chords share a beat about evenly, the first is
/// the beat's harmony.
pub const BEAT_START_EMPHASIS: f64 = 1.0 / 3.0;

/// How close a chord change must lie to a beat, as a fraction of the beat
/// period, for [`beat_grid_offset_s`] to take it as that beat's change.
pub const BEAT_CHANGE_MATCH: f64 = 0.15;

/// The fewest beats with a change near them from which
/// [`beat_grid_offset_s`] measures an offset (below it, none: 0).
pub const MIN_BEAT_CHANGE_MATCHES: usize = 4;

/// The median of non-empty `values` (sorted in place).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// How far the chord changes lie from the beats, seconds: the median, over
/// the beats that have a change within [`BEAT_CHANGE_MATCH`] of the median
/// beat period, of the change's time less the beat's (0 from fewer than
/// [`MIN_BEAT_CHANGE_MATCHES`] such beats).
///
/// The beat tracker puts a beat at the peak of the onset envelope, while the
/// chord detector dates a change at the rise of its novelty; the difference
/// is the instrument's attack (about 20 ms on piano, 40 ms on organ) and the
/// two detectors' conventions. Moving the beats by this offset puts the
/// boundaries of [`beat_chords`] where the harmony changes.
pub fn beat_grid_offset_s(beats_s: &[f64], chords: &[ChordSegment]) -> f64 {
    if beats_s.len() < 2 || chords.len() < 2 {
        return 0.0;
    }
    let mut periods: Vec<f64> = beats_s.windows(2).map(|w| w[1] - w[0]).collect();
    let reach = BEAT_CHANGE_MATCH * median(&mut periods);
    let changes: Vec<f64> = chords[1..].iter().map(|c| c.start_s).collect();
    let mut offsets: Vec<f64> = beats_s
        .iter()
        .filter_map(|&beat| {
            let i = changes.partition_point(|&t| t < beat);
            let after = changes.get(i).map(|&t| t - beat);
            let before = i.checked_sub(1).map(|j| changes[j] - beat);
            [after, before]
                .into_iter()
                .flatten()
                .min_by(|a, b| a.abs().total_cmp(&b.abs()))
                .filter(|d| d.abs() < reach)
        })
        .collect();
    if offsets.len() < MIN_BEAT_CHANGE_MATCHES {
        return 0.0;
    }
    median(&mut offsets)
}

/// One chord per beat from chord segments and beat times (seconds,
/// increasing): each span from a beat to the next is labelled with the
/// chord that weighs most in it. A segment weighs its time in the span,
/// each instant weighted by [`BEAT_START_EMPHASIS`], times the detector's
/// confidence in it, so that a brief uncertain reading does not outvote
/// a sure one (where every confidence is 0, time alone decides). The
/// beat's confidence is its chord's share of that weight. Before the
/// first beat and after the last, the segments are kept as they are
/// (clipped at the beat); with fewer than two beats inside the segments,
/// the segments are returned unchanged.
///
/// ```
/// use kmidi_engine::analyze::{beat_chords, ChordSegment};
/// let seg = |start_s: f64, end_s: f64, label: &str| ChordSegment {
///     start_s, end_s, label: label.into(), confidence: 0.9,
/// };
/// // C for the first beat and a half, then a passing G, then F.
/// let chords = [seg(0.0, 1.5, "C:maj"), seg(1.5, 2.0, "G:maj"), seg(2.0, 3.0, "F:maj")];
/// let beats = beat_chords(&chords, &[0.0, 1.0, 2.0, 3.0]);
/// let labels: Vec<&str> = beats.iter().map(|c| c.label.as_str()).collect();
/// assert_eq!(labels, ["C:maj", "C:maj", "F:maj"]);
/// ```
pub fn beat_chords(chords: &[ChordSegment], beats_s: &[f64]) -> Vec<ChordSegment> {
    let (Some(first), Some(last)) = (chords.first(), chords.last()) else {
        return Vec::new();
    };
    let (start, end) = (first.start_s, last.end_s);
    let beats: Vec<f64> = beats_s
        .iter()
        .copied()
        .filter(|&b| b >= start && b <= end)
        .collect();
    let [first_beat, .., last_beat] = beats[..] else {
        return chords.to_vec();
    };
    let mut out: Vec<ChordSegment> = chords
        .iter()
        .filter(|c| c.start_s < first_beat)
        .map(|c| ChordSegment {
            end_s: c.end_s.min(first_beat),
            ..c.clone()
        })
        .collect();
    // (label, weight with the confidence, weight of time alone).
    let mut weights: Vec<(&str, f64, f64)> = Vec::new();
    for span in beats.windows(2) {
        let (a, b) = (span[0], span[1]);
        let length = b - a;
        if length <= 0.0 {
            continue;
        }
        weights.clear();
        let first_chord = chords.partition_point(|c| c.end_s <= a);
        for c in chords[first_chord..].iter().take_while(|c| c.start_s < b) {
            let (u0, u1) = (
                (c.start_s.max(a) - a) / length,
                (c.end_s.min(b) - a) / length,
            );
            if u1 <= u0 {
                continue;
            }
            // The integral of 1 + e(1 - 2u) from u0 to u1.
            let e = BEAT_START_EMPHASIS;
            let time = (u1 - u0) * (1.0 + e) - e * (u1 * u1 - u0 * u0);
            let confidence = if c.confidence.is_finite() {
                c.confidence.clamp(0.0, 1.0)
            } else {
                0.0
            };
            let sure = time * f64::from(confidence);
            match weights.iter_mut().find(|(l, _, _)| *l == c.label) {
                Some((_, w, t)) => {
                    *w += sure;
                    *t += time;
                }
                None => weights.push((&c.label, sure, time)),
            }
        }
        let total: f64 = weights.iter().map(|(_, w, _)| w).sum();
        // The most weight, then the most time; ties go to the chord that
        // came first.
        let best = weights
            .iter()
            .fold(None::<&(&str, f64, f64)>, |best, x| match best {
                Some(b) if (b.1, b.2) >= (x.1, x.2) => best,
                _ => Some(x),
            });
        let (label, weight) = best.map_or(("N", 0.0), |&(l, w, _)| (l, w));
        out.push(ChordSegment {
            start_s: a,
            end_s: b,
            label: label.to_string(),
            confidence: if total > 0.0 {
                (weight / total) as f32
            } else {
                0.0
            },
        });
    }
    out.extend(
        chords
            .iter()
            .filter(|c| c.end_s > last_beat)
            .map(|c| ChordSegment {
                start_s: c.start_s.max(last_beat),
                ..c.clone()
            }),
    );
    out
}

/// Analyses the WAV file at `path`.
///
/// # Errors
/// [`EngineError::Wav`] if the file cannot be read (naming it), or
/// [`EngineError::Config`] or [`EngineError::Dsp`] for settings out of
/// range.
pub fn analyze_wav(
    path: impl AsRef<Path>,
    config: &AnalysisConfig,
) -> Result<Analysis, EngineError> {
    let path = path.as_ref();
    if !(1..=8192).contains(&config.block_frames) {
        return Err(EngineError::config(
            "analysis",
            format!("block_frames = {}: allowed 1 to 8192", config.block_frames),
        ));
    }
    for (name, value) in [
        ("tempo_window_s", config.tempo_window_s),
        ("beat_tempo_window_s", config.beat_tempo_window_s),
    ] {
        if !(2.0..=60.0).contains(&value) {
            return Err(EngineError::config(
                "analysis",
                format!("{name} = {value}: allowed 2 to 60"),
            ));
        }
    }
    let mut source = WavSource::open(path)?;
    let info = source.info();
    let rate = info.sample_rate as f64;
    let spec = StreamSpec::new(rate, config.block_frames, info.channels)?;
    // The key of the whole file, as music21 analyses a whole score: the
    // detector's key window stretched to the file's length (its allowed
    // maximum, 600 s, at most), so that the estimate at the end weighs the
    // opening at e^-1 of the close instead of forgetting it.
    let mut chord_config = config.chords;
    let file_s = info.frames as f32 / info.sample_rate as f32;
    chord_config.key_window_s = chord_config.key_window_s.max(file_s.min(600.0));
    let mut chords = ChordDetector::new(chord_config);
    chords.prepare(&spec)?;
    let mut onsets = OnsetDetector::new(config.onsets);
    onsets.prepare(&spec)?;
    let hop = onsets.hop_frames() as u64;
    let delay = chords.analysis_delay_frames() as u64;

    let mut block = AudioBuffer::new(info.channels, config.block_frames);
    let mut changes: Vec<(u64, Option<String>, f32)> = Vec::new();
    let mut onset_frames: Vec<u64> = Vec::new();
    let mut envelope: Vec<f32> = Vec::new();
    let mut broadband: Vec<f32> = Vec::new();
    let mut spread: Vec<f32> = Vec::new();
    let mut ring = Vec::new();
    let mut envelope_end = 0u64;
    loop {
        let n = source.read_block(&mut block)?;
        if n == 0 {
            break;
        }
        // The last block is zero-padded to a whole block, as the engine
        // would see it.
        chords.process(&mut block);
        onsets.process(&mut block);
        for c in chords.changes() {
            changes.push((
                c.frame.saturating_sub(delay),
                c.label.map(|l| l.harte()),
                c.confidence,
            ));
        }
        onset_frames.extend(onsets.onsets().iter().map(|o| o.frame));
        // Append the hops this block completed.
        let end = onsets.envelope_into(&mut ring);
        let new = ((end - envelope_end) / hop) as usize;
        let newest = |ring: &[f32]| ring.len() - new.min(ring.len());
        envelope.extend_from_slice(&ring[newest(&ring)..]);
        onsets.broadband_envelope_into(&mut ring);
        broadband.extend_from_slice(&ring[newest(&ring)..]);
        onsets.spread_envelope_into(&mut ring);
        spread.extend_from_slice(&ring[newest(&ring)..]);
        envelope_end = end;
        if n < config.block_frames {
            break;
        }
    }

    let seconds = |frame: u64| frame as f64 / rate;
    let duration_s = info.frames as f64 / rate;
    let segments = segments_from(&changes, &seconds, duration_s);

    let hop_s = hop as f64 / rate;
    let material = Material::measure(&envelope, &broadband, &spread);
    // The live curve hears the material so far; the whole file's tempo
    // and the beats hear all of it.
    let heard_so_far = |end: usize| {
        TempoPrior::for_material(Material::measure(
            &envelope[..end],
            &broadband[..end.min(broadband.len())],
            &spread[..end.min(spread.len())],
        ))
    };
    let curve = tempo_curve(&envelope, hop_s, config.tempo_window_s, 0.5, heard_so_far);
    let prior = TempoPrior::for_material(material);
    let onsets_s: Vec<f64> = onset_frames.into_iter().map(seconds).collect();
    // The comb picks the metrical level; the onsets, whose times the slow
    // attacks of strings and organ do not stretch, set the period within it.
    let tempo = estimate_tempo(&envelope, hop_s, prior).map(|t| TempoEstimate {
        bpm: refine_tempo_to_onsets(t.bpm, &onsets_s),
        ..t
    });
    // The curve's tempo at each hop (its first point before the first one).
    // The beats follow a steadier curve than the live one: a longer window
    // keeps the tracker's period from wavering with every fill.
    // Its windows only measure the period, which `beat_tempo` then moves to
    // the whole file's metrical level, so they are read under the kit's
    // prior whatever the material: the faster level fits more periods into
    // a window and measures them closer. (Under the pitched prior, CMLt on
    // the rendered pitched pieces fell from 0.855 to 0.839, on solo piano
    // from 0.390 to 0.291.)
    let beat_curve = tempo_curve(&envelope, hop_s, config.beat_tempo_window_s, 0.5, |_| {
        TempoPrior::DRUM_KIT
    });
    // Only whole windows count (the first seconds' short ones guess), and
    // each is taken at the whole file's metrical level and, unless it
    // heard a real tempo change, as the whole file's tempo
    // ([`beat_tempo`]): a window that heard only the eighths must not
    // halve the beat period, nor a few percent of misreading drift it.
    let fallback = tempo.map_or(120.0, |t| t.bpm);
    let whole_window = (config.beat_tempo_window_s / hop_s).round() as usize;
    let curve_hops: Vec<(usize, f64)> = beat_curve
        .iter()
        .filter(|(h, _)| h + 1 >= whole_window)
        .map(|(h, t)| {
            (
                *h,
                tempo.map_or(t.bpm, |whole| beat_tempo(t.bpm, whole.bpm)),
            )
        })
        .collect();
    let bpm_at = |h: usize| -> f64 {
        match curve_hops.binary_search_by_key(&h, |&(k, _)| k) {
            Ok(i) => curve_hops[i].1,
            Err(0) => curve_hops.first().map_or(fallback, |c| c.1),
            Err(i) => curve_hops[i - 1].1,
        }
    };
    let beats = track_beats_varying(&envelope, hop_s, bpm_at);
    // Envelope hop i ends at input frame (i + 1) * hop; its onset sits half
    // a window earlier, as the onset detector places its onsets.
    let window_half = onsets.window_frames() as f64 / 2.0;
    let hop_time = |i: usize| (((i as f64 + 1.0) * hop as f64) - window_half).max(0.0) / rate;

    let beats_s: Vec<f64> = beats.into_iter().map(hop_time).collect();
    let beat_chord_offset_s = beat_grid_offset_s(&beats_s, &segments);
    let grid: Vec<f64> = beats_s.iter().map(|b| b + beat_chord_offset_s).collect();
    let beat_chords = beat_chords(&segments, &grid);

    Ok(Analysis {
        sample_rate: info.sample_rate,
        duration_s,
        block_frames: config.block_frames,
        chord_delay_s: seconds(delay),
        chord_reporting_delay_s: seconds(chords.reporting_delay_frames() as u64),
        chords: segments,
        key: chords.key_estimate().map(|k| k.key.to_string()),
        onsets_s,
        tempo_bpm: tempo.map(|t| t.bpm),
        material: MaterialReport {
            broadband_share: material.broadband_share,
            rise_spread: material.rise_spread,
            drum_kit: material.has_drum_kit(),
        },
        tempo_curve: curve
            .into_iter()
            .map(|(h, t)| TempoPoint {
                time_s: ((h + 1) as f64 * hop as f64) / rate,
                bpm: t.bpm,
                strength: t.strength,
            })
            .collect(),
        beats_s,
        beat_chords,
        beat_chord_offset_s,
        envelope_hop_s: hop_s,
        envelope_start_s: hop_time(0),
        envelope: if config.keep_envelope {
            envelope
        } else {
            Vec::new()
        },
    })
}

/// Chord segments as mir_eval `.lab` lines: `start end label`.
fn lab_of(chords: &[ChordSegment]) -> String {
    chords
        .iter()
        .map(|c| format!("{:.6}\t{:.6}\t{}\n", c.start_s, c.end_s, c.label))
        .collect()
}

impl Analysis {
    /// Chord segments as a mir_eval `.lab` file: `start end label` per line.
    pub fn chords_lab(&self) -> String {
        lab_of(&self.chords)
    }

    /// The beat chords ([`Analysis::beat_chords`]) as a mir_eval `.lab`
    /// file.
    pub fn beat_chords_lab(&self) -> String {
        lab_of(&self.beat_chords)
    }

    /// The key as a mir_eval key file (one line), or empty if none.
    pub fn key_lab(&self) -> String {
        self.key
            .as_ref()
            .map(|k| format!("{k}\n"))
            .unwrap_or_default()
    }

    /// Onset times, one per line.
    pub fn onsets_lab(&self) -> String {
        self.onsets_s.iter().map(|t| format!("{t:.6}\n")).collect()
    }

    /// Beat times, one per line.
    pub fn beats_lab(&self) -> String {
        self.beats_s.iter().map(|t| format!("{t:.6}\n")).collect()
    }
}
