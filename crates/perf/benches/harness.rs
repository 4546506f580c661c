//! The lab's own cost, and the deadline table.
//!
//! `perf/harness_overhead`: a no-op processor and the "band" engine, each
//! called in a bare loop and through the harness's per-block timing
//! (`time_block`: two clock reads, the allocation count, a histogram
//! record), in one group so the ratio comes from one run.
//!
//! After the Criterion groups, the bench runs `kmidi-perf run`'s harness on
//! the "band" preset at 48 kHz / 512 for 20 s of generated music and prints
//! its deadline table, so `cargo bench --workspace` ends with it. It is
//! skipped when a filter that does not match "perf/deadline" is given.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group};
use kmidi_dsp::AudioBuffer;
use kmidi_engine::material::Material;
use kmidi_engine::{Engine, EngineConfig};
use kmidi_perf::harness::{
    InputSource, Mode, RunSpec, calibrate, material_bytes, noop_process, run, time_block,
};
use kmidi_perf::machine::Machine;
use kmidi_perf::report::{RunReport, SCHEMA_VERSION, run_table};
use kmidi_perf::stats::BlockTimes;

const BLOCK: usize = 512;

fn config() -> Criterion {
    let quick = std::env::var_os("KMIDI_BENCH_QUICK").is_some();
    let c = Criterion::default().noise_threshold(0.03);
    let c = if quick {
        c.warm_up_time(Duration::from_millis(100))
            .measurement_time(Duration::from_millis(300))
            .sample_size(10)
            .without_plots()
    } else {
        c.warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_millis(1500))
            .sample_size(50)
    };
    c.configure_from_args()
}

fn harness_overhead(c: &mut Criterion) {
    let mut g = c.benchmark_group("perf/harness_overhead");
    g.throughput(Throughput::Elements(BLOCK as u64));
    let mut block = AudioBuffer::new(2, BLOCK);
    let mut times = BlockTimes::new(BLOCK as f64 / 48_000.0 * 1e9, 0.8);
    g.bench_function("noop/bare_loop", |b| b.iter(|| noop_process(&mut block)));
    g.bench_function("noop/harness", |b| {
        b.iter(|| black_box(time_block(&mut times, || noop_process(&mut block))))
    });

    let mut engine = Engine::new(EngineConfig::preset("band").expect("preset")).expect("builds");
    let material = Material::generate(48_000, "C major".parse().expect("key"), 1);
    let mut player = material.player(engine.input_channels());
    let inputs: Vec<AudioBuffer> = (0..1500)
        .map(|_| {
            let mut b = AudioBuffer::new(engine.input_channels(), BLOCK);
            player.fill(&mut b);
            b
        })
        .collect();
    let mut output = engine.create_output();
    let mut next = 0;
    g.bench_function("band/bare_loop", |b| {
        b.iter(|| {
            next = (next + 1) % inputs.len();
            engine.process(&inputs[next], &mut output).expect("fits");
        })
    });
    g.bench_function("band/harness", |b| {
        b.iter(|| {
            next = (next + 1) % inputs.len();
            let (r, allocs, _, _) =
                time_block(&mut times, || engine.process(&inputs[next], &mut output));
            r.expect("fits");
            black_box(allocs)
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = harness_overhead
}

/// Whether the command line's filter (if any) selects the deadline table.
fn deadline_selected() -> bool {
    let mut args = std::env::args().skip(1).peekable();
    let mut filter = None;
    while let Some(a) = args.next() {
        if a.starts_with("--") {
            // Criterion options that take a value.
            if matches!(
                a.as_str(),
                "--save-baseline"
                    | "--baseline"
                    | "--baseline-lenient"
                    | "--load-baseline"
                    | "--profile-time"
                    | "--sample-size"
                    | "--warm-up-time"
                    | "--measurement-time"
                    | "--nresamples"
                    | "--noise-threshold"
                    | "--confidence-level"
                    | "--significance-level"
                    | "--plotting-backend"
                    | "--output-format"
                    | "--color"
                    | "--format"
            ) {
                args.next();
            }
        } else if !a.starts_with('-') {
            filter = Some(a);
        }
    }
    filter.is_none_or(|f| "perf/deadline".contains(&f) || f.contains("deadline"))
}

fn deadline_table() {
    let test_mode = std::env::args().any(|a| a == "--test" || a == "--list");
    if std::env::args().any(|a| a == "--list") || !deadline_selected() {
        return;
    }
    let quick = test_mode || std::env::var_os("KMIDI_BENCH_QUICK").is_some();
    let mut config = EngineConfig::preset("band").expect("preset");
    config.stage_timing = true;
    let spec = RunSpec {
        label: "band".into(),
        config,
        mode: Mode::Single,
        input: InputSource::Generated { rate: None },
        seconds: if quick { 2.0 } else { 20.0 },
        safety_margin: 0.8,
        load_threads: 0,
        instances: 1,
        warmup_blocks: 20,
    };
    match run(&spec, &mut |_| {}) {
        Ok(result) => {
            let report = RunReport {
                schema: "kmidi-perf/run".into(),
                schema_version: SCHEMA_VERSION,
                machine: Machine::detect(),
                harness: calibrate(material_bytes(48_000)),
                results: vec![result],
            };
            println!("\nperf/deadline: kmidi-perf run --preset band --rates 48000 --blocks 512\n");
            print!("{}", run_table(&report));
            if report.results[0].audio_thread_allocations > 0 {
                eprintln!("perf/deadline: the audio thread allocated");
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("perf/deadline: {e}");
            std::process::exit(1);
        }
    }
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    deadline_table();
}
