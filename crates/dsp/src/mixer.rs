//! A mixing console: mono and stereo strips into a stereo master and N
//! stereo aux buses.
//!
//! Per strip: fader gain, constant-power pan, mute, solo (solo-in-place: while
//! any strip is soloed, every strip that is not is silenced, sends included),
//! and one send level per aux bus, pre- or post-fader. The send levels form
//! the routing matrix (strips × buses).
//!
//! Every parameter lives in an atomic that a [`MixerHandle`] writes from any
//! thread; [`Mixer::process`] reads them once per block and ramps each
//! strip-to-bus gain linearly over the ramp time, so no change clicks.
//!
//! Pan law: a mono strip at pan `p` in `[-1, 1]` sends `cos θ` left and
//! `sin θ` right with `θ = (p + 1) π / 4`: -3 dB each at the centre, and
//! constant power everywhere. A stereo strip's pan is a balance control:
//! `min(1, √2 cos θ)` on its left channel and `min(1, √2 sin θ)` on its right,
//! so the centre is bit-transparent.

use std::f32::consts::{FRAC_PI_4, SQRT_2};
use std::sync::Arc;

use crate::gain::db_to_linear;
use crate::param::{AtomicF32, AtomicSwitch, LinearRamp};
use crate::processor::{FrameMapping, IoLayout};
use crate::{AudioBuffer, BufferProcessor, ConfigError, ProcessError, StreamSpec};

/// Most strips one mixer can hold.
pub const MAX_STRIPS: usize = 256;
/// Most aux buses one mixer can hold.
pub const MAX_AUX_BUSES: usize = 32;
/// Fader and send range, in dB; -144 dB and below is silence.
pub const FADER_RANGE_DB: (f32, f32) = (-144.0, 12.0);

/// The channel layout of a strip's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StripLayout {
    /// One channel, panned into the stereo buses.
    Mono,
    /// Two channels, balanced into the stereo buses.
    Stereo,
}

impl StripLayout {
    /// Channels of this layout.
    pub fn channels(self) -> usize {
        match self {
            StripLayout::Mono => 1,
            StripLayout::Stereo => 2,
        }
    }
}

/// Where a send taps the strip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendTap {
    /// Before the fader (monitor mixes): fader moves do not change the send.
    PreFader,
    /// After the fader (effects sends).
    PostFader,
}

#[derive(Debug)]
struct SharedStrip {
    gain_db: AtomicF32,
    pan: AtomicF32,
    mute: AtomicSwitch,
    solo: AtomicSwitch,
    send_db: Box<[AtomicF32]>,
    send_pre_fader: Box<[AtomicSwitch]>,
}

#[derive(Debug)]
struct SharedMixer {
    strips: Box<[SharedStrip]>,
    master_db: AtomicF32,
}

/// The control side of a [`Mixer`]: every setter is a relaxed atomic store,
/// safe from any thread, and validated.
#[derive(Debug, Clone)]
pub struct MixerHandle(Arc<SharedMixer>);

impl MixerHandle {
    fn strip(&self, strip: usize) -> Result<&SharedStrip, ConfigError> {
        self.0
            .strips
            .get(strip)
            .ok_or(ConfigError::IndexOutOfRange {
                field: "strip",
                index: strip,
                max_index: self.0.strips.len().saturating_sub(1),
            })
    }

    fn check_db(field: &'static str, db: f32) -> Result<(), ConfigError> {
        ConfigError::check_f32(
            field,
            db,
            FADER_RANGE_DB.0 as f64,
            FADER_RANGE_DB.1 as f64,
            " dB",
        )
        .map(|_| ())
    }

    /// Sets a strip's fader, in dB (-144 to +12).
    ///
    /// # Errors
    /// [`ConfigError`] for a bad strip index or gain.
    pub fn set_gain_db(&self, strip: usize, db: f32) -> Result<(), ConfigError> {
        Self::check_db("gain_db", db)?;
        self.strip(strip)?.gain_db.store(db);
        Ok(())
    }

