//! # kmidi-benches
//!
//! Shared pieces of kmidi's Criterion benches: signal generators, the naive
//! peers each hot path is compared with in the same bench group, and the
//! Criterion configuration. The benches themselves live in `benches/`, one
//! target per area (`mixer`, `dsp`, `resampling`, `memory`).
//!
//! ```
//! use kmidi_benches::{signals, peers::NaiveCompressor};
//! let block = signals::noise_block(2, 512, 1);
//! assert_eq!(block.frames(), 512);
//! let mut c = NaiveCompressor::new(48_000.0, -18.0, 4.0, 6.0, 5.0, 100.0);
//! let mut l = block.channel(0).to_vec();
//! let mut r = block.channel(1).to_vec();
//! c.process(&mut l, &mut r);
//! ```

use std::time::Duration;

pub mod cpu_time;

use criterion::Criterion;

/// Block sizes every process bench sweeps (frames).
pub const BLOCK_SIZES: [usize; 6] = [64, 128, 256, 512, 1024, 2048];
/// The reference stream of the issue targets: 48 kHz, 512 frames.
pub const SAMPLE_RATE: f64 = 48_000.0;
/// Frames per block at the reference point.
pub const BLOCK: usize = 512;

/// Criterion settings for kmidi's benches.
///
/// Full runs: 0.3 s warm-up, 1.2 s of measurement, 50 samples, 20 000
/// bootstrap resamples, with plots. Every hot path here runs in
/// microseconds, so that is still hundreds of thousands of iterations per
/// bench. Criterion's plotting costs about 3 s per bench on this machine,
/// more than the measurement, and the settings keep the whole suite (about
/// 160 benches) inside the lab's 15-minute budget.
///
/// `KMIDI_BENCH_QUICK=1` (`scripts/bench.sh quick`): 0.1 s + 0.3 s, 10
/// samples, no plots: a smoke run in under 3 minutes, not a measurement.
pub fn criterion_config() -> Criterion {
    configured(Criterion::default())
}

/// [`criterion_config`] measuring the benchmark thread's CPU time
/// ([`cpu_time::ThreadCpuTime`]) instead of wall time.
pub fn cpu_time_config() -> Criterion<cpu_time::ThreadCpuTime> {
    configured(Criterion::default().with_measurement(cpu_time::ThreadCpuTime::default()))
}

fn configured<M: criterion::measurement::Measurement + 'static>(c: Criterion<M>) -> Criterion<M> {
    let quick = std::env::var_os("KMIDI_BENCH_QUICK").is_some();
    let base = c
        .noise_threshold(0.03)
        .nresamples(20_000)
        .with_profiler(profiling::FlamegraphProfiler::new(997));
    let c = if quick {
        base.warm_up_time(Duration::from_millis(100))
            .measurement_time(Duration::from_millis(300))
            .sample_size(10)
            .without_plots()
    } else {
        base.warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_millis(1200))
            .sample_size(50)
    };
    c.configure_from_args()
}

/// A Criterion profiler that writes a flamegraph per benchmark.
///
/// pprof's own `criterion` feature targets an older Criterion, so this is
/// the small adapter over [`pprof::ProfilerGuard`] that Criterion 0.8
/// needs. It samples with SIGPROF (hardware counters are not available on
/// these machines) and is only active in Criterion's profiling mode:
/// `cargo bench -- --profile-time 5 <filter>` writes
/// `target/criterion/<bench id>/profile/flamegraph.svg`
/// (`scripts/bench.sh flamegraph` does this and lists the files).
pub mod profiling {
    use std::io::Write;
    use std::path::Path;

    use criterion::profiler::Profiler;
    use kmidi_dsp::atomic_file::{AtomicFile, write_atomic};

    /// Samples the benchmark thread while Criterion profiles it.
    pub struct FlamegraphProfiler {
        frequency: i32,
        active: Option<pprof::ProfilerGuard<'static>>,
    }

