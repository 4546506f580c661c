//! Chord and key detection from audio, on the audio thread.
//!
//! [`ChordDetector`] is a [`Processor`] that listens to its input and leaves
//! it unchanged. Per hop (512 input frames at 48 kHz, about 10.7 ms) it:
//!
//! 1. downmixes to mono and decimates to an analysis rate near 12 kHz with a
//!    windowed-sinc FIR (chords live below 5 kHz);
//! 2. takes a Hann-windowed FFT (kmidi_dsp::spectrum) of the last 1024 analysis samples
//!    (about 85 ms);
//! 3. picks spectral peaks between 60 Hz and 4 kHz and places each at its
//!    exact frequency by parabolic interpolation, so pitch is resolved far
//!    finer than the bin spacing;
//! 4. estimates the tuning as the circular mean of the peaks' deviations
//!    from equal temperament (smoothed over about two seconds), and folds
//!    the peaks into a 12-bin chroma relative to that tuning: a band tuned
//!    to A = 432 Hz or 452 Hz is read as well as one at 440 Hz;
//! 5. smooths the chroma over time and matches it against templates of
//!    nine chord kinds on twelve roots (major, minor, diminished, augmented,
//!    sus2, sus4, dominant 7, major 7, minor 7), each built from harmonic
//!    tones (an augmented or suspended triad, which a major triad's own
//!    partials can imitate, must match by a small margin more); a triad
//!    that is the upper three tones of a seventh chord is
//!    read as that chord when its root is heard at 30% of the triad's
//!    level or more; a quiet or unmatched frame is "no chord";
//! 6. holds the current label until another wins for several hops in a row,
//!    and records where the label changed, dated after the fact: back
//!    through the raw chroma to where the new chord began to win, then to
//!    where the strongest rise of a spectral-flux novelty (SuperFlux over
//!    the same spectrum) within the 250 ms before that began. The novelty
//!    dates the new notes' onset; sustained and reverberant timbres let
//!    the old chord win the chroma for 100 ms or more after it.
//!
//! A longer-term chroma (exponential, 30 s by default) feeds a key estimate
//! by correlation with key profiles (Krumhansl–Schmuckler): the mean of
//! the correlations with the Aarden–Essen profiles (music21's) and with
//! Temperley's.
//!
//! `process` makes no allocation at any block size: every buffer is sized
//! in [`prepare`](Processor::prepare). NaN, infinite and denormal samples
//! are read as silence.
//!
//! ```
//! use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};
//! use kmidi_harmony::detect::{ChordDetector, DetectorConfig};
//! use kmidi_harmony::chord::ChordKind;
//!
//! let spec = StreamSpec::new(48_000.0, 512, 1)?;
//! let mut det = ChordDetector::new(DetectorConfig::default());
//! det.prepare(&spec)?;
//! // One second of an A minor triad (A3, C4, E4), three partials each.
//! let mut block = AudioBuffer::new(1, 512);
//! let mut t = 0usize;
//! for _ in 0..94 {
//!     for s in block.channel_mut(0) {
//!         let time = t as f32 / 48_000.0;
//!         *s = [220.0f32, 261.63, 329.63].iter().map(|f| {
//!             (1..=3).map(|h| (std::f32::consts::TAU * f * h as f32 * time).sin() * 0.1 / h as f32).sum::<f32>()
//!         }).sum();
//!         t += 1;
//!     }
//!     det.process(&mut block);
//! }
//! let now = det.current();
//! let label = now.label.expect("a chord");
//! assert_eq!((label.root.semitones(), label.kind), (9, ChordKind::Minor));
//! # Ok::<(), kmidi_dsp::ConfigError>(())
//! ```

use kmidi_dsp::fastmath::{fast_exp2, fast_log2};
use kmidi_dsp::simd::dot;
use kmidi_dsp::spectrum::{PowerSpectrum, superflux_rise};
use kmidi_dsp::{AudioBuffer, ConfigError, Processor, StreamSpec};

use crate::chord::{Chord, ChordKind};
use crate::key::Key;
pub use crate::key_finding::{KeyEstimate, estimate_key};
use crate::pitch::PitchClass;

/// The chord kinds the detector knows.
pub const DETECTED_KINDS: [ChordKind; 9] = [
    ChordKind::Major,
    ChordKind::Minor,
    ChordKind::Diminished,
    ChordKind::Augmented,
    ChordKind::Sus2,
    ChordKind::Sus4,
    ChordKind::Dominant7,
    ChordKind::Major7,
    ChordKind::Minor7,
];

/// How much better than the other kinds an augmented or suspended triad
/// must match to be read. Each is what a major triad's own partials can
/// imitate: the third's fifth partial lies a semitone above the fifth
/// (augmented), the fifth's third partial is the ninth (sus2), and the
/// fifth's seventh partial lies near the fourth (sus4). As a sampled tone
/// decays unevenly, those partials outlast the tone they imitate, and a
/// held major triad drifted to augmented or suspended. A clean augmented
/// or suspended chord matches its own template by far more than this.
/// Measured on the rendered chorales of docs/ACCURACY.md: 0.03 takes
/// sonority majmin from 0.924 to 0.938 on piano and by 0.002 to 0.004 up
/// on organ and strings (0.01 and 0.05 give 0.934 and 0.941 on piano).
pub const IMITATED_KIND_MARGIN: f32 = 0.03;

/// [`IMITATED_KIND_MARGIN`] per kind, in [`DETECTED_KINDS`] order.
const KIND_MARGINS: [f32; 9] = {
    let mut margins = [0.0f32; 9];
    let mut k = 0;
    while k < DETECTED_KINDS.len() {
        if matches!(
            DETECTED_KINDS[k],
            ChordKind::Augmented | ChordKind::Sus2 | ChordKind::Sus4
        ) {
            margins[k] = IMITATED_KIND_MARGIN;
        }
        k += 1;
    }
    margins
};

