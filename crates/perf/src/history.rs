//! Performance history in one SQLite file (rusqlite, bundled SQLite).
//!
//! `kmidi-perf history record` stores a run: the commit, the time, the
//! machine fingerprint, every metric of a saved baseline (Criterion
//! medians and intervals, instruction and heap-block counts), the
//! deadline figures of a `kmidi-perf run --json` file, and the verdicts of
//! a `compare --json` file. Each record is one transaction: a failure
//! leaves the file as it was. The schema carries its version in
//! `PRAGMA user_version` and is migrated step by step on open; a file
//! from a newer kmidi-perf is refused rather than altered.
//!
//! `history trend` reads one metric per bench over the last N runs and
//! flags a **slow drift**: a monotonic trend (Mann-Kendall test, p < 0.01)
//! whose fitted change over the window (Theil-Sen slope) exceeds the drift
//! threshold, even when no single step between runs crosses the
//! regression threshold.
//!
//! ```
//! use kmidi_perf::history::{History, Metric, RunRecord};
//! let dir = tempfile::tempdir().expect("a temporary directory");
//! let mut h = History::open(&dir.path().join("history.sqlite"))?;
//! for (i, ns) in [100.0, 101.0, 102.0].into_iter().enumerate() {
//!     h.record(&RunRecord {
//!         git_commit: format!("c{i}"),
//!         recorded_at: "2026-11-24T00:00:00Z".into(),
//!         source: "main".into(),
//!         fingerprint: None,
//!         metrics: vec![Metric::new("dsp/biquad", "wall_median_ns", ns)],
//!         verdicts: vec![],
//!     })?;
//! }
//! let series = h.series("dsp/biquad", "wall_median_ns", 10)?;
//! assert_eq!(series.len(), 3);
//! assert_eq!(series[2].value, 102.0);
//! # Ok::<(), kmidi_perf::PerfError>(())
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, params};
use serde::Serialize;

use crate::baseline::Baseline;
use crate::error::PerfError;
pub use crate::render::trend::sparkline;
use crate::report::RunReport;
pub use crate::stats::{Point, Trend, analyse, mann_kendall_p, theil_sen_slope};
use crate::verdict::{Comparison, glob_match};

/// How long a writer waits for another process's lock before giving up.
pub const LOCK_WAIT: Duration = Duration::from_secs(2);

/// The migrations, in order: entry `i` takes the schema from version `i`
/// to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: runs, their metrics and verdicts.
    "CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        git_commit TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        source TEXT NOT NULL,
        fingerprint TEXT
     );
     CREATE TABLE metrics (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        bench TEXT NOT NULL,
        metric TEXT NOT NULL,
        value REAL NOT NULL,
        PRIMARY KEY (run_id, bench, metric)
     );
     CREATE TABLE verdicts (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        bench TEXT NOT NULL,
        verdict TEXT NOT NULL,
        change_percent REAL,
        against TEXT NOT NULL,
        PRIMARY KEY (run_id, bench)
     );",
    // 2: trend queries read one bench's metric across runs.
    "CREATE INDEX metrics_by_bench ON metrics (bench, metric, run_id);",
];

/// The schema version this kmidi-perf writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// One metric value of one bench.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// Bench id.
    pub bench: String,
    /// Metric name, e.g. `wall_median_ns`, `instructions`.
    pub metric: String,
    /// The value.
    pub value: f64,
}

impl Metric {
    /// A metric value.
    pub fn new(bench: &str, metric: &str, value: f64) -> Self {
        Self {
            bench: bench.into(),
            metric: metric.into(),
            value,
        }
    }
}

/// A verdict to store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredVerdict {
    /// Bench id.
    pub bench: String,
    /// `regressed`, `improved` or `unchanged`.
    pub verdict: String,
    /// Wall-time (or instruction) change, percent.
    pub change_percent: Option<f64>,
    /// The baseline it was judged against.
    pub against: String,
}

/// One run to record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    /// Commit measured.
    pub git_commit: String,
    /// When, RFC 3339.
    pub recorded_at: String,
    /// Which baseline or run file it came from.
    pub source: String,
    /// The machine fingerprint, as JSON.
    pub fingerprint: Option<String>,
    /// Every metric.
    pub metrics: Vec<Metric>,
    /// Verdicts, when a comparison was recorded with it.
    pub verdicts: Vec<StoredVerdict>,
}

/// An open history file.
#[derive(Debug)]
pub struct History {
    conn: Connection,
    path: PathBuf,
}

