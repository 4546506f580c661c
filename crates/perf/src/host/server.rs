//! A JACK server kmidi-perf starts itself: `jackd --no-realtime -d dummy`
//! at the requested rate and period (the dummy backend needs no sound
//! card), its output kept in a log file, stopped when the run ends.
//! Compiled without the `jack` feature too, so its errors are tested
//! everywhere.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::PerfError;

/// How to install the JACK server, for messages.
pub const INSTALL_HINT: &str =
    "install it with `sudo apt-get install jackd2` (scripts/jack.sh does it)";

/// A `jackd` process this run started.
pub struct JackdProcess {
    child: Child,
    log: PathBuf,
    /// The command line, for the report.
    pub command: String,
}

/// Finds `jackd` on the PATH.
///
/// # Errors
/// [`PerfError::Invalid`] naming the package when it is not installed.
pub fn find_jackd() -> Result<PathBuf, PerfError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("jackd"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            PerfError::invalid(
                "--host jack",
                "jackd",
                format!("the JACK server (jackd) is not installed: {INSTALL_HINT}"),
            )
        })
}

impl JackdProcess {
    /// Starts `jackd --no-realtime -d dummy -r RATE -p PERIOD`, its output
    /// going to `log`. The caller waits for it to accept clients.
    ///
    /// # Errors
    /// [`PerfError`] when jackd is not installed or cannot start.
    pub fn start(rate: u32, period: usize, log: &Path) -> Result<Self, PerfError> {
        let jackd = find_jackd()?;
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| PerfError::file_caused(dir, format!("cannot create: {e}"), e))?;
        }
        let out = File::create(log).map_err(|e| {
            PerfError::file_caused(log, format!("cannot create the server log: {e}"), e)
        })?;
        let err = out.try_clone().map_err(|e| {
            PerfError::file_caused(log, format!("cannot share the server log: {e}"), e)
        })?;
        let args = [
            "--no-realtime".to_string(),
            "-d".into(),
            "dummy".into(),
            "-r".into(),
            rate.to_string(),
            "-p".into(),
            period.to_string(),
        ];
        let child = Command::new(&jackd)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| {
                PerfError::invalid(
                    "--host jack",
                    jackd.display(),
                    format!("cannot start the JACK server: {e}"),
                )
            })?;
        Ok(Self {
            child,
            log: log.to_path_buf(),
            command: format!("jackd {}", args.join(" ")),
        })
    }

    /// Whether the server is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `timeout` for `ready()` to say the server takes
    /// clients.
    ///
    /// # Errors
    /// [`PerfError::Invalid`] with the log's last lines if the server
    /// exited or did not come up in time.
    pub fn wait_ready(
        &mut self,
        timeout: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<(), PerfError> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if !self.running() {
                return Err(PerfError::invalid(
                    "--host jack",
                    &self.command,
                    format!(
                        "the JACK server exited at start; its log ({}) ends: {}",
                        self.log.display(),
                        self.log_tail(5)
                    ),
                ));
            }
            if ready() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(PerfError::invalid(
            "--host jack",
            &self.command,
            format!(
                "the JACK server did not take clients within {} s; its log ends: {}",
                timeout.as_secs(),
                self.log_tail(5)
            ),
        ))
    }

    /// The log's last `n` lines, joined.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join(" | ")
    }

    /// The whole log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Where the log is.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Kills the server (SIGKILL): what a crash looks like to clients.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the server (SIGTERM, then SIGKILL after 3 s) and returns its
    /// log.
    pub fn stop(mut self) -> String {
        self.terminate();
        self.log()
    }

    fn terminate(&mut self) {
        if self.running() {
            let _ = Command::new("kill")
                .arg(self.child.id().to_string())
                .status();
            let start = Instant::now();
            while self.running() && start.elapsed() < Duration::from_secs(3) {
                std::thread::sleep(Duration::from_millis(50));
            }
            self.kill();
        }
    }
}

impl Drop for JackdProcess {
    fn drop(&mut self) {
        self.terminate();
    }
}