const TEMPLATES: usize = 12 * DETECTED_KINDS.len();
const FFT_SIZE: usize = 1024;
const BINS: usize = FFT_SIZE / 2 + 1;
const MAX_PEAKS: usize = 160;
const MAX_CHANGES: usize = 64;
/// The note grid: semitones from C2 (65 Hz) up to the top of the
/// analysis band (4 kHz is B7).
const GRID_LOWEST_NOTE: i32 = 36;
const GRID_NOTES: usize = 72;
/// Semitones from a fundamental to its harmonics 1 to 8 (the seventh
/// harmonic rounded to the nearest semitone).
const HARMONIC_OFFSETS: [usize; 8] = [0, 12, 19, 24, 28, 31, 34, 36];
/// How much each harmonic counts towards a note's salience.
const HARMONIC_WEIGHTS: [f32; 8] = [1.0, 0.8, 0.7, 0.6, 0.5, 0.45, 0.4, 0.35];
/// At most this many notes per frame (a four-voice chord with doublings).
const MAX_NOTES: usize = 6;
/// Share of a found note's expected harmonic (its level times the
/// harmonic's weight) taken off the grid: less than all of it, so a chord
/// tone that is also a partial of a lower tone (the seventh of a major
/// seventh chord over its third) keeps what it has of its own.
const HARMONIC_REMOVAL: f32 = 0.6;
/// A grid bin quieter than this share of the loudest cannot be a
/// fundamental.
const NOTE_FLOOR: f32 = 0.02;
/// Stop when a note's salience falls below this share of the first's.
const NOTE_STOP: f32 = 0.1;
/// The lowest note counts as the bass if it has this share of the
/// strongest note's salience.
const BASS_SHARE: f32 = 0.15;
/// Input frames downmixed and filtered at a time.
const CHUNK: usize = 256;
/// Hops of raw chroma and onset novelty kept to date a change (about
/// 680 ms at 10.7 ms: the reporting delay plus [`ONSET_SNAP_MS`] plus the
/// window's half, with room to spare).
const BACKDATE_HOPS: usize = 64;
/// How far before the chroma's dating a change may move to the rise of
/// the onset novelty (new notes starting), in ms. A sustained or
/// reverberant old chord keeps the raw chroma on its side well after the
/// new notes began; the novelty's rise is where they began.
const ONSET_SNAP_MS: f32 = 250.0;
/// Where a novelty rise is taken to begin, as a share of its peak (slow
/// attacks peak late).
const RISE_FRACTION: f32 = 0.5;
/// Dynamic range of the onset novelty: bins are compared as
/// `max(0, log2(NOVELTY_GAIN · power / reference))`, so that bins more
/// than 60 dB below the reference (noise, reverb tails) count as nothing,
/// as the onset detector's compression keeps them quiet.
const NOVELTY_GAIN: f32 = 1.0e6;
/// How far back the novelty's reference spectrum lies, seconds: a legato
/// or bowed note grows over tens of milliseconds, and a reference this
/// far back sees its whole rise.
const NOVELTY_LAG_S: f32 = 0.04;
/// Time constant of the per-bin smoothing before the novelty, seconds.
const NOVELTY_SMOOTHING_S: f32 = 0.015;
/// Seconds for the novelty's level reference (the loudest bin, held) to
/// fall by a factor of e once the music gets quieter.
const NOVELTY_RELEASE_S: f32 = 10.0;
/// The reference never falls below this log2 power (1e-10): silence
/// stays silence.
const NOVELTY_FLOOR_LOG2: f32 = -33.2;

/// Settings of a [`ChordDetector`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorConfig {
    /// Time constant of the chroma smoothing, in ms (5 to 1000).
    pub smoothing_ms: f32,
    /// Hops a new label must win in a row before it replaces the current
    /// one (1 to 50).
    pub hold_hops: u32,
    /// Below this input level (dBFS RMS over the analysis window) the
    /// detector reports no chord (-120 to 0).
    pub silence_db: f32,
    /// Below this template match (cosine, 0 to 1) the detector reports no
    /// chord.
    pub min_match: f32,
    /// Above this spectral flatness (0 to 1; white noise is about 0.56) the
    /// frame is noise and the detector reports no chord.
    pub max_flatness: f32,
    /// Time constant of the key estimate's chroma, in seconds (1 to 600).
    pub key_window_s: f32,
    /// Reference tuning the tuning estimate starts from, Hz (400 to 480).
    pub a4_hz: f32,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            smoothing_ms: 30.0,
            hold_hops: 3,
            silence_db: -60.0,
            min_match: 0.55,
            max_flatness: 0.2,
            key_window_s: 30.0,
            a4_hz: 440.0,
        }
    }
}

impl DetectorConfig {
    /// Checks every field.
    ///
    /// # Errors
    /// [`ConfigError`] naming the field and its allowed range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check_f32("smoothing_ms", self.smoothing_ms, 5.0, 1000.0, " ms")?;
        ConfigError::check_count("hold_hops", self.hold_hops as usize, 1, 50)?;
        ConfigError::check_f32("silence_db", self.silence_db, -120.0, 0.0, " dB")?;
        ConfigError::check_f32("min_match", self.min_match, 0.0, 1.0, "")?;
        ConfigError::check_f32("max_flatness", self.max_flatness, 0.0, 1.0, "")?;
        ConfigError::check_f32("key_window_s", self.key_window_s, 1.0, 600.0, " s")?;
        ConfigError::check_f32("a4_hz", self.a4_hz, 400.0, 480.0, " Hz")?;
        Ok(())
    }
}

/// A detected chord: a root and one of [`DETECTED_KINDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChordLabel {
    /// The root.
    pub root: PitchClass,
    /// The kind.
    pub kind: ChordKind,
}

impl ChordLabel {
    /// The chord symbol, with the root spelled for `key`.
    pub fn chord_in(&self, key: Key) -> Chord {
        Chord::of_kind(key.spell(self.root), self.kind)
    }

    /// The label in Harte's syntax, as mir_eval and MIREX read it: the
    /// root with sharps, a colon, and the kind's shorthand (`C#:min7`,
    /// `G:7`, `F:sus4(b7)`).
    pub fn harte(&self) -> String {
        const ROOTS: [&str; 12] = [
            "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
        ];
        format!(
            "{}:{}",
            ROOTS[self.root.semitones() as usize],
            self.kind.harte_shorthand()
        )
    }

    /// The pitch classes as a 12-bit mask.
    pub fn pitch_class_mask(&self) -> u16 {
        let m = self.kind.interval_mask() as u32;
        let r = self.root.semitones() as u32;
        (((m << r) | (m >> (12 - r))) & 0xfff) as u16
    }
}

/// What the detector hears now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// The chord, or `None` for no chord (silence, noise, or no template
    /// matches well enough).
    pub label: Option<ChordLabel>,
    /// How sure: the label's share of a softmax over every template's match
    /// (0 to 1); for no chord, how far below the thresholds the frame was.
    pub confidence: f32,
    /// Input frame (counted from `prepare`/`reset`) at which this label
    /// took over.
    pub since_frame: u64,
}

