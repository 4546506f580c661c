//! Onset detection on the audio thread: SuperFlux on a log-mel spectrum.
//!
//! [`OnsetDetector`] is a [`Processor`] that listens and leaves its input
//! unchanged. Every hop (256 frames at 48 kHz, 5.3 ms) it takes a
//! Hann-windowed 1024-point FFT (kmidi_dsp::spectrum; sizes scale with the sample
//! rate), maps the power spectrum onto 40 mel bands (30 Hz to 16 kHz),
//! compresses it to log2, and computes the SuperFlux onset function: the
//! positive difference of each band against a 3-band maximum filter of the
//! spectrum one hop earlier, summed over bands. The maximum filter
//! suppresses vibrato and slow pitch changes. A frame is an onset when its
//! flux is the largest in the last 30 ms and the next hop, exceeds the mean
//! of the last 100 ms by a threshold, and comes at least 30 ms after the
//! previous onset. Onsets are reported one hop late (the look-ahead) with
//! their input frame.
//!
//! The flux of every hop is also kept in a ring (12 s by default), which
//! [`crate::beat`] uses for tempo and beat tracking. Beside it two more
//! rings tell whether a drum kit plays ([`crate::beat::Material`], which
//! picks the tempo prior): the flux of the bands from 9 kHz up, scaled to
//! the whole band count ([`OnsetDetector::broadband_envelope_into`]), where
//! hats and cymbals rise as much as anywhere; and the flux weighted by how
//! evenly it rose over the bands ([`OnsetDetector::spread_envelope_into`]),
//! as a drum hit rises everywhere at once.
//!
//! `process` makes no allocation, at any block size. NaN, infinite and
//! denormal samples are read as silence.

use kmidi_dsp::fastmath::fast_log2;
use kmidi_dsp::spectrum::{
    PowerSpectrum, TriangularBand, log_spaced_bands, superflux_rise, superflux_rise_and_squares,
};
use kmidi_dsp::{AudioBuffer, ConfigError, Processor, StreamSpec};

const MAX_ONSETS: usize = 64;
/// Analysis window, seconds (4096 points at 48 kHz): long enough that the
/// quarter-tone bands below resolve single bass notes.
const WINDOW_S: f32 = 0.085;
/// How far back the flux's reference frame lies, seconds. A legato note
/// grows over tens of milliseconds; comparing against a frame this far back
/// sees its whole rise instead of slices of it.
const LAG_S: f32 = 0.04;
/// Time constant of the band smoothing, seconds: it takes the frame-to-frame
/// jitter out of sustained tones before the flux is taken.
const SMOOTHING_S: f32 = 0.015;
/// Filter bands per octave (a quarter tone: a new note of any pitch lands
/// in bands of its own).
const BANDS_PER_OCTAVE: f32 = 24.0;
/// Lowest band centre, Hz.
const LOWEST_HZ: f32 = 30.0;
/// Compression: log10(1 + COMPRESSION * magnitude / reference); about
/// 60 dB below the reference the curve turns linear, which keeps noise
/// and reverb tails quiet.
const COMPRESSION: f32 = 1000.0;
/// The loudness reference never falls below this band magnitude (about
/// -100 dBFS for a sine): silence stays silence.
const REFERENCE_FLOOR: f32 = 1e-5;
/// Seconds for the loudness reference to fall by a factor of e after the
/// music gets quieter.
const REFERENCE_RELEASE_S: f32 = 10.0;

/// Bands centred from here up count as broadband, Hz: where the noise of
/// hi-hats and cymbals rises as strongly as a kit's low bands, and a
/// pitched instrument's attack has little left (its partials up there are
/// weak and few; a bright organ comes nearest).
const BROADBAND_HZ: f32 = 9000.0;

/// Settings of an [`OnsetDetector`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OnsetConfig {
    /// How far above the local mean the flux must rise, in log2 units summed
    /// over bands (0.1 to 100).
    pub threshold: f32,
    /// Minimum time between onsets, ms (5 to 500).
    pub min_gap_ms: f32,
    /// Seconds of onset envelope kept for tempo and beat tracking (1 to 120).
    pub envelope_seconds: f32,
}

