//! `Engine::process` never allocates on the audio thread: every preset, at
//! three rates and seven block sizes, with input resampling, stage timing,
//! the ML tap (its worker thread allocates; the audio thread must not) and
//! MIDI events. One test in this binary, so the counting allocator sees
//! only it.

use kmidi_dsp::AudioBuffer;
use kmidi_dsp::alloc_probe::{CountingAllocator, count_allocations};
use kmidi_engine::material::Material;
use kmidi_engine::{Engine, EngineConfig, InputClock};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

fn run(preset: &str, rate: u32, input_rate: u32, block: usize, blocks: usize) {
    let mut config = EngineConfig::preset(preset).unwrap();
    config.sample_rate = rate;
    config.block_frames = block;
    config.input_rate = Some(input_rate);
    config.stage_timing = true;
    let mut engine = Engine::new(config).unwrap();
    let material = Material::generate(input_rate, "C major".parse().unwrap(), 7);
    let mut player = material.player(engine.input_channels());
    let mut clock = InputClock::new(input_rate, rate);
    let max_in = (block as f64 * input_rate as f64 / rate as f64).ceil() as usize + 1;
    let mut input = AudioBuffer::new(engine.input_channels(), max_in);
    let mut output = engine.create_output();
    // Varying block lengths up to the maximum, as hosts send them.
    let lengths = [block, block / 2 + 1, 1, block];
    let mut total = 0u64;
    let mut groove = engine.take_groove_control().unwrap();
    for i in 0..blocks {
        if i == blocks / 2 {
            // A tempo change from the control side: built here, swapped in
            // on the audio thread during the next (counted) block.
            let change = kmidi_engine::config::GrooveConfig {
                tempo_bpm: 97.0,
                swing_percent: 62.0,
                ..Default::default()
            };
            groove.set(&change).unwrap();
        }
        let frames = lengths[i % lengths.len()].max(1);
        input.set_frames(clock.input_frames(frames)).unwrap();
        player.fill(&mut input);
        output.set_frames(frames).unwrap();
        let (r, stats) = count_allocations(|| engine.process(&input, &mut output));
        r.unwrap();
        total += stats.allocations;
    }
    assert_eq!(groove.collect(), 1, "the old groove came back to be freed");
    assert_eq!(
        total, 0,
        "{preset} at {rate} Hz (input {input_rate} Hz), {block}-frame blocks: {total} allocations"
    );
    assert!(engine.stats().midi_note_ons > 0 || blocks * block < 24_000);
}

#[test]
fn process_never_allocates() {
    for preset in ["minimal", "band", "large"] {
        run(preset, 48_000, 48_000, 512, 200);
        run(preset, 48_000, 44_100, 512, 200);
    }
    for rate in [44_100, 96_000] {
        for block in [64, 333, 2048] {
            run("band", rate, rate, block, 60);
        }
    }
    run("band", 96_000, 48_000, 1, 3000);
    run("minimal", 44_100, 22_050, 7, 500);
}