/// A change of label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChordChange {
    /// Input frame (counted from `prepare`/`reset`) where the new chord
    /// began, as the detector dates it after the fact: the first hop, going
    /// back from the decision, from which the raw (unsmoothed) chroma
    /// matched the new label better than the old one, moved back to the
    /// start of the strongest onset-novelty rise in the 250 ms before it,
    /// less half the analysis window. It lies on average
    /// [`ChordDetector::analysis_delay_frames`] after the true change.
    pub frame: u64,
    /// Input frame at which the change was decided and reported: about
    /// [`ChordDetector::reporting_delay_frames`] after the chord began.
    pub detected_frame: u64,
    /// The new label (`None`: no chord).
    pub label: Option<ChordLabel>,
    /// Its confidence.
    pub confidence: f32,
}

/// Chord and key detection; see the [module docs](self).
pub struct ChordDetector {
    config: DetectorConfig,
    prepared: bool,
    /// The prepared block and channel maximums (frames and channels past
    /// them are not read).
    max_frames: usize,
    max_channels: usize,
    // Decimation.
    decimation: usize,
    fir: Vec<f32>,
    fir_history: Vec<f32>,
    phase: usize,
    analysis_rate: f32,
    // Analysis frame.
    ring: Vec<f32>,
    ring_pos: usize,
    hop: usize,
    since_hop: usize,
    /// The shared front end (Hann window, FFT, power), made in `prepare`.
    spectrum: Option<PowerSpectrum>,
    peaks_pitch: Vec<f32>,
    peaks_amp: Vec<f32>,
    bin_lo: usize,
    bin_hi: usize,
    // Tuning (circular mean of deviations, smoothed).
    tuning_re: f32,
    tuning_im: f32,
    tuning_alpha: f32,
    // Chroma and matching.
    chroma: [f32; 12],
    smoothed: [f32; 12],
    smooth_alpha: f32,
    bass_chroma: [f32; 12],
    /// Peak energy per semitone from C2, the multi-pitch estimate's input.
    note_grid: [f32; GRID_NOTES],
    /// Template weights by pitch class: `templates_by_pc[pc][kind * 12 + root]`.
    templates_by_pc: Vec<[f32; TEMPLATES]>,
    scores: Vec<f32>,
    key_chroma: [f64; 12],
    key_alpha: f64,
    // Labels.
    current: Detection,
    candidate: Option<Option<ChordLabel>>,
    candidate_hops: u32,
    /// Raw chroma of the last [`BACKDATE_HOPS`] hops and the input frame
    /// at the end of each, for dating changes.
    raw_chroma: Vec<[f32; 12]>,
    raw_frames: Vec<u64>,
    /// Onset novelty of the same hops.
    raw_novelty: Vec<f32>,
    /// Smoothed log power of the band's bins, this hop.
    novelty_smoothed: Vec<f32>,
    /// The last `novelty_lag` hops of `novelty_smoothed`, a ring of rows.
    novelty_history: Vec<f32>,
    novelty_pos: usize,
    novelty_lag: usize,
    /// Per-hop coefficient of the bins' smoothing.
    novelty_smooth: f32,
    /// log2 power of the band's bins, this hop (from the flatness pass).
    band_log_power: Vec<f32>,
    /// log2 of the loudest bin, held and falling ([`NOVELTY_RELEASE_S`]):
    /// the novelty's level reference.
    novelty_reference: f32,
    /// How far the reference falls per hop, log2 units.
    novelty_release_log2: f32,
    /// [`ONSET_SNAP_MS`] in input frames (set in `prepare`).
    snap_frames: u64,
    raw_pos: usize,
    raw_len: usize,
    frames_seen: u64,
    window_energy: f32,
    flatness: f32,
    changes: Vec<ChordChange>,
    changes_len: usize,
}

impl ChordDetector {
    /// A detector with these settings; call [`prepare`](Processor::prepare)
    /// before `process`.
    pub fn new(config: DetectorConfig) -> Self {
        Self {
            config,
            prepared: false,
            max_frames: 0,
            max_channels: 0,
            decimation: 1,
            fir: Vec::new(),
            fir_history: Vec::new(),
            phase: 0,
            analysis_rate: 12_000.0,
            ring: Vec::new(),
            ring_pos: 0,
            hop: 128,
            since_hop: 0,
            spectrum: None,
            peaks_pitch: Vec::new(),
            peaks_amp: Vec::new(),
            bin_lo: 1,
            bin_hi: 2,
            tuning_re: 1.0,
            tuning_im: 0.0,
            tuning_alpha: 0.0,
            chroma: [0.0; 12],
            smoothed: [0.0; 12],
            smooth_alpha: 1.0,
            bass_chroma: [0.0; 12],
            note_grid: [0.0; GRID_NOTES],
            templates_by_pc: {
                let t = build_templates();
                (0..12)
                    .map(|pc| std::array::from_fn(|i| t[i][pc]))
                    .collect()
            },
            scores: vec![0.0; TEMPLATES],
            key_chroma: [0.0; 12],
            key_alpha: 0.0,
            current: Detection {
                label: None,
                confidence: 0.0,
                since_frame: 0,
            },
            candidate: None,
            candidate_hops: 0,
            raw_chroma: vec![[0.0; 12]; BACKDATE_HOPS],
            raw_frames: vec![0; BACKDATE_HOPS],
            raw_novelty: vec![0.0; BACKDATE_HOPS],
            novelty_smoothed: Vec::new(),
            novelty_history: Vec::new(),
            novelty_pos: 0,
            novelty_lag: 1,
            novelty_smooth: 1.0,
            band_log_power: Vec::new(),
            novelty_reference: NOVELTY_FLOOR_LOG2,
            novelty_release_log2: 0.0,
            snap_frames: 0,
            raw_pos: 0,
            raw_len: 0,
            frames_seen: 0,
            window_energy: 0.0,
            flatness: 1.0,
            changes: vec![
                ChordChange {
                    frame: 0,
                    detected_frame: 0,
                    label: None,
                    confidence: 0.0
                };
                MAX_CHANGES
            ],
            changes_len: 0,
        }
    }

    /// The settings.
    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    /// What the detector hears now.
    pub fn current(&self) -> Detection {
        self.current
    }

    /// The label changes during the last `process` call (at most 64; a
    /// block long enough for more keeps the last 64).
    pub fn changes(&self) -> &[ChordChange] {
        &self.changes[..self.changes_len]
    }

    /// Input frames from a chord's start to the [`ChordChange::frame`]
    /// that dates it (the median over held chords; `tests/harmony/latency.rs`
    /// measures it within 10 ms at 44.1, 48 and 96 kHz, and
    /// `scripts/eval.sh` on rendered music). A change is dated at the
    /// centre of the first window whose raw chroma favours the new chord:
    /// about half a window after the change that window ends, so the date
    /// lands on the change plus the rounding to a whole hop, on average
    /// half a hop.
    pub fn analysis_delay_frames(&self) -> usize {
        (self.hop * self.decimation).div_ceil(2)
    }