    /// Sets a strip's pan, from -1 (left) to +1 (right).
    ///
    /// # Errors
    /// [`ConfigError`] for a bad strip index or pan.
    pub fn set_pan(&self, strip: usize, pan: f32) -> Result<(), ConfigError> {
        ConfigError::check_f32("pan", pan, -1.0, 1.0, "")?;
        self.strip(strip)?.pan.store(pan);
        Ok(())
    }

    /// Mutes or unmutes a strip.
    ///
    /// # Errors
    /// [`ConfigError`] for a bad strip index.
    pub fn set_mute(&self, strip: usize, mute: bool) -> Result<(), ConfigError> {
        self.strip(strip)?.mute.set(mute);
        Ok(())
    }

    /// Solos or unsolos a strip.
    ///
    /// # Errors
    /// [`ConfigError`] for a bad strip index.
    pub fn set_solo(&self, strip: usize, solo: bool) -> Result<(), ConfigError> {
        self.strip(strip)?.solo.set(solo);
        Ok(())
    }

    /// Sets the routing-matrix entry from `strip` to aux bus `bus`, in dB
    /// (-144 = no send), and where it taps the strip.
    ///
    /// # Errors
    /// [`ConfigError`] for a bad strip or bus index, or level.
    pub fn set_send(
        &self,
        strip: usize,
        bus: usize,
        db: f32,
        tap: SendTap,
    ) -> Result<(), ConfigError> {
        Self::check_db("send_db", db)?;
        let s = self.strip(strip)?;
        let level = s.send_db.get(bus).ok_or(ConfigError::IndexOutOfRange {
            field: "bus",
            index: bus,
            max_index: s.send_db.len().saturating_sub(1),
        })?;
        level.store(db);
        s.send_pre_fader[bus].set(tap == SendTap::PreFader);
        Ok(())
    }

    /// The routing-matrix entry from `strip` to `bus`, in dB, or `None` if
    /// either does not exist.
    pub fn send_db(&self, strip: usize, bus: usize) -> Option<f32> {
        self.0
            .strips
            .get(strip)
            .and_then(|s| s.send_db.get(bus))
            .map(AtomicF32::load)
    }

    /// Sets the master fader, in dB.
    ///
    /// # Errors
    /// [`ConfigError`] for a gain out of range.
    pub fn set_master_db(&self, db: f32) -> Result<(), ConfigError> {
        Self::check_db("master_db", db)?;
        self.0.master_db.store(db);
        Ok(())
    }
}

/// The mixer's outputs: a stereo master and the stereo aux buses.
#[derive(Debug, Clone)]
pub struct MixBuses {
    /// The stereo master bus.
    pub master: AudioBuffer,
    /// The stereo aux buses, in bus order.
    pub aux: Vec<AudioBuffer>,
}

#[derive(Debug, Clone)]
struct StripRuntime {
    layout: StripLayout,
    /// Gains to master left and right.
    master: [LinearRamp; 2],
    /// Gains to each aux bus, left and right.
    sends: Vec<[LinearRamp; 2]>,
}

/// Describes a mixer to build.
#[derive(Debug, Clone, PartialEq)]
pub struct MixerConfig {
    /// One entry per strip.
    pub strips: Vec<StripLayout>,
    /// Number of stereo aux buses.
    pub aux_buses: usize,
    /// Time a parameter change takes, in ms.
    pub ramp_ms: f64,
}

impl MixerConfig {
    /// `strips` strips of one layout, no aux buses, 20 ms ramps.
    pub fn uniform(strips: usize, layout: StripLayout) -> Self {
        Self {
            strips: vec![layout; strips],
            aux_buses: 0,
            ramp_ms: crate::gain::DEFAULT_RAMP_MS,
        }
    }
}

