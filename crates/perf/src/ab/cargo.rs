//! Building a Criterion workspace's bench executables once, listing their
//! benches, and running one short measuring process of one side.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::PerfError;

use super::{AbSpec, Side};

/// Which bench executables to build: Cargo's own selection flags.
#[derive(Debug, Clone, Default)]
pub struct CargoSelection {
    /// `--package` names; empty: the whole workspace.
    pub packages: Vec<String>,
    /// `--features` to enable (for example rubato's `bench_asyncro`).
    pub features: Vec<String>,
    /// `--bench` targets; empty: every bench target.
    pub targets: Vec<String>,
    /// Build both sides with every function aligned to 64 bytes and every
    /// block that is jumped to (not fallen into) to 32 bytes
    /// ([`ALIGN_CODE_RUSTFLAGS`]), so that a change in one function does
    /// not move the alignment of the code after it.
    pub align_code: bool,
}

/// The flags `--align-code` adds to `RUSTFLAGS`: LLVM's code-placement
/// options. On rubato, a slowdown in its cubic interpolation moved the
/// untouched linear benches of the same binary by −7.5% and −8.5% through
/// code alignment alone; with these flags, by −0.4% to +0.1%.
pub const ALIGN_CODE_RUSTFLAGS: &str =
    "-C llvm-args=-align-all-functions=6 -C llvm-args=-align-all-nofallthru-blocks=5";

/// Criterion's own options for every measuring process. Each process is
/// short on purpose: the variance that matters lies between processes, so
/// time is better spent on more of them than on longer ones.
#[derive(Debug, Clone)]
pub struct CriterionOptions {
    /// `--warm-up-time`, seconds.
    pub warm_up_seconds: f64,
    /// `--measurement-time`, seconds.
    pub measurement_seconds: f64,
    /// `--sample-size` (Criterion needs at least 10).
    pub sample_size: usize,
    /// Further arguments given to every bench executable as they are.
    pub extra: Vec<String>,
}

impl Default for CriterionOptions {
    fn default() -> Self {
        Self {
            warm_up_seconds: 0.2,
            measurement_seconds: 0.4,
            sample_size: 10,
            extra: Vec::new(),
        }
    }
}

impl CriterionOptions {
    /// The command-line arguments, understood by Criterion 0.5 to 0.8.
    pub fn args(&self) -> Vec<String> {
        let mut a = vec![
            "--warm-up-time".to_string(),
            format!("{}", self.warm_up_seconds),
            "--measurement-time".into(),
            format!("{}", self.measurement_seconds),
            "--sample-size".into(),
            self.sample_size.to_string(),
            // Plots cost more than the measurement; analysis resamples are
            // only Criterion's own report, not the lab's evidence.
            "--noplot".into(),
            "--nresamples".into(),
            "1000".into(),
        ];
        a.extend(self.extra.iter().cloned());
        a
    }
}

/// A bench executable of one build, by Cargo target name.
pub type Executables = BTreeMap<String, PathBuf>;

/// Builds the selected bench executables of the workspace in `dir` once
/// (in `target_dir` when given), and copies them to `bin` (one directory
/// per side, paths of equal length on both sides), so that nothing built
/// later can replace them.
///
/// # Errors
/// [`PerfError::File`] when cargo cannot run, the build fails or an
/// executable cannot be copied.
pub fn build(
    dir: &Path,
    selection: &CargoSelection,
    bin: &Path,
    target_dir: Option<&Path>,
) -> Result<Executables, PerfError> {
    eprintln!("ab: building the benches of {} once", dir.display());
    let mut args: Vec<String> = ["bench", "--no-run", "--message-format=json"]
        .map(String::from)
        .to_vec();
    if selection.packages.is_empty() {
        args.push("--workspace".into());
    }
    for p in &selection.packages {
        args.extend(["--package".into(), p.clone()]);
    }
    if !selection.features.is_empty() {
        args.extend(["--features".into(), selection.features.join(",")]);
    }
    for t in &selection.targets {
        args.extend(["--bench".into(), t.clone()]);
    }
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    if let Some(t) = target_dir {
        cargo.env("CARGO_TARGET_DIR", t);
    }
    if selection.align_code {
        let mut flags = std::env::var("RUSTFLAGS").unwrap_or_default();
        if !flags.is_empty() {
            flags.push(' ');
        }
        flags.push_str(ALIGN_CODE_RUSTFLAGS);
        cargo.env("RUSTFLAGS", flags);
    }
    let out = cargo
        .args(&args)
        .current_dir(dir)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| PerfError::file(dir, format!("cannot run cargo: {e}")))?;
    if !out.status.success() {
        return Err(PerfError::file(
            dir,
            format!("`cargo {}` failed ({})", args.join(" "), out.status),
        ));
    }
    let mut exes = Executables::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let is_bench = v["reason"] == "compiler-artifact"
            && v["target"]["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bench"));
        if let (true, Some(exe), Some(name)) = (
            is_bench,
            v["executable"].as_str(),
            v["target"]["name"].as_str(),
        ) {
            std::fs::create_dir_all(bin).map_err(|e| PerfError::caused(bin, e))?;
            let copy = bin.join(name);
            std::fs::copy(exe, &copy).map_err(|e| PerfError::caused(&copy, e))?;
            exes.insert(name.to_string(), copy);
        }
    }
    if exes.is_empty() {
        return Err(PerfError::file(
            dir,
            "cargo built no bench executable (is a `[[bench]]` target behind a feature? pass --features)",
        ));
    }
    Ok(exes)
}

