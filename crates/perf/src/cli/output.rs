//! Output that several subcommands share: progress bars, JSON to a file
//! and standard output, reading the lab's own JSON documents back, and the
//! verdict output of `compare` and `ab`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use kmidi_perf::compare::{CompareConfig, Comparison, markdown, table};
use kmidi_perf::{PerfError, write_atomic};

/// A progress bar counting blocks (hidden when the output is JSON).
pub fn progress_bar(total: u64, hidden: bool) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} blocks {msg}",
    ) {
        pb.set_style(style);
    }
    pb
}

/// Prints a line above the progress bar, or to standard error when the
/// bar is not drawn (JSON output, or no terminal: indicatif then drops
/// what `println` gives it).
pub fn line_above(pb: &ProgressBar, line: &str) {
    if pb.is_hidden() {
        eprintln!("{line}");
    } else {
        pb.println(line);
    }
}

/// `value` as pretty JSON: printed with `json`, written atomically to
/// `save`.
pub fn emit_json(
    json: bool,
    save: Option<&Path>,
    value: &impl serde::Serialize,
) -> Result<(), PerfError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| PerfError::Profiler(format!("cannot encode JSON: {e}")))?;
    if let Some(path) = save {
        write_atomic(path, text.as_bytes())?;
    }
    if json {
        println!("{text}");
    }
    Ok(())
}

/// Reads one of the lab's JSON documents, checking its `schema`.
pub fn read_document<T: for<'de> serde::Deserialize<'de>>(
    path: &Path,
    schema: &str,
) -> Result<T, PerfError> {
    let text = std::fs::read_to_string(path).map_err(|e| PerfError::caused(path, e))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| PerfError::file_caused(path, format!("not JSON: {e}"), e))?;
    if v["schema"] != schema {
        return Err(PerfError::file(
            path,
            format!("schema {}: expected {schema}", v["schema"]),
        ));
    }
    serde_json::from_value(v).map_err(|e| {
        PerfError::file(
            path,
            format!("not a {schema} document this kmidi-perf reads: {e}"),
        )
    })
}

/// Where Criterion 0.8 writes when run from the workspace root:
/// `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`, else
/// `target/criterion`.
pub fn default_criterion_dir() -> PathBuf {
    criterion_dir_from(
        std::env::var_os("CRITERION_HOME"),
        std::env::var_os("CARGO_TARGET_DIR"),
    )
}

fn criterion_dir_from(
    criterion_home: Option<std::ffi::OsString>,
    cargo_target_dir: Option<std::ffi::OsString>,
) -> PathBuf {
    match (criterion_home, cargo_target_dir) {
        (Some(home), _) => PathBuf::from(home),
        (None, Some(target)) => PathBuf::from(target).join("criterion"),
        _ => PathBuf::from("target/criterion"),
    }
}

/// The thresholds file given, else `perf-compare.toml` if present, else
/// the defaults.
pub fn load_config(path: Option<&Path>) -> Result<CompareConfig, PerfError> {
    match path {
        Some(p) => CompareConfig::from_file(p),
        None => {
            let local = Path::new("perf-compare.toml");
            if local.is_file() {
                CompareConfig::from_file(local)
            } else {
                Ok(CompareConfig::default())
            }
        }
    }
}

/// Output options shared by `compare` and `ab`.
#[derive(clap::Args, Clone)]
pub struct VerdictOutput {
    /// Print Markdown for a pull-request comment instead of the table.
    #[arg(long, conflicts_with = "json")]
    pub markdown: bool,
    /// Print JSON (schema kmidi-perf/compare) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON to this file (atomically).
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Also write the Markdown to this file (atomically).
    #[arg(long)]
    pub save_markdown: Option<PathBuf>,
    /// URL prefix for report and flamegraph links in the Markdown (where
    /// the Criterion directory is published); default: local paths.
    #[arg(long)]
    pub link_base: Option<String>,
    /// Per-bench thresholds (default: perf-compare.toml if present).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

impl VerdictOutput {
    /// Prints and saves `c` as asked; exit 1 if anything regressed.
    pub fn emit(&self, c: &Comparison, criterion_dir: &Path) -> Result<ExitCode, PerfError> {
        let json = serde_json::to_string_pretty(c)
            .map_err(|e| PerfError::Profiler(format!("cannot encode JSON: {e}")))?;
        let md = markdown(c, criterion_dir, self.link_base.as_deref());
        if let Some(p) = &self.save {
            write_atomic(p, json.as_bytes())?;
        }
        if let Some(p) = &self.save_markdown {
            write_atomic(p, md.as_bytes())?;
        }
        if self.json {
            println!("{json}");
        } else if self.markdown {
            print!("{md}");
        } else {
            print!("{}", table(c));
        }
        Ok(if c.regressed() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_criterion_dir_follows_criterion_then_cargo() {
        let dir = |h: Option<&str>, t: Option<&str>| {
            criterion_dir_from(h.map(Into::into), t.map(Into::into))
        };
        assert_eq!(dir(Some("/c"), Some("/t")), PathBuf::from("/c"));
        assert_eq!(dir(None, Some("/t")), PathBuf::from("/t/criterion"));
        assert_eq!(dir(None, None), PathBuf::from("target/criterion"));
    }
}
