//! One run on any host: build the session, start the reader and capture
//! threads, let the host call the engine while the main thread monitors,
//! then compare the captured output with the offline render.

use std::time::{Duration, Instant};

use kmidi_dsp::ring::Consumer;
use kmidi_engine::EngineConfig;

use super::monitor::Monitor;
use super::session::{Capture, EngineSession, Feeder, RunPlan, render_offline};
use super::{CallbackRecord, HostInfo, HostKind, MinuteStats, compare_outputs};
use crate::PerfError;

/// What the main thread hears during a run.
pub enum HostEvent<'a> {
    /// This many more callbacks ran.
    Progress(u64),
    /// A minute ended.
    Minute(&'a MinuteStats),
}

/// Why a host stopped calling the engine before the planned end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlyEnd(pub String);

/// A host: something that calls [`EngineSession::callback`] on its own
/// thread and clock, and reports its xruns and load to the [`Monitor`].
pub trait AudioHost {
    /// Which host.
    fn kind(&self) -> HostKind;

    /// A line describing the server ("simulated", "jackd -d dummy ...").
    fn server(&self) -> String;

    /// Runs `session` for `callbacks` callbacks while the calling thread
    /// drains `records` into `monitor` (through [`monitor_until`]); returns
    /// the session when the host has stopped calling it (None when the
    /// host kept it: a server that died), and why it stopped early, if it
    /// did.
    ///
    /// # Errors
    /// [`PerfError`] when the host cannot start or loses the engine.
    fn run(
        &mut self,
        session: EngineSession,
        records: &mut Consumer<CallbackRecord>,
        callbacks: u64,
        monitor: &mut Monitor,
        observer: &mut dyn FnMut(HostEvent),
    ) -> Result<(Option<EngineSession>, Option<EarlyEnd>), PerfError>;

    /// Whether the audio thread had real-time scheduling.
    fn realtime(&self) -> bool;

    /// The server's log, when the host started the server.
    fn server_log(&self) -> Option<String> {
        None
    }
}

