//! Engine benches: one block of each preset at 48 kHz / 512, the cost of
//! per-stage timing (off and on in one group), and the resampled input.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kmidi_benches::{BLOCK, criterion_config};
use kmidi_dsp::AudioBuffer;
use kmidi_engine::material::Material;
use kmidi_engine::{Engine, EngineConfig, InputClock};

/// An engine fed the generated stems, block after block.
struct Rig {
    engine: Engine,
    inputs: Vec<AudioBuffer>,
    output: AudioBuffer,
    next: usize,
}

impl Rig {
    fn new(config: EngineConfig) -> Self {
        let engine = Engine::new(config).expect("preset builds");
        let in_rate = engine.config().effective_input_rate();
        let material = Material::generate(in_rate, "C major".parse().expect("key"), 1);
        let mut player = material.player(engine.input_channels());
        let mut clock = InputClock::new(in_rate, engine.config().sample_rate);
        // 16 s of input blocks, prepared outside the timed closure.
        let blocks = 16 * engine.config().sample_rate as usize / BLOCK;
        let inputs = (0..blocks)
            .map(|_| {
                let mut b = AudioBuffer::new(engine.input_channels(), BLOCK * 2 + 2);
                b.set_frames(clock.input_frames(BLOCK)).expect("fits");
                player.fill(&mut b);
                b
            })
            .collect();
        let output = engine.create_output();
        Self {
            engine,
            inputs,
            output,
            next: 0,
        }
    }

    fn block(&mut self) {
        let input = &self.inputs[self.next];
        self.next = (self.next + 1) % self.inputs.len();
        if self.next == 0 {
            // Start the material and the engine over together, so the
            // resampler's FIFO never sees a discontinuity.
            self.engine.reset();
        }
        self.engine
            .process(black_box(input), &mut self.output)
            .expect("blocks match the engine");
        black_box(&self.output);
    }
}

fn presets(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine/process");
    g.throughput(Throughput::Elements(BLOCK as u64));
    for preset in ["minimal", "band", "large"] {
        let mut rig = Rig::new(EngineConfig::preset(preset).expect("preset"));
        g.bench_function(format!("preset={preset}"), |b| b.iter(|| rig.block()));
    }
    g.finish();
}

fn stage_timing(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine/stage_timing");
    g.throughput(Throughput::Elements(BLOCK as u64));
    for on in [false, true] {
        let mut config = EngineConfig::preset("band").expect("preset");
        config.stage_timing = on;
        let mut rig = Rig::new(config);
        let name = if on { "band/on" } else { "band/off" };
        g.bench_function(name, |b| b.iter(|| rig.block()));
    }
    g.finish();
}

fn resampled_input(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine/input_rate");
    g.throughput(Throughput::Elements(BLOCK as u64));
    for rate in [48_000, 44_100] {
        let mut config = EngineConfig::preset("band").expect("preset");
        config.input_rate = Some(rate);
        let mut rig = Rig::new(config);
        g.bench_function(format!("band/input={rate}"), |b| b.iter(|| rig.block()));
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = criterion_config();
    targets = presets, stage_timing, resampled_input
}
criterion_main!(benches);