fn db_error(path: &Path, e: rusqlite::Error) -> PerfError {
    use rusqlite::ErrorCode;
    let detail = match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => format!(
            "locked by another process (waited {} s); try again when it has finished",
            LOCK_WAIT.as_secs()
        ),
        Some(ErrorCode::NotADatabase) => {
            "not a SQLite database (corrupt, or another kind of file); move it aside and record again".into()
        }
        Some(ErrorCode::DatabaseCorrupt) => {
            "the SQLite file is corrupt; restore it from a backup or move it aside".into()
        }
        _ => format!("history database error: {e}"),
    };
    PerfError::File {
        path: path.to_path_buf(),
        detail,
        source: Some(kmidi_dsp::Cause::new(e)),
    }
}

/// A transaction holding the write lock from its start (IMMEDIATE), so
/// that reading the schema version and writing cannot interleave with
/// another process.
fn write_transaction<'c>(
    conn: &'c mut Connection,
    path: &Path,
) -> Result<rusqlite::Transaction<'c>, PerfError> {
    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| db_error(path, e))
}

impl History {
    /// Opens (creating if needed) and migrates the history file.
    ///
    /// # Errors
    /// [`PerfError::File`] naming the file when it is locked, corrupt, not
    /// SQLite, or from a newer schema.
    pub fn open(path: &Path) -> Result<Self, PerfError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| PerfError::caused(dir, e))?;
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )
        .map_err(|e| db_error(path, e))?;
        conn.busy_timeout(LOCK_WAIT)
            .map_err(|e| db_error(path, e))?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(|e| db_error(path, e))?;
        let mut h = Self {
            conn,
            path: path.to_path_buf(),
        };
        h.migrate()?;
        Ok(h)
    }

    /// Opens an existing history file read-only (for `trend` and `report`).
    ///
    /// # Errors
    /// As [`History::open`], and when the file does not exist.
    pub fn open_existing(path: &Path) -> Result<Self, PerfError> {
        if !path.is_file() {
            return Err(PerfError::file(
                path,
                "no history here: record one with kmidi-perf history record",
            ));
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| db_error(path, e))?;
        conn.busy_timeout(LOCK_WAIT)
            .map_err(|e| db_error(path, e))?;
        let h = Self {
            conn,
            path: path.to_path_buf(),
        };
        let v = h.version()?;
        if v != SCHEMA_VERSION {
            return Err(PerfError::file(
                path,
                format!(
                    "history schema {v}, this kmidi-perf reads {SCHEMA_VERSION}: run history record once to migrate it"
                ),
            ));
        }
        Ok(h)
    }

    fn version(&self) -> Result<i64, PerfError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| db_error(&self.path, e))
    }

    fn migrate(&mut self) -> Result<(), PerfError> {
        let path = self.path.clone();
        let err = |e: rusqlite::Error| db_error(&path, e);
        let tx = write_transaction(&mut self.conn, &path)?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(err)?;
        if version > SCHEMA_VERSION {
            return Err(PerfError::file(
                &self.path,
                format!(
                    "history schema {version} was written by a newer kmidi-perf (this one knows up to {SCHEMA_VERSION}); it was left untouched"
                ),
            ));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql).map_err(err)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stores a run in one transaction and returns its id.
    ///
    /// # Errors
    /// [`PerfError::File`] naming the file; nothing is stored then.
    pub fn record(&mut self, run: &RunRecord) -> Result<i64, PerfError> {
        let path = self.path.clone();
        let err = |e: rusqlite::Error| db_error(&path, e);
        let tx = write_transaction(&mut self.conn, &path)?;
        tx.execute(
            "INSERT INTO runs (git_commit, recorded_at, source, fingerprint) VALUES (?1, ?2, ?3, ?4)",
            params![run.git_commit, run.recorded_at, run.source, run.fingerprint],
        )
        .map_err(err)?;
        let id = tx.last_insert_rowid();
        {
            let mut m = tx
                .prepare("INSERT OR REPLACE INTO metrics (run_id, bench, metric, value) VALUES (?1, ?2, ?3, ?4)")
                .map_err(err)?;
            for x in &run.metrics {
                if !x.value.is_finite() {
                    return Err(PerfError::file(
                        &self.path,
                        format!(
                            "{} {} is {}: only finite values are stored; nothing was recorded",
                            x.bench, x.metric, x.value
                        ),
                    ));
                }
                m.execute(params![id, x.bench, x.metric, x.value])
                    .map_err(err)?;
            }
            let mut v = tx
                .prepare("INSERT OR REPLACE INTO verdicts (run_id, bench, verdict, change_percent, against) VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(err)?;
            for x in &run.verdicts {
                v.execute(params![id, x.bench, x.verdict, x.change_percent, x.against])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        Ok(id)
    }

    /// Number of runs stored.
    ///
    /// # Errors
    /// [`PerfError::File`] naming the file.
    pub fn runs(&self) -> Result<i64, PerfError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0))
            .map_err(|e| db_error(&self.path, e))
    }

    /// Bench ids that have `metric`, sorted.
    ///
    /// # Errors
    /// [`PerfError::File`] naming the file.
    pub fn benches(&self, metric: &str) -> Result<Vec<String>, PerfError> {
        let err = |e: rusqlite::Error| db_error(&self.path, e);
        let mut s = self
            .conn
            .prepare("SELECT DISTINCT bench FROM metrics WHERE metric = ?1 ORDER BY bench")
            .map_err(err)?;
        let rows = s
            .query_map([metric], |r| r.get::<_, String>(0))
            .map_err(err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(err)
    }

    /// The last `last` values of one bench's metric, oldest first.
    ///
    /// # Errors
    /// [`PerfError::File`] naming the file.
    pub fn series(&self, bench: &str, metric: &str, last: usize) -> Result<Vec<Point>, PerfError> {
        let err = |e: rusqlite::Error| db_error(&self.path, e);
        let mut s = self
            .conn
            .prepare(
                "SELECT r.id, r.git_commit, r.recorded_at, m.value FROM metrics m JOIN runs r ON r.id = m.run_id
                 WHERE m.bench = ?1 AND m.metric = ?2 ORDER BY r.id DESC LIMIT ?3",
            )
            .map_err(err)?;
        let rows = s
            .query_map(params![bench, metric, last as i64], |r| {
                Ok(Point {
                    run_id: r.get(0)?,
                    git_commit: r.get(1)?,
                    recorded_at: r.get(2)?,
                    value: r.get(3)?,
                })
            })
            .map_err(err)?;
        let mut v = rows.collect::<Result<Vec<_>, _>>().map_err(err)?;
        v.reverse();
        Ok(v)
    }
}

/// Every metric of a saved baseline.
pub fn baseline_metrics(b: &Baseline) -> Vec<Metric> {
    let mut out = Vec::new();
    for (id, c) in &b.wall {
        out.push(Metric::new(id, "wall_median_ns", c.median_ns));
        out.push(Metric::new(id, "wall_ci_low_ns", c.median_ci_ns.0));
        out.push(Metric::new(id, "wall_ci_high_ns", c.median_ci_ns.1));
    }
    for (id, c) in &b.counted {
        out.push(Metric::new(id, "instructions", c.instructions as f64));
        if let Some(a) = c.allocations {
            out.push(Metric::new(id, "allocations", a as f64));
        }
        if let Some(a) = c.allocated_bytes {
            out.push(Metric::new(id, "allocated_bytes", a as f64));
        }
    }
    out
}

/// The deadline figures of a `kmidi-perf run --json` report, one bench per
/// grid point (`run/<preset>/<rate>/<block>`).
pub fn run_metrics(r: &RunReport) -> Vec<Metric> {
    let mut out = Vec::new();
    for x in &r.results {
        // A host run or soak is its own series: its figures are not
        // comparable with the engine driven directly.
        let kind = match &x.host {
            None => "run".to_string(),
            Some(h) if h.soak.is_some() => format!("soak-{}", h.host.name()),
            Some(h) => format!("run-{}", h.host.name()),
        };
        let id = format!("{kind}/{}/{}Hz/{}", x.preset, x.sample_rate, x.block_frames);
        let b = &x.blocks;
        for (name, v) in [
            ("block_median_us", b.median_us),
            ("block_p99_us", b.p99_us),
            ("block_max_us", b.max_us),
            ("dsp_load_mean_percent", b.dsp_load_mean_percent),
            ("dsp_load_worst_percent", b.dsp_load_worst_percent),
            ("xruns", b.xruns as f64),
            (
                "audio_thread_allocations",
                x.audio_thread_allocations as f64,
            ),
        ] {
            out.push(Metric::new(&id, name, v));
        }
        for s in &x.stages {
            out.push(Metric::new(
                &id,
                &format!("stage_{}_us", s.stage),
                s.mean_us,
            ));
        }
        if let Some(h) = &x.host {
            for (name, v) in [
                ("engine_xruns", h.engine_xruns as f64),
                ("host_xruns", h.host_xruns as f64),
                ("callback_start_late_p99_us", h.callback_start_late.p99_us),
                ("host_dsp_load_mean_percent", h.dsp_load_mean_percent),
            ] {
                out.push(Metric::new(&id, name, v));
            }
            if let Some(s) = &h.soak {
                for (name, v) in [
                    ("engine_xruns_per_hour", s.engine_xruns_per_hour),
                    ("host_xruns_per_hour", s.host_xruns_per_hour),
                    ("worst_callback_us", s.worst_callback_us),
                    ("worst_drift_us_per_hour", s.worst_drift_us_per_hour),
                    ("rss_growth_bytes", s.rss_growth_bytes as f64),
                ] {
                    out.push(Metric::new(&id, name, v));
                }
            }
        }
    }
    out
}

/// The verdicts of a comparison.
pub fn comparison_verdicts(c: &Comparison) -> Vec<StoredVerdict> {
    c.benches
        .iter()
        .map(|b| StoredVerdict {
            bench: b.id.clone(),
            verdict: b.verdict.as_str().into(),
            change_percent: b
                .wall
                .as_ref()
                .map(|w| w.change_percent)
                .or(b.instructions.map(|i| i.change_percent)),
            against: c.base.clone(),
        })
        .collect()
}

/// The trends of every bench matching `pattern` (glob, `*` wildcards).
///
/// # Errors
/// [`PerfError::File`] naming the file.
pub fn trends(
    h: &History,
    pattern: Option<&str>,
    metric: &str,
    last: usize,
    drift_percent: f64,
    step_percent: f64,
) -> Result<Vec<Trend>, PerfError> {
    let mut out = Vec::new();
    for bench in h.benches(metric)? {
        if pattern.is_some_and(|p| !glob_match(p, &bench)) {
            continue;
        }
        let points = h.series(&bench, metric, last)?;
        out.push(analyse(&bench, metric, points, drift_percent, step_percent));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_a_database_keeps_sqlites_error_as_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.sqlite");
        std::fs::write(&path, vec![b'x'; 4096]).unwrap();
        let Err(e) = History::open(&path) else {
            panic!("a file that is not a database opened")
        };
        assert!(e.to_string().contains("not a SQLite database"), "{e}");
        let source = std::error::Error::source(&e).expect("sqlite's error is kept");
        let cause = source.downcast_ref::<kmidi_dsp::Cause>().unwrap();
        assert!(
            cause.get().downcast_ref::<rusqlite::Error>().is_some(),
            "{e:?}"
        );
    }

    fn pts(xs: &[f64]) -> Vec<Point> {
        xs.iter()
            .enumerate()
            .map(|(i, v)| Point {
                run_id: i as i64,
                git_commit: format!("c{i}"),
                recorded_at: String::new(),
                value: *v,
            })
            .collect()
    }

    #[test]
    fn slow_drift_is_flagged_though_no_step_crosses_the_threshold() {
        // +1.5% per commit over 12 commits, with ±0.5% noise: +16% in all,
        // no single step above 3%.
        let xs: Vec<f64> = (0..12)
            .map(|i| 100.0 * (1.0 + 0.015 * i as f64) * if i % 2 == 0 { 1.005 } else { 0.995 })
            .collect();
        let t = analyse("b", "wall_median_ns", pts(&xs), 5.0, 10.0);
        assert!(t.slow_drift, "{t:?}");
        assert!(
            !t.step_change && t.largest_step_percent.abs() < 3.0,
            "{t:?}"
        );
        assert!(
            t.fitted_change_percent > 12.0 && t.trend_p_value < 0.001,
            "{t:?}"
        );
    }

    #[test]
    fn noise_and_single_steps_are_not_drift() {
        let noise = [
            100.0, 103.0, 98.0, 101.0, 99.0, 102.0, 97.0, 101.0, 100.0, 99.0,
        ];
        let t = analyse("b", "m", pts(&noise), 5.0, 10.0);
        assert!(!t.slow_drift && !t.step_change, "{t:?}");
        let step = [
            100.0, 100.0, 101.0, 100.0, 100.0, 130.0, 130.0, 131.0, 130.0, 130.0,
        ];
        let t = analyse("b", "m", pts(&step), 5.0, 10.0);
        assert!(t.step_change && !t.slow_drift, "{t:?}");
    }

    #[test]
    fn sparkline_spans_the_range() {
        assert_eq!(sparkline(&[1.0, 2.0, 3.0]), "▁▅█");
        assert_eq!(sparkline(&[5.0, 5.0]), "▄▄");
    }
}
