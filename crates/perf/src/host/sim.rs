//! The simulated host: a thread of this process that starts each callback
//! at its period boundary on the process's monotonic clock (sleeping most
//! of the way, then spinning), as `kmidi-perf run --mode streaming` always
//! has. An xrun is a callback that ends after the next boundary; its delay
//! is how far past. The DSP load is the engine's time over the period.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kmidi_dsp::ring::{Consumer, channel};

use super::monitor::Monitor;
use super::run::{AudioHost, EarlyEnd, HostEvent, monitor_until};
use super::session::EngineSession;
use super::{CallbackRecord, HostKind, thread_is_realtime};
use crate::PerfError;
use crate::harness::wait_until;

/// The simulated host.
#[derive(Debug, Default)]
pub struct SimHost {
    realtime: bool,
}

impl SimHost {
    /// A simulated host.
    pub fn new() -> Self {
        Self::default()
    }
}

impl AudioHost for SimHost {
    fn kind(&self) -> HostKind {
        HostKind::Sim
    }

    fn server(&self) -> String {
        "simulated (kmidi-perf's own paced thread)".into()
    }

    fn realtime(&self) -> bool {
        self.realtime
    }

    fn run(
        &mut self,
        mut session: EngineSession,
        records: &mut Consumer<CallbackRecord>,
        callbacks: u64,
        monitor: &mut Monitor,
        observer: &mut dyn FnMut(HostEvent),
    ) -> Result<(Option<EngineSession>, Option<EarlyEnd>), PerfError> {
        let block = session.block_frames();
        let rate = session.engine().spec().sample_rate();
        let period = Duration::from_secs_f64(block as f64 / rate);
        let period_us = period.as_secs_f64() * 1e6;
        let (mut xrun_tx, mut xrun_rx) = channel::<(u64, f64)>(1024);
        let stop = Arc::new(AtomicBool::new(false));
        let stop_a = stop.clone();
        let origin = Instant::now();
        let handle = std::thread::Builder::new()
            .name("kmidi-sim-audio".into())
            .spawn(move || {
                let realtime = thread_is_realtime();
                let mut left = vec![0.0f32; block];
                let mut right = vec![0.0f32; block];
                let start = Instant::now() + Duration::from_millis(5);
                for k in 0..callbacks {
                    if stop_a.load(Ordering::Relaxed) {
                        break;
                    }
                    let boundary = start + period.mul_f64(k as f64);
                    wait_until(boundary);
                    let us = |t: Instant| t.saturating_duration_since(origin).as_micros() as u64;
                    let t0 = Instant::now();
                    session.callback(us(boundary), us(t0), period_us, &mut left, &mut right);
                    let t1 = Instant::now();
                    let deadline = boundary + period;
                    if t1 > deadline {
                        let late = t1.duration_since(deadline).as_secs_f64() * 1e6;
                        let _ = xrun_tx.push((us(deadline), late));
                    }
                }
                (session, realtime)
            })
            .map_err(|e| {
                PerfError::invalid("host", "sim", format!("cannot start the audio thread: {e}"))
            })?;
        let per_minute = (60.0 * rate / block as f64).round() as u64;
        monitor_until(
            monitor,
            records,
            callbacks,
            per_minute,
            observer,
            &mut |m| {
                while let Some((at, late)) = xrun_rx.pop() {
                    m.xrun(at, late);
                }
            },
            &mut || handle.is_finished(),
        );
        let (session, realtime) = match handle.join() {
            Ok(r) => r,
            Err(_) => {
                stop.store(true, Ordering::Relaxed);
                return Err(PerfError::invalid(
                    "host",
                    "sim",
                    "the audio thread panicked",
                ));
            }
        };
        while let Some((at, late)) = xrun_rx.pop() {
            monitor.xrun(at, late);
        }
        // The sim's DSP load: the engine's mean time over the period.
        let s = session.times.summary();
        monitor.load(100.0 * s.mean_us / period_us);
        let _ = &stop;
        self.realtime = realtime;
        Ok((Some(session), None))
    }
}