    /// Input frames from a chord's start to the `process` call that reports
    /// it ([`ChordChange::detected_frame`]): how long a live listener waits.
    /// The sum of:
    ///
    /// * half the analysis window: the new chord fills its centre;
    /// * the chroma smoothing's time constant: a smoother lags a ramp by
    ///   that much, and the window turns the chord change into a ramp;
    /// * `hold_hops - 1` hops of holding, plus half a hop of waiting for
    ///   the next analysis;
    /// * the decimating filter's delay.
    pub fn reporting_delay_frames(&self) -> usize {
        let d = self.decimation as f64;
        let hop = self.hop as f64 * d;
        let window = FFT_SIZE as f64 / 2.0 * d;
        let smoothing = self.config.smoothing_ms as f64 * 1e-3 * self.analysis_rate as f64 * d;
        let hold = (self.config.hold_hops as f64 - 0.5) * hop;
        let fir = (self.fir.len().saturating_sub(1)) as f64 / 2.0;
        (window + smoothing + hold + fir).round() as usize
    }

    /// Input frames per analysis hop.
    pub fn hop_frames(&self) -> usize {
        self.hop * self.decimation
    }

    /// The current tuning estimate: A4 in Hz.
    pub fn tuning_a4_hz(&self) -> f32 {
        let cents = self.tuning_im.atan2(self.tuning_re) / std::f32::consts::TAU * 100.0;
        self.config.a4_hz * 2f32.powf(cents / 1200.0)
    }

    /// The key estimate over the long window, or `None` before any pitched
    /// input. Costs 24 correlations of 12 values.
    pub fn key_estimate(&self) -> Option<KeyEstimate> {
        estimate_key(&self.key_chroma)
    }

    /// Spectral flatness of the last analysis frame (0 = pure tones, about
    /// 0.56 = white noise).
    pub fn flatness(&self) -> f32 {
        self.flatness
    }

    /// The smoothed 12-bin chroma (C first) that the templates are
    /// matched against.
    pub fn smoothed_chroma(&self) -> [f32; 12] {
        self.smoothed
    }

    fn push_analysis_sample(&mut self, x: f32) {
        let n = FFT_SIZE;
        self.ring[self.ring_pos] = x;
        self.ring_pos += 1;
        if self.ring_pos == n {
            self.ring_pos = 0;
        }
        self.since_hop += 1;
        if self.since_hop == self.hop {
            self.since_hop = 0;
            self.analyse();
        }
    }

    fn analyse(&mut self) {
        let n = FFT_SIZE;
        // Measure the level; then the windowed power spectrum of the ring.
        let (newer, older) = self.ring.split_at(self.ring_pos);
        self.window_energy = (dot(older, older) + dot(newer, newer)) / n as f32;
        let Some(spectrum) = self.spectrum.as_mut() else {
            return;
        };
        if !spectrum.compute(&self.ring, self.ring_pos) {
            return;
        }
        // Spectral flatness (Wiener entropy) over the analysis band: about
        // 0.56 for white noise, far below 0.1 for pitched sound.
        // The band's log power is kept for the onset novelty.
        let band = &spectrum.power()[self.bin_lo..self.bin_hi];
        let band_log = &mut self.band_log_power[..band.len()];
        let mut log_lanes = [0.0f32; 8];
        let mut sum_lanes = [0.0f32; 8];
        let chunks = band.chunks_exact(8);
        let rest = chunks.remainder();
        let mut log_chunks = band_log.chunks_exact_mut(8);
        for (chunk, logs) in chunks.zip(&mut log_chunks) {
            for l in 0..8 {
                logs[l] = fast_log2(chunk[l] + 1e-30);
                log_lanes[l] += logs[l];
                sum_lanes[l] += chunk[l];
            }
        }
        let mut log_sum: f32 = log_lanes.iter().sum();
        let mut sum: f32 = sum_lanes.iter().sum();
        for (&p, log) in rest.iter().zip(log_chunks.into_remainder()) {
            *log = fast_log2(p + 1e-30);
            log_sum += *log;
            sum += p;
        }
        let n_band = band.len() as f32;
        self.flatness = if sum > 0.0 {
            fast_exp2(log_sum / n_band) / (sum / n_band)
        } else {
            1.0
        };
        self.onset_novelty();
        self.find_peaks();
        self.fold_chroma();
        self.match_templates();
    }

    /// SuperFlux over the chord window's spectrum, into this hop's slot of
    /// the novelty ring: each bin's smoothed
    /// log power against a 3-bin maximum of the same bins
    /// [`NOVELTY_LAG_S`] earlier, the rises summed over the band.
    fn onset_novelty(&mut self) {
        let bins = self.bin_hi - self.bin_lo;
        let logs = &self.band_log_power[..bins];
        // The loudest bin in log2, held and released.
        let mut lanes = [f32::MIN; 8];
        let chunks = logs.chunks_exact(8);
        let tail = chunks.remainder().iter().fold(f32::MIN, |a, &b| a.max(b));
        for chunk in chunks {
            for k in 0..8 {
                lanes[k] = lanes[k].max(chunk[k]);
            }
        }
        let loudest = lanes.iter().fold(tail, |a, &b| a.max(b));
        self.novelty_reference = loudest
            .max(self.novelty_reference - self.novelty_release_log2)
            .max(NOVELTY_FLOOR_LOG2);
        // log2(NOVELTY_GAIN · power / reference), floored at 0: quiet bins
        // (noise, reverb tails) count as nothing.
        let offset = NOVELTY_GAIN.log2() - self.novelty_reference;
        let a = self.novelty_smooth;
        for (sm, &l) in self.novelty_smoothed.iter_mut().zip(logs) {
            *sm += a * ((l + offset).max(0.0) - *sm);
        }
        let row = self.novelty_pos * bins;
        let reference = &self.novelty_history[row..row + bins];
        let current = &self.novelty_smoothed;
        let novelty = superflux_rise(current, reference);
        self.novelty_history[row..row + bins].copy_from_slice(current);
        self.novelty_pos = (self.novelty_pos + 1) % self.novelty_lag;
        // This hop's slot of the ring (fold_chroma advances it).
        self.raw_novelty[self.raw_pos] = novelty;
    }