/// The bench executable `exe` run for `side`, in the side's directory,
/// with its environment and Criterion's output under `home`.
pub fn bench_command(exe: &Path, side: &Side, home: &Path) -> Command {
    let mut c = Command::new(exe);
    c.current_dir(&side.dir)
        .env("CRITERION_HOME", home)
        .stdin(Stdio::null());
    for (k, v) in &side.env {
        c.env(k, v);
    }
    c
}

/// The benches of `exe` that the spec's filter selects.
///
/// # Errors
/// [`PerfError::File`] when the executable cannot run.
pub fn list_benches(
    exe: &Path,
    side: &Side,
    spec: &AbSpec,
    home: &Path,
) -> Result<Vec<String>, PerfError> {
    let mut c = bench_command(exe, side, home);
    c.args(["--bench", "--list"]);
    if let Some(f) = &spec.filter {
        c.arg(f);
    }
    let out = c
        .stderr(Stdio::null())
        .output()
        .map_err(|e| PerfError::file(exe, format!("cannot run: {e}")))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": benchmark"))
        .map(str::to_string)
        .collect())
}

/// A Criterion filter matching exactly `ids`.
pub fn exact_filter(ids: &[&str]) -> String {
    let alternatives: Vec<String> = ids.iter().map(|id| regex::escape(id)).collect();
    format!("^(?:{})$", alternatives.join("|"))
}

/// The name every process saves its results under; each process has its
/// own Criterion home, and every home's path has the same length, so the
/// processes of both sides see the same argument and environment sizes
/// (a one-byte difference in a baseline name once moved the stack and heap
/// layout enough to make one build run 15-47% slower than itself).
pub const PROCESS_BASELINE: &str = "ab";

/// Runs one measuring process of `exe` over exactly `ids`, saving to
/// `home`, with `preload` (the thread-clock library) preloaded when given.
/// Returns the share of its wall time that it spent on a CPU (its
/// user + system time over its wall time): below 1 when another tenant or
/// the hypervisor took the CPU from it.
///
/// # Errors
/// [`PerfError::File`] with the process's last line of error output when
/// it fails.
pub fn run_process(
    exe: &Path,
    side: &Side,
    criterion: &CriterionOptions,
    home: &Path,
    ids: &[&str],
    preload: Option<&Path>,
) -> Result<f64, PerfError> {
    let mut c = bench_command(exe, side, home);
    if let Some(library) = preload {
        let existing = side
            .env
            .iter()
            .rev()
            .find(|(k, _)| k == "LD_PRELOAD")
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var("LD_PRELOAD").ok());
        c.env(
            "LD_PRELOAD",
            super::thread_clock::preload_value(library, existing.as_deref()),
        );
    }
    c.args(["--bench", "--save-baseline", PROCESS_BASELINE])
        .args(criterion.args())
        .arg(exact_filter(ids));
    let cpu_before = crate::sys::children_cpu_seconds();
    let started = std::time::Instant::now();
    let out = c
        .stdout(Stdio::null())
        .output()
        .map_err(|e| PerfError::file(exe, format!("cannot run: {e}")))?;
    let wall = started.elapsed().as_secs_f64();
    let cpu = crate::sys::children_cpu_seconds() - cpu_before;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(PerfError::file(
            exe,
            format!("bench run failed ({}): {last}", out.status),
        ));
    }
    Ok(if wall > 0.0 { cpu / wall } else { 1.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_filter_escapes_criterion_ids() {
        let f = exact_filter(&["poly async cubic f32/1ch", "dsp/eq(8)+x"]);
        let re = regex::Regex::new(&f).unwrap();
        assert!(re.is_match("poly async cubic f32/1ch"));
        assert!(re.is_match("dsp/eq(8)+x"));
        assert!(!re.is_match("poly async cubic f32/1ch2"));
        assert!(!re.is_match("dsp/eq8x"));
    }

    #[test]
    fn criterion_options_are_criterion_flags() {
        let a = CriterionOptions::default().args();
        assert!(
            a.windows(2)
                .any(|w| w[0] == "--sample-size" && w[1] == "10")
        );
        assert!(a.contains(&"--noplot".to_string()));
    }
}
