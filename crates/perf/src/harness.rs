//! The real-time host simulation: feed an [`Engine`] block by block, time
//! every callback, count the audio thread's allocations, and turn it all
//! into deadline figures.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kmidi_dsp::AudioBuffer;
use kmidi_dsp::alloc_probe::count_allocations;
use kmidi_engine::material::{Material, MaterialPlayer};
use kmidi_engine::render::WavSource;
use kmidi_engine::{Engine, EngineConfig, EngineError, InputClock, Stage};
use serde::{Deserialize, Serialize};

use crate::PerfError;
use crate::stats::{BlockSummary, BlockTimes, Bucket};
use crate::sys;

/// How blocks are driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// One input, as fast as possible.
    Single,
    /// Every WAV in a folder, one engine each, as fast as possible.
    Batch,
    /// Paced at real time: each block starts at its period boundary.
    Streaming,
    /// N engines on N threads at once.
    Parallel,
}

impl Mode {
    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Single => "single",
            Mode::Batch => "batch",
            Mode::Streaming => "streaming",
            Mode::Parallel => "parallel",
        }
    }
}

/// Where the input comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum InputSource {
    /// The built-in generated stems, at `rate` (None: the engine rate).
    Generated {
        /// Input rate, Hz.
        rate: Option<u32>,
    },
    /// One WAV file.
    File(PathBuf),
    /// Every `.wav` in a folder (batch mode).
    Folder(PathBuf),
}

/// One point of the grid: what to build and how to drive it.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The preset name, or the config file's name.
    pub label: String,
    /// The engine config (its rate and block are this point's).
    pub config: EngineConfig,
    /// The mode.
    pub mode: Mode,
    /// The input.
    pub input: InputSource,
    /// Seconds of audio for generated input (and for each streaming or
    /// parallel instance).
    pub seconds: f64,
    /// Share of the period above which a block is "over the margin".
    pub safety_margin: f64,
    /// Busy threads competing with the audio thread (streaming).
    pub load_threads: usize,
    /// Engine instances (parallel).
    pub instances: usize,
    /// Blocks run and discarded before timing starts.
    pub warmup_blocks: usize,
}

/// Time one stage took, per block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageShare {
    /// The stage's name.
    pub stage: String,
    /// Mean time per block, µs.
    pub mean_us: f64,
    /// Share of the engine's block time, %.
    pub percent_of_block: f64,
    /// Share of the block period (its DSP load), %.
    pub percent_of_period: f64,
}

/// Streaming-mode extras.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamingInfo {
    /// Busy threads competing for the CPUs.
    pub load_threads: usize,
    /// How late the callback started after its period boundary: median, µs.
    pub wake_late_median_us: f64,
    /// ... 99th percentile, µs.
    pub wake_late_p99_us: f64,
    /// ... worst, µs.
    pub wake_late_max_us: f64,
    /// Blocks that finished after their deadline (the next boundary),
    /// counting the late start: what a host would hear as dropouts.
    pub deadline_misses: u64,
}

/// Parallel-mode extras.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParallelInfo {
    /// Engines run at once, one per thread.
    pub instances: usize,
    /// Real-time speed of one engine alone (audio s ÷ wall s).
    pub single_speed: f64,
    /// Each instance's speed in the parallel run.
    pub instance_speeds: Vec<f64>,
    /// Sum of the instance speeds.
    pub aggregate_speed: f64,
    /// aggregate ÷ (instances × single): 100% is perfect scaling.
    pub scaling_efficiency_percent: f64,
}

/// Batch-mode extras.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchInfo {
    /// Files processed.
    pub files: usize,
    /// Files per second, end to end (decode, build, process).
    pub files_per_second: f64,
    /// Seconds of audio in all files.
    pub audio_seconds: f64,
}

/// What the engine itself counted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EngineCounters {
    /// Chord changes.
    pub chord_changes: u64,
    /// Onsets.
    pub onsets: u64,
    /// MIDI note-ons scheduled.
    pub midi_note_ons: u64,
    /// Frames of silence inserted for lack of resampled input.
    pub input_underrun_frames: u64,
    /// Output sample peak.
    pub output_peak: f32,
    /// ML requests sent to the worker.
    pub ml_requests: u64,
    /// ML results received.
    pub ml_results: u64,
    /// ML requests dropped or rejected under back-pressure.
    pub ml_dropped: u64,
}

