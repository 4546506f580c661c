//! Arbitrary bytes as every file kmidi-perf reads: a Criterion baseline
//! (benchmark.json, estimates.json, sample.json), a gungraun summary, the
//! thresholds (perf-compare.toml), the targets (perf-targets.toml), a
//! machine fingerprint and the SQLite history. Each reader returns a value
//! or an error naming the file, never panics.
#![no_main]

use std::path::Path;

use kmidi_perf::baseline::{read_criterion, read_gungraun};
use kmidi_perf::compare::CompareConfig;
use kmidi_perf::fingerprint::Fingerprint;
use kmidi_perf::history::History;
use kmidi_perf::targets::TargetsFile;
use libfuzzer_sys::fuzz_target;

fn write(path: &Path, bytes: &[u8]) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(path, bytes);
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let root = std::env::temp_dir().join(format!("kmidi-fuzz-perf-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    match which % 6 {
        0 => {
            // Three files of one bench, split at 0xFF bytes.
            let mut parts = rest.splitn(3, |&b| b == 0xFF);
            let dir = root.join("criterion/group/bench/base");
            for name in ["benchmark.json", "estimates.json", "sample.json"] {
                write(&dir.join(name), parts.next().unwrap_or_default());
            }
            let _ = read_criterion(&root.join("criterion"), "base");
        }
        1 => {
            write(&root.join("g/base/iai/summary.json"), rest);
            let _ = read_gungraun(&root.join("g"), "base");
        }
        2 => {
            write(&root.join("perf-compare.toml"), rest);
            let _ = CompareConfig::from_file(&root.join("perf-compare.toml"));
        }
        3 => {
            write(&root.join("perf-targets.toml"), rest);
            let _ = TargetsFile::load(&root.join("perf-targets.toml"));
        }
        4 => {
            write(&root.join("criterion/kmidi-fingerprints/base.json"), rest);
            let _ = Fingerprint::load(&root.join("criterion"), "base");
        }
        _ => {
            write(&root.join("history.sqlite"), rest);
            if let Ok(h) = History::open_existing(&root.join("history.sqlite")) {
                let _ = h.runs();
                let _ = h.benches("wall_ns");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&root);
});
