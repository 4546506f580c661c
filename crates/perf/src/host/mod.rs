//! Audio hosts: who owns the audio thread and the clock.
//!
//! `kmidi-perf run` used to play the host itself; a real engine runs
//! inside an audio server that calls it and decides what an xrun is. The
//! hosts here drive the same [`Engine`](kmidi_engine::Engine) through one
//! interface ([`AudioHost`]):
//!
//! * [`sim::SimHost`]: the simulation: a thread of this process paced by
//!   its own clock, each block started at its period boundary;
//! * `jack::JackHost` (feature `jack`): the engine inside a JACK client's
//!   process callback, on the server's thread and clock, the server's own
//!   xrun notifications counted. A host for ALSA through cpal would be a
//!   third implementation of the same trait.
//!
//! Both feed the engine from a non-real-time reader thread through a
//! wait-free ring, capture what it plays the same way, time every callback
//! into the same HDR histogram as the simulated run ([`BlockTimes`]), and
//! hand the main thread one [`CallbackRecord`] per callback, from which it
//! builds the callback-start jitter, the per-minute [`Timeline`] and the
//! class of every xrun ([`classify_xrun`]): *engine* when a callback near
//! it overran its period, *host* when the callbacks were short but the
//! cycle started late.

use serde::{Deserialize, Serialize};

use crate::stats::BlockTimes;

pub mod monitor;
pub mod run;
pub mod server;
pub mod session;
pub mod sim;
pub mod soak;

#[cfg(feature = "jack")]
pub mod jack;

pub use run::{AudioHost, HostEvent, HostRun, run_on_host};
pub use session::{EngineSession, Feeder, Music, RunPlan, Segment};

/// Which host drives the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostKind {
    /// kmidi-perf's own paced thread.
    Sim,
    /// A JACK client.
    Jack,
}

impl HostKind {
    /// The name on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            HostKind::Sim => "sim",
            HostKind::Jack => "jack",
        }
    }
}

/// One callback as the main thread sees it (sent from the audio thread
/// through a ring; plain numbers, `Copy`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CallbackRecord {
    /// Callback number, from 0.
    pub index: u64,
    /// When the cycle should have started (JACK: the server's cycle start;
    /// sim: the period boundary), µs on the host's clock.
    pub cycle_start_us: u64,
    /// When the callback actually started, µs on the same clock.
    pub start_us: u64,
    /// The engine's time in the callback, ns.
    pub engine_ns: u64,
    /// The period, µs.
    pub period_us: f64,
    /// Input frames missing (the reader thread fell behind) in this
    /// callback.
    pub input_missing: u32,
    /// Heap allocations the engine made in this callback (must be 0).
    pub allocations: u32,
    /// CPU time the callback's thread used in it, µs.
    pub cpu_us: u32,
    /// Times the thread blocked in the callback (voluntary context
    /// switches: a lock, I/O, a page fault that waited).
    pub blocked: u16,
    /// Times the scheduler preempted the thread in the callback.
    pub preempted: u16,
    /// Page faults the thread took in the callback.
    pub page_faults: u16,
}

impl CallbackRecord {
    /// How late the callback started after its cycle start, µs.
    pub fn late_us(&self) -> u64 {
        self.start_us.saturating_sub(self.cycle_start_us)
    }

    /// Whether the engine made the callback overrun its period: it ran
    /// longer than the period on the wall clock, and either its own CPU
    /// time was longer than the period or it blocked (a lock, I/O, a page
    /// fault that waited). A callback that ran long only because the
    /// scheduler took its CPU away (preempted, CPU time within the period)
    /// is the host's doing.
    pub fn overran(&self) -> bool {
        let period_ns = self.period_us * 1000.0;
        self.engine_ns as f64 > period_ns
            && (f64::from(self.cpu_us) * 1000.0 > period_ns || self.blocked > 0)
    }
}

/// Who an xrun is blamed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum XrunClass {
    /// A callback around it took longer than the period.
    Engine,
    /// The callbacks were short; the cycle started late (scheduling,
    /// the server, another client).
    Host,
}