/// The mixer. See the [module docs](self).
///
/// ```
/// use kmidi_dsp::{AudioBuffer, StreamSpec};
/// use kmidi_dsp::mixer::{Mixer, MixerConfig, StripLayout};
/// let mut mixer = Mixer::new(&MixerConfig::uniform(2, StripLayout::Stereo)).unwrap();
/// mixer.prepare(&StreamSpec::new(48_000.0, 512, 2).unwrap()).unwrap();
/// let mut buses = mixer.create_buses();
/// let inputs = vec![AudioBuffer::new(2, 512), AudioBuffer::new(2, 512)];
/// mixer.process(&inputs, &mut buses).unwrap();
/// assert_eq!(buses.master.frames(), 512);
/// ```
#[derive(Debug)]
pub struct Mixer {
    shared: Arc<SharedMixer>,
    strips: Vec<StripRuntime>,
    master_gain: LinearRamp,
    aux_buses: usize,
    ramp_ms: f64,
    max_frames: usize,
    prepared: bool,
}

impl Mixer {
    /// Builds a mixer. All faders start at 0 dB, pans centred, sends off.
    ///
    /// # Errors
    /// [`ConfigError`] if there are no strips, more than 256, more than 32 aux
    /// buses, or the ramp time is outside 0.1 to 1000 ms.
    pub fn new(config: &MixerConfig) -> Result<Self, ConfigError> {
        ConfigError::check_count("strips", config.strips.len(), 1, MAX_STRIPS)?;
        ConfigError::check_count("aux_buses", config.aux_buses, 0, MAX_AUX_BUSES)?;
        ConfigError::check_range("ramp_ms", config.ramp_ms, 0.1, 1000.0, " ms")?;
        let buses = config.aux_buses;
        let shared = SharedMixer {
            strips: config
                .strips
                .iter()
                .map(|_| SharedStrip {
                    gain_db: AtomicF32::new(0.0),
                    pan: AtomicF32::new(0.0),
                    mute: AtomicSwitch::new(false),
                    solo: AtomicSwitch::new(false),
                    send_db: (0..buses)
                        .map(|_| AtomicF32::new(FADER_RANGE_DB.0))
                        .collect(),
                    send_pre_fader: (0..buses).map(|_| AtomicSwitch::new(false)).collect(),
                })
                .collect(),
            master_db: AtomicF32::new(0.0),
        };
        let strips = config
            .strips
            .iter()
            .map(|&layout| StripRuntime {
                layout,
                master: [LinearRamp::new(0.0, 1); 2],
                sends: vec![[LinearRamp::new(0.0, 1); 2]; buses],
            })
            .collect();
        Ok(Self {
            shared: Arc::new(shared),
            strips,
            master_gain: LinearRamp::new(1.0, 1),
            aux_buses: buses,
            ramp_ms: config.ramp_ms,
            max_frames: 0,
            prepared: false,
        })
    }

    /// A handle for the control thread.
    pub fn handle(&self) -> MixerHandle {
        MixerHandle(Arc::clone(&self.shared))
    }

    /// Number of strips.
    pub fn strip_count(&self) -> usize {
        self.strips.len()
    }

    /// The layout of each strip.
    pub fn strip_layout(&self, strip: usize) -> Option<StripLayout> {
        self.strips.get(strip).map(|s| s.layout)
    }

    /// Sets the block size and ramp lengths, and jumps every gain to its
    /// current setting. The stream's channel count is ignored: the buses are
    /// always stereo.
    ///
    /// # Errors
    /// None today; the signature matches [`Processor::prepare`](crate::Processor::prepare).
    pub fn prepare(&mut self, spec: &StreamSpec) -> Result<(), ConfigError> {
        let ramp = spec.ms_to_frames(self.ramp_ms);
        self.max_frames = spec.max_block_frames();
        for s in self.strips.iter_mut() {
            for r in s.master.iter_mut().chain(s.sends.iter_mut().flatten()) {
                r.set_ramp_frames(ramp);
            }
        }
        self.master_gain.set_ramp_frames(ramp);
        self.update_targets();
        self.snap_ramps();
        self.prepared = true;
        Ok(())
    }

