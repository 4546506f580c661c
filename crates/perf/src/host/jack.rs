//! The JACK host (feature `jack`): the engine inside a JACK client's
//! process callback, through the `jack` crate, which loads libjack at run
//! time.
//!
//! The client registers two output ports (`out_l`, `out_r`) and, when
//! asked, connects them to other ports. Its input comes from the reader
//! thread's ring, not from JACK ports, so the captured output lines up
//! with the offline render frame for frame (a known latency of 0). The
//! process callback reads JACK's cycle times (`jack_get_cycle_times`: when
//! this cycle should have started), takes JACK's clock at entry
//! (`jack_get_time`), runs the session and returns; it never allocates,
//! locks or blocks. The notification thread reports xruns (with
//! `jack_get_xrun_delayed_usecs`) and the server's shutdown through
//! atomics and a ring; the main thread samples `jack_cpu_load`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use jack::{
    AudioOut, Client, ClientOptions, Control, NotificationHandler, Port, ProcessHandler,
    ProcessScope,
};
use kmidi_dsp::ring::{Consumer, Producer, channel};

use super::monitor::Monitor;
use super::run::{AudioHost, EarlyEnd, HostEvent, monitor_until};
use super::server::{INSTALL_HINT, JackdProcess};
use super::session::EngineSession;
use super::{CallbackRecord, HostKind, thread_is_realtime};
use crate::PerfError;

/// Whether to use a running server or start one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerMode {
    /// Use a running server; start `jackd -d dummy` if there is none.
    Auto,
    /// Use a running server; fail if there is none.
    Connect,
    /// Start `jackd -d dummy` (fails if a server is already running).
    Start,
}

/// How to run in JACK.
#[derive(Debug, Clone)]
pub struct JackOptions {
    /// Use a running server or start one.
    pub server: ServerMode,
    /// The client's name.
    pub client_name: String,
    /// Ports to connect `out_l` and `out_r` to (in that order).
    pub connect_to: Vec<String>,
    /// Where a started server's log goes.
    pub server_log: PathBuf,
    /// Kill the started server after this many seconds (to test what a
    /// run does when its server dies).
    pub kill_server_after_s: Option<f64>,
}

/// The JACK host.
pub struct JackHost {
    options: JackOptions,
    rate: u32,
    period: usize,
    started: Option<JackdProcess>,
    server_line: String,
    realtime: bool,
    log: Option<String>,
}

fn library_error(e: impl std::fmt::Display) -> PerfError {
    PerfError::invalid(
        "--host jack",
        "libjack.so.0",
        format!("JACK's client library cannot be loaded ({e}): {INSTALL_HINT}"),
    )
}

/// The running server's rate and period, or None when none runs.
fn probe() -> Option<(u32, u32)> {
    let (c, _) = Client::new("kmidi-probe", ClientOptions::NO_START_SERVER).ok()?;
    Some((c.sample_rate(), c.buffer_size()))
}

impl JackHost {
    /// Finds or starts a server at `rate` Hz and `period` frames.
    ///
    /// # Errors
    /// A one-line [`PerfError`] naming the problem and the fix: JACK not
    /// installed, no server (with `Connect`), a server at another rate or
    /// period (a running server's period is never changed), or a server
    /// that would not start.
    pub fn open(options: JackOptions, rate: u32, period: usize) -> Result<Self, PerfError> {
        jack::jack_sys::library().map_err(library_error)?;
        jack::set_logger(jack::LoggerType::None);
        let running = probe();
        let (started, server_line) = match (options.server, running) {
            (ServerMode::Start, Some((r, p))) => {
                return Err(PerfError::invalid(
                    "--jack-server",
                    "start",
                    format!(
                        "a JACK server is already running ({r} Hz, {p} frames): use --jack-server connect, or stop it first"
                    ),
                ));
            }
            (ServerMode::Connect, None) => {
                return Err(PerfError::invalid(
                    "--jack-server",
                    "connect",
                    format!(
                        "no JACK server is running: start one (jackd -d dummy -r {rate} -p {period}) or use --jack-server start"
                    ),
                ));
            }
            (_, Some(_)) => (None, "running JACK server".to_string()),
            (_, None) => {
                let mut server = JackdProcess::start(rate, period, &options.server_log)?;
                server.wait_ready(Duration::from_secs(10), || probe().is_some())?;
                let line = format!("{} (started by kmidi-perf)", server.command);
                (Some(server), line)
            }
        };
        if let Some((r, p)) = probe() {
            if r != rate {
                return Err(PerfError::invalid(
                    "--rates",
                    rate,
                    format!(
                        "the JACK server runs at {r} Hz: use --rates {r}, or restart the server at {rate} Hz"
                    ),
                ));
            }
            if p as usize != period {
                // Never change a running server's period behind its user's
                // back: other clients depend on it.
                return Err(PerfError::invalid(
                    "--blocks",
                    period,
                    format!(
                        "the JACK server runs at {p} frames: use --blocks {p}, or restart it with -p {period}"
                    ),
                ));
            }
        }
        Ok(Self {
            options,
            rate,
            period,
            started,
            server_line,
            realtime: false,
            log: None,
        })
    }

