//! The [`Engine`]: one block callback over the whole graph. Its input
//! stage (any rate in, the engine rate out) and its control handles live
//! in submodules.

use kmidi_dsp::denormal::DenormalGuard;
use kmidi_dsp::dynamics::{Compressor, Limiter};
use kmidi_dsp::eq::Equalizer;
use kmidi_dsp::mixer::{MixBuses, Mixer, MixerConfig, StripLayout};
use kmidi_dsp::{
    AudioBuffer, BufferProcessor, ConfigError, FrameMapping, IoLayout, ProcessError, Processor,
    StreamSpec,
};
use kmidi_groove::onset::{OnsetConfig, OnsetDetector};
use kmidi_groove::scheduler::BlockEvent;
use kmidi_harmony::detect::{ChordDetector, Detection, DetectorConfig, KeyEstimate};

use crate::EngineError;
use crate::config::EngineConfig;
use crate::groove_track::{LoopedGroove, is_note_on};
use crate::ml_tap::{MlInsights, MlTap};
use crate::timing::{Stage, StageClock, StageNanos};

mod control;
mod input;

pub use control::{EngineControl, GrooveControl};
use input::InputStage;

/// Most MIDI events the scheduler hands out in one block; more are counted
/// in [`EngineStats::midi_events_dropped`].
pub const MAX_EVENTS_PER_BLOCK: usize = 1024;

/// Running counters, readable after any block.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EngineStats {
    /// Blocks processed since build or reset.
    pub blocks: u64,
    /// Frames output.
    pub frames: u64,
    /// Frames of silence inserted because the resampled input ran short.
    pub input_underrun_frames: u64,
    /// Chord changes the detector reported.
    pub chord_changes: u64,
    /// Onsets detected.
    pub onsets: u64,
    /// MIDI note-ons the scheduler emitted.
    pub midi_note_ons: u64,
    /// MIDI events past [`MAX_EVENTS_PER_BLOCK`] in a block.
    pub midi_events_dropped: u64,
    /// Sample peak of the output since build or reset.
    pub output_peak: f32,
}

/// The inserts on one track: EQ then compressor.
struct TrackInserts {
    eq: Option<Equalizer>,
    compressor: Option<Compressor>,
}