impl EngineCounters {
    /// Adds another engine's counters (the peak is the larger one).
    fn add(&mut self, other: &EngineCounters) {
        self.chord_changes += other.chord_changes;
        self.onsets += other.onsets;
        self.midi_note_ons += other.midi_note_ons;
        self.input_underrun_frames += other.input_underrun_frames;
        self.output_peak = self.output_peak.max(other.output_peak);
        self.ml_requests += other.ml_requests;
        self.ml_results += other.ml_results;
        self.ml_dropped += other.ml_dropped;
    }
}

/// The result of one grid point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Preset or config name.
    pub preset: String,
    /// Mode.
    pub mode: Mode,
    /// Engine rate, Hz.
    pub sample_rate: u32,
    /// Block, frames.
    pub block_frames: usize,
    /// Input rate, Hz.
    pub input_rate: u32,
    /// Tracks.
    pub tracks: usize,
    /// "generated" or the input path.
    pub input: String,
    /// Seconds of audio timed (all instances or files).
    pub audio_seconds: f64,
    /// Seconds inside the engine's callback.
    pub process_seconds: f64,
    /// Wall time of the run, seconds.
    pub wall_seconds: f64,
    /// Callback time ÷ audio time (below 1: faster than real time).
    pub real_time_factor: f64,
    /// Frames per second through the callback.
    pub throughput_frames_per_second: f64,
    /// Deadline figures.
    pub blocks: BlockSummary,
    /// Block-time histogram.
    pub histogram: Vec<Bucket>,
    /// Per-stage times (empty when stage timing was off).
    pub stages: Vec<StageShare>,
    /// Heap allocations on the audio thread while timed: must be 0.
    pub audio_thread_allocations: u64,
    /// CPU seconds of the audio thread(s).
    pub audio_thread_cpu_seconds: f64,
    /// CPU seconds of the whole process during the run.
    pub process_cpu_seconds: f64,
    /// Peak resident memory of the process so far, bytes.
    pub peak_rss_bytes: u64,
    /// The engine's own counters.
    pub engine: EngineCounters,
    /// Streaming extras.
    pub streaming: Option<StreamingInfo>,
    /// Parallel extras.
    pub parallel: Option<ParallelInfo>,
    /// Batch extras.
    pub batch: Option<BatchInfo>,
}

/// Something that fills input blocks.
pub trait Feed {
    /// Fills `block` (keeping its frame count); false once the input is
    /// exhausted (the block is then zero-padded).
    fn fill(&mut self, block: &mut AudioBuffer) -> bool;

    /// Starts over from the beginning.
    fn rewind(&mut self);
}

impl Feed for MaterialPlayer<'_> {
    fn fill(&mut self, block: &mut AudioBuffer) -> bool {
        MaterialPlayer::fill(self, block);
        true
    }

    fn rewind(&mut self) {
        MaterialPlayer::rewind(self);
    }
}

/// A file held in memory, played once.
#[derive(Debug, Clone)]
pub struct FileFeed {
    channels: Vec<Vec<f32>>,
    position: usize,
}

impl FileFeed {
    /// Planar channels.
    pub fn new(channels: Vec<Vec<f32>>) -> Self {
        Self {
            channels,
            position: 0,
        }
    }

    /// Frames in the file.
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }
}

impl Feed for FileFeed {
    fn fill(&mut self, block: &mut AudioBuffer) -> bool {
        let n = block.frames();
        let len = self.frames();
        let take = n.min(len.saturating_sub(self.position));
        for (ch, src) in self.channels.iter().enumerate().take(block.channels()) {
            let dst = block.channel_mut(ch);
            dst[..take].copy_from_slice(&src[self.position..self.position + take]);
            dst[take..].fill(0.0);
        }
        self.position += take;
        self.position < len || take == n
    }

    fn rewind(&mut self) {
        self.position = 0;
    }
}

/// One callback, timed as the harness times every block: a clock read on
/// each side, the audio thread's allocations counted, the time recorded.
/// Returns the callback's result, its allocations, and the two instants.
#[inline]
pub fn time_block<R>(
    times: &mut BlockTimes,
    callback: impl FnOnce() -> R,
) -> (R, u64, Instant, Instant) {
    let t0 = Instant::now();
    let (result, alloc) = count_allocations(callback);
    let t1 = Instant::now();
    times.record(t1.duration_since(t0).as_nanos() as u64);
    (result, alloc.allocations, t0, t1)
}