    impl std::fmt::Debug for FlamegraphProfiler {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("FlamegraphProfiler")
                .field("frequency", &self.frequency)
                .field("active", &self.active.is_some())
                .finish()
        }
    }

    impl FlamegraphProfiler {
        /// A profiler sampling `frequency` times per second (a prime such
        /// as 997 avoids lock-step with periodic work).
        pub fn new(frequency: i32) -> Self {
            Self {
                frequency,
                active: None,
            }
        }
    }

    impl Profiler for FlamegraphProfiler {
        fn start_profiling(&mut self, benchmark_id: &str, _benchmark_dir: &Path) {
            match pprof::ProfilerGuardBuilder::default()
                .frequency(self.frequency)
                .blocklist(&["libc", "libgcc", "pthread", "vdso"])
                .build()
            {
                Ok(guard) => self.active = Some(guard),
                Err(e) => eprintln!("flamegraph: cannot profile {benchmark_id}: {e}"),
            }
        }

        fn stop_profiling(&mut self, benchmark_id: &str, benchmark_dir: &Path) {
            let Some(guard) = self.active.take() else {
                return;
            };
            let report = match guard.report().build() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("flamegraph: no report for {benchmark_id}: {e}");
                    return;
                }
            };
            let path = benchmark_dir.join("flamegraph.svg");
            let written = AtomicFile::create(&path)
                .map_err(|e| e.to_string())
                .and_then(|(pending, mut f)| {
                    report.flamegraph(&mut f).map_err(|e| e.to_string())?;
                    f.flush().map_err(|e| e.to_string())?;
                    drop(f);
                    pending.commit().map_err(|e| e.to_string())
                });
            match written {
                Ok(()) => eprintln!("flamegraph: {}", path.display()),
                Err(e) => eprintln!("flamegraph: cannot write {}: {e}", path.display()),
            }
            // The same samples as folded stacks (one `root;...;leaf count`
            // line per stack), which `kmidi-perf ab` diffs into a
            // differential flamegraph. No thread name at the root, so two
            // builds' profiles line up.
            let mut folded = String::new();
            for (frames, count) in &report.data {
                let mut line = String::from("bench");
                for frame in frames.frames.iter().rev() {
                    for symbol in frame.iter().rev() {
                        line.push(';');
                        line.push_str(&symbol.to_string());
                    }
                }
                folded.push_str(&format!("{line} {count}\n"));
            }
            let folded_path = benchmark_dir.join("stacks.folded");
            if let Err(e) = write_atomic(&folded_path, folded.as_bytes()) {
                eprintln!("flamegraph: cannot write {}: {e}", folded_path.display());
            }
        }
    }
}

/// Test-signal generators.
pub mod signals {
    use kmidi_dsp::AudioBuffer;

    /// Deterministic white noise in [-0.5, 0.5), seeded (fastrand, the
    /// workspace's one generator).
    pub fn noise(len: usize, seed: u64) -> Vec<f32> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..len).map(|_| rng.f32() - 0.5).collect()
    }

    /// A planar buffer of noise.
    pub fn noise_block(channels: usize, frames: usize, seed: u64) -> AudioBuffer {
        let mut b = AudioBuffer::new(channels, frames);
        for ch in 0..channels {
            let n = noise(frames, seed + ch as u64);
            b.channel_mut(ch).copy_from_slice(&n);
        }
        b
    }

    /// A sine at `freq` Hz.
    pub fn sine(freq: f64, sample_rate: f64, len: usize, amplitude: f32) -> Vec<f32> {
        (0..len)
            .map(|i| {
                amplitude
                    * (2.0 * std::f64::consts::PI * freq * i as f64 / sample_rate).sin() as f32
            })
            .collect()
    }

    /// An exponentially decaying tail that falls into the subnormal range
    /// within `len` samples: what a reverb or filter tail feeds the next node.
    pub fn decaying_tail(len: usize) -> Vec<f32> {
        let k = (1e-42f64).ln() / len as f64;
        (0..len)
            .map(|i| ((k * i as f64).exp() * (i as f64 * 0.3).sin()) as f32)
            .collect()
    }
}

/// Straightforward implementations that the optimised ones are measured against.
pub mod peers {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    /// A sample-major mixer: for each frame, loop over the strips and
    /// accumulate. Gains are precomputed per block, as any mixer would.
    pub fn naive_mix_stereo(
        inputs: &[(Vec<f32>, Vec<f32>)],
        gains: &[(f32, f32)],
        out_l: &mut [f32],
        out_r: &mut [f32],
    ) {
        for i in 0..out_l.len() {
            let mut l = 0.0;
            let mut r = 0.0;
            for ((il, ir), (gl, gr)) in inputs.iter().zip(gains) {
                l += il[i] * gl;
                r += ir[i] * gr;
            }
            out_l[i] = l;
            out_r[i] = r;
        }
    }

    /// The same compressor as `kmidi_dsp::dynamics::Compressor` (peak,
    /// linked, soft knee, dB-domain attack/release), written the obvious way:
    /// one pass, libm `log10f` and `powf` per sample.
    #[derive(Debug, Clone)]
    pub struct NaiveCompressor {
        threshold: f32,
        ratio: f32,
        knee: f32,
        attack: f32,
        release: f32,
        env: f32,
    }

    impl NaiveCompressor {
        /// A compressor with these settings.
        pub fn new(
            sr: f64,
            threshold: f32,
            ratio: f32,
            knee: f32,
            attack_ms: f64,
            release_ms: f64,
        ) -> Self {
            Self {
                threshold,
                ratio,
                knee,
                attack: (-1.0 / (attack_ms * 0.001 * sr)).exp() as f32,
                release: (-1.0 / (release_ms * 0.001 * sr)).exp() as f32,
                env: 0.0,
            }
        }

