//! The harness in-process: memory overhead, calibration, and that the
//! audio-thread allocation count really counts.

use kmidi_dsp::AudioBuffer;
use kmidi_engine::EngineConfig;
use kmidi_perf::harness::{DrivePlan, Feed, InputSource, Mode, RunSpec, calibrate, drive, run};
use kmidi_perf::sys;

fn spec(preset: &str, seconds: f64) -> RunSpec {
    let mut config = EngineConfig::preset(preset).unwrap();
    config.ml.harmony = false;
    config.ml.dynamics = false;
    config.stage_timing = true;
    RunSpec {
        label: preset.into(),
        config,
        mode: Mode::Single,
        input: InputSource::Generated { rate: None },
        seconds,
        safety_margin: 0.8,
        load_threads: 0,
        instances: 1,
        warmup_blocks: 5,
    }
}

/// A feed of silence.
struct Silence;
impl Feed for Silence {
    fn fill(&mut self, block: &mut AudioBuffer) -> bool {
        block.clear();
        true
    }

    fn rewind(&mut self) {}
}

#[test]
fn harness_figures_memory_and_allocation_counting() {
    // Timer resolution and per-block overhead.
    let cal = calibrate(0);
    assert!(
        cal.timer_resolution_ns > 0.0 && cal.timer_resolution_ns <= 1000.0,
        "{cal:?}"
    );
    assert!(cal.overhead_ns_per_block < 5_000.0, "{cal:?}");

    // Memory: a 10 s run of the large preset at 96 kHz grows the process
    // by well under 100 MB (engine, stems, histogram).
    let before = sys::rss_bytes();
    let mut s = spec("large", 10.0);
    s.config.sample_rate = 96_000;
    let r = run(&s, &mut |_| {}).unwrap();
    let growth = sys::peak_rss_bytes().saturating_sub(before);
    assert!(growth < 100 << 20, "grew {} MB", growth >> 20);
    assert_eq!(r.audio_thread_allocations, 0);
    assert_eq!(r.blocks.blocks, (10.0f64 * 96_000.0 / 512.0).ceil() as u64);

    // The count is real: the engine callback counts 0, a Vec inside the
    // timed region counts 1.
    let mut engine = kmidi_engine::Engine::new(spec("minimal", 1.0).config).unwrap();
    let plan = DrivePlan {
        blocks: 50,
        margin: 0.8,
        pace: false,
        warmup_blocks: 0,
    };
    let d = drive(&mut engine, &mut Silence, &plan, &mut |_| {}).unwrap();
    assert_eq!(d.allocations, 0);
    assert_eq!(d.times.count(), 50);
    let mut times = kmidi_perf::stats::BlockTimes::new(1e6, 0.8);
    let (v, allocs, t0, t1) = kmidi_perf::harness::time_block(&mut times, || vec![0u8; 64]);
    assert_eq!(allocs, 1);
    assert_eq!(v.len(), 64);
    assert!(t1 >= t0);
}
