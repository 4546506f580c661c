//! Off-thread inference: the audio thread sends requests through one
//! wait-free SPSC ring and collects results from another; a worker thread
//! runs the model.
//!
//! The audio side ([`AudioSide`]) only pushes and pops ring slots: it never
//! blocks, locks or allocates (`tests/zero_alloc.rs` covers it). Under
//! back-pressure the *oldest* requests go: each time the worker wakes it
//! keeps at most `max_pending` of the waiting requests, the newest, and
//! skips the older ones, counting them in [`AudioSide::dropped`]. Only if
//! the worker has not run at all for a whole ring of requests does a push
//! fail; that newest request is then counted in [`AudioSide::rejected`].
//!
//! ```
//! use kmidi_ml::worker::spawn;
//! // A "model" that doubles its input.
//! let (worker, mut audio) = spawn::<[f32; 4], [f32; 4]>(64, 4, |x| x.map(|v| v * 2.0))?;
//! audio.request([1.0, 2.0, 3.0, 4.0]);
//! let result = loop {
//!     if let Some(r) = audio.poll() { break r; }
//!     std::thread::sleep(std::time::Duration::from_millis(1));
//! };
//! assert_eq!(result, [2.0, 4.0, 6.0, 8.0]);
//! worker.stop();
//! # Ok::<(), kmidi_ml::MlError>(())
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use kmidi_dsp::ring::{Consumer, Producer, channel};

use crate::MlError;
use kmidi_dsp::Cause;

/// How long the worker sleeps when there is nothing to do.
const IDLE: Duration = Duration::from_micros(200);

/// The audio thread's end: send requests, collect results.
pub struct AudioSide<Req: Copy + Send, Resp: Copy + Send> {
    requests: Producer<Req>,
    results: Consumer<Resp>,
    rejected: u64,
    dropped: Arc<AtomicU64>,
}

impl<Req: Copy + Send, Resp: Copy + Send> AudioSide<Req, Resp> {
    /// Queues a request. Wait-free; returns false (and counts it) only if
    /// the ring is full because the worker has not run.
    pub fn request(&mut self, req: Req) -> bool {
        if self.requests.push(req).is_ok() {
            true
        } else {
            self.rejected += 1;
            false
        }
    }

    /// The next finished result, if any. Wait-free.
    pub fn poll(&mut self) -> Option<Resp> {
        self.results.pop()
    }

    /// Requests the worker skipped, oldest first, to catch up.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Requests refused because the ring was full.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }
}

/// The worker thread.
pub struct InferenceWorker {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    runs: Arc<AtomicU64>,
}

impl InferenceWorker {
    /// Inferences run so far.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// Stops the worker and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for InferenceWorker {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts a worker that runs `infer` on each request it keeps.
/// `capacity` is the size of both rings (2 to 65536); the worker keeps at
/// most `max_pending` waiting requests (1 to `capacity`), the newest.
///
/// # Errors
/// [`MlError::OutOfRange`] for bad sizes.
pub fn spawn<Req, Resp>(
    capacity: usize,
    max_pending: usize,
    mut infer: impl FnMut(Req) -> Resp + Send + 'static,
) -> Result<(InferenceWorker, AudioSide<Req, Resp>), MlError>
where
    Req: Copy + Send + 'static,
    Resp: Copy + Send + 'static,
{
    if !(2..=65536).contains(&capacity) {
        return Err(MlError::OutOfRange {
            what: "capacity",
            value: capacity.to_string(),
            allowed: "2 to 65536",
        });
    }
    if max_pending == 0 || max_pending > capacity {
        return Err(MlError::OutOfRange {
            what: "max_pending",
            value: max_pending.to_string(),
            allowed: "1 to capacity",
        });
    }
    let (req_tx, mut req_rx) = channel::<Req>(capacity);
    let (mut res_tx, res_rx) = channel::<Resp>(capacity);
    let stop = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicU64::new(0));
    let runs = Arc::new(AtomicU64::new(0));
    let (stop_w, dropped_w, runs_w) = (stop.clone(), dropped.clone(), runs.clone());
    let handle = std::thread::Builder::new()
        .name("kmidi-inference".into())
        .spawn(move || {
            while !stop_w.load(Ordering::Acquire) && !req_rx.is_abandoned() {
                let waiting = req_rx.len();
                if waiting == 0 {
                    std::thread::sleep(IDLE);
                    continue;
                }
                if waiting > max_pending {
                    let skipped = req_rx.skip(waiting - max_pending);
                    dropped_w.fetch_add(skipped as u64, Ordering::Relaxed);
                }
                while let Some(req) = req_rx.pop() {
                    let out = infer(req);
                    runs_w.fetch_add(1, Ordering::Relaxed);
                    // The audio side collects results every block; if it
                    // has fallen behind, the worker (never the audio
                    // thread) waits for room.
                    let mut pending = out;
                    while let Err(back) = res_tx.push(pending) {
                        if stop_w.load(Ordering::Acquire) || res_tx.is_abandoned() {
                            return;
                        }
                        pending = back;
                        std::thread::sleep(IDLE);
                    }
                    if req_rx.len() > max_pending {
                        break;
                    }
                }
            }
        })
        .map_err(|e| MlError::Run {
            model: "inference worker".into(),
            detail: format!("cannot start the thread: {e}"),
            source: Some(Cause::new(e)),
        })?;
    Ok((
        InferenceWorker {
            stop,
            handle: Some(handle),
            runs,
        },
        AudioSide {
            requests: req_tx,
            results: res_rx,
            rejected: 0,
            dropped,
        },
    ))
}