impl Default for OnsetConfig {
    fn default() -> Self {
        Self {
            threshold: 3.0,
            min_gap_ms: 30.0,
            envelope_seconds: 12.0,
        }
    }
}

impl OnsetConfig {
    /// Checks every field.
    ///
    /// # Errors
    /// [`ConfigError`] naming the field and its range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check_f32("threshold", self.threshold, 0.1, 100.0, "")?;
        ConfigError::check_f32("min_gap_ms", self.min_gap_ms, 5.0, 500.0, " ms")?;
        ConfigError::check_f32("envelope_seconds", self.envelope_seconds, 1.0, 120.0, " s")?;
        Ok(())
    }
}

/// A detected onset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Onset {
    /// Input frame (from `prepare`/`reset`) of the onset.
    pub frame: u64,
    /// Its flux above the local mean.
    pub strength: f32,
}

/// SuperFlux onset detection; see the [module docs](self).
pub struct OnsetDetector {
    config: OnsetConfig,
    prepared: bool,
    /// The prepared block and channel maximums (frames and channels past
    /// them are not read).
    max_frames: usize,
    max_channels: usize,
    fft_size: usize,
    hop: usize,
    ring: Vec<f32>,
    ring_pos: usize,
    since_hop: usize,
    /// The shared front end (Hann window, FFT, power), made in `prepare`.
    spectrum: Option<PowerSpectrum>,
    filters: Vec<TriangularBand>,
    /// The last `lag` frames of smoothed, compressed band magnitudes, one
    /// row each.
    history: Vec<f32>,
    history_pos: usize,
    /// Hops back to the reference frame ([`LAG_S`]).
    lag: usize,
    /// Per-hop weight of the band smoothing ([`SMOOTHING_S`]).
    smooth: f32,
    smoothed: Vec<f32>,
    current: Vec<f32>,
    /// The loudness the bands are measured against: a peak follower of
    /// the loudest band, so the onset function does not depend on the
    /// input's level.
    reference: f32,
    reference_decay: f32,
    /// Flux history for the adaptive threshold and peak picking.
    recent: Vec<f32>,
    recent_pos: usize,
    pre_max: usize,
    pre_avg: usize,
    min_gap_hops: u64,
    hops: u64,
    last_onset_hop: Option<u64>,
    frames_seen: u64,
    envelope: Vec<f32>,
    /// The flux of the bands from [`BROADBAND_HZ`] up, per hop, scaled by
    /// all bands over those bands; written beside `envelope`.
    broadband: Vec<f32>,
    /// The flux per hop weighted by how evenly it is spread over the bands;
    /// written beside `envelope`.
    spread: Vec<f32>,
    envelope_pos: usize,
    envelope_len: usize,
    /// The first band centred at or above [`BROADBAND_HZ`].
    broadband_from: usize,
    onsets: Vec<Onset>,
    onsets_len: usize,
    pending: Option<(u64, f32, f32)>,
}

impl OnsetDetector {
    /// A detector with these settings; call `prepare` before `process`.
    pub fn new(config: OnsetConfig) -> Self {
        Self {
            config,
            prepared: false,
            max_frames: 0,
            max_channels: 0,
            fft_size: 1024,
            hop: 256,
            ring: Vec::new(),
            ring_pos: 0,
            since_hop: 0,
            spectrum: None,
            filters: Vec::new(),
            history: Vec::new(),
            history_pos: 0,
            lag: 1,
            smooth: 1.0,
            smoothed: Vec::new(),
            current: Vec::new(),
            reference: REFERENCE_FLOOR,
            reference_decay: 1.0,
            recent: Vec::new(),
            recent_pos: 0,
            pre_max: 6,
            pre_avg: 19,
            min_gap_hops: 6,
            hops: 0,
            last_onset_hop: None,
            frames_seen: 0,
            envelope: Vec::new(),
            broadband: Vec::new(),
            spread: Vec::new(),
            envelope_pos: 0,
            envelope_len: 0,
            broadband_from: 0,
            onsets: vec![
                Onset {
                    frame: 0,
                    strength: 0.0
                };
                MAX_ONSETS
            ],
            onsets_len: 0,
            pending: None,
        }
    }

