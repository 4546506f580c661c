//! Polyphonic note transcription with Spotify's Basic Pitch (ICASSP 2022,
//! Apache-2.0): audio in, notes out, as kmidi-groove events or a Standard
//! MIDI File.
//!
//! The model is `nmp.onnx` from the `basic-pitch` 0.4.0 wheel on PyPI.
//! `scripts/fetch_onnxruntime.sh` fetches it with ONNX Runtime, checks its
//! sha256 and puts it in `target/models/`; [`BasicPitch::open`] checks the
//! sha256 again and the model's inputs and outputs before the first use,
//! and names the fetch script when the file is missing.
//!
//! The pipeline is Basic Pitch's own (`basic_pitch/inference.py` and
//! `note_creation.py` of that wheel), step for step:
//!
//! 1. the audio is mixed to mono and resampled to 22 050 Hz
//!    ([`kmidi_dsp::resampler`], rubato's FFT resampler, delay removed);
//! 2. 3 840 samples of silence (half the overlap) go in front, and windows
//!    of 43 844 samples (2 s less one hop) are taken every 36 164 samples,
//!    so consecutive windows share 30 frames of 256 samples; the last is
//!    padded with silence;
//! 3. each window gives 172 frames of note, onset (88 piano keys each) and
//!    contour (264 third-of-a-semitone bins) posteriors; 15 frames are cut
//!    from each end, the rest are laid end to end and cut to the length of
//!    the audio (86 frames per second);
//! 4. [`notes::decode`] turns the posteriors into notes with Basic Pitch's
//!    defaults (onset threshold 0.5, frame threshold 0.3, notes of at least
//!    127.7 ms, onsets also inferred from rising frame posteriors, and the
//!    "Melodia trick" for notes whose onset was missed), and reads a pitch
//!    bend per frame from the contour posteriors.
//!
//! [`stream`] runs steps 1-3 on a worker thread fed through a wait-free
//! ring, so an audio thread can hand over its blocks while it plays;
//! [`Transcription`] converts the result to [`kmidi_groove`]'s
//! [`FrameEvent`](kmidi_groove::event::FrameEvent)s and [`Note`](kmidi_groove::event::Note)s
//! and writes a MIDI file.
//!
//! ```no_run
//! use kmidi_ml::transcription::{BasicPitch, NoteParams, transcribe};
//! let mut model = BasicPitch::open(BasicPitch::default_path())?;
//! // One second of A4 at 44.1 kHz.
//! let audio: Vec<f32> = (0..44_100)
//!     .map(|i| (i as f32 * 440.0 * std::f32::consts::TAU / 44_100.0).sin() * 0.5)
//!     .collect();
//! let t = transcribe(&mut model, &audio, 44_100, &NoteParams::default())?;
//! for n in &t.notes {
//!     println!("{:.3}-{:.3} s key {}", n.start_s, n.end_s, n.key);
//! }
//! # Ok::<(), kmidi_ml::MlError>(())
//! ```

use std::path::{Path, PathBuf};

use kmidi_dsp::AudioBuffer;
use kmidi_dsp::resampler::{Resampler, ResamplerConfig};
use sha2::{Digest, Sha256};

use crate::MlError;
use crate::session::{Element, ModelContract, ModelSession, SessionConfig, TensorSpec};

pub mod midi;
pub mod notes;
pub mod stream;

pub use notes::{NoteParams, TranscribedNote};

/// The model's sample rate, Hz.
pub const MODEL_SAMPLE_RATE: u32 = 22_050;
/// Samples per posterior frame at [`MODEL_SAMPLE_RATE`].
pub const FRAME_HOP: usize = 256;
/// Posterior frames per second as Basic Pitch counts them (22 050 / 256,
/// rounded down).
pub const FRAMES_PER_SECOND: usize = MODEL_SAMPLE_RATE as usize / FRAME_HOP;
/// Samples in one model window: two seconds less one hop.
pub const WINDOW_SAMPLES: usize = 2 * MODEL_SAMPLE_RATE as usize - FRAME_HOP;
/// Frames the model gives for one window.
pub const WINDOW_FRAMES: usize = 2 * FRAMES_PER_SECOND;
/// Frames consecutive windows share.
pub const OVERLAP_FRAMES: usize = 30;
/// Samples consecutive windows share.
pub const OVERLAP_SAMPLES: usize = OVERLAP_FRAMES * FRAME_HOP;
/// Samples from one window's start to the next.
pub const WINDOW_HOP_SAMPLES: usize = WINDOW_SAMPLES - OVERLAP_SAMPLES;
/// Frames kept from each window (the middle, without half the overlap at
/// either end).
pub const KEPT_FRAMES: usize = WINDOW_FRAMES - OVERLAP_FRAMES;
/// Piano keys in the note and onset posteriors (A0 to C8).
pub const KEYS: usize = 88;
/// The MIDI key of the lowest posterior bin (A0).
pub const LOWEST_KEY: u8 = 21;
/// Contour bins: three per semitone over the 88 keys.
pub const CONTOUR_BINS: usize = 3 * KEYS;