    fn find_peaks(&mut self) {
        let Some(spectrum) = self.spectrum.as_ref() else {
            return;
        };
        let mag = spectrum.power();
        let max = mag[self.bin_lo..self.bin_hi]
            .iter()
            .fold(0.0f32, |a, &b| a.max(b));
        let floor = (max * 1e-4).max(1e-12);
        let bin_hz = self.analysis_rate / FFT_SIZE as f32;
        let inv_a4 = 1.0 / self.config.a4_hz;
        let mut count = 0;
        for k in self.bin_lo..self.bin_hi {
            let m = mag[k];
            if m > floor && m > mag[k - 1] && m >= mag[k + 1] && count < MAX_PEAKS {
                // Parabolic interpolation on log power.
                let a = fast_log2(mag[k - 1].max(1e-30));
                let b = fast_log2(m);
                let c = fast_log2(mag[k + 1].max(1e-30));
                let denom = a - 2.0 * b + c;
                let delta = if denom < -1e-9 {
                    (0.5 * (a - c) / denom).clamp(-0.5, 0.5)
                } else {
                    0.0
                };
                let log_peak = b - 0.25 * (a - c) * delta;
                let freq = (k as f32 + delta) * bin_hz;
                // Semitones above A4 (reference tuning).
                self.peaks_pitch[count] = 12.0 * fast_log2(freq * inv_a4);
                // Amplitude (sqrt of power), compressed a little so that
                // quieter chord tones still count.
                self.peaks_amp[count] = fast_exp2(0.5 * 0.7 * log_peak);
                count += 1;
            }
        }
        self.peaks_pitch[count..]
            .iter_mut()
            .for_each(|p| *p = f32::NAN);
    }

    fn fold_chroma(&mut self) {
        // Tuning: circular mean of the deviation of each peak from the
        // nearest semitone, weighted by amplitude.
        let (mut re, mut im) = (0.0f32, 0.0f32);
        for (&p, &a) in self.peaks_pitch.iter().zip(&self.peaks_amp) {
            if p.is_nan() {
                break;
            }
            let (sin_half, cos_half) = sin_cos_pi(p - p.round());
            re += a * (1.0 - 2.0 * sin_half * sin_half);
            im += a * 2.0 * sin_half * cos_half;
        }
        let norm = (re * re + im * im).sqrt();
        if norm > 0.0 {
            let k = self.tuning_alpha;
            self.tuning_re += k * (re / norm - self.tuning_re);
            self.tuning_im += k * (im / norm - self.tuning_im);
        }
        let shift = self.tuning_im.atan2(self.tuning_re) / std::f32::consts::TAU;
        // Peaks onto a semitone grid (tuned), cos² weighted within half a
        // semitone of each tempered pitch.
        let grid = &mut self.note_grid;
        grid.fill(0.0);
        for (&p, &a) in self.peaks_pitch.iter().zip(&self.peaks_amp) {
            if p.is_nan() {
                break;
            }
            let q = p - shift + 69.0 - GRID_LOWEST_NOTE as f32;
            let nearest = q.round();
            let (_, c) = sin_cos_pi(q - nearest);
            if (0.0..GRID_NOTES as f32).contains(&nearest) {
                grid[nearest as usize] += a * c * c;
            }
        }
        // Notes, loudest first: the candidate whose harmonics hold the most
        // energy (its fundamental must be there), then its expected
        // harmonics taken off the grid (the level of its strongest low
        // partial times each harmonic's weight, times HARMONIC_REMOVAL), so
        // a harmonic (the fifth an octave up, the major third two octaves
        // up) is not heard as a note of its own.
        self.chroma = [0.0; 12];
        self.bass_chroma = [0.0; 12];
        let loudest = grid.iter().fold(0.0f32, |m, &g| m.max(g));
        let mut first = 0.0f32;
        let mut lowest: Option<(usize, f32)> = None;
        let mut strongest = 0.0f32;
        for _ in 0..MAX_NOTES {
            let mut best = (0usize, 0.0f32);
            for m in 0..GRID_NOTES {
                if grid[m] <= NOTE_FLOOR * loudest {
                    continue;
                }
                let mut sal = 0.0;
                for (&o, &w) in HARMONIC_OFFSETS.iter().zip(&HARMONIC_WEIGHTS) {
                    if let Some(&g) = grid.get(m + o) {
                        sal += w * g;
                    }
                }
                if sal > best.1 {
                    best = (m, sal);
                }
            }
            let (m, sal) = best;
            if sal <= 0.0 || sal < NOTE_STOP * first {
                break;
            }
            if first == 0.0 {
                first = sal;
            }
            let level = HARMONIC_OFFSETS[..3]
                .iter()
                .filter_map(|&o| grid.get(m + o))
                .fold(0.0f32, |a, &b| a.max(b));
            for (&o, &w) in HARMONIC_OFFSETS.iter().zip(&HARMONIC_WEIGHTS) {
                if let Some(g) = grid.get_mut(m + o) {
                    *g -= g.min(level * w * HARMONIC_REMOVAL);
                }
            }
            let pc = (m + GRID_LOWEST_NOTE as usize) % 12;
            self.chroma[pc] += sal;
            strongest = strongest.max(sal);
            if lowest.is_none_or(|(l, _)| m < l) {
                lowest = Some((m, sal));
            }
        }
        if let Some((m, sal)) = lowest
            && sal >= BASS_SHARE * strongest
        {
            self.bass_chroma[(m + GRID_LOWEST_NOTE as usize) % 12] = 1.0;
        }
        normalize(&mut self.chroma);
        self.raw_chroma[self.raw_pos] = self.chroma;
        self.raw_frames[self.raw_pos] = self.frames_seen;
        self.raw_pos = (self.raw_pos + 1) % BACKDATE_HOPS;
        self.raw_len = (self.raw_len + 1).min(BACKDATE_HOPS);
        let k = self.smooth_alpha;
        for (s, c) in self.smoothed.iter_mut().zip(&self.chroma) {
            *s += k * (c - *s);
        }
        let ka = self.key_alpha;
        let loudness = self.window_energy.sqrt() as f64;
        for (s, c) in self.key_chroma.iter_mut().zip(&self.chroma) {
            *s += ka * (*c as f64 * loudness.min(1.0) - *s);
        }
    }

