//! The real-time view of a Criterion run (`scripts/bench.sh summary`):
//! each per-block process bench's median as DSP load at 48 kHz / 512, and
//! at its own block size for benches swept over `frames=N`.
//!
//! It reads Criterion's own files with [`crate::baseline::read_criterion`],
//! so it shows exactly what Criterion measured; a bench counts as a
//! process bench when it declared a throughput.
//!
//! ```
//! use kmidi_perf::summary::own_block_frames;
//! assert_eq!(own_block_frames("engine/block_size/frames=64"), Some(64));
//! assert_eq!(own_block_frames("mixer/strips=8"), None);
//! ```

use std::fmt::Write as _;
use std::path::Path;

use crate::baseline::read_criterion;
use crate::error::PerfError;
use crate::realtime::{BLOCK_FRAMES, BLOCK_PERIOD_NS, load_percent};
use crate::render::comparison::format_ns;

/// One process bench.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadRow {
    /// Criterion's `full_id`.
    pub id: String,
    /// Criterion's median, ns per block.
    pub median_ns: f64,
    /// DSP load at 48 kHz / 512, percent.
    pub load_percent: f64,
    /// DSP load at the bench's own block (`frames=N` in its id), percent.
    pub own_block_load_percent: Option<f64>,
}

/// The block size a bench id names (`frames=N`), if any.
pub fn own_block_frames(id: &str) -> Option<usize> {
    let rest = &id[id.find("frames=")? + "frames=".len()..];
    let digits: &str = &rest[..rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len())];
    digits.parse().ok().filter(|&n| n > 0)
}

/// The process benches of Criterion baseline `name` (`new` is the last
/// run) under `criterion_dir`, sorted by id.
///
/// # Errors
/// [`PerfError::File`] when a Criterion file is bad, or when the baseline
/// holds no process bench (with how to make one).
pub fn load_summary(criterion_dir: &Path, name: &str) -> Result<Vec<LoadRow>, PerfError> {
    let benches = read_criterion(criterion_dir, name)?;
    let rows: Vec<LoadRow> = benches
        .into_values()
        .filter(|b| b.has_throughput)
        .map(|b| LoadRow {
            load_percent: load_percent(b.median_ns, BLOCK_FRAMES),
            own_block_load_percent: own_block_frames(&b.id).map(|n| load_percent(b.median_ns, n)),
            median_ns: b.median_ns,
            id: b.id,
        })
        .collect();
    if rows.is_empty() {
        return Err(PerfError::file(
            criterion_dir,
            format!(
                "no process bench in Criterion baseline {name:?}: run scripts/bench.sh all (or save {name}) first"
            ),
        ));
    }
    Ok(rows)
}

/// The table, with a closing line naming the baseline and the period.
pub fn table(rows: &[LoadRow], name: &str) -> String {
    let width = rows.iter().map(|r| r.id.len()).max().unwrap_or(5).max(5);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  {:>11}  {:>12}  {:>14}",
        "bench", "median", "load@48k/512", "load@own block"
    );
    for r in rows {
        let own = r
            .own_block_load_percent
            .map_or_else(|| "-".to_string(), |p| format!("{p:.4} %"));
        let _ = writeln!(
            out,
            "{:<width$}  {:>11}  {:>10.4} %  {:>14}",
            r.id,
            format_ns(r.median_ns),
            r.load_percent,
            own
        );
    }
    let _ = writeln!(
        out,
        "\n{} process benches, baseline '{name}'; block period at 48 kHz / 512 = {:.3} ms",
        rows.len(),
        BLOCK_PERIOD_NS / 1e6
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, id: &str, median: f64, throughput: bool) {
        let d = dir.join(id.replace('/', "_")).join("new");
        std::fs::create_dir_all(&d).unwrap();
        let tp = if throughput {
            r#"{"Elements":512}"#
        } else {
            "null"
        };
        std::fs::write(
            d.join("benchmark.json"),
            format!(r#"{{"full_id":"{id}","throughput":{tp}}}"#),
        )
        .unwrap();
        std::fs::write(
            d.join("estimates.json"),
            format!(
                r#"{{"median":{{"point_estimate":{median},"confidence_interval":{{"lower_bound":{median},"upper_bound":{median}}}}}}}"#
            ),
        )
        .unwrap();
        std::fs::write(
            d.join("sample.json"),
            format!(r#"{{"sampling_mode":"Linear","iters":[1.0],"times":[{median}]}}"#),
        )
        .unwrap();
    }

    #[test]
    fn load_is_the_median_over_the_block_period() {
        let dir = std::env::temp_dir().join(format!("kmidi-summary-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        write(
            &dir,
            "engine/process/preset=band",
            BLOCK_PERIOD_NS / 10.0,
            true,
        );
        write(
            &dir,
            "engine/block_size/frames=64",
            BLOCK_PERIOD_NS / 80.0,
            true,
        );
        write(&dir, "engine/construct", 1e6, false);
        let rows = load_summary(&dir, "new").unwrap();
        assert_eq!(
            rows.len(),
            2,
            "the construction bench is not a process bench"
        );
        let band = rows.iter().find(|r| r.id.ends_with("band")).unwrap();
        assert!((band.load_percent - 10.0).abs() < 1e-9);
        assert_eq!(band.own_block_load_percent, None);
        let small = rows.iter().find(|r| r.id.ends_with("64")).unwrap();
        assert!((small.own_block_load_percent.unwrap() - 10.0).abs() < 1e-9);
        let text = table(&rows, "new");
        assert!(
            text.contains("10.0000 %") && text.contains("10.667 ms"),
            "{text}"
        );
        let e = load_summary(&dir, "nothing").unwrap_err().to_string();
        assert!(
            e.contains("no process bench") && e.contains("\"nothing\""),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn frames_are_read_from_the_id() {
        assert_eq!(own_block_frames("a/frames=2048/b"), Some(2048));
        assert_eq!(own_block_frames("a/frames=x"), None);
        assert_eq!(own_block_frames("a/frames=0"), None);
    }
}