/// The model file, as `scripts/fetch_onnxruntime.sh` names it.
pub const MODEL_FILE: &str = "basic_pitch-0.4.0-nmp.onnx";
/// sha256 of `basic_pitch/saved_models/icassp_2022/nmp.onnx` in the
/// basic-pitch 0.4.0 wheel (the fetch script pins the same value; a test
/// holds the two together).
pub const MODEL_SHA256: &str = "2c3c1d144bfa61ad236e92e169c13535c880469a12a047d4e73451f2c059a0ec";

const INPUT: &str = "serving_default_input_2:0";
const OUT_CONTOUR: &str = "StatefulPartitionedCall:0";
const OUT_NOTE: &str = "StatefulPartitionedCall:1";
const OUT_ONSET: &str = "StatefulPartitionedCall:2";

/// The three posteriorgrams over a whole input, one row per frame (86 per
/// second), values in 0..1.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Posteriors {
    /// Frames (rows).
    pub frames: usize,
    /// Note (frame) posteriors: `frames × 88`, row-major.
    pub note: Vec<f32>,
    /// Onset posteriors: `frames × 88`, row-major.
    pub onset: Vec<f32>,
    /// Contour posteriors: `frames × 264`, row-major.
    pub contour: Vec<f32>,
}

impl Posteriors {
    /// Keeps the first `frames` rows.
    fn truncate(&mut self, frames: usize) {
        let frames = frames.min(self.frames);
        self.frames = frames;
        self.note.truncate(frames * KEYS);
        self.onset.truncate(frames * KEYS);
        self.contour.truncate(frames * CONTOUR_BINS);
    }
}

/// The Basic Pitch model in an ONNX Runtime session (one thread, batch 1).
pub struct BasicPitch {
    session: ModelSession,
}

impl BasicPitch {
    /// Where `scripts/fetch_onnxruntime.sh` puts the model: the directory
    /// `KMIDI_MODELS_DIR` names (at run time, or else as `.cargo/config.toml`
    /// set it at build time: the workspace's `target/models`).
    pub fn default_path() -> PathBuf {
        std::env::var_os("KMIDI_MODELS_DIR")
            .map(PathBuf::from)
            .or_else(|| option_env!("KMIDI_MODELS_DIR").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("target/models"))
            .join(MODEL_FILE)
    }

    /// Opens the model at `path` after checking its sha256 and its inputs
    /// and outputs.
    ///
    /// # Errors
    /// [`MlError::Model`] when the file is missing (naming the fetch
    /// script), unreadable or not the pinned model; the ONNX Runtime
    /// errors of [`ModelSession::from_bytes`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, MlError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| MlError::Model {
            model: name.clone(),
            detail: if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "not found; run scripts/fetch_onnxruntime.sh, which fetches {MODEL_FILE} from the basic-pitch 0.4.0 wheel (or set KMIDI_MODELS_DIR to the directory holding it)"
                )
            } else {
                e.to_string()
            },
            source: Some(kmidi_dsp::Cause::new(e)),
        })?;
        let digest: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if digest != MODEL_SHA256 {
            return Err(MlError::Model {
                model: name,
                detail: format!(
                    "sha256 is {digest}, not basic-pitch 0.4.0's nmp.onnx ({MODEL_SHA256}); delete it and run scripts/fetch_onnxruntime.sh"
                ),
                source: None,
            });
        }
        // In the order the file declares them.
        let contract = ModelContract {
            inputs: vec![TensorSpec::new(
                INPUT,
                Element::F32,
                &[-1, WINDOW_SAMPLES as i64, 1],
            )],
            outputs: vec![
                TensorSpec::new(
                    OUT_ONSET,
                    Element::F32,
                    &[-1, WINDOW_FRAMES as i64, KEYS as i64],
                ),
                TensorSpec::new(
                    OUT_NOTE,
                    Element::F32,
                    &[-1, WINDOW_FRAMES as i64, KEYS as i64],
                ),
                TensorSpec::new(
                    OUT_CONTOUR,
                    Element::F32,
                    &[-1, WINDOW_FRAMES as i64, CONTOUR_BINS as i64],
                ),
            ],
        };
        let session = ModelSession::from_bytes(&name, &bytes, contract, SessionConfig::default())?;
        Ok(Self { session })
    }

    /// Runs one window of [`WINDOW_SAMPLES`] samples at 22 050 Hz and
    /// appends its middle [`KEPT_FRAMES`] frames to `out`.
    ///
    /// # Errors
    /// [`MlError::Input`] for a window of another length; [`MlError::Run`]
    /// if ONNX Runtime fails.
    pub fn run_window(&mut self, window: &[f32], out: &mut Posteriors) -> Result<(), MlError> {
        self.session.set_input_f32(INPUT, window)?;
        self.session.run()?;
        let half = OVERLAP_FRAMES / 2;
        for (name, dst, width) in [
            (OUT_NOTE, &mut out.note, KEYS),
            (OUT_ONSET, &mut out.onset, KEYS),
            (OUT_CONTOUR, &mut out.contour, CONTOUR_BINS),
        ] {
            let all = self.session.output(name)?;
            dst.extend_from_slice(&all[half * width..(half + KEPT_FRAMES) * width]);
        }
        out.frames += KEPT_FRAMES;
        Ok(())
    }
}

