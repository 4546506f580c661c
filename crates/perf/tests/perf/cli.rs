//! The `kmidi-perf` binary end to end: run (every mode), check, profile,
//! render, JSON schemas, and one-line errors that leave nothing behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn perf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kmidi-perf"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON on stdout")
}

fn write_wav(path: &Path, rate: u32, channels: u16, seconds: f64) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 24,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..(seconds * rate as f64) as usize {
        for c in 0..channels {
            let x = 0.3 * (i as f64 * 0.03 * (c + 1) as f64).sin();
            w.write_sample((x * 8_388_607.0) as i32).unwrap();
        }
    }
    w.finalize().unwrap();
}

#[test]
fn run_json_has_the_schema_the_machine_and_the_deadline_figures() {
    let out = perf(&["run", "--seconds", "2", "--json"]);
    let v = json(&out);
    assert_eq!(v["schema"], "kmidi-perf/run");
    assert_eq!(v["schema_version"], 1);
    let m = &v["machine"];
    for key in [
        "cpu_model",
        "os",
        "kernel",
        "rustc",
        "git_commit",
        "timestamp",
    ] {
        assert!(
            m[key].as_str().is_some_and(|s| !s.is_empty()),
            "machine.{key}"
        );
    }
    assert!(m["logical_cpus"].as_u64().unwrap() >= 1);
    let h = &v["harness"];
    assert!(h["timer_resolution_ns"].as_f64().unwrap() <= 1000.0);
    assert!(h["memory_bytes"].as_u64().unwrap() < 100 << 20);
    let r = &v["results"][0];
    assert_eq!(r["preset"], "band");
    assert_eq!(r["sample_rate"], 48000);
    assert_eq!(r["block_frames"], 512);
    assert_eq!(r["tracks"], 8);
    assert_eq!(r["audio_thread_allocations"], 0);
    let b = &r["blocks"];
    assert_eq!(b["blocks"], 188); // ceil(2 s × 48 kHz / 512)
    for key in [
        "mean_us",
        "median_us",
        "p95_us",
        "p99_us",
        "p999_us",
        "max_us",
    ] {
        assert!(b[key].as_f64().unwrap() > 0.0, "{key}");
    }
    assert!(b["median_us"].as_f64() <= b["p99_us"].as_f64());
    assert!((b["period_us"].as_f64().unwrap() - 10_666.67).abs() < 0.01);
    let load = b["dsp_load_mean_percent"].as_f64().unwrap();
    let mean = b["mean_us"].as_f64().unwrap();
    assert!((load - 100.0 * mean / 10_666.667).abs() < 1e-3);
    assert_eq!(r["stages"].as_array().unwrap().len(), 8);
    assert!(r["real_time_factor"].as_f64().unwrap() < 1.0);
    assert!(r["peak_rss_bytes"].as_u64().unwrap() > 0);
    assert!(r["process_cpu_seconds"].as_f64().unwrap() > 0.0);
    assert!(!r["histogram"].as_array().unwrap().is_empty());
    assert!(r["engine"]["ml_requests"].as_u64().unwrap() > 0);
    // Every model the run used says what its weights learned; a fixture
    // says it is one.
    let models = r["ml_models"].as_array().unwrap();
    assert!(!models.is_empty());
    for m in models {
        let training = m["training"].as_str().unwrap();
        if m["model"] == "dynamics_engine" {
            assert!(training.starts_with("latency fixture"), "{training}");
        }
        assert!(!training.is_empty());
    }
}

