//! What every host runs: the engine in a callback that never blocks,
//! input from a reader thread and output to a capture thread through
//! wait-free rings, and the offline render the captured output must equal.
//!
//! * [`RunPlan`]: the input, as a list of segments (the music, silence, a
//!   probe replayed), and which stretches of output to capture;
//! * [`Feeder`]: the reader thread, which plays the plan into the input
//!   ring as fast as the ring takes it;
//! * [`EngineSession`]: the callback's state: it takes the input frames
//!   the engine needs for one block from the ring (silence, counted, for
//!   any the reader has not delivered), runs the engine, times it into
//!   [`BlockTimes`] with the allocation probe armed, hands the block to
//!   the capture ring and sends one [`CallbackRecord`] to the main thread;
//! * [`render_offline`]: the same plan through a fresh engine, block by
//!   block with no host: what the captured output is compared with.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kmidi_dsp::AudioBuffer;
use kmidi_dsp::alloc_probe::count_allocations;
use kmidi_dsp::ring::{Consumer, Producer, channel};
use kmidi_engine::config::TrackRole;
use kmidi_engine::material::Material;
use kmidi_engine::{Engine, EngineConfig, InputClock};

use super::CallbackRecord;
use crate::PerfError;
use crate::harness::BlockIo;
use crate::stats::BlockTimes;

/// Where the input's music comes from.
#[derive(Debug, Clone)]
pub enum Music {
    /// kmidi's generated stems at this rate (looped).
    Generated(u32),
    /// A file's planar channels (played once, then silence).
    File(Arc<Vec<Vec<f32>>>),
}

/// One stretch of input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// The music from where it stands, for this many input frames.
    Music(u64),
    /// Silence, for this many input frames.
    Silence(u64),
    /// The music's first `n` input frames again (the soak's probe).
    Probe(u64),
}

/// The input of a run, and what of the output to keep.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// The music.
    pub music: Music,
    /// Input channels the engine takes.
    pub channels: usize,
    /// The segments, in order.
    pub segments: Vec<Segment>,
    /// Output stretches to capture, `(first engine frame, frames)`.
    pub capture: Vec<(u64, u64)>,
}

impl RunPlan {
    /// Input frames in all segments.
    pub fn input_frames(&self) -> u64 {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Music(n) | Segment::Silence(n) | Segment::Probe(n) => *n,
            })
            .sum()
    }
}

/// Plays a plan block by block (the reader thread and the offline render
/// share it, so both see the same samples, whatever their block sizes).
struct PlanPlayer {
    music: Music,
    material: Option<Material>,
    position: usize,
    segments: Vec<Segment>,
    segment: usize,
    left_in_segment: u64,
    probe_position: usize,
}

impl PlanPlayer {
    fn new(plan: &RunPlan) -> Self {
        let material = match &plan.music {
            Music::Generated(rate) => Some(Material::generate(
                *rate,
                "C major".parse().expect("a valid key name"),
                1,
            )),
            Music::File(_) => None,
        };
        Self {
            music: plan.music.clone(),
            material,
            position: 0,
            segments: plan.segments.clone(),
            segment: 0,
            left_in_segment: plan.segments.first().map_or(0, seg_len),
            probe_position: 0,
        }
    }

    /// Fills `block` (planar; its frame count kept) with the next input
    /// frames; false once every segment has been played (the rest is
    /// silence).
    fn fill(&mut self, block: &mut AudioBuffer) -> bool {
        let frames = block.frames();
        let mut done = 0;
        while done < frames {
            while self.left_in_segment == 0 && self.segment < self.segments.len() {
                self.segment += 1;
                self.probe_position = 0;
                self.left_in_segment = self.segments.get(self.segment).map_or(0, seg_len);
            }
            if self.segment >= self.segments.len() {
                for ch in 0..block.channels() {
                    block.channel_mut(ch)[done..].fill(0.0);
                }
                return false;
            }
            let n = (frames - done).min(self.left_in_segment as usize);
            match self.segments[self.segment] {
                Segment::Silence(_) => {
                    for ch in 0..block.channels() {
                        block.channel_mut(ch)[done..done + n].fill(0.0);
                    }
                }
                Segment::Music(_) => {
                    self.music_into(self.position, block, done, n);
                    self.position += n;
                }
                Segment::Probe(_) => {
                    self.music_into(self.probe_position, block, done, n);
                    self.probe_position += n;
                }
            }
            done += n;
            self.left_in_segment -= n as u64;
        }
        true
    }

