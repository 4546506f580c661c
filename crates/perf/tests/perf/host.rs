//! The simulated host through the host interface: the engine on its own
//! paced thread, input and capture through rings, every callback recorded,
//! and the captured output equal to the offline render; the soak's probe
//! check on the same path.

use kmidi_engine::EngineConfig;
use kmidi_perf::host::sim::SimHost;
use kmidi_perf::host::soak::{soak_plan, summarize};
use kmidi_perf::host::{HostEvent, HostKind, Music, RunPlan, Segment, run_on_host};

fn config(block: usize) -> EngineConfig {
    let mut c = EngineConfig::preset("band").unwrap();
    c.block_frames = block;
    c.ml.harmony = false;
    c.ml.dynamics = false;
    c
}

#[test]
fn the_sim_host_plays_what_the_offline_render_plays() {
    let c = config(256);
    let frames = 48_000u64;
    let callbacks = frames.div_ceil(256);
    let plan = RunPlan {
        music: Music::Generated(48_000),
        channels: kmidi_engine::Engine::new(c.clone())
            .unwrap()
            .input_channels(),
        segments: vec![Segment::Music(frames)],
        capture: vec![(0, callbacks * 256)],
    };
    let mut progress = 0;
    let run = run_on_host(
        &mut SimHost::new(),
        &c,
        &plan,
        callbacks,
        0.8,
        true,
        &mut |e| {
            if let HostEvent::Progress(n) = e {
                progress += n;
            }
        },
    )
    .unwrap();
    assert_eq!(progress, callbacks);
    let h = &run.info;
    assert_eq!(h.host, HostKind::Sim);
    assert_eq!(h.callbacks, callbacks);
    assert_eq!(
        h.output_identical,
        Some(true),
        "first difference {:?}",
        h.first_difference_frame
    );
    assert_eq!(h.compared_frames, callbacks * 256);
    assert_eq!(h.input_missing_frames, 0);
    assert_eq!(run.allocations, 0, "the audio thread allocated");
    let r = run.result("band", &c, "generated", 0.8).unwrap();
    assert_eq!(r.blocks.blocks, callbacks);
    assert!(r.host.is_some());
}

#[test]
fn the_probe_sounds_the_same_after_a_short_soak() {
    let c = config(512);
    let channels = kmidi_engine::Engine::new(c.clone())
        .unwrap()
        .input_channels();
    // A fifth of a minute of music between the probes.
    let (plan, callbacks) = soak_plan(Music::Generated(48_000), channels, 48_000, 48_000, 512, 0.2);
    let run = run_on_host(
        &mut SimHost::new(),
        &c,
        &plan,
        callbacks,
        0.8,
        false,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(run.captured.len(), 2);
    assert!(!run.captured[0].is_empty());
    let s = summarize(&run.minutes, &run.info, &run.captured, 512.0 / 48_000.0);
    assert_eq!(
        s.probe_identical,
        Some(true),
        "state drift at {:?}",
        s.probe_first_difference
    );
    assert!(s.worst_callback_us > 0.0);
}