    /// Allocates output buses sized for the prepared block.
    pub fn create_buses(&self) -> MixBuses {
        let frames = self.max_frames.max(1);
        MixBuses {
            master: AudioBuffer::new(2, frames),
            aux: (0..self.aux_buses)
                .map(|_| AudioBuffer::new(2, frames))
                .collect(),
        }
    }

    fn snap_ramps(&mut self) {
        for s in self.strips.iter_mut() {
            for r in s.master.iter_mut().chain(s.sends.iter_mut().flatten()) {
                r.set_immediate(r.target());
            }
        }
        self.master_gain.set_immediate(self.master_gain.target());
    }

    /// Jumps every gain to its target (used by hosts on transport jumps).
    pub fn reset(&mut self) {
        self.update_targets();
        self.snap_ramps();
    }

    /// Reads the atomics and sets every ramp's target.
    fn update_targets(&mut self) {
        let shared = &*self.shared;
        let any_solo = shared.strips.iter().any(|s| s.solo.get());
        for (rt, sh) in self.strips.iter_mut().zip(shared.strips.iter()) {
            let audible = !sh.mute.get() && (!any_solo || sh.solo.get());
            let fader = if audible {
                db_to_linear(sh.gain_db.load())
            } else {
                0.0
            };
            let (pl, pr) = pan_gains(rt.layout, sh.pan.load());
            rt.master[0].set_target(fader * pl);
            rt.master[1].set_target(fader * pr);
            for (bus, ramps) in rt.sends.iter_mut().enumerate() {
                let level = db_to_linear(sh.send_db[bus].load());
                let pre = sh.send_pre_fader[bus].get();
                let g = if !audible {
                    0.0
                } else if pre {
                    level
                } else {
                    level * fader
                };
                ramps[0].set_target(g * pl);
                ramps[1].set_target(g * pr);
            }
        }
        self.master_gain
            .set_target(db_to_linear(shared.master_db.load()));
    }

    fn check_inputs(
        &self,
        inputs: &[AudioBuffer],
        buses: &MixBuses,
    ) -> Result<usize, ProcessError> {
        if !self.prepared {
            return Err(ProcessError::NotPrepared { processor: "Mixer" });
        }
        ProcessError::check_equal(
            "inputs",
            self.strips.len(),
            inputs.len(),
            "one input buffer per strip",
        )?;
        ProcessError::check_equal(
            "aux buses",
            self.aux_buses,
            buses.aux.len(),
            "use Mixer::create_buses",
        )?;
        let frames = inputs.first().map_or(0, AudioBuffer::frames);
        for (input, strip) in inputs.iter().zip(&self.strips) {
            ProcessError::check_equal(
                "input channels",
                strip.layout.channels(),
                input.channels(),
                "the strip's layout (mono 1, stereo 2)",
            )?;
            ProcessError::check_equal(
                "input frames",
                frames,
                input.frames(),
                "every strip's input must have the same frame count",
            )?;
        }
        let capacity = buses
            .aux
            .iter()
            .map(AudioBuffer::capacity)
            .fold(buses.master.capacity(), usize::min);
        ProcessError::check_frames("frames", frames, capacity.min(self.max_frames))?;
        if let Some(bad) = std::iter::once(&buses.master)
            .chain(buses.aux.iter())
            .find(|b| b.channels() != 2)
        {
            return Err(ProcessError::Mismatch {
                field: "bus channels",
                expected: 2,
                actual: bad.channels(),
                context: "buses are stereo; use Mixer::create_buses",
            });
        }
        Ok(frames)
    }

    /// Mixes one block: reads `inputs` (one buffer per strip, in strip order,
    /// all with the same frame count) and overwrites `buses`. Never
    /// allocates or panics.
    ///
    /// # Errors
    /// [`ProcessError`] if the inputs or buses do not match the mixer; the
    /// buses are then left unchanged.
    pub fn process(
        &mut self,
        inputs: &[AudioBuffer],
        buses: &mut MixBuses,
    ) -> Result<(), ProcessError> {
        let frames = self.check_inputs(inputs, buses)?;
        self.mix(
            frames,
            |strip| inputs[strip].channel(0),
            |strip| {
                let input = &inputs[strip];
                input.channel(input.channels() - 1)
            },
            buses,
        );
        Ok(())
    }