#[test]
fn the_table_prints_the_deadline_and_stage_figures() {
    let out = perf(&["run", "--seconds", "1", "--preset", "minimal", "--no-ml"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "machine:",
        "harness:",
        "p99.9",
        "load",
        "xruns",
        "minimal",
        "track inserts",
        "% period",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
}

#[test]
fn every_mode_runs() {
    let dir = tempfile::tempdir().unwrap();
    write_wav(&dir.path().join("a.wav"), 44_100, 2, 1.0);
    write_wav(&dir.path().join("b.wav"), 96_000, 1, 0.5);
    let folder = dir.path().to_str().unwrap();
    let v = json(&perf(&[
        "run", "--mode", "batch", "--input", folder, "--json", "--no-ml",
    ]));
    let r = &v["results"][0];
    assert_eq!(r["batch"]["files"], 2);
    assert!(r["batch"]["files_per_second"].as_f64().unwrap() > 0.0);
    assert!((r["batch"]["audio_seconds"].as_f64().unwrap() - 1.5).abs() < 1e-6);

    let file = dir.path().join("a.wav");
    let v = json(&perf(&[
        "run",
        "--input",
        file.to_str().unwrap(),
        "--json",
        "--no-ml",
    ]));
    assert_eq!(v["results"][0]["input_rate"], 44100);
    // 1 s of input at 44.1 kHz is 94 blocks of 512 at 48 kHz.
    assert_eq!(v["results"][0]["blocks"]["blocks"], 94);

    let v = json(&perf(&[
        "run",
        "--mode",
        "streaming",
        "--seconds",
        "0.5",
        "--load-threads",
        "1",
        "--json",
        "--no-ml",
    ]));
    let s = &v["results"][0]["streaming"];
    assert_eq!(s["load_threads"], 1);
    assert!(s["wake_late_max_us"].as_f64().is_some());
    // Paced: half a second of audio takes about half a second.
    assert!(v["results"][0]["wall_seconds"].as_f64().unwrap() >= 0.45);

    let v = json(&perf(&[
        "run",
        "--mode",
        "parallel",
        "--instances",
        "2",
        "--seconds",
        "1",
        "--json",
        "--no-ml",
    ]));
    let p = &v["results"][0]["parallel"];
    assert_eq!(p["instances"], 2);
    assert_eq!(p["instance_speeds"].as_array().unwrap().len(), 2);
    assert!(p["scaling_efficiency_percent"].as_f64().unwrap() > 10.0);

    let v = json(&perf(&[
        "run",
        "--rates",
        "44100,96000",
        "--blocks",
        "64,2048",
        "--preset",
        "minimal,large",
        "--seconds",
        "0.3",
        "--json",
        "--no-ml",
    ]));
    assert_eq!(v["results"].as_array().unwrap().len(), 8);
}

fn one_line_error(args: &[&str], env: Option<(&str, &str)>, needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let save = dir.path().join("keep.json");
    std::fs::write(&save, "precious").unwrap();
    let mut all: Vec<&str> = args.to_vec();
    let save_s = save.to_str().unwrap().to_string();
    all.extend(["--save", &save_s]);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kmidi-perf"));
    cmd.args(&all).current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success(), "{args:?} succeeded");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: not one line:\n{err}"
    );
    assert!(err.contains(needle), "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    assert_eq!(std::fs::read_to_string(&save).unwrap(), "precious");
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 1, "a temporary file was left");
}

