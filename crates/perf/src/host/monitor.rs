//! The main thread's side of a host run: it drains the callback records
//! and the host's xrun reports, keeps the start-jitter histograms and the
//! per-minute timeline, and classes each xrun once the callbacks around it
//! are known.

use std::collections::VecDeque;

use super::{
    CallbackRecord, HostInfo, HostKind, MinuteStats, Spread, Timeline, XrunRecord, classify_xrun,
};
use crate::stats::BlockTimes;

/// Callbacks kept for attributing xruns (about the last second or more).
const RECENT: usize = 512;

/// What the monitor has gathered.
pub struct Monitor {
    recent: VecDeque<CallbackRecord>,
    /// Per-minute figures.
    pub timeline: Timeline,
    late: BlockTimes,
    interval: BlockTimes,
    prev_cycle_us: Option<u64>,
    origin_us: Option<u64>,
    pending: Vec<(u64, f64)>,
    /// Classified xruns.
    pub xruns: Vec<XrunRecord>,
    callbacks: u64,
    missing: u64,
    load_sum: f64,
    load_n: u64,
    load_max: f64,
    last_us: u64,
    /// The engine's time per callback (the same histogram as the
    /// simulated run's), rebuilt from the records: it survives a host that
    /// keeps the session (a server that died).
    pub engine_times: BlockTimes,
    /// Allocations on the audio thread, from the records.
    pub allocations: u64,
    worst_cpu_us: f64,
    over_period_wall: u64,
    blocked: u64,
    preempted: u64,
    faulted: u64,
}

impl Monitor {
    /// An empty monitor for blocks of `period_us`; `margin` as the
    /// simulated run's.
    pub fn new(period_us: f64, margin: f64) -> Self {
        let ns = period_us * 1000.0;
        Self {
            recent: VecDeque::with_capacity(RECENT),
            timeline: Timeline::default(),
            late: BlockTimes::new(ns, 1.0),
            interval: BlockTimes::new(ns, 1.0),
            prev_cycle_us: None,
            origin_us: None,
            pending: Vec::new(),
            xruns: Vec::new(),
            callbacks: 0,
            missing: 0,
            load_sum: 0.0,
            load_n: 0,
            load_max: 0.0,
            last_us: 0,
            engine_times: BlockTimes::new(ns, margin),
            allocations: 0,
            worst_cpu_us: 0.0,
            over_period_wall: 0,
            blocked: 0,
            preempted: 0,
            faulted: 0,
        }
    }

    /// Callbacks seen.
    pub fn callbacks(&self) -> u64 {
        self.callbacks
    }

    /// The host clock's time of the first callback, µs.
    pub fn origin_us(&self) -> Option<u64> {
        self.origin_us
    }

    /// Takes one callback record.
    pub fn record(&mut self, r: CallbackRecord) {
        let origin = *self.origin_us.get_or_insert(r.cycle_start_us);
        let _ = origin;
        self.callbacks += 1;
        self.missing += u64::from(r.input_missing);
        self.engine_times.record(r.engine_ns);
        self.allocations += u64::from(r.allocations);
        self.worst_cpu_us = self.worst_cpu_us.max(f64::from(r.cpu_us));
        self.over_period_wall += u64::from(r.engine_ns as f64 > r.period_us * 1000.0);
        self.blocked += u64::from(r.blocked > 0);
        self.preempted += u64::from(r.preempted > 0);
        self.faulted += u64::from(r.page_faults > 0);
        // Nanoseconds in the histograms, as the block times.
        self.late.record(r.late_us() * 1000);
        if let Some(prev) = self.prev_cycle_us {
            let gap = r.cycle_start_us.saturating_sub(prev) as f64;
            let off = (gap - r.period_us).abs();
            self.interval.record((off * 1000.0) as u64);
        }
        self.prev_cycle_us = Some(r.cycle_start_us);
        self.timeline.add(&r);
        self.last_us = r.start_us;
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(r);
        self.classify_ready(false);
    }

    /// Takes one xrun the host reported at `at_us` (host clock), `delay_us`
    /// late; it is classed once a callback after it has been seen.
    pub fn xrun(&mut self, at_us: u64, delay_us: f64) {
        self.pending.push((at_us, delay_us));
        self.classify_ready(false);
    }

    /// One sample of the host's DSP load, %.
    pub fn load(&mut self, percent: f64) {
        if percent.is_finite() {
            self.load_sum += percent;
            self.load_n += 1;
            self.load_max = self.load_max.max(percent);
            self.timeline.add_load(percent);
        }
    }

    fn classify_ready(&mut self, all: bool) {
        let last = self.last_us;
        let recent: Vec<CallbackRecord> = self.recent.iter().copied().collect();
        let origin = self.origin_us.unwrap_or(0);
        let mut keep = Vec::new();
        for (at, delay) in std::mem::take(&mut self.pending) {
            if all || last > at {
                let cause = classify_xrun(at, &recent);
                self.timeline.add_xrun(cause.class);
                self.xruns.push(XrunRecord {
                    time_s: at.saturating_sub(origin) as f64 / 1e6,
                    delay_us: delay,
                    class: cause.class,
                    worst_callback_us: cause.worst_callback_us,
                    worst_late_us: cause.worst_late_us,
                    cpu_overrun_callbacks: cause.cpu_overruns,
                    offline_cpu_us: None,
                });
            } else {
                keep.push((at, delay));
            }
        }
        self.pending = keep;
    }

    /// Closes the current minute (for the summary line).
    pub fn close_minute(&mut self) -> MinuteStats {
        self.timeline.close_minute(crate::sys::rss_bytes())
    }

    /// Classes what is pending and fills a [`HostInfo`].
    pub fn finish(&mut self, host: HostKind, server: String) -> (HostInfo, Vec<MinuteStats>) {
        self.classify_ready(true);
        if self.timeline.has_open_minute() {
            self.close_minute();
        }
        let engine_xruns = self
            .xruns
            .iter()
            .filter(|x| x.class == super::XrunClass::Engine)
            .count() as u64;
        let info = HostInfo {
            host,
            server,
            server_log: None,
            realtime_scheduling: false,
            memory_locked: super::memory_locked(),
            callbacks: self.callbacks,
            dsp_load_mean_percent: self.load_sum / self.load_n.max(1) as f64,
            dsp_load_max_percent: self.load_max,
            callback_start_late: Spread::of(&self.late),
            cycle_interval_jitter: Spread::of(&self.interval),
            engine_xruns,
            host_xruns: self.xruns.len() as u64 - engine_xruns,
            xruns: self.xruns.clone(),
            input_missing_frames: self.missing,
            capture_lost_frames: 0,
            output_identical: None,
            compared_frames: 0,
            output_latency_frames: 0,
            first_difference_frame: None,
            timeline: self.timeline.minutes.clone(),
            partial: false,
            ended_by: None,
            soak: None,
            callbacks_over_period: self.over_period_wall,
            callbacks_blocked: self.blocked,
            callbacks_preempted: self.preempted,
            callbacks_faulted: self.faulted,
            worst_callback_cpu_us: self.worst_cpu_us,
            xruns_cleared_offline: 0,
            offline_worst_block_cpu_us: None,
        };
        (info, self.timeline.minutes.clone())
    }
}
