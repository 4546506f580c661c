//! Driving one engine block by block, timing every callback.

use std::time::{Duration, Instant};

use kmidi_dsp::AudioBuffer;
use kmidi_dsp::alloc_probe::count_allocations;
use kmidi_engine::material::Material;
use kmidi_engine::render::WavSource;
use kmidi_engine::{Engine, EngineError, InputClock};

use super::feed::{Feed, FileFeed, material};
use super::result::{InputSource, RunSpec, Totals};
use crate::PerfError;
use crate::stats::BlockTimes;
use crate::sys;

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

impl Drive {
    /// The run's totals, with the process CPU seconds and wall seconds
    /// that the caller measured around it.
    pub(super) fn totals(&self, process_cpu: f64, wall: f64) -> Totals {
        Totals {
            frames: self.frames,
            allocations: self.allocations,
            thread_cpu: self.thread_cpu_seconds,
            process_cpu,
            wall,
        }
    }
}

/// How to drive an engine: how many blocks, paced or not, after how
/// much warm-up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrivePlan {
    /// At most this many timed blocks (fewer if the feed runs out).
    pub blocks: u64,
    /// Share of the period above which a block is "over the margin".
    pub margin: f64,
    /// Start each block at its period boundary, as a device would.
    pub pace: bool,
    /// Blocks run and discarded before timing starts.
    pub warmup_blocks: usize,
}

/// Drives `engine` for at most `plan.blocks` blocks (or until `feed` runs
/// out), timing each callback. With `plan.pace`, each block starts at its
/// period boundary, as an audio device would call it. `progress` is called every
/// 256 blocks, outside the timed region.
///
/// # Errors
/// [`PerfError::Engine`] if the engine rejects a block.
pub fn drive(
    engine: &mut Engine,
    feed: &mut dyn Feed,
    plan: &DrivePlan,
    progress: &mut dyn FnMut(u64),
) -> Result<Drive, PerfError> {
    let DrivePlan {
        blocks,
        margin,
        pace,
        warmup_blocks,
    } = *plan;
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

impl RunSpec {
    /// The drive plan for `blocks` blocks of this spec.
    pub(super) fn plan(&self, blocks: u64, pace: bool) -> DrivePlan {
        DrivePlan {
            blocks,
            margin: self.safety_margin,
            pace,
            warmup_blocks: self.warmup_blocks,
        }
    }
}

/// Where a built engine's input comes from.
pub(super) enum FeedSource {
    Material(Material),
    File(FileFeed),
}

/// An engine built for a spec, with its input.
pub(super) struct Built {
    pub(super) engine: Engine,
    pub(super) feed: FeedSource,
    /// "generated" or the input path.
    pub(super) input: String,
}

impl Built {
    /// Drives the built engine over its own input.
    pub(super) fn drive(
        &mut self,
        plan: &DrivePlan,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Drive, PerfError> {
        let channels = self.engine.input_channels();
        match &mut self.feed {
            FeedSource::Material(m) => {
                drive(&mut self.engine, &mut m.player(channels), plan, progress)
            }
            FeedSource::File(f) => drive(&mut self.engine, f, plan, progress),
        }
    }
}

pub(super) fn build(spec: &RunSpec) -> Result<Built, PerfError> {
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

pub(super) fn blocks_for(spec: &RunSpec, built: &Built) -> u64 {
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