    /// Onsets found during the last `process` call (at most 64).
    pub fn onsets(&self) -> &[Onset] {
        &self.onsets[..self.onsets_len]
    }

    /// Input frames per hop of the onset envelope.
    pub fn hop_frames(&self) -> usize {
        self.hop
    }

    /// Input frames in one analysis window. An envelope value (and an
    /// onset found at it) belongs to the middle of its window: half this
    /// before the end of its hop.
    pub fn window_frames(&self) -> usize {
        self.fft_size
    }

    /// The onset envelope (flux per hop), oldest first, into `out`
    /// (resized). Call it off the audio thread: it allocates if `out` is
    /// too small. Returns the input frame of the hop after the last value.
    pub fn envelope_into(&self, out: &mut Vec<f32>) -> u64 {
        self.ring_into(&self.envelope, out)
    }

    /// The broadband flux per hop, hop for hop beside
    /// [`envelope_into`](Self::envelope_into)'s: the flux of the bands
    /// centred from 9 kHz up, scaled by the number of all bands over theirs.
    /// Its sum over the envelope's is the share hats and cymbals raise
    /// toward 1 (noise rises in every band alike) and pitched music keeps
    /// well below. All zeros where the bands stop under 9 kHz (sample rates
    /// under 20 kHz). Allocates like `envelope_into`; returns the same
    /// frame.
    pub fn broadband_envelope_into(&self, out: &mut Vec<f32>) -> u64 {
        self.ring_into(&self.broadband, out)
    }

    /// The flux per hop weighted by how evenly it rose over the bands, hop
    /// for hop beside [`envelope_into`](Self::envelope_into)'s: each hop's
    /// flux times `flux² / (bands × Σ rise²)`, which is 1 when every band
    /// rose alike and `1 / bands` when one did. Its sum over the
    /// envelope's is the spread a drum hit (a kick, a snare, claps) raises
    /// toward 1 and the partials of pitched notes keep low. Allocates like
    /// `envelope_into`; returns the same frame.
    pub fn spread_envelope_into(&self, out: &mut Vec<f32>) -> u64 {
        self.ring_into(&self.spread, out)
    }

    /// One of the hop rings, oldest first, into `out`.
    fn ring_into(&self, ring: &[f32], out: &mut Vec<f32>) -> u64 {
        out.clear();
        let n = ring.len();
        let start = (self.envelope_pos + n - self.envelope_len) % n.max(1);
        for i in 0..self.envelope_len {
            out.push(ring[(start + i) % n]);
        }
        self.frames_seen - self.frames_seen % self.hop as u64
    }