        /// Compresses a stereo block in place.
        pub fn process(&mut self, l: &mut [f32], r: &mut [f32]) {
            for (a, b) in l.iter_mut().zip(r.iter_mut()) {
                let peak = a.abs().max(b.abs()).max(1e-10);
                let x = 20.0 * peak.log10();
                let over = x - self.threshold;
                let y = if 2.0 * over < -self.knee {
                    x
                } else if self.knee > 0.0 && 2.0 * over.abs() <= self.knee {
                    x + (1.0 / self.ratio - 1.0) * (over + self.knee / 2.0).powi(2)
                        / (2.0 * self.knee)
                } else {
                    self.threshold + over / self.ratio
                };
                let gr = y - x;
                let c = if gr < self.env {
                    self.attack
                } else {
                    self.release
                };
                self.env = gr + c * (self.env - gr);
                let g = 10f32.powf(self.env / 20.0);
                *a *= g;
                *b *= g;
            }
        }
    }

    /// A ring buffer behind a mutex: what an audio thread must never use,
    /// measured so the cost of locking is visible.
    #[derive(Debug)]
    pub struct MutexRing {
        inner: Mutex<VecDeque<f32>>,
        capacity: usize,
    }

    impl MutexRing {
        /// An empty ring holding up to `capacity` samples.
        pub fn new(capacity: usize) -> Self {
            Self {
                inner: Mutex::new(VecDeque::with_capacity(capacity)),
                capacity,
            }
        }

        /// Pushes all of `src` or nothing.
        pub fn push_slice(&self, src: &[f32]) -> bool {
            let Ok(mut q) = self.inner.lock() else {
                return false;
            };
            if self.capacity - q.len() < src.len() {
                return false;
            }
            q.extend(src.iter().copied());
            true
        }

        /// Fills all of `dst` or nothing.
        pub fn pop_slice(&self, dst: &mut [f32]) -> bool {
            let Ok(mut q) = self.inner.lock() else {
                return false;
            };
            if q.len() < dst.len() {
                return false;
            }
            let n = dst.len();
            for (d, s) in dst.iter_mut().zip(q.drain(..n)) {
                *d = s;
            }
            true
        }
    }
}

/// The canary: a bench whose work is scaled by a setting, so that the
/// regression detector can be shown to catch a slowdown of known size.
///
/// `KMIDI_CANARY_WORK` is the work in percent of nominal (default 100):
/// `KMIDI_CANARY_WORK=110` makes the bench do exactly 10% more biquad
/// passes over the same 512-frame block. `kmidi-perf ab` runs the same
/// binary with two settings to measure how often a 10% slowdown is
/// flagged, and the instruction-count canary shows a 1% growth.
pub mod canary {
    use kmidi_dsp::biquad::{Biquad, BiquadCoefficients, FilterType};

    /// Biquad passes over the block at 100% work.
    pub const NOMINAL_PASSES: u32 = 100;

    /// The work setting from `KMIDI_CANARY_WORK`, in percent of nominal.
    ///
    /// # Panics
    /// When the variable is set but is not a whole number from 1 to 1000:
    /// a canary that silently ran at the wrong size would invalidate the
    /// measurement it exists for.
    pub fn work_percent() -> u32 {
        match std::env::var("KMIDI_CANARY_WORK") {
            Err(_) => 100,
            Ok(v) => match v.trim().parse::<u32>() {
                Ok(p) if (1..=1000).contains(&p) => p,
                _ => panic!("KMIDI_CANARY_WORK={v:?}: expected a whole percent from 1 to 1000"),
            },
        }
    }

    /// A low-pass biquad and the block it filters, repeated `passes` times.
    pub struct Canary {
        filter: Biquad,
        block: Vec<f32>,
        passes: u32,
    }

    impl Canary {
        /// A canary doing `percent`% of nominal work on a 512-frame block.
        pub fn new(percent: u32) -> Self {
            let coefficients = BiquadCoefficients::design(
                FilterType::LowPass,
                super::SAMPLE_RATE,
                2_000.0,
                0.707,
                0.0,
            )
            .expect("constant, valid design");
            Self {
                filter: Biquad::new(coefficients),
                block: super::signals::noise(super::BLOCK, 7),
                passes: (NOMINAL_PASSES * percent).div_ceil(100),
            }
        }

        /// Biquad passes per call.
        pub fn passes(&self) -> u32 {
            self.passes
        }

        /// Runs the work once and returns one sample so it is not elided.
        pub fn run(&mut self) -> f32 {
            for _ in 0..self.passes {
                self.filter.process_block(&mut self.block);
                // Keep the signal alive: a decaying filter would reach
                // denormals and then zero, changing the cost per pass.
                self.block[0] += 0.25;
            }
            self.block[0]
        }
    }
}
