//! Mel spectrograms that match librosa, offline and per hop on the audio
//! thread.
//!
//! [`MelSpectrogram`] computes what `librosa.feature.melspectrogram`
//! computes with its defaults: a periodic Hann window of `n_fft` (2048),
//! frames every `hop` (512), centred with zero padding, power 2, and 128
//! mel bands on the Slaney scale with Slaney (area) normalization; the HTK
//! scale and unnormalized bands are options. The filterbank is built the
//! way librosa builds it (in f64, stored as f32). A test compares it with
//! reference values librosa 0.11 wrote (`scripts/ml/make_mel_reference.py`).
//!
//! [`MelSpectrogram::push`] is the streaming form: feed blocks of any size,
//! and every frame they complete (one per hop, several for a block longer
//! than the hop) is handed to a callback, without allocating.
//!
//! ```
//! use kmidi_ml::features::{MelConfig, MelSpectrogram};
//! let mut mel = MelSpectrogram::new(MelConfig::librosa_default(48_000.0))?;
//! let tone: Vec<f32> = (0..48_000).map(|i| (i as f32 * 0.0576).sin()).collect(); // 440 Hz
//! let frames = mel.analyze(&tone);
//! assert_eq!(frames.len(), (1 + 48_000 / 512) * 128);
//! # Ok::<(), kmidi_ml::MlError>(())
//! ```

use std::sync::Arc;

use kmidi_dsp::simd::dot;
use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use crate::MlError;

/// Mel scale formula.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MelScale {
    /// Slaney's: linear below 1 kHz, logarithmic above (librosa's default).
    Slaney,
    /// HTK's: 2595 · log10(1 + f / 700).
    Htk,
}

/// Mel spectrogram settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MelConfig {
    /// Sample rate, Hz.
    pub sample_rate: f64,
    /// FFT size (a power of two, 64 to 16384).
    pub n_fft: usize,
    /// Frames between analyses (1 to `n_fft`).
    pub hop: usize,
    /// Mel bands (1 to 512).
    pub n_mels: usize,
    /// Lowest band edge, Hz.
    pub fmin: f64,
    /// Highest band edge, Hz (at most Nyquist).
    pub fmax: f64,
    /// Mel scale.
    pub scale: MelScale,
    /// Slaney area normalization of each band (librosa's `norm="slaney"`).
    pub slaney_norm: bool,
}

impl MelConfig {
    /// librosa's `melspectrogram` defaults at `sample_rate`.
    pub fn librosa_default(sample_rate: f64) -> Self {
        Self {
            sample_rate,
            n_fft: 2048,
            hop: 512,
            n_mels: 128,
            fmin: 0.0,
            fmax: sample_rate / 2.0,
            scale: MelScale::Slaney,
            slaney_norm: true,
        }
    }
}

fn hz_to_mel(f: f64, scale: MelScale) -> f64 {
    match scale {
        MelScale::Htk => 2595.0 * (1.0 + f / 700.0).log10(),
        MelScale::Slaney => {
            let f_sp = 200.0 / 3.0;
            let min_log_hz = 1000.0;
            let logstep = 6.4f64.ln() / 27.0;
            if f >= min_log_hz {
                min_log_hz / f_sp + (f / min_log_hz).ln() / logstep
            } else {
                f / f_sp
            }
        }
    }
}

fn mel_to_hz(m: f64, scale: MelScale) -> f64 {
    match scale {
        MelScale::Htk => 700.0 * (10f64.powf(m / 2595.0) - 1.0),
        MelScale::Slaney => {
            let f_sp = 200.0 / 3.0;
            let min_log_hz = 1000.0;
            let min_log_mel = min_log_hz / f_sp;
            let logstep = 6.4f64.ln() / 27.0;
            if m >= min_log_mel {
                min_log_hz * (logstep * (m - min_log_mel)).exp()
            } else {
                f_sp * m
            }
        }
    }
}

struct Band {
    start: usize,
    weights: Vec<f32>,
}

/// A mel spectrogram analyser; see the [module docs](self).
pub struct MelSpectrogram {
    config: MelConfig,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    bands: Vec<Band>,
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    power: Vec<f32>,
    // Streaming state.
    ring: Vec<f32>,
    since_hop: usize,
    latest: Vec<f32>,
}