/// The [module docs](self)' pipeline: audio at any rate in, notes out. Feed
/// it with [`push`](Self::push) as the audio comes and call
/// [`finish`](Self::finish) at the end; the model runs as soon as a window
/// is complete, so memory stays at one window plus the posteriors.
pub struct Transcriber {
    resampler: Option<Resampler>,
    /// Input frames per resampler call.
    chunk: usize,
    /// Input waiting for a whole resampler chunk.
    pending: AudioBuffer,
    pending_fill: usize,
    /// Resampled output frames still to drop (the resampler's delay).
    delay_left: usize,
    input_frames: u64,
    input_rate: u32,
    /// 22.05 kHz samples from the next window's start on.
    buffer: Vec<f32>,
    /// Samples (after the leading half overlap) that went into `buffer`.
    produced: u64,
    /// Samples of the padded signal already dropped from `buffer`'s front.
    dropped: u64,
    posteriors: Posteriors,
    windows: u64,
}

impl Transcriber {
    /// A builder for mono audio at `input_rate` Hz (8 000 to 384 000).
    ///
    /// # Errors
    /// [`MlError::OutOfRange`] for a rate the resampler does not take.
    pub fn new(input_rate: u32) -> Result<Self, MlError> {
        let chunk = 1024;
        let resampler = if input_rate == MODEL_SAMPLE_RATE {
            None
        } else {
            Some(
                Resampler::new(ResamplerConfig::new(
                    input_rate,
                    MODEL_SAMPLE_RATE,
                    1,
                    chunk,
                ))
                .map_err(|_| MlError::OutOfRange {
                    what: "input sample rate",
                    value: input_rate.to_string(),
                    allowed: "8000 to 384000 Hz",
                })?,
            )
        };
        let delay_left = resampler.as_ref().map_or(0, Resampler::latency_frames);
        let mut buffer = Vec::with_capacity(2 * WINDOW_SAMPLES);
        buffer.resize(OVERLAP_SAMPLES / 2, 0.0);
        Ok(Self {
            resampler,
            chunk,
            pending: AudioBuffer::new(1, chunk),
            pending_fill: 0,
            delay_left,
            input_frames: 0,
            input_rate,
            buffer,
            produced: 0,
            dropped: 0,
            posteriors: Posteriors::default(),
            windows: 0,
        })
    }

    /// Model windows run so far.
    pub fn windows(&self) -> u64 {
        self.windows
    }

    /// Input frames taken so far.
    pub fn input_frames(&self) -> u64 {
        self.input_frames
    }

    /// Takes mono samples, resamples them and runs every window they
    /// complete.
    ///
    /// # Errors
    /// As [`BasicPitch::run_window`].
    pub fn push(&mut self, model: &mut BasicPitch, mono: &[f32]) -> Result<(), MlError> {
        self.input_frames += mono.len() as u64;
        let mut rest = mono;
        while !rest.is_empty() {
            let take = (self.chunk - self.pending_fill).min(rest.len());
            self.pending.channel_capacity_mut(0)[self.pending_fill..self.pending_fill + take]
                .copy_from_slice(&rest[..take]);
            self.pending_fill += take;
            rest = &rest[take..];
            if self.pending_fill == self.chunk {
                self.resample_pending();
            }
        }
        self.run_ready(model)
    }

