//! `ab --clock thread-cpu`: building the preload library that makes an
//! unmodified Criterion bench executable measure its thread's CPU time.
//!
//! The library is the `kmidi-thread-clock` crate of this workspace; its
//! source is carried inside `kmidi-perf` (so an installed binary can build
//! it anywhere) and built with the user's own cargo, without dependencies.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::PerfError;

/// The preload library's source: `crates/thread-clock/src/lib.rs`.
const SOURCE: &str = include_str!("../../../thread-clock/src/lib.rs");

/// A manifest for building the source on its own, outside any workspace.
const MANIFEST: &str = "[package]
name = \"kmidi-thread-clock\"
version = \"0.1.0\"
edition = \"2024\"
publish = false

[lib]
crate-type = [\"cdylib\"]

[workspace]
";

/// Builds the preload library in `dir` (release, its own target
/// directory) and returns the path of the shared object.
///
/// # Errors
/// [`PerfError::File`] when the sources cannot be written, cargo cannot
/// run, or the build fails (it needs nothing but the Rust toolchain and
/// glibc, Linux only).
pub fn build(dir: &Path) -> Result<PathBuf, PerfError> {
    if !cfg!(target_os = "linux") {
        return Err(PerfError::file(
            dir,
            "--clock thread-cpu needs Linux with glibc (it preloads a clock_gettime)",
        ));
    }
    let src = dir.join("src");
    std::fs::create_dir_all(&src).map_err(|e| PerfError::caused(&src, e))?;
    for (path, text) in [
        (dir.join("Cargo.toml"), MANIFEST),
        (src.join("lib.rs"), SOURCE),
    ] {
        std::fs::write(&path, text).map_err(|e| PerfError::caused(&path, e))?;
    }
    let target = dir.join("target");
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", &target)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| PerfError::file(dir, format!("cannot run cargo: {e}")))?;
    if !out.status.success() {
        return Err(PerfError::file(
            dir,
            format!(
                "building the thread-clock preload library failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    let library = target.join("release").join("libkmidi_thread_clock.so");
    if !library.is_file() {
        return Err(PerfError::file(&library, "cargo built no preload library"));
    }
    Ok(library)
}

/// `LD_PRELOAD` with `library` first, keeping what the environment (or the
/// side's own `--base-env`/`--head-env`) already preloads.
pub fn preload_value(library: &Path, existing: Option<&str>) -> String {
    match existing {
        Some(e) if !e.trim().is_empty() => format!("{} {e}", library.display()),
        _ => library.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    const CHILD: &str = "KMIDI_THREAD_CLOCK_CHILD";

    /// Run in a child process: how much a 200 ms sleep moves `Instant`.
    fn sleep_counted_ns() -> u128 {
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(200));
        start.elapsed().as_nanos()
    }

    /// This test's executable run again as a child that only sleeps and
    /// prints what its `Instant` counted.
    fn child_counted_ns(preload: Option<&Path>) -> u128 {
        let mut c = Command::new(std::env::current_exe().expect("the test executable"));
        c.args([
            "--exact",
            "ab::thread_clock::tests::a_preloaded_process_measures_thread_cpu_time",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1");
        if let Some(p) = preload {
            c.env("LD_PRELOAD", p);
        }
        let out = c.output().expect("the child runs");
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .find_map(|l| l.split_once("counted_ns=").map(|(_, v)| v))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no figure from the child: {text}"))
    }

    #[test]
    fn a_preloaded_process_measures_thread_cpu_time() {
        if std::env::var_os(CHILD).is_some() {
            println!("counted_ns={}", sleep_counted_ns());
            return;
        }
        let _alone = crate::sys::CHILD_PROCESS_TESTS.lock();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let library = build(dir.path()).expect("the preload library builds");
        let plain = child_counted_ns(None);
        let preloaded = child_counted_ns(Some(&library));
        assert!(plain >= 200_000_000, "wall clock counted {plain} ns");
        assert!(
            preloaded < 20_000_000,
            "thread clock counted {preloaded} ns"
        );
    }

    #[test]
    fn the_preload_goes_first_and_keeps_the_rest() {
        let lib = Path::new("/x/libkmidi_thread_clock.so");
        assert_eq!(preload_value(lib, None), "/x/libkmidi_thread_clock.so");
        assert_eq!(preload_value(lib, Some(" ")), "/x/libkmidi_thread_clock.so");
        assert_eq!(
            preload_value(lib, Some("/y/libasan.so")),
            "/x/libkmidi_thread_clock.so /y/libasan.so"
        );
    }
}