/// What driving an engine produced.
pub struct Drive {
    /// Block times.
    pub times: BlockTimes,
    /// Wake-up lateness, streaming only.
    pub wake_late: Option<BlockTimes>,
    /// Deadline misses, streaming only.
    pub deadline_misses: u64,
    /// Audio-thread allocations.
    pub allocations: u64,
    /// Audio-thread CPU seconds.
    pub thread_cpu_seconds: f64,
    /// Wall seconds.
    pub wall_seconds: f64,
    /// Frames processed while timed.
    pub frames: u64,
}

/// Drives `engine` for at most `blocks` blocks (or until `feed` runs out),
/// timing each callback. With `pace`, each block starts at its period
/// boundary, as an audio device would call it. `progress` is called every
/// 256 blocks, outside the timed region.
///
/// # Errors
/// [`PerfError::Engine`] if the engine rejects a block.
pub fn drive(
    engine: &mut Engine,
    feed: &mut dyn Feed,
    blocks: u64,
    margin: f64,
    pace: bool,
    warmup_blocks: usize,
    progress: &mut dyn FnMut(u64),
) -> Result<Drive, PerfError> {
    let rate = engine.spec().sample_rate();
    let block = engine.config().block_frames;
    let in_rate = engine.config().effective_input_rate();
    let period = Duration::from_secs_f64(block as f64 / rate);
    let period_ns = period.as_secs_f64() * 1e9;
    let mut clock = InputClock::new(in_rate, rate as u32);
    let max_in = (block as f64 * in_rate as f64 / rate).ceil() as usize + 1;
    let mut input = AudioBuffer::try_new(engine.input_channels(), max_in)
        .map_err(kmidi_engine::EngineError::from)?;
    let mut output = engine.create_output();
    output
        .set_frames(block)
        .map_err(kmidi_engine::EngineError::from)?;

    for _ in 0..warmup_blocks {
        input
            .set_frames(clock.input_frames(block))
            .map_err(kmidi_engine::EngineError::from)?;
        feed.fill(&mut input);
        engine
            .process(&input, &mut output)
            .map_err(EngineError::from)?;
    }
    // Timing starts from the top of the input with the engine's state
    // cleared; the warm-up only warmed caches and predictors.
    if warmup_blocks > 0 {
        engine.reset();
        feed.rewind();
        clock = InputClock::new(in_rate, rate as u32);
    }
    engine.clear_stage_totals();

    let mut times = BlockTimes::new(period_ns, margin);
    let mut wake_late = pace.then(|| BlockTimes::new(period_ns, margin));
    let mut misses = 0u64;
    let mut allocations = 0u64;
    let mut frames = 0u64;
    let cpu0 = sys::thread_cpu_seconds();
    let start = Instant::now();
    let mut more = true;
    let mut k = 0u64;
    while k < blocks && more {
        input
            .set_frames(clock.input_frames(block))
            .map_err(kmidi_engine::EngineError::from)?;
        more = feed.fill(&mut input);
        let boundary = start + period.mul_f64(k as f64);
        if pace {
            let now = Instant::now();
            if boundary > now {
                let wait = boundary - now;
                // Sleep most of the way, then spin: sleep alone overshoots.
                if wait > Duration::from_micros(300) {
                    std::thread::sleep(wait - Duration::from_micros(200));
                }
                while Instant::now() < boundary {
                    std::hint::spin_loop();
                }
            }
        }
        let (result, alloc, t0, t1) =
            time_block(&mut times, || engine.process(&input, &mut output));
        result.map_err(EngineError::from)?;
        allocations += alloc;
        if let Some(w) = wake_late.as_mut() {
            w.record(t0.saturating_duration_since(boundary).as_nanos() as u64);
            if t1 > boundary + period {
                misses += 1;
            }
        }
        frames += block as u64;
        k += 1;
        if k.is_multiple_of(256) {
            progress(256);
        }
    }
    progress(k % 256);
    Ok(Drive {
        times,
        wake_late,
        deadline_misses: misses,
        allocations,
        thread_cpu_seconds: sys::thread_cpu_seconds() - cpu0,
        wall_seconds: start.elapsed().as_secs_f64(),
        frames,
    })
}