    fn match_templates(&mut self) {
        let mut chroma = self.smoothed;
        normalize(&mut chroma);
        let level_db = 10.0 * (self.window_energy.max(1e-20)).log10();
        let silent = level_db < self.config.silence_db;
        let bass_pc = self.bass_chroma.iter().position(|&b| b > 0.0);
        // scores = Σ_j chroma[j] · templates_by_pc[j]: twelve
        // multiply-adds across all 108 templates at once, which vectorizes
        // (a 12-term dot per template would be a serial chain).
        self.scores.iter_mut().for_each(|s| *s = 0.0);
        for (row, &c) in self.templates_by_pc.iter().zip(&chroma) {
            for (s, t) in self.scores.iter_mut().zip(row.iter()) {
                *s += t * c;
            }
        }
        // A small preference for the root in the bass breaks ties between
        // sets that are the same pitch classes (Csus2 = Gsus4, the
        // augmented triads).
        if let Some(pc) = bass_pc {
            for kind in 0..DETECTED_KINDS.len() {
                self.scores[kind * 12 + pc] += 0.01;
            }
        }
        for (kind, margin) in self.scores.chunks_exact_mut(12).zip(KIND_MARGINS) {
            if margin != 0.0 {
                kind.iter_mut().for_each(|s| *s -= margin);
            }
        }
        let mut best = 0usize;
        let mut best_score = f32::MIN;
        for (i, &s) in self.scores.iter().enumerate() {
            if s > best_score {
                best_score = s;
                best = i;
            }
        }
        // A seventh chord whose root sounds well under its other tones (on
        // a piano, a root struck before the rest and decaying) matches the
        // triad of its upper three tones best: E7 over G# reads as G#dim.
        // Where this hop's notes and the smoothed chroma both hold that
        // root, and it has not faded against the triad, the seventh chord
        // is read instead.
        let top_score = best_score;
        let earlier = (self.raw_len > SEVENTH_ROOT_FADE_HOPS)
            .then(|| &self.raw_chroma[self.raw_hop_back(SEVENTH_ROOT_FADE_HOPS)]);
        if let Some(seventh) = seventh_completing(best, &chroma, &self.chroma, earlier) {
            best = seventh;
            best_score = self.scores[seventh];
        }
        // Softmax share of the chosen template (temperature 0.02), summed
        // in eight lanes.
        let mut lanes = [0.0f32; 8];
        for chunk in self.scores.chunks_exact(8) {
            for l in 0..8 {
                lanes[l] += fast_exp2((chunk[l] - top_score) * 72.13); // 1/(0.02 ln 2)
            }
        }
        let tail: f32 = self.scores[TEMPLATES / 8 * 8..]
            .iter()
            .map(|&s| fast_exp2((s - top_score) * 72.13))
            .sum();
        let sum = lanes.iter().sum::<f32>() + tail;
        let share = fast_exp2((best_score - top_score) * 72.13) / sum.max(1.0);
        let (label, confidence) = if silent {
            (
                None,
                ((self.config.silence_db - level_db) / 20.0).clamp(0.0, 1.0),
            )
        } else if self.flatness > self.config.max_flatness {
            (
                None,
                ((self.flatness - self.config.max_flatness) * 4.0).clamp(0.0, 1.0),
            )
        } else if top_score < self.config.min_match {
            (
                None,
                ((self.config.min_match - top_score) * 4.0).clamp(0.0, 1.0),
            )
        } else {
            (
                Some(ChordLabel {
                    root: PitchClass::new((best % 12) as i32),
                    kind: DETECTED_KINDS[best / 12],
                }),
                share,
            )
        };
        if label == self.current.label {
            self.current.confidence = confidence;
            self.candidate = None;
            self.candidate_hops = 0;
            return;
        }
        if self.candidate == Some(label) {
            self.candidate_hops += 1;
        } else {
            self.candidate = Some(label);
            self.candidate_hops = 1;
        }
        if self.candidate_hops >= self.config.hold_hops {
            let began = self.date_change(self.current.label, label);
            self.current = Detection {
                label,
                confidence,
                since_frame: began,
            };
            self.candidate = None;
            self.candidate_hops = 0;
            let change = ChordChange {
                frame: began,
                detected_frame: self.frames_seen,
                label,
                confidence,
            };
            if self.changes_len == MAX_CHANGES {
                self.changes.copy_within(1.., 0);
                self.changes_len -= 1;
            }
            self.changes[self.changes_len] = change;
            self.changes_len += 1;
        }
    }
}

impl ChordDetector {
    /// How well a chroma matches a label's template (`None`: the
    /// no-chord threshold, `min_match`).
    fn template_score(&self, chroma: &[f32; 12], label: Option<ChordLabel>) -> f32 {
        let Some(l) = label else {
            return self.config.min_match;
        };
        let kind = DETECTED_KINDS
            .iter()
            .position(|&k| k == l.kind)
            .unwrap_or(0);
        let t = kind * 12 + l.root.semitones() as usize;
        chroma
            .iter()
            .zip(&self.templates_by_pc)
            .map(|(c, row)| c * row[t])
            .sum()
    }

    /// The index in the raw-hop rings (`raw_chroma`, `raw_frames`,
    /// `raw_novelty`) of the hop `back` hops before the newest (0: the
    /// newest); `back` must be under `raw_len`.
    fn raw_hop_back(&self, back: usize) -> usize {
        (self.raw_pos + BACKDATE_HOPS - 1 - back) % BACKDATE_HOPS
    }

    /// The input frame where the change from `old` to `new` began: going
    /// back through the raw chroma from the newest hop, the first of the
    /// hops that all match `new` better than `old`, less half the analysis
    /// window and the decimator's delay (its centre). Never before the
    /// previous change, never after now.
    fn date_change(&self, old: Option<ChordLabel>, new: Option<ChordLabel>) -> u64 {
        let mut start = None;
        for back in 0..self.raw_len {
            let h = self.raw_hop_back(back);
            let chroma = &self.raw_chroma[h];
            if self.template_score(chroma, new) <= self.template_score(chroma, old) {
                break;
            }
            start = Some(self.raw_frames[h]);
        }
        let Some(end) = start else {
            return self.frames_seen;
        };
        let centre = self.window_centre_frames() as u64;
        let dated = end
            .saturating_sub(centre)
            .max(self.current.since_frame)
            .min(self.frames_seen);
        self.onset_before(dated).unwrap_or(dated)
    }

    /// Where the strongest rise of the onset novelty within
    /// [`ONSET_SNAP_MS`] before `dated` (and after the current label's
    /// start) began, at its window's centre: the new notes' onset.
    fn onset_before(&self, dated: u64) -> Option<u64> {
        let centre = self.window_centre_frames() as u64;
        let lo = dated
            .saturating_sub(self.snap_frames)
            .max(self.current.since_frame);
        let time = |h: usize| self.raw_frames[h].saturating_sub(centre);
        // Oldest to newest.
        let hop_at = |i: usize| self.raw_hop_back(self.raw_len - 1 - i);
        let mut peak: Option<(usize, f32)> = None;
        for i in 0..self.raw_len {
            let h = hop_at(i);
            let t = time(h);
            if t < lo {
                continue;
            }
            if t > dated {
                break;
            }
            let v = self.raw_novelty[h];
            if v > 0.0 && peak.is_none_or(|(_, p)| v > p) {
                peak = Some((i, v));
            }
        }
        let (mut i, height) = peak?;
        while i > 0 {
            let (before, at) = (hop_at(i - 1), hop_at(i));
            if time(before) < lo
                || self.raw_novelty[before] < RISE_FRACTION * height
                || self.raw_novelty[before] > self.raw_novelty[at]
            {
                break;
            }
            i -= 1;
        }
        Some(time(hop_at(i)))
    }