/// One xrun the host reported.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct XrunRecord {
    /// Seconds from the start of the run.
    pub time_s: f64,
    /// How late the server was, µs, as it reports it (JACK's
    /// `jack_get_xrun_delayed_usecs`; sim: how far the block ended past
    /// its deadline).
    pub delay_us: f64,
    /// Engine or host.
    pub class: XrunClass,
    /// The longest engine time of the callbacks it was matched with, µs.
    pub worst_callback_us: f64,
    /// The latest start of those callbacks after their cycle start, µs
    /// (large for a host xrun: the thread was woken late).
    #[serde(default)]
    pub worst_late_us: f64,
    /// The first and last callback whose CPU time alone made this an
    /// engine xrun ([`XrunCause::cpu_overruns`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_overrun_callbacks: Option<[u64; 2]>,
    /// The most CPU time those blocks took when replayed offline, µs
    /// ([`recheck_cpu_overruns`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_cpu_us: Option<f64>,
}

/// What [`classify_xrun`] found around one xrun.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct XrunCause {
    /// Engine or host.
    pub class: XrunClass,
    /// The longest engine time of the callbacks it was matched with, µs.
    pub worst_callback_us: f64,
    /// The latest start of those callbacks after their cycle start, µs.
    pub worst_late_us: f64,
    /// For an engine xrun that no blocking explains, the first and last
    /// callback whose CPU time alone passed the period: the blocks to
    /// replay offline ([`recheck_cpu_overruns`]).
    pub cpu_overruns: Option<[u64; 2]>,
}

/// Classifies an xrun reported at `at_us` (host clock) against the
/// callbacks recorded around it: the ones that started within two periods
/// before it, or the one running when it came. *Engine* if any of them
/// overran its period through the engine ([`CallbackRecord::overran`]: its
/// CPU time beyond the period, or it blocked); else *host*.
pub fn classify_xrun(at_us: u64, recent: &[CallbackRecord]) -> XrunCause {
    let mut worst = 0.0f64;
    let mut late = 0.0f64;
    let mut overran = false;
    let mut blocked = false;
    let mut cpu: Option<[u64; 2]> = None;
    for r in recent {
        let window = (2.0 * r.period_us) as u64;
        let end_us = r.start_us + r.engine_ns / 1000;
        let near = r.start_us + window >= at_us && r.start_us <= at_us + (r.period_us as u64);
        let running = r.start_us <= at_us && end_us >= at_us;
        if near || running {
            worst = worst.max(r.engine_ns as f64 / 1000.0);
            late = late.max(r.late_us() as f64);
            if r.overran() {
                overran = true;
                if r.blocked > 0 {
                    blocked = true;
                } else {
                    cpu = Some(cpu.map_or([r.index; 2], |[a, b]| [a.min(r.index), b.max(r.index)]));
                }
            }
        }
    }
    XrunCause {
        class: if overran {
            XrunClass::Engine
        } else {
            XrunClass::Host
        },
        worst_callback_us: worst,
        worst_late_us: late,
        cpu_overruns: if blocked { None } else { cpu },
    }
}

/// How much longer than in an offline replay a block's engine work may take
/// inside the host (caches and TLB cold after the server's and the other
/// threads' turn) and still be the engine's own doing. An engine xrun
/// whose overrunning blocks replay offline in under the period divided by
/// this is moved to the host.
pub const HOST_SLOWDOWN_ALLOWED: f64 = 4.0;