    /// The server this host started, if it did.
    pub fn started_server(&mut self) -> Option<&mut JackdProcess> {
        self.started.as_mut()
    }

    /// Stops a server this host started; its log is kept for the report.
    pub fn stop_server(&mut self) {
        if let Some(s) = self.started.take() {
            self.log = Some(s.stop());
        }
    }
}

impl Drop for JackHost {
    fn drop(&mut self) {
        self.stop_server();
    }
}

fn jack_error(what: &str, e: jack::Error) -> PerfError {
    PerfError::invalid("--host jack", what, format!("JACK said: {e}"))
}

/// The notification side: xruns and shutdown.
struct Notifications {
    xruns: Producer<(u64, f64)>,
    shutdown: Arc<AtomicBool>,
    realtime: Arc<AtomicBool>,
}

impl NotificationHandler for Notifications {
    fn thread_init(&self, _: &Client) {
        self.realtime.store(thread_is_realtime(), Ordering::Relaxed);
    }

    unsafe fn shutdown(&mut self, _status: jack::ClientStatus, _reason: &str) {
        self.shutdown.store(true, Ordering::Release);
    }

    fn xrun(&mut self, c: &Client) -> Control {
        // SAFETY: the client pointer is the live client this notification
        // is for; jack_get_xrun_delayed_usecs only reads its engine state.
        let delay = unsafe { jack::jack_sys::jack_get_xrun_delayed_usecs(c.raw()) };
        let _ = self.xruns.push((c.time(), f64::from(delay)));
        Control::Continue
    }
}

/// The process side: the session, the ports, the count.
struct Process {
    session: EngineSession,
    left: Port<AudioOut>,
    right: Port<AudioOut>,
    period_us: f64,
    callbacks: u64,
    done: Arc<AtomicU64>,
    realtime: Arc<AtomicBool>,
    checked_realtime: bool,
}

impl ProcessHandler for Process {
    fn process(&mut self, c: &Client, ps: &ProcessScope) -> Control {
        let now = c.time();
        let cycle = ps.cycle_times().map_or(now, |t| t.current_usecs);
        if !self.checked_realtime {
            // Once, on the process thread itself (JACK may not call
            // thread_init for it with every backend).
            self.checked_realtime = true;
            let rt = c.is_realtime_thread();
            self.realtime.fetch_or(rt, Ordering::Relaxed);
        }
        let left = self.left.as_mut_slice(ps);
        let right = self.right.as_mut_slice(ps);
        let n = self.done.load(Ordering::Relaxed);
        if n < self.callbacks {
            self.session
                .callback(cycle, now, self.period_us, left, right);
            self.done.store(n + 1, Ordering::Release);
        } else {
            left.fill(0.0);
            right.fill(0.0);
        }
        Control::Continue
    }
}

trait RealtimeThread {
    fn is_realtime_thread(&self) -> bool;
}

impl RealtimeThread for Client {
    fn is_realtime_thread(&self) -> bool {
        // SAFETY: the client pointer is the live client; jack_is_realtime
        // only reads whether the server runs its clients in real time.
        unsafe { jack::jack_sys::jack_is_realtime(self.raw()) != 0 }
    }
}

impl AudioHost for JackHost {
    fn kind(&self) -> HostKind {
        HostKind::Jack
    }

    fn server(&self) -> String {
        self.server_line.clone()
    }

    fn realtime(&self) -> bool {
        self.realtime
    }

    fn server_log(&self) -> Option<String> {
        self.log.clone()
    }