#[test]
fn bad_input_is_one_line_a_non_zero_exit_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("corrupt.wav");
    std::fs::write(&corrupt, b"RIFF\x24\x00\x00\x00WAVEfmt ").unwrap();
    let corrupt = corrupt.to_str().unwrap();
    one_line_error(
        &["run", "--input", corrupt],
        None,
        "corrupt.wav: not a valid WAV file",
    );
    one_line_error(
        &["run", "--input", "/no/such/file.wav"],
        None,
        "file.wav: cannot read",
    );
    one_line_error(
        &["run", "--preset", "huge"],
        None,
        "unknown preset \"huge\": allowed minimal, band, large",
    );
    one_line_error(
        &["run", "--rates", "48000,abc"],
        None,
        "--rates = \"abc\": allowed 8000 to 384000 Hz",
    );
    one_line_error(&["run", "--rates", "500"], None, "--rates = \"500\"");
    one_line_error(
        &["run", "--blocks", "0"],
        None,
        "--blocks = \"0\": allowed 1 to 8192 frames",
    );
    one_line_error(&["run", "--blocks", "9000"], None, "--blocks");
    one_line_error(&["run", "--seconds", "-1"], None, "--seconds = -1");
    one_line_error(&["run", "--mode", "turbo"], None, "--mode = \"turbo\"");
    one_line_error(&["run", "--bogus"], None, "--bogus");
    one_line_error(
        &["run", "--seconds", "1"],
        Some(("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")),
        "ONNX Runtime library not found at /nonexistent/libonnxruntime.so",
    );
    // A truncated file fails part way through the run: still nothing saved.
    let good = dir.path().join("good.wav");
    write_wav(&good, 48_000, 2, 1.0);
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.wav");
    std::fs::write(&cut, &bytes[..bytes.len() / 2 + 1]).unwrap();
    one_line_error(
        &["run", "--input", cut.to_str().unwrap(), "--no-ml"],
        None,
        "cut.wav",
    );
}

fn targets_file(dir: &Path, body: &str) -> PathBuf {
    let p = dir.join("targets.toml");
    std::fs::write(&p, format!("schema_version = 1\n{body}")).unwrap();
    p
}