/// Replays the CPU-time verdicts: the engine is deterministic, so a block
/// it processed inside the host takes the same work when processed again
/// offline from the same input and state. `block_cpu_us[i]` is block
/// `i`'s CPU time in such a replay. Each engine xrun made only by CPU time
/// ([`XrunCause::cpu_overruns`]) whose blocks all replay in under
/// `period_us` / [`HOST_SLOWDOWN_ALLOWED`] is moved to the host: the CPU
/// time its callbacks were charged (interrupts are charged to the thread
/// they land on, and a virtual CPU can be held by the hypervisor) was not
/// the engine's work. The counts in `info` and its timeline follow.
/// Xruns whose blocks the replay did not reach are left as they are.
pub fn recheck_cpu_overruns(info: &mut HostInfo, block_cpu_us: &[f32], period_us: f64) {
    for x in &mut info.xruns {
        let Some([first, last]) = x.cpu_overrun_callbacks else {
            continue;
        };
        let Some(blocks) = block_cpu_us.get(first as usize..=last as usize) else {
            continue;
        };
        let most = blocks.iter().fold(0.0f64, |m, &c| m.max(f64::from(c)));
        x.offline_cpu_us = Some(most);
        if x.class == XrunClass::Engine && most * HOST_SLOWDOWN_ALLOWED < period_us {
            x.class = XrunClass::Host;
            info.xruns_cleared_offline += 1;
            let last_minute = info.timeline.len().saturating_sub(1);
            let minute = ((x.time_s / 60.0).max(0.0) as usize).min(last_minute);
            if let Some(m) = info.timeline.get_mut(minute) {
                m.engine_xruns = m.engine_xruns.saturating_sub(1);
                m.host_xruns += 1;
            }
        }
    }
    info.engine_xruns = info
        .xruns
        .iter()
        .filter(|x| x.class == XrunClass::Engine)
        .count() as u64;
    info.host_xruns = info.xruns.len() as u64 - info.engine_xruns;
}

/// Percentiles of a set of µs values.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Spread {
    /// Median, µs.
    pub median_us: f64,
    /// 99th percentile, µs.
    pub p99_us: f64,
    /// Worst, µs.
    pub max_us: f64,
}

impl Spread {
    /// From a [`BlockTimes`] of nanoseconds.
    pub fn of(t: &BlockTimes) -> Self {
        let s = t.summary();
        Self {
            median_us: s.median_us,
            p99_us: s.p99_us,
            max_us: s.max_us,
        }
    }
}

/// One minute of a run (the soak's summary line and the report's
/// timeline).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct MinuteStats {
    /// Minute number, from 1.
    pub minute: u32,
    /// Callbacks in the minute.
    pub callbacks: u64,
    /// Mean engine time per callback, µs.
    pub mean_us: f64,
    /// Worst engine time, µs.
    pub worst_us: f64,
    /// Worst callback start lateness, µs.
    pub worst_late_us: f64,
    /// Xruns blamed on the engine.
    pub engine_xruns: u64,
    /// Xruns blamed on the host.
    pub host_xruns: u64,
    /// The host's DSP load (JACK's `jack_cpu_load`; sim: engine time over
    /// the period), %, mean over the minute.
    pub dsp_load_percent: f64,
    /// Resident memory at the minute's end, bytes.
    pub rss_bytes: u64,
}

/// Per-minute figures, built from the callback records as they come.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// Finished minutes.
    pub minutes: Vec<MinuteStats>,
    current: MinuteStats,
    sum_us: f64,
    load_sum: f64,
    load_samples: u64,
    period_us: f64,
}

impl Timeline {
    /// Adds one callback.
    pub fn add(&mut self, r: &CallbackRecord) {
        let us = r.engine_ns as f64 / 1000.0;
        self.current.callbacks += 1;
        self.sum_us += us;
        self.current.worst_us = self.current.worst_us.max(us);
        self.current.worst_late_us = self.current.worst_late_us.max(r.late_us() as f64);
        self.period_us = r.period_us;
    }

    /// Adds one xrun.
    pub fn add_xrun(&mut self, class: XrunClass) {
        match class {
            XrunClass::Engine => self.current.engine_xruns += 1,
            XrunClass::Host => self.current.host_xruns += 1,
        }
    }

    /// Adds one sample of the host's DSP load, %.
    pub fn add_load(&mut self, percent: f64) {
        if percent.is_finite() {
            self.load_sum += percent;
            self.load_samples += 1;
        }
    }