impl MelSpectrogram {
    /// An analyser.
    ///
    /// # Errors
    /// [`MlError::OutOfRange`] naming the setting and its range.
    pub fn new(config: MelConfig) -> Result<Self, MlError> {
        let bad = |what: &'static str, value: String, allowed: &'static str| {
            Err(MlError::OutOfRange {
                what,
                value,
                allowed,
            })
        };
        if !(config.sample_rate.is_finite() && (8_000.0..=384_000.0).contains(&config.sample_rate))
        {
            return bad(
                "sample_rate",
                config.sample_rate.to_string(),
                "8000 to 384000 Hz",
            );
        }
        if !config.n_fft.is_power_of_two() || !(64..=16384).contains(&config.n_fft) {
            return bad(
                "n_fft",
                config.n_fft.to_string(),
                "a power of two from 64 to 16384",
            );
        }
        if config.hop == 0 || config.hop > config.n_fft {
            return bad("hop", config.hop.to_string(), "1 to n_fft");
        }
        if config.n_mels == 0 || config.n_mels > 512 {
            return bad("n_mels", config.n_mels.to_string(), "1 to 512");
        }
        let nyquist = config.sample_rate / 2.0;
        if !(config.fmin >= 0.0 && config.fmin < config.fmax && config.fmax <= nyquist + 1e-9) {
            return bad(
                "fmin/fmax",
                format!("{}..{}", config.fmin, config.fmax),
                "0 <= fmin < fmax <= sample_rate / 2",
            );
        }
        let n_fft = config.n_fft;
        let bins = n_fft / 2 + 1;
        // librosa: mel_frequencies(n_mels + 2, fmin, fmax), then triangles.
        let (lo, hi) = (
            hz_to_mel(config.fmin, config.scale),
            hz_to_mel(config.fmax, config.scale),
        );
        let mel_f: Vec<f64> = (0..config.n_mels + 2)
            .map(|i| {
                mel_to_hz(
                    lo + (hi - lo) * i as f64 / (config.n_mels + 1) as f64,
                    config.scale,
                )
            })
            .collect();
        let fft_f: Vec<f64> = (0..bins)
            .map(|k| k as f64 * config.sample_rate / n_fft as f64)
            .collect();
        let bands = (0..config.n_mels)
            .map(|i| {
                let enorm = if config.slaney_norm {
                    2.0 / (mel_f[i + 2] - mel_f[i])
                } else {
                    1.0
                };
                let w: Vec<f32> = fft_f
                    .iter()
                    .map(|&f| {
                        let lower = (f - mel_f[i]) / (mel_f[i + 1] - mel_f[i]);
                        let upper = (mel_f[i + 2] - f) / (mel_f[i + 2] - mel_f[i + 1]);
                        // librosa computes in f64 and stores f32; then it
                        // multiplies the stored f32 by the f64 norm.
                        let tri = lower.min(upper).max(0.0) as f32;
                        (tri as f64 * enorm) as f32
                    })
                    .collect();
                let start = w.iter().position(|&x| x != 0.0).unwrap_or(0);
                let end = w.iter().rposition(|&x| x != 0.0).map_or(start, |e| e + 1);
                Band {
                    start,
                    weights: w[start..end].to_vec(),
                }
            })
            .collect();
        let mut planner = RealFftPlanner::<f32>::new();
        let fft = planner.plan_fft_forward(n_fft);
        let window = (0..n_fft)
            .map(|i| (0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n_fft as f64).cos()) as f32)
            .collect();
        Ok(Self {
            input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            power: vec![0.0; bins],
            ring: vec![0.0; n_fft],
            since_hop: 0,
            latest: vec![0.0; config.n_mels],
            fft,
            window,
            bands,
            config,
        })
    }

    /// The settings.
    pub fn config(&self) -> &MelConfig {
        &self.config
    }

    /// Mel power of one frame of `n_fft` samples into `out` (`n_mels`).
    fn frame_power(&mut self, out: &mut [f32]) {
        for ((i, w), x) in self.input.iter_mut().zip(&self.window).zip(&self.ring[..]) {
            *i = w * x;
        }
        if self
            .fft
            .process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch)
            .is_err()
        {
            out.fill(0.0);
            return;
        }
        for (p, c) in self.power.iter_mut().zip(&self.spectrum) {
            *p = c.norm_sqr();
        }
        for (o, b) in out.iter_mut().zip(&self.bands) {
            *o = dot(&b.weights, &self.power[b.start..b.start + b.weights.len()]);
        }
    }

    /// The whole mel power spectrogram of `signal`, frames × bands
    /// (frame-major), centred with zero padding as librosa does:
    /// `1 + len / hop` frames. Allocates its result: for offline use.
    pub fn analyze(&mut self, signal: &[f32]) -> Vec<f32> {
        let n_fft = self.config.n_fft;
        let hop = self.config.hop;
        let pad = n_fft / 2;
        let frames = 1 + signal.len() / hop;
        let mut out = vec![0.0f32; frames * self.config.n_mels];
        for t in 0..frames {
            let start = t * hop; // in padded coordinates
            for (j, slot) in self.ring.iter_mut().enumerate() {
                let p = start + j;
                *slot = if p >= pad && p - pad < signal.len() {
                    signal[p - pad]
                } else {
                    0.0
                };
            }
            let n_mels = self.config.n_mels;
            let mut row = vec![0.0f32; n_mels];
            self.frame_power(&mut row);
            out[t * n_mels..(t + 1) * n_mels].copy_from_slice(&row);
        }
        out
    }

    /// Streaming: appends `block` (any length) and calls `on_frame` with
    /// the log10 mel power of every frame it completes, in order, each
    /// covering the `n_fft` samples before its hop boundary. Returns how
    /// many frames it completed. No allocation.
    ///
    /// A block longer than the hop completes several frames; every one of
    /// them is delivered (with block 1024 and hop 512 the old single-frame
    /// return delivered 357 of 713).
    pub fn push(&mut self, block: &[f32], mut on_frame: impl FnMut(&[f32])) -> usize {
        let n_fft = self.config.n_fft;
        let mut frames = 0;
        let mut done = 0;
        while done < block.len() {
            let n = (self.config.hop - self.since_hop).min(block.len() - done);
            // Keep the ring in time order: shift left, append (n ≤ hop).
            self.ring.copy_within(n.., 0);
            let dst = &mut self.ring[n_fft - n..];
            for (d, &x) in dst.iter_mut().zip(&block[done..done + n]) {
                *d = kmidi_dsp::sample::usable_or_silence(x);
            }
            self.since_hop += n;
            done += n;
            if self.since_hop == self.config.hop {
                self.since_hop = 0;
                let mut latest = std::mem::take(&mut self.latest);
                self.frame_power(&mut latest);
                for v in latest.iter_mut() {
                    *v = (*v + 1e-10).log10();
                }
                on_frame(&latest);
                self.latest = latest;
                frames += 1;
            }
        }
        frames
    }

    /// log10 of the mel power of the latest streamed frame (`n_mels`).
    pub fn latest_log_mel(&self) -> &[f32] {
        &self.latest
    }
}