fn stage_shares(engine: &Engine, block_mean_us: f64, period_us: f64) -> Vec<StageShare> {
    let (totals, blocks) = engine.stage_totals();
    if blocks == 0 {
        return Vec::new();
    }
    Stage::ALL
        .iter()
        .map(|s| {
            let mean_us = totals[*s as usize] as f64 / blocks as f64 / 1000.0;
            StageShare {
                stage: s.name().to_string(),
                mean_us,
                percent_of_block: 100.0 * mean_us / block_mean_us.max(1e-9),
                percent_of_period: 100.0 * mean_us / period_us,
            }
        })
        .collect()
}

fn counters(engine: &Engine) -> EngineCounters {
    let s = engine.stats();
    let ml = engine.ml_insights().unwrap_or_default();
    EngineCounters {
        chord_changes: s.chord_changes,
        onsets: s.onsets,
        midi_note_ons: s.midi_note_ons,
        input_underrun_frames: s.input_underrun_frames,
        output_peak: s.output_peak,
        ml_requests: ml.requests,
        ml_results: ml.results,
        ml_dropped: ml.dropped + ml.rejected,
    }
}

/// Material for a spec, rendered at `rate`.
fn material(rate: u32) -> Material {
    Material::generate(rate, "C major".parse().expect("a valid key name"), 1)
}

enum FeedSource {
    Material(Material),
    File(FileFeed),
}

struct Built {
    engine: Engine,
    feed: FeedSource,
    input: String,
}