    /// Closes the current minute and returns it.
    pub fn close_minute(&mut self, rss_bytes: u64) -> MinuteStats {
        let mut m = self.current;
        m.minute = self.minutes.len() as u32 + 1;
        m.mean_us = self.sum_us / m.callbacks.max(1) as f64;
        // The host's own load samples; without them (the sim), the
        // engine's mean time over the period.
        m.dsp_load_percent = if self.load_samples > 0 {
            self.load_sum / self.load_samples as f64
        } else if self.period_us > 0.0 {
            100.0 * m.mean_us / self.period_us
        } else {
            0.0
        };
        m.rss_bytes = rss_bytes;
        self.minutes.push(m);
        self.current = MinuteStats::default();
        self.sum_us = 0.0;
        self.load_sum = 0.0;
        self.load_samples = 0;
        m
    }

    /// Whether the current minute has any callback.
    pub fn has_open_minute(&self) -> bool {
        self.current.callbacks > 0
    }
}

/// What a host adds to a run's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    /// The host.
    pub host: HostKind,
    /// The server: "jackd -d dummy (started by kmidi-perf)", "running
    /// JACK server", or "simulated".
    pub server: String,
    /// The started server's log, when kmidi-perf started it.
    pub server_log: Option<String>,
    /// Whether the audio thread ran with real-time scheduling (JACK's
    /// `jack_is_realtime`; sim: SCHED_FIFO/RR on the thread).
    pub realtime_scheduling: bool,
    /// Whether the process's memory is locked (VmLck > 0 in
    /// /proc/self/status).
    pub memory_locked: bool,
    /// Callbacks run.
    pub callbacks: u64,
    /// The host's DSP load, mean and worst sample, %.
    pub dsp_load_mean_percent: f64,
    /// Worst DSP load sample, %.
    pub dsp_load_max_percent: f64,
    /// How late callbacks started after their cycle start.
    pub callback_start_late: Spread,
    /// How far each cycle start strayed from one period after the
    /// previous one (the jitter of the host's clock), µs.
    pub cycle_interval_jitter: Spread,
    /// Every xrun, in order.
    pub xruns: Vec<XrunRecord>,
    /// Xruns blamed on the engine.
    pub engine_xruns: u64,
    /// Xruns blamed on the host.
    pub host_xruns: u64,
    /// Input frames the reader thread did not deliver in time (the
    /// callback played silence in their place).
    pub input_missing_frames: u64,
    /// Output frames the capture ring could not take.
    pub capture_lost_frames: u64,
    /// Whether the captured output equals an offline render of the same
    /// input and config, sample for sample (None: not compared).
    pub output_identical: Option<bool>,
    /// Frames compared.
    pub compared_frames: u64,
    /// The output's known shift against the offline render, frames.
    pub output_latency_frames: u64,
    /// The first frame that differed, if any.
    pub first_difference_frame: Option<u64>,
    /// Per-minute figures.
    pub timeline: Vec<MinuteStats>,
    /// Whether the run ended early (the server stopped); its figures are
    /// then for the part that ran.
    pub partial: bool,
    /// Why it ended early.
    pub ended_by: Option<String>,
    /// Callbacks longer than the period on the wall clock (each is an
    /// engine xrun only if its CPU time or blocking made it so).
    #[serde(default)]
    pub callbacks_over_period: u64,
    /// Callbacks in which the audio thread blocked (a lock, I/O, a page
    /// fault that waited): 0 for an engine that keeps the real-time
    /// contract.
    #[serde(default)]
    pub callbacks_blocked: u64,
    /// Callbacks in which the scheduler preempted the audio thread.
    #[serde(default)]
    pub callbacks_preempted: u64,
    /// Callbacks in which the audio thread took a page fault.
    #[serde(default)]
    pub callbacks_faulted: u64,
    /// The most CPU time one callback used, µs.
    #[serde(default)]
    pub worst_callback_cpu_us: f64,
    /// Xruns first blamed on the engine by CPU time that an offline replay
    /// of their blocks moved to the host ([`recheck_cpu_overruns`]).
    #[serde(default)]
    pub xruns_cleared_offline: u64,
    /// The most CPU time one block took in the offline render, µs (None:
    /// no offline render): the engine's own worst block, beside
    /// [`worst_callback_cpu_us`](Self::worst_callback_cpu_us) in the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_worst_block_cpu_us: Option<f64>,
    /// The soak's summary (`kmidi-perf soak`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soak: Option<soak::SoakSummary>,
}