#[test]
fn check_passes_fails_and_refuses_bad_targets() {
    let dir = tempfile::tempdir().unwrap();
    let pass = targets_file(
        dir.path(),
        "[[target]]\nname = \"parse\"\nworkload = \"chord_parse\"\nstatistic = \"median\"\nlimit = 10000.0\nsource = \"kmidi\"\n",
    );
    let out = perf(&[
        "check",
        "--targets",
        pass.to_str().unwrap(),
        "--seconds",
        "0.1",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("PASS") && text.contains("1 of 1 targets passed"),
        "{text}"
    );

    let fail = targets_file(
        dir.path(),
        "[[target]]\nname = \"parse\"\nworkload = \"chord_parse\"\nstatistic = \"median\"\nlimit = 10000.0\nsource = \"kmidi\"\n\
         [[target]]\nname = \"impossible\"\nworkload = \"chord_parse\"\nstatistic = \"p99\"\nlimit = 0.001\nsource = \"seed\"\n",
    );
    let out = perf(&[
        "check",
        "--targets",
        fail.to_str().unwrap(),
        "--seconds",
        "0.1",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "kmidi-perf/check");
    assert_eq!(v["passed"], false);
    assert_eq!(v["results"][0]["verdict"], "PASS");
    assert_eq!(v["results"][1]["verdict"], "FAIL");
    assert_eq!(v["results"][1]["source"], "seed");

    for (body, needle) in [
        (
            "[[target]]\nname = \"x\"\nworkload = \"warp\"\nstatistic = \"median\"\nlimit = 1.0\nsource = \"kmidi\"\n",
            "unknown workload \"warp\"",
        ),
        (
            "[[target]]\nname = \"x\"\nworkload = \"chord_parse\"\nstatistic = \"p50\"\nlimit = 1.0\nsource = \"kmidi\"\n",
            "line 5",
        ),
        (
            "[[target]]\nname = \"x\"\nworkload = \"chord_parse\"\nstatistic = \"median\"\nlimit = -1.0\nsource = \"kmidi\"\n",
            "positive",
        ),
    ] {
        let p = targets_file(dir.path(), body);
        let out = perf(&["check", "--targets", p.to_str().unwrap()]);
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.contains("targets.toml") && err.contains(needle),
            "{err}"
        );
    }
    let p = dir.path().join("v3.toml");
    std::fs::write(&p, "schema_version = 3\n").unwrap();
    let err = String::from_utf8(perf(&["check", "--targets", p.to_str().unwrap()]).stderr).unwrap();
    assert!(err.contains("schema_version 3 is not supported"), "{err}");
    let p = dir.path().join("v2.toml");
    std::fs::write(
        &p,
        "schema_version = 2\n[[target]]\nname = \"x\"\nworkload = \"chord_parse\"\nstatistic = \"median\"\nlimit = 1.0\nsource = \"kmidi\"\n",
    )
    .unwrap();
    let err = String::from_utf8(perf(&["check", "--targets", p.to_str().unwrap()]).stderr).unwrap();
    assert!(err.contains("[calibration]"), "{err}");
}

/// A scaled limit follows this machine's speed; a deadline and `--unscaled`
/// do not. A reference 1000× faster than any machine makes the scaled limit
/// 1000× longer here.
#[test]
fn check_scales_limits_by_the_calibration_kernel() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("scaled.toml");
    std::fs::write(
        &p,
        "schema_version = 2\n[calibration]\nreference_ns = 100.0\nmachine = \"a machine 1000x faster\"\n\
         [[target]]\nname = \"scaled\"\nworkload = \"chord_parse\"\nstatistic = \"median\"\nlimit = 0.01\nsource = \"kmidi\"\n\
         [[target]]\nname = \"deadline\"\nworkload = \"chord_parse\"\nstatistic = \"median\"\nlimit = 0.01\nsource = \"kmidi\"\ngate = \"deadline\"\n",
    )
    .unwrap();
    let out = perf(&[
        "check",
        "--targets",
        p.to_str().unwrap(),
        "--seconds",
        "0.1",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["scale"]["factor"].as_f64().unwrap() > 100.0, "{v}");
    assert_eq!(v["results"][0]["verdict"], "PASS", "{v}");
    assert_eq!(v["results"][1]["verdict"], "FAIL", "{v}");
    assert_eq!(v["results"][1]["limit_here"], 0.01);
    let out = perf(&[
        "check",
        "--targets",
        p.to_str().unwrap(),
        "--seconds",
        "0.1",
        "--json",
        "--unscaled",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["scale"]["factor"], 1.0);
    assert_eq!(v["results"][0]["verdict"], "FAIL", "{v}");
}

#[test]
fn the_committed_targets_file_parses_and_names_real_workloads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../perf-targets.toml");
    let file = kmidi_perf::targets::TargetsFile::load(&path).unwrap();
    assert!(
        file.targets
            .iter()
            .any(|t| t.source == kmidi_perf::targets::TargetSource::Seed)
    );
    assert!(file.targets.iter().any(|t| t.workload == "engine:band"));
    for m in kmidi_ml::models::Model::ALL {
        let w = format!("model:{}", m.stem());
        assert!(
            file.targets
                .iter()
                .any(|t| t.workload == w && t.limit <= 5000.0),
            "{w}"
        );
    }
}

#[test]
fn profile_writes_a_flamegraph_and_a_heap_profile() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let out = perf(&["profile", "--seconds", "2", "--out", out_dir, "--no-ml"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(dir.path().join("flamegraph.svg")).unwrap();
    assert!(svg.contains("<svg"));
    let out = perf(&[
        "profile",
        "--memory",
        "--seconds",
        "1",
        "--out",
        out_dir,
        "--no-ml",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let heap: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("dhat-heap.json")).unwrap())
            .unwrap();
    assert!(heap["dhatFileVersion"].as_u64().is_some());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn render_writes_a_wav() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.wav");
    let output = dir.path().join("out.wav");
    write_wav(&input, 44_100, 3, 0.5);
    let out = perf(&[
        "render",
        input.to_str().unwrap(),
        output.to_str().unwrap(),
        "--preset",
        "minimal",
        "--format",
        "int24",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = hound::WavReader::open(&output).unwrap();
    assert_eq!(r.spec().channels, 2);
    assert_eq!(r.spec().bits_per_sample, 24);
    assert_eq!(r.duration(), 24_000);
}