/// Drains `records` into `monitor` until `done()` says stop or `callbacks`
/// have been seen: every 20 ms it takes the records, asks `poll` for xruns
/// and a load sample, reports progress, and closes a minute every
/// `minute` of audio.
pub fn monitor_until(
    monitor: &mut Monitor,
    records: &mut Consumer<CallbackRecord>,
    callbacks: u64,
    callbacks_per_minute: u64,
    observer: &mut dyn FnMut(HostEvent),
    poll: &mut dyn FnMut(&mut Monitor),
    done: &mut dyn FnMut() -> bool,
) {
    let mut next_minute = callbacks_per_minute;
    let mut reported = 0;
    loop {
        while let Some(r) = records.pop() {
            monitor.record(r);
            if monitor.callbacks() >= next_minute {
                let m = monitor.close_minute();
                observer(HostEvent::Minute(&m));
                next_minute += callbacks_per_minute;
            }
        }
        poll(monitor);
        let seen = monitor.callbacks();
        if seen > reported {
            observer(HostEvent::Progress(seen - reported));
            reported = seen;
        }
        if seen >= callbacks || done() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    while let Some(r) = records.pop() {
        monitor.record(r);
    }
    // The last, partial minute closes here, while the host still runs:
    // its memory figure must not see the client's shared memory unmapped.
    if monitor.timeline.has_open_minute() {
        let m = monitor.close_minute();
        observer(HostEvent::Minute(&m));
    }
}

/// A finished host run.
pub struct HostRun {
    /// The session (its engine and counters); None when the host kept it
    /// (the server died): the figures then come from the monitor.
    pub session: Option<EngineSession>,
    /// The engine's time per callback.
    pub engine_times: crate::stats::BlockTimes,
    /// Allocations on the audio thread.
    pub allocations: u64,
    /// What the host adds.
    pub info: HostInfo,
    /// The captured windows (interleaved stereo).
    pub captured: Vec<Vec<f32>>,
    /// Wall seconds of the run.
    pub wall_seconds: f64,
    /// CPU seconds of the whole process during the run.
    pub process_cpu_seconds: f64,
    /// The per-minute figures.
    pub minutes: Vec<MinuteStats>,
}

/// Runs `plan` through an engine built from `config` on `host` for
/// `callbacks` callbacks. With `compare`, the captured windows are held
/// against the offline render of the same plan.
///
/// # Errors
/// [`PerfError`] when the engine cannot be built, or the host fails.
pub fn run_on_host(
    host: &mut dyn AudioHost,
    config: &EngineConfig,
    plan: &RunPlan,
    callbacks: u64,
    margin: f64,
    compare: bool,
    observer: &mut dyn FnMut(HostEvent),
) -> Result<HostRun, PerfError> {
    let (session, rings) = EngineSession::new(config.clone(), margin, 4.0)?;
    let block = session.block_frames();
    let rate = f64::from(config.sample_rate);
    let period_us = block as f64 / rate * 1e6;
    let mut records = rings.records;
    let feeder = Feeder::start(plan, rings.input, 4096)?;
    let capture = Capture::start(rings.capture, plan.capture.clone())?;
    let mut session = session;
    // Let the reader get a second ahead before the host starts calling.
    let start = Instant::now();
    while session.input_ready_frames() < (rate as usize).min(plan.input_frames() as usize)
        && start.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut monitor = Monitor::new(period_us, margin);
    let wall0 = Instant::now();
    let cpu0 = crate::sys::process_cpu_seconds();
    let (session, early) = host.run(session, &mut records, callbacks, &mut monitor, observer)?;
    let wall_seconds = wall0.elapsed().as_secs_f64();
    let process_cpu_seconds = crate::sys::process_cpu_seconds() - cpu0;
    drop(feeder);
    let captured = capture.finish();
    let (mut info, mut minutes) = monitor.finish(host.kind(), host.server());
    info.realtime_scheduling = host.realtime();
    info.server_log = host.server_log();
    info.capture_lost_frames = session.as_ref().map_or(0, |s| s.capture_lost);
    if let Some(EarlyEnd(why)) = early {
        info.partial = true;
        info.ended_by = Some(why);
    }
    // The offline render serves both the output comparison and the replay
    // of engine xruns made by CPU time alone; without a comparison it only
    // goes as far as the last such xrun's blocks.
    let compare = compare && !plan.capture.is_empty();
    let replay_to = info
        .xruns
        .iter()
        .filter_map(|x| x.cpu_overrun_callbacks)
        .map(|[_, last]| last + 1)
        .max();
    if compare || replay_to.is_some() {
        let blocks = if compare {
            info.callbacks
        } else {
            replay_to.unwrap_or(0).min(info.callbacks)
        };
        let offline = render_offline(config.clone(), plan, blocks)?;
        super::recheck_cpu_overruns(&mut info, &offline.block_cpu_us, period_us);
        info.offline_worst_block_cpu_us = offline
            .block_cpu_us
            .iter()
            .map(|&c| f64::from(c))
            .reduce(f64::max);
        minutes.clone_from(&info.timeline);
        if compare {
            let (mut same, mut frames, mut first) = (true, 0u64, None);
            for (cap, off) in captured.iter().zip(&offline.windows) {
                let (s, n, f) = compare_outputs(cap, off, 0);
                same &= s;
                if first.is_none() {
                    first = f.map(|f| f + frames);
                }
                frames += n;
            }
            info.output_identical = Some(same && frames > 0);
            info.compared_frames = frames;
            info.first_difference_frame = first;
        }
    }
    Ok(HostRun {
        session,
        engine_times: monitor.engine_times.clone(),
        allocations: monitor.allocations,
        info,
        captured,
        wall_seconds,
        process_cpu_seconds,
        minutes,
    })
}

impl HostRun {
    /// The run as a [`RunResult`](crate::harness::RunResult) (the same tables, JSON and history as a
    /// simulated run), with the host's figures in `host`. When the host
    /// kept the session (a server that died), the block times come from
    /// the callback records and the engine's counters are those of a
    /// fresh engine (zero).
    ///
    /// # Errors
    /// [`PerfError::Engine`] if a fresh engine cannot be built for a
    /// partial result.
    pub fn result(
        &self,
        label: &str,
        config: &EngineConfig,
        input: &str,
        margin: f64,
    ) -> Result<crate::harness::RunResult, PerfError> {
        let spec = crate::harness::RunSpec {
            label: label.to_string(),
            config: config.clone(),
            mode: crate::harness::Mode::Streaming,
            input: crate::harness::InputSource::Generated { rate: None },
            seconds: 0.0,
            safety_margin: margin,
            load_threads: 0,
            instances: 1,
            warmup_blocks: 0,
        };
        let fresh;
        let engine = match &self.session {
            Some(s) => s.engine(),
            None => {
                fresh = kmidi_engine::Engine::new(config.clone())?;
                &fresh
            }
        };
        let frames = self.info.callbacks * config.block_frames as u64;
        let mut r = crate::harness::result_from(
            &spec,
            engine,
            input.to_string(),
            &self.engine_times,
            crate::harness::Totals {
                frames,
                allocations: self.allocations,
                thread_cpu: self
                    .session
                    .as_ref()
                    .map_or(0.0, EngineSession::thread_cpu_seconds),
                process_cpu: self.process_cpu_seconds,
                wall: self.wall_seconds,
            },
        );
        r.host = Some(self.info.clone());
        Ok(r)
    }
}