/// Whether the process has locked memory (VmLck > 0).
pub fn memory_locked() -> bool {
    crate::sys::locked_bytes() > 0
}

/// Whether the calling thread runs under a real-time policy (SCHED_FIFO or
/// SCHED_RR: field 41 of /proc/thread-self/stat).
pub fn thread_is_realtime() -> bool {
    std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .and_then(|s| {
            let after = &s[s.rfind(')')? + 1..];
            // Fields from the state (field 3) on; the policy is field 41.
            after
                .split_whitespace()
                .nth(41 - 3)
                .and_then(|v| v.parse::<u32>().ok())
        })
        .is_some_and(|policy| policy == 1 || policy == 2)
}

/// Compares a captured output with the offline render of the same input:
/// `(identical, frames compared, first differing frame)`. Both are
/// interleaved stereo; `latency` frames of the capture are skipped.
pub fn compare_outputs(
    captured: &[f32],
    offline: &[f32],
    latency: usize,
) -> (bool, u64, Option<u64>) {
    let cap = captured.get(latency * 2..).unwrap_or(&[]);
    let n = cap.len().min(offline.len()) / 2;
    let first = (0..n).find(|&f| {
        cap[2 * f].to_bits() != offline[2 * f].to_bits()
            || cap[2 * f + 1].to_bits() != offline[2 * f + 1].to_bits()
    });
    (first.is_none() && n > 0, n as u64, first.map(|f| f as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(start_us: u64, engine_us: u64) -> CallbackRecord {
        CallbackRecord {
            index: start_us / 10_000,
            cycle_start_us: start_us,
            start_us,
            engine_ns: engine_us * 1000,
            period_us: 10_000.0,
            input_missing: 0,
            allocations: 0,
            cpu_us: engine_us as u32,
            blocked: 0,
            preempted: 0,
            page_faults: 0,
        }
    }

    #[test]
    fn a_preempted_callback_is_the_hosts_and_a_blocked_one_the_engines() {
        // 13 ms on the wall clock, 2 ms of CPU: preempted.
        let mut r = rec(10_000, 13_000);
        r.cpu_us = 2_000;
        r.preempted = 3;
        assert!(!r.overran());
        assert_eq!(classify_xrun(21_000, &[r]).class, XrunClass::Host);
        // The same, but it blocked once: the engine waited on something.
        r.blocked = 1;
        assert!(r.overran());
        let cause = classify_xrun(21_000, &[r]);
        assert_eq!(cause.class, XrunClass::Engine);
        assert_eq!(cause.cpu_overruns, None, "blocking is not replayed away");
    }

    #[test]
    fn an_overrunning_callback_makes_an_engine_xrun() {
        let recent = [rec(0, 2_000), rec(10_000, 13_000), rec(23_000, 2_000)];
        let cause = classify_xrun(21_000, &recent);
        assert_eq!(cause.class, XrunClass::Engine);
        assert_eq!(cause.worst_callback_us, 13_000.0);
        assert_eq!(cause.cpu_overruns, Some([1, 1]));
    }

    /// A 10 ms-period run of 6 callbacks with one xrun at 21 ms, after
    /// callback 1 (13 ms on the wall clock, `cpu_us` of CPU, `blocked`).
    fn run_with_one_overrun(cpu_us: u32, blocked: u16) -> HostInfo {
        let mut m = monitor::Monitor::new(10_000.0, 0.8);
        for i in 0..6u64 {
            let mut r = rec(i * 10_000, if i == 1 { 13_000 } else { 2_000 });
            if i == 1 {
                r.cpu_us = cpu_us;
                r.blocked = blocked;
            }
            m.record(r);
            if i == 1 {
                m.xrun(21_000, 3_000.0);
            }
        }
        m.finish(HostKind::Sim, "simulated".into()).0
    }

    #[test]
    fn an_offline_replay_moves_cpu_overruns_the_engine_did_not_do_to_the_host() {
        // Charged 12 ms of CPU in the host; the same block replays in
        // 300 µs offline: not the engine's work.
        let mut info = run_with_one_overrun(12_000, 0);
        assert_eq!((info.engine_xruns, info.timeline[0].engine_xruns), (1, 1));
        assert_eq!(info.xruns[0].cpu_overrun_callbacks, Some([1, 1]));
        let mut replay = [300.0f32; 6];
        recheck_cpu_overruns(&mut info, &replay, 10_000.0);
        assert_eq!((info.engine_xruns, info.host_xruns), (0, 1));
        assert_eq!(
            (info.timeline[0].engine_xruns, info.timeline[0].host_xruns),
            (0, 1)
        );
        assert_eq!(info.xruns_cleared_offline, 1);
        assert_eq!(info.xruns[0].offline_cpu_us, Some(300.0));
        // A block that replays in 3 ms (within the host slowdown allowed
        // of 10 ms) stays the engine's.
        let mut info = run_with_one_overrun(12_000, 0);
        replay[1] = 3_000.0;
        recheck_cpu_overruns(&mut info, &replay, 10_000.0);
        assert_eq!((info.engine_xruns, info.xruns_cleared_offline), (1, 0));
        assert_eq!(info.xruns[0].offline_cpu_us, Some(3_000.0));
        // Blocking is the engine's whatever the replay says, and a replay
        // that stopped short clears nothing.
        let mut info = run_with_one_overrun(2_000, 1);
        assert_eq!(info.xruns[0].cpu_overrun_callbacks, None);
        recheck_cpu_overruns(&mut info, &[1.0; 6], 10_000.0);
        assert_eq!(info.engine_xruns, 1);
        let mut info = run_with_one_overrun(12_000, 0);
        recheck_cpu_overruns(&mut info, &[1.0], 10_000.0);
        assert_eq!((info.engine_xruns, info.xruns[0].offline_cpu_us), (1, None));
    }

    #[test]
    fn short_callbacks_make_a_host_xrun() {
        let recent = [rec(0, 2_000), rec(10_000, 3_000), rec(31_000, 2_000)];
        assert_eq!(classify_xrun(30_500, &recent).class, XrunClass::Host);
        // An overrun long before the xrun is not blamed.
        let recent = [rec(0, 15_000), rec(100_000, 1_000)];
        assert_eq!(classify_xrun(101_000, &recent).class, XrunClass::Host);
    }

    #[test]
    fn the_timeline_closes_minutes_with_their_figures() {
        let mut t = Timeline::default();
        t.add(&rec(0, 100));
        t.add(&rec(10_000, 300));
        t.add_xrun(XrunClass::Host);
        t.add_load(10.0);
        t.add_load(20.0);
        let m = t.close_minute(1 << 20);
        assert_eq!((m.minute, m.callbacks, m.host_xruns), (1, 2, 1));
        assert_eq!(
            (m.mean_us, m.worst_us, m.dsp_load_percent),
            (200.0, 300.0, 15.0)
        );
        assert!(!t.has_open_minute());
        assert_eq!(t.close_minute(0).minute, 2);
    }

    #[test]
    fn outputs_compare_bit_for_bit_after_the_latency() {
        let off = [0.1f32, 0.2, 0.3, 0.4];
        let cap = [0.0f32, 0.0, 0.1, 0.2, 0.3, 0.4];
        assert_eq!(compare_outputs(&cap, &off, 1), (true, 2, None));
        let bad = [0.0f32, 0.0, 0.1, 0.2, 0.3, 0.5];
        assert_eq!(compare_outputs(&bad, &off, 1), (false, 2, Some(1)));
        assert!(!compare_outputs(&[], &off, 0).0);
    }
}