    /// The music's frames `position..position + n` into `block` at
    /// `offset`: the generated stems loop (channel `c` plays the stem of
    /// track `c`, as [`Material::player`] does); a file ends in silence.
    fn music_into(&self, position: usize, block: &mut AudioBuffer, offset: usize, n: usize) {
        let channels = block.channels();
        for ch in 0..channels {
            let dst = &mut block.channel_mut(ch)[offset..offset + n];
            match (&self.music, &self.material) {
                (Music::Generated(_), Some(m)) => {
                    let stem = m.stem(TrackRole::for_track(ch, channels));
                    let len = stem.len().max(1);
                    for (i, d) in dst.iter_mut().enumerate() {
                        *d = stem.get((position + i) % len).copied().unwrap_or(0.0);
                    }
                }
                (Music::File(data), _) => {
                    let src = data.get(ch).map_or(&[][..], Vec::as_slice);
                    for (i, d) in dst.iter_mut().enumerate() {
                        *d = src.get(position + i).copied().unwrap_or(0.0);
                    }
                }
                _ => dst.fill(0.0),
            }
        }
    }
}

fn seg_len(s: &Segment) -> u64 {
    match s {
        Segment::Music(n) | Segment::Silence(n) | Segment::Probe(n) => *n,
    }
}

/// The reader thread: plays the plan into the input ring.
pub struct Feeder {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Feeder {
    /// Starts the reader: it pushes interleaved input frames into `ring`
    /// as room appears, `chunk` frames at a time.
    ///
    /// # Errors
    /// [`PerfError::Invalid`] if the thread cannot start.
    pub fn start(plan: &RunPlan, mut ring: Producer<f32>, chunk: usize) -> Result<Self, PerfError> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_r = stop.clone();
        let mut player = PlanPlayer::new(plan);
        let channels = plan.channels;
        let handle = std::thread::Builder::new()
            .name("kmidi-host-reader".into())
            .spawn(move || {
                let mut block = AudioBuffer::new(channels, chunk);
                let mut inter = vec![0.0f32; chunk * channels];
                loop {
                    let more = player.fill(&mut block);
                    for f in 0..chunk {
                        for ch in 0..channels {
                            inter[f * channels + ch] = block.channel(ch)[f];
                        }
                    }
                    let mut sent = 0;
                    while sent < inter.len() {
                        if stop_r.load(Ordering::Relaxed) || ring.is_abandoned() {
                            return;
                        }
                        sent += ring.push_slice(&inter[sent..]);
                        if sent < inter.len() {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                    }
                    let _ = more;
                }
            })
            .map_err(|e| thread_error("reader", e))?;
        Ok(Self {
            stop,
            handle: Some(handle),
        })
    }
}

fn thread_error(which: &str, e: std::io::Error) -> PerfError {
    PerfError::invalid(
        "host",
        which,
        format!("cannot start the {which} thread: {e}"),
    )
}

impl Drop for Feeder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The callback's state. Its [`callback`](Self::callback) never blocks,
/// locks or allocates once built.
pub struct EngineSession {
    engine: Engine,
    clock: InputClock,
    input: AudioBuffer,
    interleaved: Vec<f32>,
    output: AudioBuffer,
    stereo: Vec<f32>,
    block: usize,
    channels: usize,
    input_ring: Consumer<f32>,
    capture: Producer<f32>,
    records: Producer<CallbackRecord>,
    /// Engine time per callback.
    pub times: BlockTimes,
    /// Allocations on the audio thread.
    pub allocations: u64,
    /// Engine frames processed.
    pub frames: u64,
    /// Input frames the reader had not delivered.
    pub missing: u64,
    /// Output frames the capture ring could not take.
    pub capture_lost: u64,
    /// Blocks the engine rejected (the callback played silence).
    pub errors: u64,
    index: u64,
    /// The audio thread's CPU clock at the first callback and at the
    /// latest reading (every 256 callbacks), seconds.
    cpu_first: f64,
    cpu_latest: f64,
}

/// The rings of a session: its input, its captured output and its
/// callback records.
pub struct SessionRings {
    /// Interleaved input frames in (the [`Feeder`]'s end).
    pub input: Producer<f32>,
    /// Interleaved stereo output out (the capture thread's end).
    pub capture: Consumer<f32>,
    /// One record per callback (the main thread's end).
    pub records: Consumer<CallbackRecord>,
}

impl EngineSession {
    /// Builds the engine for `config` and the rings around it: the input
    /// ring holds `ring_seconds` of input, the capture and record rings as
    /// much output.
    ///
    /// # Errors
    /// [`PerfError::Engine`] if the engine cannot be built.
    pub fn new(
        config: EngineConfig,
        margin: f64,
        ring_seconds: f64,
    ) -> Result<(Self, SessionRings), PerfError> {
        let engine = Engine::new(config)?;
        let rate = engine.spec().sample_rate();
        let block = engine.config().block_frames;
        let in_rate = engine.config().effective_input_rate();
        let channels = engine.input_channels();
        let max_in = (block as f64 * f64::from(in_rate) / rate).ceil() as usize + 1;
        let input =
            AudioBuffer::try_new(channels, max_in).map_err(kmidi_engine::EngineError::from)?;
        let mut output = engine.create_output();
        output
            .set_frames(block)
            .map_err(kmidi_engine::EngineError::from)?;
        let in_cap = ((ring_seconds * f64::from(in_rate)) as usize).max(4 * max_in) * channels;
        let out_cap = ((ring_seconds * rate) as usize).max(4 * block) * 2;
        let rec_cap = ((ring_seconds * rate / block as f64) as usize).max(64);
        let (in_tx, in_rx) = channel::<f32>(in_cap);
        let (cap_tx, cap_rx) = channel::<f32>(out_cap);
        let (rec_tx, rec_rx) = channel::<CallbackRecord>(rec_cap);
        let period_ns = block as f64 / rate * 1e9;
        Ok((
            Self {
                clock: InputClock::new(in_rate, rate as u32),
                engine,
                input,
                interleaved: vec![0.0; max_in * channels],
                output,
                stereo: vec![0.0; block * 2],
                block,
                channels,
                input_ring: in_rx,
                capture: cap_tx,
                records: rec_tx,
                times: BlockTimes::new(period_ns, margin),
                allocations: 0,
                frames: 0,
                missing: 0,
                capture_lost: 0,
                errors: 0,
                index: 0,
                cpu_first: 0.0,
                cpu_latest: 0.0,
            },
            SessionRings {
                input: in_tx,
                capture: cap_rx,
                records: rec_rx,
            },
        ))
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Frames per callback.
    pub fn block_frames(&self) -> usize {
        self.block
    }

    /// CPU seconds of the audio thread between the first callback and the
    /// latest reading (taken every 256 callbacks; a clock read, no I/O).
    pub fn thread_cpu_seconds(&self) -> f64 {
        (self.cpu_latest - self.cpu_first).max(0.0)
    }

    /// Input frames buffered and ready (the reader's lead).
    pub fn input_ready_frames(&mut self) -> usize {
        self.input_ring.len() / self.channels.max(1)
    }

    /// One callback: input from the ring, the engine, output to the
    /// capture ring and `left`/`right` (each at least a block long; the
    /// first `block` frames are written). `cycle_start_us` and `start_us`
    /// are the host clock's cycle start and now, for the record.
    pub fn callback(
        &mut self,
        cycle_start_us: u64,
        start_us: u64,
        period_us: f64,
        left: &mut [f32],
        right: &mut [f32],
    ) {
        if self.index.is_multiple_of(256) {
            let now = crate::sys::thread_cpu_seconds();
            if self.index == 0 {
                self.cpu_first = now;
            }
            self.cpu_latest = now;
        }
        let n_in = self.clock.input_frames(self.block);
        let want = n_in * self.channels;
        let got = self.input_ring.pop_slice(&mut self.interleaved[..want]);
        self.interleaved[got..want].fill(0.0);
        let missing = ((want - got) / self.channels.max(1)) as u32;
        self.missing += u64::from(missing);
        if self.input.set_frames(n_in).is_err() {
            self.errors += 1;
        }
        for ch in 0..self.channels {
            for (f, d) in self.input.channel_mut(ch).iter_mut().enumerate() {
                *d = self.interleaved[f * self.channels + ch];
            }
        }
        let u0 = crate::sys::thread_usage();
        let t0 = Instant::now();
        let (result, alloc) =
            count_allocations(|| self.engine.process(&self.input, &mut self.output));
        let ns = t0.elapsed().as_nanos() as u64;
        let u1 = crate::sys::thread_usage();
        self.times.record(ns);
        self.allocations += alloc.allocations;
        let ok = result.is_ok();
        if !ok {
            self.errors += 1;
        }
        let frames = self.block.min(left.len()).min(right.len());
        for f in 0..frames {
            let (l, r) = if ok {
                (self.output.channel(0)[f], self.output.channel(1)[f])
            } else {
                (0.0, 0.0)
            };
            left[f] = l;
            right[f] = r;
            self.stereo[2 * f] = l;
            self.stereo[2 * f + 1] = r;
        }
        let pushed = self.capture.push_slice(&self.stereo[..2 * frames]);
        self.capture_lost += ((2 * frames - pushed) / 2) as u64;
        self.frames += self.block as u64;
        let _ = self.records.push(CallbackRecord {
            index: self.index,
            cycle_start_us,
            start_us,
            engine_ns: ns,
            period_us,
            input_missing: missing,
            allocations: alloc.allocations.min(u64::from(u32::MAX)) as u32,
            cpu_us: (u1.cpu_us - u0.cpu_us.min(u1.cpu_us)).min(u64::from(u32::MAX)) as u32,
            blocked: (u1.voluntary_switches.saturating_sub(u0.voluntary_switches))
                .min(u64::from(u16::MAX)) as u16,
            preempted: (u1
                .involuntary_switches
                .saturating_sub(u0.involuntary_switches))
            .min(u64::from(u16::MAX)) as u16,
            page_faults: (u1.page_faults.saturating_sub(u0.page_faults)).min(u64::from(u16::MAX))
                as u16,
        });
        self.index += 1;
    }
}

/// Collects the capture ring into the plan's capture windows (a thread).
pub struct Capture {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Vec<Vec<f32>>>>,
}

impl Capture {
    /// Starts collecting `windows` (engine frames) from `ring`.
    ///
    /// # Errors
    /// [`PerfError::Invalid`] if the thread cannot start.
    pub fn start(mut ring: Consumer<f32>, windows: Vec<(u64, u64)>) -> Result<Self, PerfError> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_c = stop.clone();
        let handle = std::thread::Builder::new()
            .name("kmidi-host-capture".into())
            .spawn(move || {
                let mut kept: Vec<Vec<f32>> = windows
                    .iter()
                    .map(|w| Vec::with_capacity((w.1 * 2).min(1 << 26) as usize))
                    .collect();
                let mut buf = vec![0.0f32; 8192];
                let mut frame = 0u64;
                loop {
                    let n = ring.pop_slice(&mut buf) / 2 * 2;
                    if n == 0 {
                        if stop_c.load(Ordering::Acquire) && ring.is_empty() {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(2));
                        continue;
                    }
                    for pair in buf[..n].chunks_exact(2) {
                        for (w, out) in windows.iter().zip(kept.iter_mut()) {
                            if frame >= w.0 && frame < w.0 + w.1 {
                                out.extend_from_slice(pair);
                            }
                        }
                        frame += 1;
                    }
                }
                kept
            })
            .map_err(|e| thread_error("capture", e))?;
        Ok(Self {
            stop,
            handle: Some(handle),
        })
    }

