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
    let period = Duration::from_secs_f64(block as f64 / rate);
    let period_ns = period.as_secs_f64() * 1e9;
    let mut io = BlockIo::new(engine)?;

    for _ in 0..warmup_blocks {
        io.next_input()?;
        feed.fill(&mut io.input);
        engine
            .process(&io.input, &mut io.output)
            .map_err(EngineError::from)?;
    }
    // Timing starts from the top of the input with the engine's state
    // cleared; the warm-up only warmed caches and predictors.
    if warmup_blocks > 0 {
        engine.reset();
        feed.rewind();
        io.restart_clock();
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
        io.next_input()?;
        more = feed.fill(&mut io.input);
        let boundary = start + period.mul_f64(k as f64);
        if pace {
            wait_until(boundary);
        }
        let (result, alloc, t0, t1) =
            time_block(&mut times, || engine.process(&io.input, &mut io.output));
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

/// Returns at `boundary` (at once if it has passed): sleeps most of the
/// way, then spins, since a sleep alone overshoots by up to a scheduler
/// tick. The pacing of every simulated period boundary.
pub(crate) fn wait_until(boundary: Instant) {
    let now = Instant::now();
    if boundary > now {
        let wait = boundary - now;
        if wait > Duration::from_micros(300) {
            std::thread::sleep(wait - Duration::from_micros(200));
        }
        while Instant::now() < boundary {
            std::hint::spin_loop();
        }
    }
}

/// An engine's input clock and its input and output buffers, sized for
/// its block: what every loop that calls [`Engine::process`] sets up (the
/// harness's drive, the host's offline render).
pub(crate) struct BlockIo {
    clock: InputClock,
    /// The clock as it was made, for [`BlockIo::restart_clock`].
    fresh_clock: InputClock,
    block: usize,
    /// The next block's input (its length set by [`BlockIo::next_input`]).
    pub(crate) input: AudioBuffer,
    /// The engine's output, one block long.
    pub(crate) output: AudioBuffer,
}

impl BlockIo {
    /// Buffers for `engine`: room for the most input frames its clock can
    /// ask for in one block (the input rate may differ from the engine's).
    pub(crate) fn new(engine: &Engine) -> Result<Self, EngineError> {
        let rate = engine.spec().sample_rate();
        let block = engine.config().block_frames;
        let in_rate = engine.config().effective_input_rate();
        let max_in = (block as f64 * f64::from(in_rate) / rate).ceil() as usize + 1;
        let input = AudioBuffer::try_new(engine.input_channels(), max_in)?;
        let mut output = engine.create_output();
        output.set_frames(block)?;
        let clock = InputClock::new(in_rate, rate as u32);
        Ok(Self {
            clock,
            fresh_clock: clock,
            block,
            input,
            output,
        })
    }

    /// Sets the input's length to the frames the clock asks for in the
    /// next block.
    pub(crate) fn next_input(&mut self) -> Result<(), EngineError> {
        self.input.set_frames(self.clock.input_frames(self.block))?;
        Ok(())
    }

    /// Starts the input clock again from the top (after a warm-up).
    pub(crate) fn restart_clock(&mut self) {
        self.clock = self.fresh_clock;
    }
}
