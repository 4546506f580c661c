//! The JACK host (feature `jack`; `scripts/jack.sh ci` runs these): each
//! test starts its own `jackd --no-realtime -d dummy` (one at a time).

#![cfg(feature = "jack")]

use std::sync::Mutex;

use kmidi_engine::EngineConfig;
use kmidi_perf::host::jack::{JackHost, JackOptions, ServerMode};
use kmidi_perf::host::server::JackdProcess;
use kmidi_perf::host::{HostKind, Music, RunPlan, Segment, run_on_host};

#[global_allocator]
static ALLOCATOR: kmidi_perf::alloc::LabAllocator = kmidi_perf::alloc::LabAllocator;

/// One JACK server at a time.
static SERVER: Mutex<()> = Mutex::new(());

fn options(server: ServerMode, dir: &std::path::Path) -> JackOptions {
    JackOptions {
        server,
        client_name: "kmidi-test".into(),
        connect_to: vec![],
        server_log: dir.join("jackd.log"),
        kill_server_after_s: None,
    }
}

fn config(block: usize) -> EngineConfig {
    let mut c = EngineConfig::preset("band").unwrap();
    c.block_frames = block;
    c
}

fn plan(c: &EngineConfig, seconds: f64) -> (RunPlan, u64) {
    let frames = (seconds * 48_000.0) as u64;
    let callbacks = frames.div_ceil(c.block_frames as u64);
    (
        RunPlan {
            music: Music::Generated(48_000),
            channels: kmidi_engine::Engine::new(c.clone())
                .unwrap()
                .input_channels(),
            segments: vec![Segment::Music(frames)],
            capture: vec![(0, callbacks * c.block_frames as u64)],
        },
        callbacks,
    )
}

#[test]
fn jack_plays_what_the_offline_render_plays_and_reports_its_figures() {
    let _one = SERVER.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let c = config(256);
    let (p, callbacks) = plan(&c, 3.0);
    let mut host = JackHost::open(options(ServerMode::Start, dir.path()), 48_000, 256).unwrap();
    let run = run_on_host(&mut host, &c, &p, callbacks, 0.8, true, &mut |_| {}).unwrap();
    let h = &run.info;
    assert_eq!(h.host, HostKind::Jack);
    assert!(
        h.server
            .contains("jackd --no-realtime -d dummy -r 48000 -p 256"),
        "{}",
        h.server
    );
    assert_eq!(h.callbacks, callbacks);
    assert_eq!(
        h.output_identical,
        Some(true),
        "first difference {:?}",
        h.first_difference_frame
    );
    assert_eq!(h.compared_frames, callbacks * 256);
    assert_eq!(run.allocations, 0);
    assert!(h.dsp_load_mean_percent > 0.0);
    assert!(
        h.server_log
            .as_deref()
            .is_some_and(|l| l.contains("jackdmp"))
    );
    assert!(!h.partial);
}

#[test]
fn a_server_that_dies_ends_the_run_with_a_partial_result() {
    let _one = SERVER.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let c = config(512);
    let (p, callbacks) = plan(&c, 20.0);
    let mut o = options(ServerMode::Start, dir.path());
    o.kill_server_after_s = Some(1.0);
    let mut host = JackHost::open(o, 48_000, 512).unwrap();
    let run = run_on_host(&mut host, &c, &p, callbacks, 0.8, true, &mut |_| {}).unwrap();
    let h = &run.info;
    assert!(h.partial);
    assert!(
        h.ended_by.as_deref().unwrap().contains("shut down"),
        "{:?}",
        h.ended_by
    );
    assert!(
        h.callbacks < callbacks && h.callbacks >= 90,
        "{} callbacks",
        h.callbacks
    );
    assert!(run.session.is_none());
    // The figures that ran are kept, and what was captured still matches.
    let r = run.result("band", &c, "generated", 0.8).unwrap();
    assert_eq!(r.blocks.blocks, h.callbacks);
    assert_eq!(h.output_identical, Some(true));
}

#[test]
fn wrong_servers_and_ports_are_named_with_the_fix() {
    let _one = SERVER.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    // No server.
    let e = JackHost::open(options(ServerMode::Connect, dir.path()), 48_000, 512)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("no JACK server is running") && e.contains("jackd -d dummy"),
        "{e}"
    );
    // A server at another rate.
    let mut server = JackdProcess::start(44_100, 512, &dir.path().join("other.log")).unwrap();
    server
        .wait_ready(std::time::Duration::from_secs(10), || {
            jack::Client::new("kmidi-wait", jack::ClientOptions::NO_START_SERVER).is_ok()
        })
        .unwrap();
    let e = JackHost::open(options(ServerMode::Connect, dir.path()), 48_000, 512)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("44100 Hz") && e.contains("--rates 44100"), "{e}");
    // A server at another period.
    let e = JackHost::open(options(ServerMode::Connect, dir.path()), 44_100, 256)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("512 frames") && e.contains("--blocks 512"),
        "{e}"
    );
    // Start refuses to start a second server.
    let e = JackHost::open(options(ServerMode::Start, dir.path()), 44_100, 512)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("already running"), "{e}");
    // A port that does not exist.
    let mut o = options(ServerMode::Connect, dir.path());
    o.connect_to = vec!["nosuch:port".into()];
    let mut host = JackHost::open(o, 44_100, 512).unwrap();
    let mut c = config(512);
    c.sample_rate = 44_100;
    let (p, callbacks) = plan(&c, 1.0);
    let e = run_on_host(&mut host, &c, &p, callbacks, 0.8, false, &mut |_| {})
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("nosuch:port") && e.contains("system:playback_1"),
        "{e}"
    );
    drop(host);
    server.stop();
}

#[test]
fn no_jackd_on_the_path_says_how_to_install_it() {
    let _one = SERVER.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kmidi-perf"))
        .env("PATH", dir.path())
        .args([
            "run",
            "--host",
            "jack",
            "--jack-server",
            "start",
            "--seconds",
            "1",
        ])
        .args(["--server-log", dir.path().join("j.log").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("jackd) is not installed") && err.contains("apt-get install jackd2"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}
