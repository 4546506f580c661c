//! Transcription while the audio plays: the audio thread hands its blocks
//! to a wait-free ring ([`TranscriptionInput::push`]); a worker thread
//! resamples them, runs the model as each window completes and, when the
//! input ends ([`TranscriptionWorker::finish`]), decodes the notes.
//!
//! Nothing is lost in silence: when the ring is full (the worker has
//! fallen more than the ring's length behind), `push` takes what fits,
//! returns how much that was and counts the rest in
//! [`TranscriptionInput::lost_frames`], and the result reports the count.
//! An offline caller that may wait pushes the rest again after a moment
//! (as `kmidi-perf transcribe` does); a real-time caller sizes the ring for
//! the worker's worst stall.
//!
//! ```no_run
//! use kmidi_ml::transcription::{BasicPitch, NoteParams};
//! use kmidi_ml::transcription::stream::spawn;
//! let model = BasicPitch::open(BasicPitch::default_path())?;
//! let (worker, mut input) = spawn(model, 48_000, 4.0, NoteParams::default())?;
//! let block = [0.0f32; 512];
//! for _ in 0..400 {
//!     // On the audio thread: never blocks, locks or allocates.
//!     input.push(&block);
//! }
//! let result = worker.finish(input)?;
//! println!("{} notes, {} frames lost", result.transcription.notes.len(), result.lost_frames);
//! # Ok::<(), kmidi_ml::MlError>(())
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kmidi_dsp::Cause;
use kmidi_dsp::ring::{Consumer, Producer, channel};

use super::{BasicPitch, NoteParams, Transcriber, Transcription};
use crate::MlError;

/// How long the worker sleeps when the ring is empty.
const IDLE: Duration = Duration::from_millis(2);
/// Samples the worker takes from the ring at a time.
const READ_FRAMES: usize = 4096;

/// The audio thread's end of a transcription stream.
pub struct TranscriptionInput {
    samples: Producer<f32>,
    lost: u64,
    pushed: u64,
}

impl TranscriptionInput {
    /// Queues mono samples for the worker. Wait-free; returns how many
    /// were taken (all of them unless the ring is full) and counts the
    /// others as lost.
    pub fn push(&mut self, mono: &[f32]) -> usize {
        let taken = self.samples.push_slice(mono);
        self.pushed += taken as u64;
        self.lost += (mono.len() - taken) as u64;
        taken
    }

    /// Like [`push`](Self::push), but the samples not taken are not
    /// counted as lost: for a caller that will offer them again.
    pub fn offer(&mut self, mono: &[f32]) -> usize {
        let taken = self.samples.push_slice(mono);
        self.pushed += taken as u64;
        taken
    }

    /// Samples refused because the ring was full.
    pub fn lost_frames(&self) -> u64 {
        self.lost
    }

    /// Samples taken so far.
    pub fn pushed_frames(&self) -> u64 {
        self.pushed
    }
}

/// What a finished stream gives.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamResult {
    /// The transcription of every sample taken.
    pub transcription: Transcription,
    /// Samples the audio side could not queue (the ring was full).
    pub lost_frames: u64,
    /// Seconds the worker spent running the model and decoding (its
    /// thread's wall time while busy).
    pub busy_seconds: f64,
}

/// The worker thread.
pub struct TranscriptionWorker {
    done: Arc<AtomicBool>,
    handle: Option<JoinHandle<Result<(Transcription, f64), MlError>>>,
    windows: Arc<AtomicU64>,
}

impl TranscriptionWorker {
    /// Model windows run so far.
    pub fn windows(&self) -> u64 {
        self.windows.load(Ordering::Relaxed)
    }

    /// Ends the input, waits for the worker to take the rest of the ring,
    /// run the last windows and decode, and returns the result.
    ///
    /// # Errors
    /// The first model error the worker met, or [`MlError::Run`] if the
    /// worker thread died.
    pub fn finish(mut self, input: TranscriptionInput) -> Result<StreamResult, MlError> {
        self.done.store(true, Ordering::Release);
        let handle = self.handle.take();
        let joined = handle.map(JoinHandle::join);
        let (transcription, busy_seconds) = match joined {
            Some(Ok(r)) => r?,
            _ => {
                return Err(MlError::Run {
                    model: "Basic Pitch".into(),
                    detail: "the transcription worker thread stopped unexpectedly".into(),
                    source: None,
                });
            }
        };
        Ok(StreamResult {
            transcription,
            lost_frames: input.lost,
            busy_seconds,
        })
    }
}

impl Drop for TranscriptionWorker {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Starts a worker transcribing mono audio at `input_rate` Hz through a
/// ring holding `ring_seconds` of it (0.1 to 600).
///
/// # Errors
/// [`MlError::OutOfRange`] for a rate, ring length or threshold out of
/// range; [`MlError::Run`] if the thread cannot start.
pub fn spawn(
    mut model: BasicPitch,
    input_rate: u32,
    ring_seconds: f64,
    params: NoteParams,
) -> Result<(TranscriptionWorker, TranscriptionInput), MlError> {
    params.validate()?;
    if !(0.1..=600.0).contains(&ring_seconds) {
        return Err(MlError::OutOfRange {
            what: "ring_seconds",
            value: ring_seconds.to_string(),
            allowed: "0.1 to 600",
        });
    }
    let mut transcriber = Transcriber::new(input_rate)?;
    let capacity = ((ring_seconds * f64::from(input_rate)) as usize).max(READ_FRAMES);
    let (tx, rx): (Producer<f32>, Consumer<f32>) = channel(capacity);
    let done = Arc::new(AtomicBool::new(false));
    let windows = Arc::new(AtomicU64::new(0));
    let (done_w, windows_w) = (done.clone(), windows.clone());
    let handle = std::thread::Builder::new()
        .name("kmidi-transcription".into())
        .spawn(move || {
            let mut rx = rx;
            let mut block = vec![0.0f32; READ_FRAMES];
            let mut busy = 0.0f64;
            loop {
                // Read `done` before draining: whatever was pushed before
                // it was set is in the ring by then.
                let ending = done_w.load(Ordering::Acquire) || rx.is_abandoned();
                let n = rx.pop_slice(&mut block);
                if n > 0 {
                    let start = Instant::now();
                    transcriber.push(&mut model, &block[..n])?;
                    busy += start.elapsed().as_secs_f64();
                    windows_w.store(transcriber.windows(), Ordering::Relaxed);
                    continue;
                }
                if ending {
                    break;
                }
                std::thread::sleep(IDLE);
            }
            let start = Instant::now();
            let t = transcriber.finish(&mut model, &params)?;
            busy += start.elapsed().as_secs_f64();
            windows_w.store(t.windows, Ordering::Relaxed);
            Ok((t, busy))
        })
        .map_err(|e| MlError::Run {
            model: "Basic Pitch".into(),
            detail: format!("cannot start the transcription thread: {e}"),
            source: Some(Cause::new(e)),
        })?;
    Ok((
        TranscriptionWorker {
            done,
            handle: Some(handle),
            windows,
        },
        TranscriptionInput {
            samples: tx,
            lost: 0,
            pushed: 0,
        },
    ))
}