impl Built {
    fn drive(
        &mut self,
        blocks: u64,
        margin: f64,
        pace: bool,
        warmup_blocks: usize,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Drive, PerfError> {
        let channels = self.engine.input_channels();
        match &mut self.feed {
            FeedSource::Material(m) => {
                let mut player = m.player(channels);
                drive(
                    &mut self.engine,
                    &mut player,
                    blocks,
                    margin,
                    pace,
                    warmup_blocks,
                    progress,
                )
            }
            FeedSource::File(f) => drive(
                &mut self.engine,
                f,
                blocks,
                margin,
                pace,
                warmup_blocks,
                progress,
            ),
        }
    }
}

fn build(spec: &RunSpec) -> Result<Built, PerfError> {
    let mut config = spec.config.clone();
    config.stage_timing = spec.config.stage_timing;
    match &spec.input {
        InputSource::Generated { rate } => {
            if let Some(r) = rate {
                config.input_rate = Some(*r);
            }
            let rate = config.effective_input_rate();
            let engine = Engine::new(config)?;
            Ok(Built {
                engine,
                feed: FeedSource::Material(material(rate)),
                input: "generated".into(),
            })
        }
        InputSource::File(path) => {
            let (info, data) = WavSource::open(path)?.read_all()?;
            config.route_inputs(info.channels);
            config.input_rate = Some(info.sample_rate);
            let engine = Engine::new(config)?;
            Ok(Built {
                engine,
                feed: FeedSource::File(FileFeed::new(data)),
                input: path.display().to_string(),
            })
        }
        InputSource::Folder(path) => Err(PerfError::invalid(
            "input",
            path.display(),
            "a folder is only read in batch mode (--mode batch)",
        )),
    }
}

fn blocks_for(spec: &RunSpec, built: &Built) -> u64 {
    let rate = spec.config.sample_rate as f64;
    let block = spec.config.block_frames as f64;
    match &built.feed {
        FeedSource::File(f) => {
            let engine_frames =
                f.frames() as f64 * rate / built.engine.config().effective_input_rate() as f64;
            (engine_frames / block).ceil() as u64
        }
        FeedSource::Material(_) => (spec.seconds * rate / block).ceil().max(1.0) as u64,
    }
}

/// What a run (or a set of merged runs) adds up to.
struct Totals {
    frames: u64,
    allocations: u64,
    thread_cpu: f64,
    process_cpu: f64,
    wall: f64,
}

impl RunResult {
    /// Sets every figure derived from the block times and the totals.
    fn set_totals(&mut self, times: &BlockTimes, t: Totals) {
        self.audio_seconds = t.frames as f64 / self.sample_rate as f64;
        self.process_seconds = times.total_ns() as f64 * 1e-9;
        self.real_time_factor = self.process_seconds / self.audio_seconds.max(1e-12);
        self.throughput_frames_per_second = t.frames as f64 / self.process_seconds.max(1e-12);
        self.wall_seconds = t.wall;
        self.blocks = times.summary();
        self.histogram = times.buckets();
        self.audio_thread_allocations = t.allocations;
        self.audio_thread_cpu_seconds = t.thread_cpu;
        self.process_cpu_seconds = t.process_cpu;
        self.peak_rss_bytes = sys::peak_rss_bytes();
    }
}

#[allow(clippy::too_many_arguments)]
fn result_from(
    spec: &RunSpec,
    engine: &Engine,
    input: String,
    times: &BlockTimes,
    frames: u64,
    allocations: u64,
    thread_cpu: f64,
    process_cpu: f64,
    wall: f64,
) -> RunResult {
    let summary = times.summary();
    let mut r = RunResult {
        preset: spec.label.clone(),
        mode: spec.mode,
        sample_rate: spec.config.sample_rate,
        block_frames: spec.config.block_frames,
        input_rate: engine.config().effective_input_rate(),
        tracks: spec.config.tracks.len(),
        input,
        audio_seconds: 0.0,
        process_seconds: 0.0,
        wall_seconds: 0.0,
        real_time_factor: 0.0,
        throughput_frames_per_second: 0.0,
        blocks: summary,
        histogram: Vec::new(),
        stages: stage_shares(engine, summary.mean_us, summary.period_us),
        audio_thread_allocations: 0,
        audio_thread_cpu_seconds: 0.0,
        process_cpu_seconds: 0.0,
        peak_rss_bytes: 0,
        engine: counters(engine),
        streaming: None,
        parallel: None,
        batch: None,
    };
    r.set_totals(
        times,
        Totals {
            frames,
            allocations,
            thread_cpu,
            process_cpu,
            wall,
        },
    );
    r
}

/// Blocks a spec will time (for progress bars).
pub fn planned_blocks(spec: &RunSpec) -> u64 {
    let per = (spec.seconds * spec.config.sample_rate as f64 / spec.config.block_frames as f64)
        .ceil() as u64;
    match spec.mode {
        Mode::Parallel => per * (spec.instances as u64 + 1),
        _ => per,
    }
}

/// Runs one grid point in its mode.
///
/// # Errors
/// [`PerfError`] for an engine that cannot be built (bad config, missing
/// ONNX Runtime), an unreadable input, or a rejected block.
pub fn run(spec: &RunSpec, progress: &mut dyn FnMut(u64)) -> Result<RunResult, PerfError> {
    match spec.mode {
        Mode::Single => run_one(spec, false, progress),
        Mode::Streaming => run_streaming(spec, progress),
        Mode::Parallel => run_parallel(spec, progress),
        Mode::Batch => run_batch(spec, progress),
    }
}

fn run_one(
    spec: &RunSpec,
    pace: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<RunResult, PerfError> {
    let mut built = build(spec)?;
    let blocks = blocks_for(spec, &built);
    let cpu0 = sys::process_cpu_seconds();
    let wall0 = Instant::now();
    let d = built.drive(
        blocks,
        spec.safety_margin,
        pace,
        spec.warmup_blocks,
        progress,
    )?;
    let mut r = result_from(
        spec,
        &built.engine,
        built.input.clone(),
        &d.times,
        d.frames,
        d.allocations,
        d.thread_cpu_seconds,
        sys::process_cpu_seconds() - cpu0,
        wall0.elapsed().as_secs_f64(),
    );
    if let Some(w) = d.wake_late {
        let s = w.summary();
        r.streaming = Some(StreamingInfo {
            load_threads: spec.load_threads,
            wake_late_median_us: s.median_us,
            wake_late_p99_us: s.p99_us,
            wake_late_max_us: s.max_us,
            deadline_misses: d.deadline_misses,
        });
    }
    Ok(r)
}

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

fn run_streaming(spec: &RunSpec, progress: &mut dyn FnMut(u64)) -> Result<RunResult, PerfError> {
    let _load = CompetingLoad::start(spec.load_threads);
    run_one(spec, true, progress)
}

fn run_parallel(spec: &RunSpec, progress: &mut dyn FnMut(u64)) -> Result<RunResult, PerfError> {
    if spec.instances == 0 {
        return Err(PerfError::invalid("instances", 0, "1 or more"));
    }
    // One engine alone first: the reference for scaling.
    let single = run_one(spec, false, progress)?;
    let single_speed = 1.0 / single.real_time_factor.max(1e-12);
    let cpu0 = sys::process_cpu_seconds();
    let wall0 = Instant::now();
    let results: Vec<Result<(RunResult, BlockTimes), PerfError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..spec.instances)
            .map(|_| {
                s.spawn(|| -> Result<(RunResult, BlockTimes), PerfError> {
                    let mut built = build(spec)?;
                    let blocks = blocks_for(spec, &built);
                    let d = built.drive(
                        blocks,
                        spec.safety_margin,
                        false,
                        spec.warmup_blocks,
                        &mut |_| {},
                    )?;
                    let r = result_from(
                        spec,
                        &built.engine,
                        built.input.clone(),
                        &d.times,
                        d.frames,
                        d.allocations,
                        d.thread_cpu_seconds,
                        0.0,
                        d.wall_seconds,
                    );
                    Ok((r, d.times))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(PerfError::Profiler("an engine thread panicked".into()))
                })
            })
            .collect()
    });
    let mut merged: Option<BlockTimes> = None;
    let mut speeds = Vec::new();
    let mut allocations = 0;
    let mut thread_cpu = 0.0;
    let mut frames = 0u64;
    let mut first: Option<RunResult> = None;
    for r in results {
        let (r, times) = r?;
        progress(planned_blocks(spec) / (spec.instances as u64 + 1));
        speeds.push(1.0 / r.real_time_factor.max(1e-12));
        allocations += r.audio_thread_allocations;
        thread_cpu += r.audio_thread_cpu_seconds;
        frames += (r.audio_seconds * r.sample_rate as f64).round() as u64;
        match merged.as_mut() {
            Some(m) => m.merge(&times),
            None => merged = Some(times),
        }
        first.get_or_insert(r);
    }
    let times = merged.unwrap_or_else(|| BlockTimes::new(1.0, spec.safety_margin));
    let mut out = first.unwrap_or(single);
    let aggregate: f64 = speeds.iter().sum();
    out.set_totals(
        &times,
        Totals {
            frames,
            allocations,
            thread_cpu,
            process_cpu: sys::process_cpu_seconds() - cpu0,
            wall: wall0.elapsed().as_secs_f64(),
        },
    );
    out.parallel = Some(ParallelInfo {
        instances: spec.instances,
        single_speed,
        instance_speeds: speeds,
        aggregate_speed: aggregate,
        scaling_efficiency_percent: 100.0 * aggregate / (spec.instances as f64 * single_speed),
    });
    Ok(out)
}