/// The engine graph. See the [crate docs](crate).
pub struct Engine {
    config: EngineConfig,
    spec: StreamSpec,
    input: InputStage,
    track_in: Vec<AudioBuffer>,
    inserts: Vec<TrackInserts>,
    mixer: Mixer,
    buses: MixBuses,
    master_eq: Option<Equalizer>,
    limiter: Limiter,
    chords: Option<ChordDetector>,
    onsets: Option<OnsetDetector>,
    ml: Option<MlTap>,
    groove: Option<Box<LoopedGroove>>,
    groove_in: rtrb::Consumer<Box<LoopedGroove>>,
    groove_out: rtrb::Producer<Box<LoopedGroove>>,
    groove_control: Option<GrooveControl>,
    events: Vec<BlockEvent>,
    clock: StageClock,
    stats: EngineStats,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("sample_rate", &self.config.sample_rate)
            .field("block_frames", &self.config.block_frames)
            .field("tracks", &self.config.tracks.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl Engine {
    /// Builds and prepares the whole graph: every allocation happens here.
    /// With `ml` enabled it loads the models (ONNX Runtime must be present)
    /// and starts the inference worker.
    ///
    /// # Errors
    /// [`EngineError`] naming the first bad setting, or the model or
    /// runtime that could not be loaded.
    pub fn new(config: EngineConfig) -> Result<Self, EngineError> {
        config.validate()?;
        let rate = config.sample_rate;
        let block = config.block_frames;
        let spec = StreamSpec::new(rate as f64, block, 2)?;
        let mono = spec.with_channels(1)?;
        let input = InputStage::new(&config)?;

        let mut inserts = Vec::with_capacity(config.tracks.len());
        for (i, t) in config.tracks.iter().enumerate() {
            let ctx = || format!("track {i} (\"{}\")", t.name);
            let eq = if t.eq.is_empty() {
                None
            } else {
                let bands: Vec<_> = t.eq.iter().map(|b| b.settings()).collect();
                let mut eq = Equalizer::new(&bands).map_err(|e| EngineError::config(ctx(), e))?;
                eq.prepare(&mono)?;
                Some(eq)
            };
            let compressor = match &t.compressor {
                Some(c) => {
                    let mut comp = Compressor::new(*c)
                        .map_err(|e| EngineError::config(format!("{} compressor", ctx()), e))?;
                    comp.prepare(&mono)?;
                    Some(comp)
                }
                None => None,
            };
            inserts.push(TrackInserts { eq, compressor });
        }
        let track_in = (0..config.tracks.len())
            .map(|_| AudioBuffer::try_new(1, block))
            .collect::<Result<Vec<_>, _>>()?;

        let mut mixer = Mixer::new(&MixerConfig::uniform(
            config.tracks.len(),
            StripLayout::Mono,
        ))?;
        mixer.prepare(&spec)?;
        let handle = mixer.handle();
        for (i, t) in config.tracks.iter().enumerate() {
            handle.set_gain_db(i, t.gain_db)?;
            handle.set_pan(i, t.pan)?;
        }
        handle.set_master_db(config.master.gain_db)?;
        mixer.reset();
        let buses = mixer.create_buses();

        let master_eq = if config.master.eq.is_empty() {
            None
        } else {
            let bands: Vec<_> = config.master.eq.iter().map(|b| b.settings()).collect();
            let mut eq = Equalizer::new(&bands).map_err(|e| EngineError::config("master", e))?;
            eq.prepare(&spec)?;
            Some(eq)
        };
        let mut limiter = Limiter::new(config.master.limiter.settings())
            .map_err(|e| EngineError::config("master limiter", e))?;
        limiter.prepare(&spec)?;

        let chords = if config.analysis.chords {
            let mut d = ChordDetector::new(DetectorConfig::default());
            d.prepare(&spec)?;
            Some(d)
        } else {
            None
        };
        let onsets = if config.analysis.onsets {
            let mut d = OnsetDetector::new(OnsetConfig::default());
            d.prepare(&spec)?;
            Some(d)
        } else {
            None
        };
        let ml = if config.ml.enabled() {
            Some(MlTap::new(
                config.ml.harmony,
                config.ml.dynamics,
                config.ml.precision.into(),
                rate,
            )?)
        } else {
            None
        };
        let groove = if config.groove.enabled {
            Some(Box::new(LoopedGroove::new(&config.groove, rate)?))
        } else {
            None
        };
        let (groove_control, groove_in, groove_out) = GrooveControl::with_rings(rate);
        Ok(Self {
            clock: StageClock::new(config.stage_timing),
            config,
            spec,
            input,
            track_in,
            inserts,
            mixer,
            buses,
            master_eq,
            limiter,
            chords,
            onsets,
            ml,
            groove,
            groove_in,
            groove_out,
            groove_control: Some(groove_control),
            events: Vec::with_capacity(MAX_EVENTS_PER_BLOCK),
            stats: EngineStats::default(),
        })
    }

    /// The config the engine was built from.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The engine's stream: rate, largest block, 2 output channels.
    pub fn spec(&self) -> &StreamSpec {
        &self.spec
    }

    /// Input channels `process` expects.
    pub fn input_channels(&self) -> usize {
        self.input.channels
    }

    /// Input rate ÷ engine rate.
    pub fn input_rate_ratio(&self) -> f64 {
        self.input.rate_ratio
    }

    /// The groove's control side, once (later calls return `None`).
    pub fn take_groove_control(&mut self) -> Option<GrooveControl> {
        self.groove_control.take()
    }

    /// Where the groove's playhead is in its loop, 0 to 1.
    pub fn groove_phase(&self) -> Option<f64> {
        self.groove.as_ref().map(|g| g.phase())
    }

    /// The lock-free control handle.
    pub fn control(&self) -> EngineControl {
        EngineControl::new(self.mixer.handle())
    }

    /// A stereo output buffer sized for this engine.
    pub fn create_output(&self) -> AudioBuffer {
        AudioBuffer::new(2, self.config.block_frames)
    }

    /// Total latency, frames at the engine rate: input resampling plus the
    /// limiter's lookahead.
    pub fn latency_frames(&self) -> usize {
        self.input.latency_frames() + self.limiter.latency_frames()
    }

    /// How long the graph remembers its input, frames at the engine rate:
    /// the longest tail of any node on the audio path (EQ ring-out,
    /// compressor release, limiter release), plus the input resampler's.
    pub fn tail_frames(&self) -> usize {
        let inserts = self
            .inserts
            .iter()
            .map(|i| {
                i.eq.as_ref().map_or(0, Processor::tail_frames)
                    + i.compressor.as_ref().map_or(0, Processor::tail_frames)
            })
            .max()
            .unwrap_or(0);
        let input = self
            .input
            .resampler
            .as_ref()
            .map_or(0, BufferProcessor::tail_frames);
        input
            + inserts
            + BufferProcessor::tail_frames(&self.mixer)
            + self.master_eq.as_ref().map_or(0, Processor::tail_frames)
            + Processor::tail_frames(&self.limiter)
    }

    /// Turns per-stage timing on or off (from the audio thread's owner).
    pub fn set_stage_timing(&mut self, on: bool) {
        self.clock.set_enabled(on);
    }

    /// Whether per-stage timing is on.
    pub fn stage_timing(&self) -> bool {
        self.clock.enabled()
    }

    /// Nanoseconds each stage took in the last block (zeros when off).
    pub fn last_stage_nanos(&self) -> &StageNanos {
        self.clock.last()
    }

    /// Total nanoseconds per stage, and the blocks they cover.
    pub fn stage_totals(&self) -> (&StageNanos, u64) {
        self.clock.totals()
    }

    /// Clears the stage totals.
    pub fn clear_stage_totals(&mut self) {
        self.clock.clear();
    }

    /// Counters since build or reset.
    pub fn stats(&self) -> EngineStats {
        let mut s = self.stats;
        s.input_underrun_frames = self.input.underruns;
        s
    }

    /// The chord detector's current label, if the tap is on.
    pub fn chord(&self) -> Option<Detection> {
        self.chords.as_ref().map(ChordDetector::current)
    }

    /// The chord detector's key estimate, if any.
    pub fn key(&self) -> Option<KeyEstimate> {
        self.chords.as_ref().and_then(ChordDetector::key_estimate)
    }

    /// The onset detector, if the tap is on (onsets of the last block,
    /// and the envelope for tempo and beat tracking).
    pub fn onset_detector(&self) -> Option<&OnsetDetector> {
        self.onsets.as_ref()
    }

    /// What the models said most recently (`None` without ML).
    pub fn ml_insights(&self) -> Option<MlInsights> {
        self.ml.as_ref().map(MlTap::insights)
    }

    /// The MIDI events of the last block, with offsets into it.
    pub fn midi_events(&self) -> &[BlockEvent] {
        &self.events
    }

    /// Reads one block and writes one: `output.frames()` sets the block
    /// length (up to `block_frames`). `input` has
    /// [`input_channels`](Self::input_channels) channels at the input rate:
    /// at the engine rate, exactly `output.frames()` frames; otherwise
    /// about `output.frames() × input_rate_ratio()` (see
    /// [`InputClock`](crate::InputClock)). Never allocates, locks or panics.
    ///
    /// # Errors
    /// [`ProcessError`] if the buffers do not match the engine; the output
    /// is then silent. The error is `Copy` and static, so even this path
    /// cannot allocate.
    pub fn process(
        &mut self,
        input: &AudioBuffer,
        output: &mut AudioBuffer,
    ) -> Result<(), ProcessError> {
        let _ftz = DenormalGuard::new();
        let frames = output.frames();
        if let Err(e) = ProcessError::check_equal(
            "output channels",
            2,
            output.channels(),
            "the engine's stereo output",
        )
        .and_then(|()| ProcessError::check_frames("frames", frames, self.config.block_frames))
        {
            output.clear();
            return Err(e);
        }
        self.clock.start_block();

        // Input: resample, route to the tracks.
        let source = match self.input.pull(input, frames) {
            Ok(s) => s,
            Err(e) => {
                output.clear();
                return Err(e);
            }
        };
        for (t, track) in self.config.tracks.iter().enumerate() {
            let dst = &mut self.track_in[t];
            dst.set_frames_clamped(frames);
            dst.channel_mut(0)
                .copy_from_slice(&source.channel(track.input_channel)[..frames]);
        }
        self.input.consume(frames);
        self.clock.lap(Stage::Input);

        for (buf, ins) in self.track_in.iter_mut().zip(self.inserts.iter_mut()) {
            if let Some(eq) = ins.eq.as_mut() {
                eq.process(buf);
            }
            if let Some(c) = ins.compressor.as_mut() {
                c.process(buf);
            }
        }
        self.clock.lap(Stage::TrackInserts);

        self.mixer.process(&self.track_in, &mut self.buses)?;
        self.clock.lap(Stage::Mix);

        let master = &mut self.buses.master;
        if let Some(eq) = self.master_eq.as_mut() {
            eq.process(master);
        }
        self.limiter.process(master);
        self.clock.lap(Stage::MasterBus);

        if let Some(d) = self.chords.as_mut() {
            d.process(master);
            self.stats.chord_changes += d.changes().len() as u64;
            if let (Some(ml), Some(change)) = (self.ml.as_mut(), d.changes().last()) {
                ml.chord_changed(change.label, d.key_estimate().map(|k| k.key));
            }
        }
        self.clock.lap(Stage::ChordDetector);

        if let Some(d) = self.onsets.as_mut() {
            d.process(master);
            self.stats.onsets += d.onsets().len() as u64;
        }
        self.clock.lap(Stage::OnsetDetector);

        if let Some(ml) = self.ml.as_mut() {
            ml.feed(&master.channel(0)[..frames], &master.channel(1)[..frames]);
        }
        self.clock.lap(Stage::MlFeed);

        self.events.clear();
        if let Ok(mut next) = self.groove_in.pop() {
            if let Some(old) = self.groove.take() {
                next.seek_phase(old.phase());
                if let Err(rtrb::PushError::Full(old)) = self.groove_out.push(old) {
                    // Unreachable by the ring sizes; leaking beats freeing
                    // on the audio thread.
                    std::mem::forget(old);
                }
            }
            self.groove = Some(next);
        }
        if let Some(g) = self.groove.as_mut() {
            let s = &mut g.scheduler;
            let events = &mut self.events;
            let stats = &mut self.stats;
            s.process_block(frames as u32, |e| {
                if events.len() < MAX_EVENTS_PER_BLOCK {
                    if is_note_on(&e.kind) {
                        stats.midi_note_ons += 1;
                    }
                    events.push(e);
                } else {
                    stats.midi_events_dropped += 1;
                }
            });
        }
        self.clock.lap(Stage::MidiScheduler);

        for ch in 0..2 {
            output
                .channel_mut(ch)
                .copy_from_slice(&master.channel(ch)[..frames]);
        }
        let peak = output.peak();
        if peak > self.stats.output_peak {
            self.stats.output_peak = peak;
        }
        self.stats.blocks += 1;
        self.stats.frames += frames as u64;
        self.clock.end_block();
        Ok(())
    }

    /// Clears every node's state and the counters (off the audio thread or
    /// between blocks).
    pub fn reset(&mut self) {
        self.input.reset();
        for ins in &mut self.inserts {
            if let Some(eq) = ins.eq.as_mut() {
                eq.reset();
            }
            if let Some(c) = ins.compressor.as_mut() {
                c.reset();
            }
        }
        self.mixer.reset();
        if let Some(eq) = self.master_eq.as_mut() {
            eq.reset();
        }
        self.limiter.reset();
        if let Some(d) = self.chords.as_mut() {
            d.reset();
        }
        if let Some(d) = self.onsets.as_mut() {
            d.reset();
        }
        if let Some(ml) = self.ml.as_mut() {
            ml.reset();
        }
        if let Some(g) = self.groove.as_mut() {
            g.scheduler.seek(0);
        }
        self.events.clear();
        self.clock.clear();
        self.stats = EngineStats::default();
    }
}

/// Input frames per engine block when the input runs at another rate: the
/// DSP core's drift-free [`RateClock`](kmidi_dsp::resampler::RateClock),
/// from the input rate to the engine rate.
///
/// ```
/// use kmidi_engine::InputClock;
/// let mut clock = InputClock::new(44_100, 48_000);
/// let total: usize = (0..1000).map(|_| clock.input_frames(512)).sum();
/// assert_eq!(total, 470_400); // 512 000 × 44.1 / 48
/// ```
pub type InputClock = kmidi_dsp::resampler::RateClock;

/// The engine as a node of the DSP core's contract, so the conformance
/// suite (and any generic host code) drives it like every other node.
///
/// `prepare` rebuilds the whole graph at the stream's rate and block size
/// (the only place it allocates; a [`GrooveControl`] taken before no
/// longer reaches the new graph). The stream's channels must be the
/// engine's input channels. A config with `input_rate` set keeps it: the
/// input then runs at that rate and the mapping is
/// [`FrameMapping::Pulled`].
impl BufferProcessor for Engine {
    fn prepare(&mut self, spec: &StreamSpec) -> Result<(), ConfigError> {
        let expected = self.input.channels;
        if spec.channels() != expected {
            return Err(ConfigError::Mismatch {
                field: "channels",
                expected,
                actual: spec.channels(),
                context: "the engine's input channels (from its config)",
            });
        }
        let rate = spec.sample_rate();
        if rate.fract() != 0.0 {
            return Err(ConfigError::Invalid {
                field: "sample_rate",
                value: rate.to_string(),
                expected: "a whole number of Hz",
            });
        }
        let mut config = self.config.clone();
        config.sample_rate = rate as u32;
        config.block_frames = spec.max_block_frames();
        *self = Engine::new(config).map_err(|e| match e {
            EngineError::Dsp(c) => c,
            other => ConfigError::Invalid {
                field: "engine",
                value: other.to_string(),
                expected: "a config the engine can build at this rate and block size",
            },
        })?;
        Ok(())
    }

    fn layout(&self, spec: &StreamSpec) -> IoLayout {
        let block = spec.max_block_frames();
        let (max_input_frames, frames) = if self.input.resampler.is_some() {
            let in_rate = self.config.effective_input_rate();
            (
                (block as f64 * self.input.rate_ratio).ceil() as usize + 1,
                FrameMapping::Pulled {
                    input_rate: in_rate,
                    output_rate: self.config.sample_rate,
                },
            )
        } else {
            (block, FrameMapping::Equal)
        };
        IoLayout {
            input_channels: self.input.channels,
            output_channels: 2,
            max_input_frames,
            max_output_frames: block,
            output_rate: self.config.sample_rate as f64,
            frames,
        }
    }

    fn process_into(
        &mut self,
        input: &AudioBuffer,
        output: &mut AudioBuffer,
    ) -> Result<(), ProcessError> {
        if self.input.resampler.is_none() {
            output.set_frames_clamped(input.frames());
            if input.frames() > output.capacity() {
                output.clear();
                return Err(ProcessError::TooManyFrames {
                    field: "frames",
                    actual: input.frames(),
                    max: output.capacity(),
                });
            }
        }
        Engine::process(self, input, output)
    }

    fn reset(&mut self) {
        Engine::reset(self);
    }

    fn latency_frames(&self) -> usize {
        Engine::latency_frames(self)
    }

    fn tail_frames(&self) -> usize {
        Engine::tail_frames(self)
    }
}
