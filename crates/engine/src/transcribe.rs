//! A WAV file to notes with Basic Pitch ([`kmidi_ml::transcription`]),
//! fed block by block as an audio thread would feed it: each block is
//! mixed to mono and handed to the transcription worker's wait-free ring;
//! the worker resamples, runs the model and decodes. Offline, a block that
//! finds the ring full waits for room, so nothing is dropped; the result
//! still reports any frames lost (none, here) and what the model cost.

use std::path::Path;
use std::time::Instant;

use kmidi_dsp::AudioBuffer;
use kmidi_ml::transcription::stream::spawn;
use kmidi_ml::transcription::{BasicPitch, NoteParams, Transcription};
use serde::Serialize;

use crate::EngineError;
use crate::render::WavSource;

/// How to transcribe.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscribeConfig {
    /// The Basic Pitch model file (default: [`BasicPitch::default_path`]).
    pub model: std::path::PathBuf,
    /// Thresholds (default: Basic Pitch's).
    pub notes: NoteParams,
    /// Frames per block handed to the worker, 1 to 8192.
    pub block_frames: usize,
    /// Seconds of audio the ring holds.
    pub ring_seconds: f64,
    /// Tempo of the MIDI file's grid, BPM (Basic Pitch's default 120).
    pub midi_bpm: f64,
}

impl Default for TranscribeConfig {
    fn default() -> Self {
        Self {
            model: BasicPitch::default_path(),
            notes: NoteParams::default(),
            block_frames: 512,
            ring_seconds: 8.0,
            midi_bpm: 120.0,
        }
    }
}

/// One note as `kmidi-perf transcribe` writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoteRecord {
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// MIDI key.
    pub key: u8,
    /// Its frequency, Hz (A4 = 440).
    pub frequency_hz: f64,
    /// MIDI velocity (127 × the mean note posterior).
    pub velocity: u8,
}

/// What [`transcribe_wav`] found, and what it cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WavTranscription {
    /// The model (Basic Pitch 0.4.0's `nmp.onnx`).
    pub model: String,
    /// The file's sample rate, Hz.
    pub sample_rate: u32,
    /// Its length, seconds.
    pub duration_s: f64,
    /// Notes, sorted by start.
    pub notes: Vec<NoteRecord>,
    /// Model windows run (2 s each, overlapping by 30 frames).
    pub windows: u64,
    /// Input frames the ring could not take (0 offline: the reader waits).
    pub lost_frames: u64,
    /// Seconds the worker was busy (resampling, model, decoding).
    pub worker_busy_s: f64,
    /// Wall-clock seconds from the first block to the result.
    pub wall_s: f64,
    /// Worker milliseconds per second of audio.
    pub cost_ms_per_audio_s: f64,
    /// Real-time factor: worker seconds per second of audio (below 1 keeps
    /// up with playback on one core).
    pub real_time_factor: f64,
    /// The thresholds used.
    pub onset_threshold: f64,
    /// The frame threshold used.
    pub frame_threshold: f64,
    /// The minimum note length used, ms.
    pub minimum_note_ms: f64,
    #[serde(skip)]
    transcription: Transcription,
    #[serde(skip)]
    midi_bpm: f64,
}

impl WavTranscription {
    /// The notes as mir_eval reads them (`mir_eval.io.load_valued_intervals`):
    /// `start end frequency_hz`, one per line.
    pub fn notes_lab(&self) -> String {
        self.notes
            .iter()
            .map(|n| format!("{:.6}\t{:.6}\t{:.4}\n", n.start_s, n.end_s, n.frequency_hz))
            .collect()
    }

    /// The full transcription (posteriors, per-frame bends).
    pub fn transcription(&self) -> &Transcription {
        &self.transcription
    }

    /// The notes as a Standard MIDI File's bytes (format 1, 480 ticks a
    /// quarter, at the configured tempo).
    ///
    /// # Errors
    /// [`EngineError::Groove`] if the file cannot be built.
    pub fn midi_bytes(&self) -> Result<Vec<u8>, EngineError> {
        Ok(self.transcription.to_midi_file(self.midi_bpm)?.to_bytes()?)
    }
}

/// Transcribes the WAV file at `path`.
///
/// # Errors
/// [`EngineError::Wav`] if the file cannot be read; [`EngineError::Ml`]
/// for a missing or wrong model, ONNX Runtime's errors and settings out of
/// range; [`EngineError::Config`] for a bad block size.
pub fn transcribe_wav(
    path: impl AsRef<Path>,
    config: &TranscribeConfig,
) -> Result<WavTranscription, EngineError> {
    let path = path.as_ref();
    if !(1..=8192).contains(&config.block_frames) {
        return Err(EngineError::config(
            "transcription",
            format!("block_frames = {}: allowed 1 to 8192", config.block_frames),
        ));
    }
    if !(10.0..=400.0).contains(&config.midi_bpm) {
        return Err(EngineError::config(
            "transcription",
            format!("midi_bpm = {}: allowed 10 to 400", config.midi_bpm),
        ));
    }
    config.notes.validate()?;
    let mut source = WavSource::open(path)?;
    let info = source.info();
    let model = BasicPitch::open(&config.model)?;
    let start = Instant::now();
    let (worker, mut input) = spawn(model, info.sample_rate, config.ring_seconds, config.notes)?;
    let mut block = AudioBuffer::new(info.channels, config.block_frames);
    let mut mono = vec![0.0f32; config.block_frames];
    let scale = 1.0 / info.channels as f32;
    loop {
        let n = source.read_block(&mut block)?;
        if n == 0 {
            break;
        }
        // Mono as librosa makes it: the mean of the channels.
        mono[..n].fill(0.0);
        for ch in 0..info.channels {
            for (m, &x) in mono[..n].iter_mut().zip(&block.channel(ch)[..n]) {
                *m += x * scale;
            }
        }
        let mut offered = 0;
        while offered < n {
            offered += input.offer(&mono[offered..n]);
            if offered < n {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        if n < config.block_frames {
            break;
        }
    }
    let result = worker.finish(input)?;
    let wall_s = start.elapsed().as_secs_f64();
    let t = result.transcription;
    let duration_s = t.audio_seconds;
    let notes = t
        .sorted_notes()
        .into_iter()
        .map(|n| NoteRecord {
            start_s: n.start_s,
            end_s: n.end_s,
            key: n.key,
            frequency_hz: n.frequency_hz(),
            velocity: n.velocity(),
        })
        .collect();
    let per_s = if duration_s > 0.0 {
        result.busy_seconds / duration_s
    } else {
        0.0
    };
    Ok(WavTranscription {
        model: kmidi_ml::transcription::MODEL_FILE.to_string(),
        sample_rate: info.sample_rate,
        duration_s,
        notes,
        windows: t.windows,
        lost_frames: result.lost_frames,
        worker_busy_s: result.busy_seconds,
        wall_s,
        cost_ms_per_audio_s: per_s * 1000.0,
        real_time_factor: per_s,
        onset_threshold: config.notes.onset_threshold,
        frame_threshold: config.notes.frame_threshold,
        minimum_note_ms: config.notes.minimum_note_ms,
        transcription: t,
        midi_bpm: config.midi_bpm,
    })
}