/// The `.wav` files in `dir`, sorted.
///
/// # Errors
/// [`PerfError::File`] if the folder cannot be read or holds no WAV.
pub fn wav_files(dir: &Path) -> Result<Vec<PathBuf>, PerfError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| PerfError::file(dir, format!("cannot read the folder: {e}")))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("wav")))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(PerfError::file(dir, "no .wav files in the folder"));
    }
    Ok(files)
}

fn run_batch(spec: &RunSpec, progress: &mut dyn FnMut(u64)) -> Result<RunResult, PerfError> {
    let InputSource::Folder(dir) = &spec.input else {
        return Err(PerfError::invalid(
            "input",
            "a file or generated material",
            "batch mode reads a folder of WAV files (--input DIR)",
        ));
    };
    let files = wav_files(dir)?;
    let cpu0 = sys::process_cpu_seconds();
    let wall0 = Instant::now();
    let mut merged: Option<BlockTimes> = None;
    let mut last: Option<(RunResult, EngineCounters)> = None;
    let mut allocations = 0;
    let mut thread_cpu = 0.0;
    let mut frames = 0;
    let mut input_seconds = 0.0;
    for file in &files {
        let one = RunSpec {
            input: InputSource::File(file.clone()),
            ..spec.clone()
        };
        let mut built = build(&one)?;
        let blocks = blocks_for(&one, &built);
        if let FeedSource::File(f) = &built.feed {
            input_seconds +=
                f.frames() as f64 / built.engine.config().effective_input_rate() as f64;
        }
        let d = built.drive(blocks, spec.safety_margin, false, 0, progress)?;
        allocations += d.allocations;
        thread_cpu += d.thread_cpu_seconds;
        frames += d.frames;
        let r = result_from(
            &one,
            &built.engine,
            dir.display().to_string(),
            &d.times,
            d.frames,
            d.allocations,
            d.thread_cpu_seconds,
            0.0,
            d.wall_seconds,
        );
        let mut c = counters(&built.engine);
        if let Some((_, prev)) = &last {
            c.add(prev);
        }
        match merged.as_mut() {
            Some(m) => m.merge(&d.times),
            None => merged = Some(d.times),
        }
        last = Some((r, c));
    }
    let wall = wall0.elapsed().as_secs_f64();
    let times = merged.unwrap_or_else(|| BlockTimes::new(1.0, spec.safety_margin));
    let (mut out, counters) = last.ok_or_else(|| PerfError::file(dir, "no .wav files"))?;
    out.input = dir.display().to_string();
    out.set_totals(
        &times,
        Totals {
            frames,
            allocations,
            thread_cpu,
            process_cpu: sys::process_cpu_seconds() - cpu0,
            wall,
        },
    );
    out.engine = counters;
    out.batch = Some(BatchInfo {
        files: files.len(),
        files_per_second: files.len() as f64 / wall.max(1e-9),
        audio_seconds: input_seconds,
    });
    Ok(out)
}