    /// The mixing itself, over any source of strip channels and any set of
    /// stereo buses (bus 0 is the master).
    fn mix<'a>(
        &mut self,
        frames: usize,
        left: impl Fn(usize) -> &'a [f32],
        right: impl Fn(usize) -> &'a [f32],
        buses: &mut impl StereoBuses,
    ) {
        self.update_targets();
        for bus in 0..=self.aux_buses {
            if let Some((l, r)) = buses.pair(bus, frames) {
                l.fill(0.0);
                r.fill(0.0);
            }
        }
        for (i, strip) in self.strips.iter_mut().enumerate() {
            let (src_l, src_r) = (left(i), right(i));
            if let Some(dst) = buses.pair(0, frames) {
                mix_into_stereo(dst, src_l, src_r, &mut strip.master, frames);
            }
            for (bus, ramps) in strip.sends.iter_mut().enumerate() {
                if let Some(dst) = buses.pair(bus + 1, frames) {
                    mix_into_stereo(dst, src_l, src_r, ramps, frames);
                }
            }
        }
        if let Some((l, r)) = buses.pair(0, frames) {
            let before = self.master_gain;
            crate::gain::apply_ramped_gain(l, &mut self.master_gain, frames);
            self.master_gain = before;
            crate::gain::apply_ramped_gain(r, &mut self.master_gain, frames);
        }
    }

    /// Input channels the mixer reads as a [`BufferProcessor`]: the strips'
    /// channels one after another.
    pub fn input_channels(&self) -> usize {
        self.strips.iter().map(|s| s.layout.channels()).sum()
    }
}

/// Stereo buses the mixer writes into: [`MixBuses`], or one buffer with
/// the buses' channel pairs side by side.
trait StereoBuses {
    /// Bus `bus`'s left and right channels, set to `frames` frames.
    fn pair(&mut self, bus: usize, frames: usize) -> Option<(&mut [f32], &mut [f32])>;
}

impl StereoBuses for MixBuses {
    fn pair(&mut self, bus: usize, frames: usize) -> Option<(&mut [f32], &mut [f32])> {
        let buf = if bus == 0 {
            &mut self.master
        } else {
            self.aux.get_mut(bus - 1)?
        };
        buf.set_frames_clamped(frames);
        buf.channel_pair_mut(0, 1)
    }
}

impl StereoBuses for AudioBuffer {
    fn pair(&mut self, bus: usize, frames: usize) -> Option<(&mut [f32], &mut [f32])> {
        self.set_frames_clamped(frames);
        self.channel_pair_mut(2 * bus, 2 * bus + 1)
    }
}

/// The mixer as a node: the input holds every strip's channels in strip
/// order (a mono strip one, a stereo strip two); the output holds the
/// master's left and right, then each aux bus's.
impl BufferProcessor for Mixer {
    /// Prepares for `spec`, whose channel count must be
    /// [`input_channels`](Mixer::input_channels).
    fn prepare(&mut self, spec: &StreamSpec) -> Result<(), ConfigError> {
        let expected = self.input_channels();
        if spec.channels() != expected {
            return Err(ConfigError::Mismatch {
                field: "channels",
                expected,
                actual: spec.channels(),
                context: "the mixer reads one channel per mono strip and two per stereo strip",
            });
        }
        Mixer::prepare(self, spec)
    }

    fn layout(&self, spec: &StreamSpec) -> IoLayout {
        IoLayout {
            input_channels: self.input_channels(),
            output_channels: 2 + 2 * self.aux_buses,
            max_input_frames: spec.max_block_frames(),
            max_output_frames: spec.max_block_frames(),
            output_rate: spec.sample_rate(),
            frames: FrameMapping::Equal,
        }
    }