    fn run(
        &mut self,
        session: EngineSession,
        records: &mut Consumer<CallbackRecord>,
        callbacks: u64,
        monitor: &mut Monitor,
        observer: &mut dyn FnMut(HostEvent),
    ) -> Result<(Option<EngineSession>, Option<EarlyEnd>), PerfError> {
        let (client, _) = Client::new(&self.options.client_name, ClientOptions::NO_START_SERVER)
            .map_err(|e| {
                PerfError::invalid(
                    "--host jack",
                    &self.options.client_name,
                    format!("cannot open a JACK client ({e}): is the server still running?"),
                )
            })?;
        if client.sample_rate() != self.rate || client.buffer_size() as usize != self.period {
            return Err(PerfError::invalid(
                "--host jack",
                "server",
                format!(
                    "the server now runs at {} Hz / {} frames, not {} Hz / {}",
                    client.sample_rate(),
                    client.buffer_size(),
                    self.rate,
                    self.period
                ),
            ));
        }
        let port = |name: &str| {
            client
                .register_port(name, AudioOut::default())
                .map_err(|e| {
                    PerfError::invalid(
                        "--jack-client-name",
                        format!("{}:{name}", self.options.client_name),
                        format!(
                            "JACK refused the port ({e}): use a shorter client name without ':'"
                        ),
                    )
                })
        };
        let left = port("out_l")?;
        let right = port("out_r")?;
        let our_ports = [
            left.name().unwrap_or_default(),
            right.name().unwrap_or_default(),
        ];
        let (xrun_tx, mut xrun_rx) = channel::<(u64, f64)>(4096);
        let shutdown = Arc::new(AtomicBool::new(false));
        let realtime = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicU64::new(0));
        let period_us = self.period as f64 / f64::from(self.rate) * 1e6;
        let active = client
            .activate_async(
                Notifications {
                    xruns: xrun_tx,
                    shutdown: shutdown.clone(),
                    realtime: realtime.clone(),
                },
                Process {
                    session,
                    left,
                    right,
                    period_us,
                    callbacks,
                    done: done.clone(),
                    realtime: realtime.clone(),
                    checked_realtime: false,
                },
            )
            .map_err(|e| jack_error("activating the client", e))?;
        for (ours, theirs) in our_ports.iter().zip(&self.options.connect_to) {
            if let Err(e) = active.as_client().connect_ports_by_name(ours, theirs) {
                let known = active
                    .as_client()
                    .ports(None, None, jack::PortFlags::IS_INPUT)
                    .join(", ");
                let _ = active.deactivate();
                return Err(PerfError::invalid(
                    "--connect-to",
                    theirs,
                    format!("JACK cannot connect {ours} to it ({e}); input ports are: {known}"),
                ));
            }
        }
        let per_minute = (60.0 * f64::from(self.rate) / self.period as f64).round() as u64;
        let kill_after = self
            .options
            .kill_server_after_s
            .map(|s| (s * f64::from(self.rate) / self.period as f64) as u64);
        let started = &mut self.started;
        let mut killed = false;
        monitor_until(
            monitor,
            records,
            callbacks,
            per_minute,
            observer,
            &mut |m| {
                while let Some((at, delay)) = xrun_rx.pop() {
                    m.xrun(at, delay);
                }
                if !shutdown.load(Ordering::Acquire) {
                    m.load(f64::from(active.as_client().cpu_load()));
                }
                if let (Some(k), Some(server)) = (kill_after, started.as_mut())
                    && !killed
                    && m.callbacks() >= k
                {
                    server.kill();
                    killed = true;
                }
            },
            &mut || shutdown.load(Ordering::Acquire),
        );
        while let Some((at, delay)) = xrun_rx.pop() {
            monitor.xrun(at, delay);
        }
        self.realtime = realtime.load(Ordering::Relaxed);
        if shutdown.load(Ordering::Acquire) {
            let ran = done.load(Ordering::Acquire);
            let why = format!(
                "the JACK server shut down after {ran} of {callbacks} callbacks ({:.1} s)",
                ran as f64 * period_us / 1e6
            );
            // The server is gone: the client cannot be deactivated, and the
            // session stays with it (leaked; the process is about to report
            // and exit). The figures come from the callback records.
            std::mem::forget(active);
            if let Some(s) = self.started.take() {
                self.log = Some(s.stop());
            }
            return Ok((None, Some(EarlyEnd(why))));
        }
        match active.deactivate() {
            Ok((_, _, p)) => {
                self.stop_server();
                Ok((Some(p.session), None))
            }
            Err(e) => Err(jack_error("deactivating the client", e)),
        }
    }
}