/// How precise and how costly the harness's own timing is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HarnessCalibration {
    /// Smallest non-zero step between two clock reads, ns.
    pub timer_resolution_ns: f64,
    /// Mean cost of one clock read, ns.
    pub timer_read_ns: f64,
    /// What timing one block adds (two clock reads, allocation count,
    /// histogram record), measured on a no-op processor against a bare
    /// loop, ns.
    pub overhead_ns_per_block: f64,
    /// Memory the harness holds for one grid point (histogram and input
    /// stems), bytes.
    pub memory_bytes: u64,
}

/// A processor that does nothing, for measuring the harness itself.
#[inline(never)]
pub fn noop_process(block: &mut AudioBuffer) {
    std::hint::black_box(block);
}

/// Measures the harness: timer resolution and cost, and the per-block
/// overhead of timing a no-op processor against a bare loop (the median
/// of 9 rounds, so one preemption does not decide it).
pub fn calibrate(material_bytes: u64) -> HarnessCalibration {
    const N: usize = 200_000;
    let mut min_step = u64::MAX;
    let t = Instant::now();
    let mut prev = Instant::now();
    for _ in 0..N {
        let now = Instant::now();
        let step = now.duration_since(prev).as_nanos() as u64;
        if step > 0 {
            min_step = min_step.min(step);
        }
        prev = now;
    }
    let read_ns = t.elapsed().as_nanos() as f64 / (N + 1) as f64;

    let mut block = AudioBuffer::new(2, 512);
    let mut times = BlockTimes::new(10_666_666.0, 0.8);
    let mut overheads = Vec::new();
    for _ in 0..9 {
        let t0 = Instant::now();
        for _ in 0..N {
            noop_process(&mut block);
        }
        let bare = t0.elapsed().as_nanos() as f64;
        let t0 = Instant::now();
        let mut allocations = 0;
        for _ in 0..N {
            let ((), a, _, _) = time_block(&mut times, || noop_process(&mut block));
            allocations += a;
        }
        std::hint::black_box(allocations);
        let timed = t0.elapsed().as_nanos() as f64;
        overheads.push(((timed - bare) / N as f64).max(0.0));
    }
    overheads.sort_by(f64::total_cmp);
    HarnessCalibration {
        timer_resolution_ns: if min_step == u64::MAX {
            0.0
        } else {
            min_step as f64
        },
        timer_read_ns: read_ns,
        overhead_ns_per_block: overheads[overheads.len() / 2],
        memory_bytes: times.memory_bytes() as u64 + material_bytes,
    }
}

/// Bytes the generated stems take at `rate`.
pub fn material_bytes(rate: u32) -> u64 {
    // Nine stems of 8 s.
    9 * 8 * rate as u64 * 4
}
