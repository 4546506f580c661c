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

use kmidi_dsp::spectrum::{PowerSpectrum, TriangularBand, mel_filterbank};

use crate::MlError;

pub use kmidi_dsp::spectrum::MelScale;

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

/// A mel spectrogram analyser; see the [module docs](self).
pub struct MelSpectrogram {
    config: MelConfig,
    /// The shared front end (Hann window, FFT, power).
    spectrum: PowerSpectrum,
    bands: Vec<TriangularBand>,
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
        let bands = mel_filterbank(
            config.sample_rate,
            n_fft,
            config.n_mels,
            config.fmin,
            config.fmax,
            config.scale,
            config.slaney_norm,
        );
        Ok(Self {
            spectrum: PowerSpectrum::new(n_fft),
            ring: vec![0.0; n_fft],
            since_hop: 0,
            latest: vec![0.0; config.n_mels],
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
        // The ring is kept in time order: its oldest sample is at 0.
        if !self.spectrum.compute(&self.ring, 0) {
            out.fill(0.0);
            return;
        }
        let power = self.spectrum.power();
        for (o, b) in out.iter_mut().zip(&self.bands) {
            *o = b.apply(power);
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