    fn resample_pending(&mut self) {
        let n = self.pending_fill;
        self.pending.set_frames_clamped(n);
        self.pending_fill = 0;
        let out = match self.resampler.as_mut() {
            None => {
                self.produced += n as u64;
                self.buffer.extend(
                    self.pending.channel(0)[..n]
                        .iter()
                        .map(|&x| kmidi_dsp::sample::usable_or_silence(x)),
                );
                return;
            }
            Some(rs) => match rs.process(&self.pending) {
                Ok(out) => out.channel(0),
                // The block has one channel and at most `chunk` frames, as
                // configured; `process` refuses nothing else.
                Err(_) => return,
            },
        };
        let skip = self.delay_left.min(out.len());
        self.delay_left -= skip;
        self.produced += (out.len() - skip) as u64;
        self.buffer.extend_from_slice(&out[skip..]);
    }

    fn run_ready(&mut self, model: &mut BasicPitch) -> Result<(), MlError> {
        while self.buffer.len() >= WINDOW_SAMPLES {
            model.run_window(&self.buffer[..WINDOW_SAMPLES], &mut self.posteriors)?;
            self.windows += 1;
            self.buffer.drain(..WINDOW_HOP_SAMPLES);
            self.dropped += WINDOW_HOP_SAMPLES as u64;
        }
        Ok(())
    }

    /// Resamples what is left, runs the last windows (padded with silence),
    /// cuts the posteriors to the input's length and decodes the notes.
    ///
    /// # Errors
    /// As [`BasicPitch::run_window`]; [`MlError::OutOfRange`] for
    /// thresholds out of range.
    pub fn finish(
        mut self,
        model: &mut BasicPitch,
        params: &NoteParams,
    ) -> Result<Transcription, MlError> {
        params.validate()?;
        // Samples at 22.05 kHz the input makes, rounded up (as soxr and
        // librosa count them).
        let wanted =
            (self.input_frames * u64::from(MODEL_SAMPLE_RATE)).div_ceil(u64::from(self.input_rate));
        if self.resampler.is_some() {
            // Push silence through until the delayed tail is out (the
            // delay is a few thousand frames; the bound only guards the
            // loop).
            for _ in 0..4096 {
                if self.produced >= wanted {
                    break;
                }
                self.pending.channel_capacity_mut(0)[self.pending_fill..self.chunk].fill(0.0);
                self.pending_fill = self.chunk;
                self.resample_pending();
            }
        } else if self.pending_fill > 0 {
            self.resample_pending();
        }
        // Drop what the flush made beyond the input's length.
        let kept = wanted.min(self.produced);
        let excess = (self.produced - kept) as usize;
        let new_len = self.buffer.len().saturating_sub(excess);
        self.buffer.truncate(new_len);
        self.run_ready(model)?;
        // The padded signal is the leading half overlap plus the input;
        // Basic Pitch starts a window at every hop before its end.
        let padded = kept + (OVERLAP_SAMPLES / 2) as u64;
        while self.dropped < padded {
            if self.buffer.len() < WINDOW_SAMPLES {
                self.buffer.resize(WINDOW_SAMPLES, 0.0);
            }
            model.run_window(&self.buffer[..WINDOW_SAMPLES], &mut self.posteriors)?;
            self.windows += 1;
            self.buffer.drain(..WINDOW_HOP_SAMPLES);
            self.dropped += WINDOW_HOP_SAMPLES as u64;
        }
        let frames = (kept * FRAMES_PER_SECOND as u64 / u64::from(MODEL_SAMPLE_RATE)) as usize;
        self.posteriors.truncate(frames);
        let notes = notes::decode(&self.posteriors, params);
        Ok(Transcription {
            posteriors: self.posteriors,
            notes,
            audio_seconds: self.input_frames as f64 / f64::from(self.input_rate),
            windows: self.windows,
        })
    }
}

/// A finished transcription: the posteriors, the notes decoded from them
/// and how much audio they cover.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcription {
    /// The posteriors the notes came from.
    pub posteriors: Posteriors,
    /// The notes, in the order Basic Pitch finds them (see
    /// [`notes::decode`]); sort by start for playback.
    pub notes: Vec<TranscribedNote>,
    /// Seconds of input audio.
    pub audio_seconds: f64,
    /// Model windows run.
    pub windows: u64,
}

/// Transcribes mono audio at `rate` Hz in one call, on the caller's thread
/// ([`stream`] does the same on a worker thread).
///
/// # Errors
/// As [`Transcriber::new`] and [`Transcriber::finish`].
pub fn transcribe(
    model: &mut BasicPitch,
    mono: &[f32],
    rate: u32,
    params: &NoteParams,
) -> Result<Transcription, MlError> {
    params.validate()?;
    let mut t = Transcriber::new(rate)?;
    t.push(model, mono)?;
    t.finish(model, params)
}
