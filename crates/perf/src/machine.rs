//! Where a result came from: CPU, cores, OS, compiler, commit and time.
//! Every result the lab writes carries one of these.

use serde::{Deserialize, Serialize};

/// The machine, toolchain and checkout a result was measured on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model name (from /proc/cpuinfo).
    pub cpu_model: String,
    /// Logical CPUs this process may run on.
    pub logical_cpus: usize,
    /// OS name and version (from /etc/os-release).
    pub os: String,
    /// Kernel release.
    pub kernel: String,
    /// `rustc --version` of the compiler that built the lab.
    pub rustc: String,
    /// The git commit of the working directory (`unknown` outside git).
    pub git_commit: String,
    /// Whether the working tree had uncommitted changes.
    pub git_dirty: bool,
    /// When the measurement started, UTC, RFC 3339.
    pub timestamp: String,
}

fn first_line_with(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_once([':', '=']))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
}

fn git(args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl Machine {
    /// Reads the current machine.
    pub fn detect() -> Self {
        Self {
            cpu_model: first_line_with("/proc/cpuinfo", "model name")
                .unwrap_or_else(|| std::env::consts::ARCH.to_string()),
            logical_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            os: first_line_with("/etc/os-release", "PRETTY_NAME")
                .unwrap_or_else(|| std::env::consts::OS.to_string()),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".into()),
            rustc: env!("KMIDI_RUSTC_VERSION").to_string(),
            git_commit: git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into()),
            git_dirty: git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty()),
            timestamp: rfc3339_now(),
        }
    }

    /// One line for table headers.
    pub fn summary(&self) -> String {
        format!(
            "{} ({} CPUs), {}, {}, commit {}{}",
            self.cpu_model,
            self.logical_cpus,
            self.os,
            self.rustc,
            &self.git_commit[..self.git_commit.len().min(10)],
            if self.git_dirty { " (dirty)" } else { "" }
        )
    }
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Seconds since the Unix epoch as RFC 3339 UTC (Howard Hinnant's
/// days-to-civil algorithm).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_478_399), "2026-11-23T23:59:59Z");
    }

    #[test]
    fn detect_fills_every_field() {
        let m = Machine::detect();
        assert!(!m.cpu_model.is_empty());
        assert!(m.logical_cpus >= 1);
        assert!(m.rustc.starts_with("rustc "), "{}", m.rustc);
        assert!(m.timestamp.ends_with('Z'));
    }
}