    /// Input frames from the end of an analysis hop back to the centre of
    /// its window (half the window, plus the decimator's delay).
    fn window_centre_frames(&self) -> usize {
        FFT_SIZE / 2 * self.decimation + self.fir.len().saturating_sub(1) / 2
    }
}

/// Triads that are the upper three tones of a seventh chord: the triad,
/// its tones (semitones above its root), the semitones from the seventh
/// chord's root up to the triad's root, and the seventh chord.
pub const SEVENTH_COMPLETIONS: [(ChordKind, [usize; 3], usize, ChordKind); 3] = [
    (ChordKind::Diminished, [0, 3, 6], 4, ChordKind::Dominant7),
    (ChordKind::Major, [0, 4, 7], 3, ChordKind::Minor7),
    (ChordKind::Minor, [0, 3, 7], 4, ChordKind::Major7),
];

/// The least level, as a share of the triad's mean tone, at which the
/// missing root of a [`SEVENTH_COMPLETIONS`] seventh chord turns the triad
/// into that chord. It must hold both in the hop's own notes and in the
/// smoothed chroma: on sustained timbres (organ, strings) the previous
/// chord's notes linger in the smoothed chroma, and a lower share there
/// alone reads C major after A minor as Am7. On a piano the root is most
/// often an upper voice held over from the previous chord, decayed under
/// the tones struck with the new one, so a low share is what catches it;
/// [`SEVENTH_ROOT_FADE`] keeps the lingering notes of sustained timbres
/// out. Measured on the rendered chorales and quartets of
/// docs/ACCURACY.md (sonority majmin piano / organ / strings): 0.3 without
/// the fade test 0.938 / 0.952 / 0.933; 0.25 without it 0.946 / 0.950 /
/// 0.930; 0.2 without it 0.950 / 0.948 / 0.925; 0.25 with it 0.945 /
/// 0.950 / 0.933. On the held-out chorales 41 to 60, never used to set
/// either, 0.25 with the fade test gives 0.935 / 0.966 / 0.944 where 0.3
/// without it gave 0.928 / 0.967 / 0.942.
pub const SEVENTH_ROOT_SHARE: f32 = 0.25;

/// Hops back (about 43 ms at 48 kHz) against which a completing root is
/// checked for fading; see [`SEVENTH_ROOT_FADE`].
pub const SEVENTH_ROOT_FADE_HOPS: usize = 4;

/// A completing root whose level relative to the triad's mean tone, in the
/// hop's own notes, has fallen below this share of what it was
/// [`SEVENTH_ROOT_FADE_HOPS`] earlier does not complete the seventh chord.
/// A note of the previous chord left ringing by a string section's release
/// or by reverb fades against the new triad; a root that belongs to the
/// chord (held, or struck with it) keeps its place beside the triad, which
/// on a piano decays with it. At a share of 0.25 the test keeps strings'
/// sonority majmin at 0.933 (0.930 without it). Tried at a share of 0.2:
/// 0.6 over four hops let most lingering notes through (strings 0.925),
/// 0.9 over two hops kept strings at 0.932 but cost them 0.7 points of
/// beat majmin (0.873 to 0.866), 0.8 over eight hops held back the piano's
/// roots as well (piano 0.939).
pub const SEVENTH_ROOT_FADE: f32 = 0.8;

/// The template (kind * 12 + root) of the seventh chord that `template`, a
/// triad, is the top of, when both chromas hold its root at
/// [`SEVENTH_ROOT_SHARE`] of the triad's mean tone or more, and the hop's
/// root has not faded against the triad since `earlier`, the raw chroma
/// [`SEVENTH_ROOT_FADE_HOPS`] back (none at the stream's start).
fn seventh_completing(
    template: usize,
    smoothed: &[f32; 12],
    hop: &[f32; 12],
    earlier: Option<&[f32; 12]>,
) -> Option<usize> {
    let kind = *DETECTED_KINDS.get(template / 12)?;
    let root = template % 12;
    let &(_, tones, below, seventh) = SEVENTH_COMPLETIONS.iter().find(|c| c.0 == kind)?;
    let seventh_root = (root + 12 - below) % 12;
    let triad_mean =
        |chroma: &[f32; 12]| tones.iter().map(|t| chroma[(root + t) % 12]).sum::<f32>() / 3.0;
    let holds_root = |chroma: &[f32; 12]| {
        let mean = triad_mean(chroma);
        mean > 0.0 && chroma[seventh_root] >= SEVENTH_ROOT_SHARE * mean
    };
    if !(holds_root(smoothed) && holds_root(hop)) {
        return None;
    }
    // The root's level beside the triad's; an earlier hop without the
    // triad gives a large share, so the root of a chord that has only just
    // begun waits until the triad has settled beside it.
    let share = |chroma: &[f32; 12]| chroma[seventh_root] / triad_mean(chroma).max(1e-6);
    if earlier.is_some_and(|e| share(hop) < SEVENTH_ROOT_FADE * share(e)) {
        return None;
    }
    let seventh_kind = DETECTED_KINDS.iter().position(|&k| k == seventh)?;
    Some(seventh_kind * 12 + seventh_root)
}

/// `(sin(πx), cos(πx))` for `x` in [-0.5, 0.5], by Taylor polynomials
/// (worst error 1e-3 at the ends), cheap enough for every spectral peak.
#[inline(always)]
fn sin_cos_pi(x: f32) -> (f32, f32) {
    let y = x * std::f32::consts::PI;
    let y2 = y * y;
    let s = y * (1.0 - y2 * (1.0 / 6.0 - y2 * (1.0 / 120.0 - y2 / 5040.0)));
    let c = 1.0 - y2 * (0.5 - y2 * (1.0 / 24.0 - y2 / 720.0));
    (s, c)
}