    /// Stops once the ring is empty and returns each window's frames
    /// (interleaved stereo).
    pub fn finish(mut self) -> Vec<Vec<f32>> {
        self.stop.store(true, Ordering::Release);
        self.handle
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// What [`render_offline`] produced.
#[derive(Debug, Clone, Default)]
pub struct OfflineRender {
    /// The capture windows' frames (interleaved stereo), what the host's
    /// captured output must equal.
    pub windows: Vec<Vec<f32>>,
    /// Each block's CPU time in the engine, µs (the thread's CPU clock
    /// around `process`).
    pub block_cpu_us: Vec<f32>,
}

/// The plan through a fresh engine, block by block with no host, for
/// `callbacks` blocks: the capture windows' frames and each block's CPU
/// time.
///
/// # Errors
/// [`PerfError::Engine`] if the engine cannot be built or rejects a block.
pub fn render_offline(
    config: EngineConfig,
    plan: &RunPlan,
    callbacks: u64,
) -> Result<OfflineRender, PerfError> {
    let mut engine = Engine::new(config)?;
    let block = engine.config().block_frames;
    let mut io = BlockIo::new(&engine)?;
    let mut player = PlanPlayer::new(plan);
    let mut kept: Vec<Vec<f32>> = plan.capture.iter().map(|_| Vec::new()).collect();
    let mut block_cpu_us = Vec::with_capacity(usize::try_from(callbacks).unwrap_or(0));
    let mut frame = 0u64;
    for _ in 0..callbacks {
        io.next_input()?;
        player.fill(&mut io.input);
        let cpu0 = crate::sys::thread_cpu_seconds();
        engine
            .process(&io.input, &mut io.output)
            .map_err(kmidi_engine::EngineError::from)?;
        block_cpu_us.push(((crate::sys::thread_cpu_seconds() - cpu0) * 1e6) as f32);
        for f in 0..block {
            for (w, out) in plan.capture.iter().zip(kept.iter_mut()) {
                if frame >= w.0 && frame < w.0 + w.1 {
                    out.push(io.output.channel(0)[f]);
                    out.push(io.output.channel(1)[f]);
                }
            }
            frame += 1;
        }
    }
    Ok(OfflineRender {
        windows: kept,
        block_cpu_us,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(segments: Vec<Segment>) -> RunPlan {
        RunPlan {
            music: Music::File(Arc::new(vec![(0..1000).map(|i| i as f32).collect()])),
            channels: 1,
            segments,
            capture: vec![],
        }
    }

    fn play(p: &RunPlan, block: usize, blocks: usize) -> Vec<f32> {
        let mut player = PlanPlayer::new(p);
        let mut b = AudioBuffer::new(1, block);
        let mut out = Vec::new();
        for _ in 0..blocks {
            player.fill(&mut b);
            out.extend_from_slice(b.channel(0));
        }
        out
    }

    #[test]
    fn segments_play_in_order_whatever_the_block() {
        let p = plan(vec![
            Segment::Music(5),
            Segment::Silence(3),
            Segment::Music(2),
            Segment::Probe(4),
        ]);
        let want = [
            0., 1., 2., 3., 4., 0., 0., 0., 5., 6., 0., 1., 2., 3., 0., 0.,
        ];
        for block in [1, 3, 7, 16] {
            let got = play(&p, block, 16usize.div_ceil(block));
            assert_eq!(&got[..16], &want, "block {block}");
        }
        assert_eq!(p.input_frames(), 14);
    }
}