    fn analyse(&mut self) {
        let n = self.fft_size;
        let Some(spectrum) = self.spectrum.as_mut() else {
            return;
        };
        if !spectrum.compute(&self.ring, self.ring_pos) {
            return;
        }
        // Magnitudes scaled so that a full-scale sine peaks near n/4, as
        // SuperFlux (madmom) has them; log10(1 + m) is then linear near
        // silence and logarithmic for music, which keeps noise quiet.
        let power = spectrum.power();
        // Band magnitudes, measured against the loudness reference.
        let mut loudest = 0.0f32;
        for (b, f) in self.filters.iter().enumerate() {
            let e = f.apply(power).sqrt();
            self.current[b] = e;
            loudest = loudest.max(e);
        }
        self.reference = (self.reference * self.reference_decay)
            .max(loudest)
            .max(REFERENCE_FLOOR);
        let scale = COMPRESSION / self.reference;
        let a = self.smooth;
        for (m, sm) in self.current.iter_mut().zip(self.smoothed.iter_mut()) {
            let v = fast_log2(1.0 + scale * *m) * std::f32::consts::LOG10_2;
            *sm += a * (v - *sm);
            *m = *sm;
        }
        // SuperFlux: rise against a 3-band maximum of the frame `lag` hops
        // back.
        let bands = self.current.len();
        let row = self.history_pos * bands;
        let reference = &self.history[row..row + bands];
        let (flux, squares) = superflux_rise_and_squares(&self.current, reference);
        // The flux times how evenly it is spread over the bands (1 when
        // every band rises alike, 1/bands when one does).
        let spread = if squares > 0.0 {
            flux * flux * flux / (bands as f32 * squares)
        } else {
            0.0
        };
        let from = self.broadband_from;
        let broadband = if from < bands {
            superflux_rise(&self.current[from..], &reference[from..]) * bands as f32
                / (bands - from) as f32
        } else {
            0.0
        };
        self.history[row..row + bands].copy_from_slice(&self.current);
        self.history_pos = (self.history_pos + 1) % self.lag;
        self.hops += 1;
        let hop_end = self.frames_seen;
        // Envelope for tempo tracking.
        let len = self.envelope.len();
        self.envelope[self.envelope_pos] = flux;
        self.broadband[self.envelope_pos] = broadband;
        self.spread[self.envelope_pos] = spread;
        self.envelope_pos = (self.envelope_pos + 1) % len;
        self.envelope_len = (self.envelope_len + 1).min(len);
        // Peak picking with one hop of look-ahead: decide the pending hop
        // now that its successor is known.
        if let Some((hop, value, mean)) = self.pending.take()
            && value >= flux
        {
            let gap_ok = self
                .last_onset_hop
                .is_none_or(|l| hop - l >= self.min_gap_hops);
            if gap_ok && value >= mean + self.config.threshold {
                self.last_onset_hop = Some(hop);
                // The onset sits about half a window before the hop's end.
                let frame = (hop_end - self.hop as u64).saturating_sub(n as u64 / 2);
                if self.onsets_len < MAX_ONSETS {
                    self.onsets[self.onsets_len] = Onset {
                        frame,
                        strength: value - mean,
                    };
                    self.onsets_len += 1;
                }
            }
        }
        // Is this hop the maximum of the last pre_max hops?
        let rlen = self.recent.len();
        let mut max_prev = f32::MIN;
        for i in 1..=self.pre_max {
            max_prev = max_prev.max(self.recent[(self.recent_pos + rlen - i) % rlen]);
        }
        let mut sum = 0.0f32;
        for i in 1..=self.pre_avg {
            sum += self.recent[(self.recent_pos + rlen - i) % rlen];
        }
        let mean = sum / self.pre_avg as f32;
        if flux > max_prev {
            self.pending = Some((self.hops, flux, mean));
        }
        self.recent[self.recent_pos] = flux;
        self.recent_pos = (self.recent_pos + 1) % rlen;
    }
}