fn normalize(v: &mut [f32; 12]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 1e-20 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

/// Chord templates over the estimated notes: 1 on each chord tone.
fn build_templates() -> Vec<[f32; 12]> {
    let mut out = Vec::with_capacity(TEMPLATES);
    for kind in DETECTED_KINDS {
        let mask = kind.interval_mask();
        for root in 0..12 {
            let mut t = [0.0f32; 12];
            for tone in 0..12 {
                if mask & (1 << tone) != 0 {
                    t[(root + tone) % 12] = 1.0;
                }
            }
            normalize(&mut t);
            out.push(t);
        }
    }
    // Order: index = kind * 12 + root.
    out
}

/// A Blackman-windowed sinc low-pass for decimation by `factor`, cut off
/// at 63% of the new Nyquist frequency (3.8 kHz at 12 kHz), unity gain at
/// DC. With 24 taps per phase the stop band (-74 dB) begins below 5.3 kHz,
/// so nothing aliases into the 4 kHz analysis band.
fn design_decimator(factor: usize) -> Vec<f32> {
    if factor == 1 {
        return vec![1.0];
    }
    let taps = 24 * factor + 1;
    let cutoff = 0.633 * 0.5 / factor as f64; // cycles per input sample
    let mid = (taps - 1) as f64 / 2.0;
    let mut h: Vec<f64> = (0..taps)
        .map(|i| {
            let x = i as f64 - mid;
            let sinc = if x == 0.0 {
                2.0 * cutoff
            } else {
                (std::f64::consts::TAU * cutoff * x).sin() / (std::f64::consts::PI * x)
            };
            let w = 0.42 - 0.5 * (std::f64::consts::TAU * i as f64 / (taps - 1) as f64).cos()
                + 0.08 * (2.0 * std::f64::consts::TAU * i as f64 / (taps - 1) as f64).cos();
            sinc * w
        })
        .collect();
    let sum: f64 = h.iter().sum();
    h.iter_mut().for_each(|x| *x /= sum);
    h.into_iter().map(|x| x as f32).collect()
}

impl Processor for ChordDetector {
    fn prepare(&mut self, spec: &StreamSpec) -> Result<(), ConfigError> {
        self.config.validate()?;
        let sr = spec.sample_rate() as f32;
        self.decimation = ((sr / 12_000.0).round() as usize).max(1);
        self.analysis_rate = sr / self.decimation as f32;
        self.fir = design_decimator(self.decimation);
        // The last `taps - 1` inputs, then room for one chunk of new ones.
        self.fir_history = vec![0.0; self.fir.len() - 1 + CHUNK];
        // A hop of about 10.7 ms: 128 analysis samples at 12 kHz.
        self.hop = ((self.analysis_rate * 0.010_667).round() as usize).clamp(16, FFT_SIZE);
        self.ring = vec![0.0; FFT_SIZE];
        self.spectrum = Some(PowerSpectrum::new(FFT_SIZE));
        self.peaks_pitch = vec![f32::NAN; MAX_PEAKS];
        self.peaks_amp = vec![0.0; MAX_PEAKS];
        let bin_hz = self.analysis_rate / FFT_SIZE as f32;
        let top = (0.33 * self.analysis_rate).min(4_000.0);
        self.bin_lo = ((60.0 / bin_hz).floor() as usize).max(1);
        self.bin_hi = ((top / bin_hz).ceil() as usize)
            .min(BINS - 1)
            .max(self.bin_lo + 1);
        let hop_s = self.hop as f32 / self.analysis_rate;
        self.snap_frames = (ONSET_SNAP_MS * 1e-3 * sr).round() as u64;
        self.novelty_release_log2 = hop_s / NOVELTY_RELEASE_S * std::f32::consts::LOG2_E;
        self.novelty_lag = ((NOVELTY_LAG_S / hop_s).round() as usize).max(1);
        self.novelty_smooth = 1.0 - (-hop_s / NOVELTY_SMOOTHING_S).exp();
        let bins = self.bin_hi - self.bin_lo;
        self.novelty_smoothed = vec![0.0; bins];
        self.band_log_power = vec![0.0; bins];
        self.novelty_history = vec![0.0; bins * self.novelty_lag];
        self.smooth_alpha = 1.0 - (-hop_s * 1000.0 / self.config.smoothing_ms).exp();
        self.tuning_alpha = 1.0 - (-hop_s / 2.0).exp();
        self.key_alpha = 1.0 - (-(hop_s as f64) / self.config.key_window_s as f64).exp();
        self.max_frames = spec.max_block_frames();
        self.max_channels = spec.channels();
        self.prepared = true;
        self.reset();
        Ok(())
    }

    fn process(&mut self, block: &mut AudioBuffer) {
        self.changes_len = 0;
        if !self.prepared || block.channels() == 0 {
            return;
        }
        let frames = block.frames().min(self.max_frames);
        let channels = block.channels().min(self.max_channels);
        let gain = 1.0 / channels as f32;
        let taps = self.fir.len();
        let d = self.decimation;
        let mut done = 0;
        while done < frames {
            let n = (frames - done).min(CHUNK);
            // Downmix into the FIR history after the last `taps - 1` samples.
            let fresh = &mut self.fir_history[taps - 1..taps - 1 + n];
            fresh.copy_from_slice(&block.channel(0)[done..done + n]);
            for ch in 1..channels {
                for (x, y) in fresh.iter_mut().zip(&block.channel(ch)[done..done + n]) {
                    *x += y;
                }
            }
            for x in fresh.iter_mut() {
                let v = *x * gain;
                // NaN, Inf and denormals are silence to the analysis.
                *x = if v.is_finite() && v.abs() >= 1e-30 {
                    v
                } else {
                    0.0
                };
            }
            // Decimate: one output per `d` inputs, continuing the phase.
            let chunk_start = self.frames_seen;
            let mut j = d - 1 - self.phase;
            while j < n {
                let y = dot(&self.fir_history[j..j + taps], &self.fir);
                self.frames_seen = chunk_start + j as u64 + 1;
                self.push_analysis_sample(y);
                j += d;
            }
            self.phase = (self.phase + n) % d;
            self.frames_seen = chunk_start + n as u64;
            self.fir_history.copy_within(n..n + taps - 1, 0);
            done += n;
        }
    }

    fn reset(&mut self) {
        self.fir_history.iter_mut().for_each(|x| *x = 0.0);
        self.phase = 0;
        self.ring.iter_mut().for_each(|x| *x = 0.0);
        self.ring_pos = 0;
        self.since_hop = 0;
        self.tuning_re = 1.0;
        self.tuning_im = 0.0;
        self.chroma = [0.0; 12];
        self.smoothed = [0.0; 12];
        self.key_chroma = [0.0; 12];
        self.current = Detection {
            label: None,
            confidence: 0.0,
            since_frame: 0,
        };
        self.candidate = None;
        self.candidate_hops = 0;
        self.raw_pos = 0;
        self.raw_len = 0;
        self.novelty_smoothed.iter_mut().for_each(|x| *x = 0.0);
        self.novelty_history.iter_mut().for_each(|x| *x = 0.0);
        self.novelty_pos = 0;
        self.novelty_reference = NOVELTY_FLOOR_LOG2;
        self.frames_seen = 0;
        self.changes_len = 0;
    }
}
