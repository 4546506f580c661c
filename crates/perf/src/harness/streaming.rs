//! Streaming mode: blocks paced at real time, with optional competing
//! load.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::result::{RunResult, RunSpec};
use super::single::run_one;
use crate::PerfError;

/// Busy threads doing float work until dropped.
struct CompetingLoad {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl CompetingLoad {
    fn start(n: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|i| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 1.0f64 + i as f64;
                    let mut buf = vec![0.5f32; 1 << 16];
                    while !stop.load(Ordering::Relaxed) {
                        for v in buf.iter_mut() {
                            x = (x * 1.000_001).sin() + 1.5;
                            *v = (*v + x as f32) * 0.5;
                        }
                        std::hint::black_box(&buf);
                    }
                })
            })
            .collect();
        Self { stop, threads }
    }
}

impl Drop for CompetingLoad {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

pub(super) fn run_streaming(
    spec: &RunSpec,
    progress: &mut dyn FnMut(u64),
) -> Result<RunResult, PerfError> {
    let _load = CompetingLoad::start(spec.load_threads);
    run_one(spec, true, progress)
}