impl Processor for OnsetDetector {
    fn prepare(&mut self, spec: &StreamSpec) -> Result<(), ConfigError> {
        self.config.validate()?;
        let sr = spec.sample_rate() as f32;
        // About 85 ms windows and 10.7 ms hops at any rate (one hop per
        // 512-frame block at 48 kHz).
        self.fft_size = ((sr * WINDOW_S) as usize)
            .next_power_of_two()
            .clamp(256, 32768);
        self.hop = self.fft_size / 8;
        self.ring = vec![0.0; self.fft_size];
        self.spectrum = Some(PowerSpectrum::new(self.fft_size));
        // Log-spaced triangles, BANDS_PER_OCTAVE from LOWEST_HZ to
        // min(16 kHz, 0.45 sr).
        self.filters = log_spaced_bands(
            sr,
            self.fft_size,
            LOWEST_HZ,
            BANDS_PER_OCTAVE,
            (0.45 * sr).min(16_000.0),
        );
        let bands = self.filters.len();
        let bin_hz = sr / self.fft_size as f32;
        self.broadband_from = self
            .filters
            .iter()
            .position(|f| {
                // The centre is the bin of the largest weight.
                let peak = f
                    .weights
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(i, _)| i);
                (f.start + peak) as f32 * bin_hz >= BROADBAND_HZ
            })
            .unwrap_or(bands);
        let hop_s = self.hop as f32 / sr;
        self.lag = ((LAG_S / hop_s).round() as usize).max(1);
        self.history = vec![0.0; self.lag * bands];
        self.current = vec![0.0; bands];
        self.smoothed = vec![0.0; bands];
        self.smooth = 1.0 - (-hop_s / SMOOTHING_S).exp();
        self.reference_decay = (-hop_s / REFERENCE_RELEASE_S).exp();
        self.pre_max = ((0.03 / hop_s).round() as usize).max(1);
        self.pre_avg = ((0.1 / hop_s).round() as usize).max(1);
        self.recent = vec![0.0; self.pre_avg.max(self.pre_max) + 1];
        self.min_gap_hops = ((self.config.min_gap_ms / 1000.0 / hop_s).round() as u64).max(1);
        let env = ((self.config.envelope_seconds / hop_s).ceil() as usize).max(16);
        self.envelope = vec![0.0; env];
        self.broadband = vec![0.0; env];
        self.spread = vec![0.0; env];
        self.max_frames = spec.max_block_frames();
        self.max_channels = spec.channels();
        self.prepared = true;
        self.reset();
        Ok(())
    }

    fn process(&mut self, block: &mut AudioBuffer) {
        self.onsets_len = 0;
        if !self.prepared || block.channels() == 0 {
            return;
        }
        let frames = block.frames().min(self.max_frames);
        let channels = block.channels().min(self.max_channels);
        let gain = 1.0 / channels as f32;
        let mut done = 0;
        while done < frames {
            // Up to the next hop, and not past the end of the ring.
            let n = (self.hop - self.since_hop)
                .min(frames - done)
                .min(self.fft_size - self.ring_pos);
            let dst = &mut self.ring[self.ring_pos..self.ring_pos + n];
            dst.copy_from_slice(&block.channel(0)[done..done + n]);
            for ch in 1..channels {
                for (x, y) in dst.iter_mut().zip(&block.channel(ch)[done..done + n]) {
                    *x += y;
                }
            }
            for x in dst.iter_mut() {
                let v = *x * gain;
                // NaN, Inf and denormals are silence to the analysis.
                *x = if v.is_finite() && v.abs() >= 1e-30 {
                    v
                } else {
                    0.0
                };
            }
            self.ring_pos = (self.ring_pos + n) % self.fft_size;
            self.frames_seen += n as u64;
            self.since_hop += n;
            done += n;
            if self.since_hop == self.hop {
                self.since_hop = 0;
                self.analyse();
            }
        }
    }

    fn reset(&mut self) {
        self.ring.iter_mut().for_each(|x| *x = 0.0);
        self.ring_pos = 0;
        self.since_hop = 0;
        self.history.iter_mut().for_each(|x| *x = 0.0);
        self.history_pos = 0;
        self.current.iter_mut().for_each(|x| *x = 0.0);
        self.smoothed.iter_mut().for_each(|x| *x = 0.0);
        self.reference = REFERENCE_FLOOR;
        self.recent.iter_mut().for_each(|x| *x = 0.0);
        self.recent_pos = 0;
        self.hops = 0;
        self.last_onset_hop = None;
        self.frames_seen = 0;
        self.envelope.iter_mut().for_each(|x| *x = 0.0);
        self.broadband.iter_mut().for_each(|x| *x = 0.0);
        self.spread.iter_mut().for_each(|x| *x = 0.0);
        self.envelope_pos = 0;
        self.envelope_len = 0;
        self.onsets_len = 0;
        self.pending = None;
    }
}
