//! Thread CPU time, the signal that other tenants' preemption does not
//! move: the canary and the stereo compressor at 48 kHz / 512, measured
//! with [`kmidi_benches::cpu_time::ThreadCpuTime`]. Their wall-time twins
//! are `canary/biquad_passes` and `dsp/compressor_stereo/kmidi_fastmath`;
//! `kmidi-perf ab` judges the two signals separately, as two benches.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kmidi_benches::canary::{Canary, work_percent};
use kmidi_benches::cpu_time::ThreadCpuTime;
use kmidi_benches::{BLOCK, SAMPLE_RATE, cpu_time_config, signals};
use kmidi_dsp::dynamics::{Compressor, CompressorSettings};
use kmidi_dsp::{Processor, StreamSpec};

fn cpu_time(c: &mut Criterion<ThreadCpuTime>) {
    let mut canary = Canary::new(work_percent());
    c.bench_function("cpu_time/canary/biquad_passes", |b| {
        b.iter(|| black_box(canary.run()))
    });

    let mut g = c.benchmark_group("cpu_time/dsp/compressor_stereo");
    g.throughput(Throughput::Elements(BLOCK as u64));
    let mut comp = Compressor::new(CompressorSettings::default()).expect("default settings");
    comp.prepare(&StreamSpec::new(SAMPLE_RATE, BLOCK, 2).expect("valid spec"))
        .expect("prepares");
    let src = signals::noise_block(2, BLOCK, 9);
    let mut buf = src.clone();
    g.bench_function(format!("frames={BLOCK}"), |b| {
        b.iter(|| {
            buf.copy_from(&src).expect("same shape");
            comp.process(black_box(&mut buf))
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = cpu_time_config();
    targets = cpu_time
}
criterion_main!(benches);
