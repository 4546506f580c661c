//! `--host` and the JACK flags, shared by `run` and `soak`, and the
//! lines they print.

use std::path::PathBuf;

use kmidi_perf::PerfError;
use kmidi_perf::host::{AudioHost, HostInfo, HostKind, MinuteStats, XrunClass, sim::SimHost};

/// Which host drives the engine.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostChoice {
    /// kmidi-perf's own paced thread.
    Sim,
    /// A JACK client (needs a build with `--features jack`).
    Jack,
}

impl From<HostChoice> for HostKind {
    fn from(h: HostChoice) -> Self {
        match h {
            HostChoice::Sim => HostKind::Sim,
            HostChoice::Jack => HostKind::Jack,
        }
    }
}

/// Use a running JACK server or start one.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum JackServerChoice {
    /// A running server if there is one, else `jackd -d dummy`.
    Auto,
    /// A running server only.
    Connect,
    /// Start `jackd -d dummy` (no server may be running).
    Start,
}

/// The JACK flags.
#[derive(clap::Args, Clone, Debug)]
pub struct JackArgs {
    /// JACK: use a running server or start `jackd --no-realtime -d dummy`
    /// at the engine's rate and block.
    #[arg(long, value_enum, default_value_t = JackServerChoice::Auto)]
    pub jack_server: JackServerChoice,
    /// JACK: the client's name.
    #[arg(long, default_value = "kmidi")]
    pub jack_client_name: String,
    /// JACK: ports to connect out_l and out_r to, comma-separated
    /// (e.g. system:playback_1,system:playback_2).
    #[arg(long, value_delimiter = ',')]
    pub connect_to: Vec<String>,
    /// JACK: where a server kmidi-perf starts writes its log.
    #[arg(long, default_value = "target/kmidi-perf/jackd.log")]
    pub server_log: PathBuf,
    /// JACK: kill the server kmidi-perf started after this many seconds
    /// (to see a run survive its server's death).
    #[arg(long, hide = true)]
    pub kill_server_after: Option<f64>,
}

/// Builds the host for a rate and block.
///
/// # Errors
/// [`PerfError`] when the host cannot be reached or started, or when JACK
/// was asked of a build without it.
pub fn make_host(
    host: HostChoice,
    jack: &JackArgs,
    rate: u32,
    block: usize,
) -> Result<Box<dyn AudioHost>, PerfError> {
    match host {
        HostChoice::Sim => Ok(Box::new(SimHost::new())),
        HostChoice::Jack => jack_host(jack, rate, block),
    }
}

#[cfg(feature = "jack")]
fn jack_host(jack: &JackArgs, rate: u32, block: usize) -> Result<Box<dyn AudioHost>, PerfError> {
    use kmidi_perf::host::jack::{JackHost, JackOptions, ServerMode};
    let server = match jack.jack_server {
        JackServerChoice::Auto => ServerMode::Auto,
        JackServerChoice::Connect => ServerMode::Connect,
        JackServerChoice::Start => ServerMode::Start,
    };
    Ok(Box::new(JackHost::open(
        JackOptions {
            server,
            client_name: jack.jack_client_name.clone(),
            connect_to: jack.connect_to.clone(),
            server_log: jack.server_log.clone(),
            kill_server_after_s: jack.kill_server_after,
        },
        rate,
        block,
    )?))
}

#[cfg(not(feature = "jack"))]
fn jack_host(_: &JackArgs, _: u32, _: usize) -> Result<Box<dyn AudioHost>, PerfError> {
    Err(PerfError::invalid(
        "--host",
        "jack",
        "this kmidi-perf was built without JACK: build it with `cargo build --release -p kmidi-perf --features jack` (scripts/jack.sh installs jackd2 and libjack-jackd2-dev and does so)",
    ))
}

/// The summary line of one minute.
pub fn minute_line(m: &MinuteStats, of: Option<u32>) -> String {
    format!(
        "minute {}{}: {} callbacks, engine mean {:.1} µs, worst {:.1} µs; start late up to {:.0} µs; xruns {} engine, {} host; DSP load {:.1}%; RSS {:.1} MB",
        m.minute,
        of.map_or(String::new(), |n| format!("/{n}")),
        m.callbacks,
        m.mean_us,
        m.worst_us,
        m.worst_late_us,
        m.engine_xruns,
        m.host_xruns,
        m.dsp_load_percent,
        m.rss_bytes as f64 / 1e6
    )
}

/// The host's lines under a run's table.
pub fn host_lines(h: &HostInfo) -> String {
    let mut s = format!(
        "  host {}: {}; real-time scheduling {}, memory locked {}\n  callbacks {}; DSP load (host) mean {:.1}%, worst {:.1}%; callback start late: median {:.0} µs, p99 {:.0} µs, worst {:.0} µs; cycle interval jitter p99 {:.0} µs, worst {:.0} µs\n  xruns: {} engine, {} host",
        h.host.name(),
        h.server,
        if h.realtime_scheduling {
            "granted"
        } else {
            "not granted"
        },
        if h.memory_locked { "yes" } else { "no" },
        h.callbacks,
        h.dsp_load_mean_percent,
        h.dsp_load_max_percent,
        h.callback_start_late.median_us,
        h.callback_start_late.p99_us,
        h.callback_start_late.max_us,
        h.cycle_interval_jitter.p99_us,
        h.cycle_interval_jitter.max_us,
        h.engine_xruns,
        h.host_xruns,
    );
    if let Some(worst) = h.xruns.iter().map(|x| x.delay_us).reduce(f64::max) {
        s.push_str(&format!(" (largest reported delay {worst:.0} µs)"));
    }
    if h.xruns_cleared_offline > 0 {
        let replayed = h
            .xruns
            .iter()
            .filter(|x| x.class == XrunClass::Host)
            .filter_map(|x| x.offline_cpu_us)
            .fold(0.0f64, f64::max);
        s.push_str(&format!(
            "; {} of the host's were first charged to the engine by CPU time, but their blocks replay offline in at most {replayed:.0} µs of CPU",
            h.xruns_cleared_offline
        ));
    }
    s.push_str(&format!(
        "; input frames missing {}, capture frames lost {}\n",
        h.input_missing_frames, h.capture_lost_frames
    ));
    s.push_str(&format!(
        "  callbacks over the period on the wall clock {}; preempted {}, blocked {}, page faults in {}; most CPU in one callback {:.0} µs",
        h.callbacks_over_period, h.callbacks_preempted, h.callbacks_blocked, h.callbacks_faulted, h.worst_callback_cpu_us
    ));
    if let Some(offline) = h.offline_worst_block_cpu_us {
        s.push_str(&format!(
            " (offline, the most in one block: {offline:.0} µs)"
        ));
    }
    s.push('\n');
    match h.output_identical {
        Some(true) => s.push_str(&format!(
            "  output: identical to the offline render, sample for sample, over {} frames (latency {} frames)\n",
            h.compared_frames, h.output_latency_frames
        )),
        Some(false) => s.push_str(&format!(
            "  output: DIFFERS from the offline render at frame {} (of {} compared)\n",
            h.first_difference_frame.map_or("?".into(), |f| f.to_string()),
            h.compared_frames
        )),
        None => {}
    }
    if h.partial {
        s.push_str(&format!(
            "  PARTIAL: {}\n",
            h.ended_by.as_deref().unwrap_or("the run ended early")
        ));
    }
    s
}