    fn process_into(
        &mut self,
        input: &AudioBuffer,
        output: &mut AudioBuffer,
    ) -> Result<(), ProcessError> {
        let frames = input.frames();
        let checked = if self.prepared {
            Ok(())
        } else {
            Err(ProcessError::NotPrepared { processor: "Mixer" })
        }
        .and_then(|()| {
            ProcessError::check_equal(
                "input channels",
                self.input_channels(),
                input.channels(),
                "one per mono strip, two per stereo strip",
            )
        })
        .and_then(|()| {
            ProcessError::check_equal(
                "output channels",
                2 + 2 * self.aux_buses,
                output.channels(),
                "the master and each aux bus in stereo",
            )
        })
        .and_then(|()| {
            ProcessError::check_frames("frames", frames, self.max_frames.min(output.capacity()))
        });
        if let Err(e) = checked {
            output.clear();
            return Err(e);
        }
        // Channel offsets of each strip, without allocating.
        let mut first = [0usize; MAX_STRIPS];
        let mut next = 0;
        for (slot, strip) in first.iter_mut().zip(&self.strips) {
            *slot = next;
            next += strip.layout.channels();
        }
        let stereo: [bool; MAX_STRIPS] = std::array::from_fn(|i| {
            self.strips.get(i).map(|s| s.layout) == Some(StripLayout::Stereo)
        });
        self.mix(
            frames,
            |strip| input.channel(first[strip]),
            |strip| input.channel(first[strip] + stereo[strip] as usize),
            output,
        );
        Ok(())
    }

    fn reset(&mut self) {
        Mixer::reset(self);
    }

    fn latency_frames(&self) -> usize {
        0
    }

    fn tail_frames(&self) -> usize {
        // Gain ramps: a change finishes within one ramp.
        self.strips.first().map_or(0, |s| s.master[0].ramp_frames())
    }
}

/// Left and right gains for a pan position (see the module docs).
pub fn pan_gains(layout: StripLayout, pan: f32) -> (f32, f32) {
    let pan = if pan.is_finite() {
        pan.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let theta = (pan + 1.0) * FRAC_PI_4;
    let (s, c) = theta.sin_cos();
    match layout {
        StripLayout::Mono => (c, s),
        StripLayout::Stereo => {
            if pan == 0.0 {
                (1.0, 1.0)
            } else {
                ((SQRT_2 * c).min(1.0), (SQRT_2 * s).min(1.0))
            }
        }
    }
}

#[inline]
fn mix_into_stereo(
    (dst_l, dst_r): (&mut [f32], &mut [f32]),
    src_l: &[f32],
    src_r: &[f32],
    ramps: &mut [LinearRamp; 2],
    frames: usize,
) {
    let silent = |r: &LinearRamp| !r.is_ramping() && r.current() == 0.0;
    if silent(&ramps[0]) && silent(&ramps[1]) {
        return;
    }
    accumulate(dst_l, src_l, &mut ramps[0], frames);
    accumulate(dst_r, src_r, &mut ramps[1], frames);
}

/// `dst += src * gain`, with the gain following its ramp.
#[inline]
fn accumulate(dst: &mut [f32], src: &[f32], ramp: &mut LinearRamp, frames: usize) {
    let (start, step, n) = ramp.advance_block(frames);
    let frames = frames.min(dst.len()).min(src.len());
    // A ramp that ends in this block gives its last frame the exact target.
    let n = if ramp.is_ramping() {
        n
    } else {
        n.saturating_sub(1)
    };
    let n = n.min(frames);
    let (dst_ramp, dst_rest) = dst[..frames].split_at_mut(n);
    let (src_ramp, src_rest) = src[..frames].split_at(n);
    for (i, (d, s)) in dst_ramp.iter_mut().zip(src_ramp).enumerate() {
        *d += s * (start + step * (i + 1) as f32);
    }
    let g = ramp.current();
    if g == 0.0 {
        return;
    }
    crate::simd::multiply_accumulate(dst_rest, src_rest, g);
}
