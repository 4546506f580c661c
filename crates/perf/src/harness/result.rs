//! What a run measured: the result types, and how they are filled from
//! the block times and the engine's own counters.

use std::path::PathBuf;

use kmidi_engine::{Engine, EngineConfig, Stage};
use serde::{Deserialize, Serialize};

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
    pub(super) fn add(&mut self, other: &EngineCounters) {
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
    /// The ML models the engine ran, each with what its weights learned
    /// (`untrained` and `latency fixture` say so).
    #[serde(default)]
    pub ml_models: Vec<ModelInUse>,
    /// The audio host's figures (`run --host`, `soak`): its xruns by
    /// class, callback-start jitter, DSP load, output identity, timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<crate::host::HostInfo>,
}

/// An ML model a run used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInUse {
    /// Its file stem (`harmony_predictor`).
    pub model: String,
    /// What its weights learned ([`kmidi_ml::models::Training`]).
    pub training: String,
}

/// The models `engine`'s configuration runs.
fn models_in_use(engine: &Engine) -> Vec<ModelInUse> {
    use kmidi_ml::models::Model;
    let ml = &engine.config().ml;
    [
        (ml.harmony, Model::HarmonyPredictor),
        (ml.dynamics, Model::DynamicsEngine),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, m)| ModelInUse {
        model: m.stem().to_string(),
        training: m.training().to_string(),
    })
    .collect()
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

pub(super) fn counters(engine: &Engine) -> EngineCounters {
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

/// What a run (or a set of merged runs) adds up to.
pub(crate) struct Totals {
    /// Frames processed while timed.
    pub(crate) frames: u64,
    /// Audio-thread allocations.
    pub(crate) allocations: u64,
    /// Audio-thread CPU seconds.
    pub(crate) thread_cpu: f64,
    /// Process CPU seconds.
    pub(crate) process_cpu: f64,
    /// Wall seconds.
    pub(crate) wall: f64,
}

impl RunResult {
    /// Sets every figure derived from the block times and the totals.
    pub(super) fn set_totals(&mut self, times: &BlockTimes, t: Totals) {
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

/// The result of driving `engine` for `spec`: its block times, the
/// engine's stage times and counters, and the run's totals.
pub(crate) fn result_from(
    spec: &RunSpec,
    engine: &Engine,
    input: String,
    times: &BlockTimes,
    totals: Totals,
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
        ml_models: models_in_use(engine),
        host: None,
    };
    r.set_totals(times, totals);
    r
}

/// Several runs added together (parallel instances, batch files): their
/// block times merged into one histogram and their totals summed.
#[derive(Default)]
pub(super) struct Merged {
    times: Option<BlockTimes>,
    frames: u64,
    allocations: u64,
    thread_cpu: f64,
}

impl Merged {
    /// Adds one run's block times and totals.
    pub(super) fn add(
        &mut self,
        times: BlockTimes,
        frames: u64,
        allocations: u64,
        thread_cpu: f64,
    ) {
        self.frames += frames;
        self.allocations += allocations;
        self.thread_cpu += thread_cpu;
        match self.times.as_mut() {
            Some(m) => m.merge(&times),
            None => self.times = Some(times),
        }
    }

    /// Sets `out`'s figures from the merged runs, with the process CPU and
    /// wall seconds measured around all of them.
    pub(super) fn set_totals(self, out: &mut RunResult, margin: f64, process_cpu: f64, wall: f64) {
        let times = self.times.unwrap_or_else(|| BlockTimes::new(1.0, margin));
        out.set_totals(
            &times,
            Totals {
                frames: self.frames,
                allocations: self.allocations,
                thread_cpu: self.thread_cpu,
                process_cpu,
                wall,
            },
        );
    }
}
