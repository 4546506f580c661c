//! Memory benches: the lock-free ring buffer against rtrb, ringbuf and a
//! mutex ring, on one thread and across two; allocation patterns; buffer
//! reuse; sequential against random access; measured heap footprint per
//! channel count.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kmidi_benches::{BLOCK, BLOCK_SIZES, criterion_config, peers::MutexRing, signals};
use kmidi_dsp::alloc_probe::{CountingAllocator, count_allocations};
use kmidi_dsp::biquad::FilterType;
use kmidi_dsp::dynamics::{Compressor, CompressorSettings};
use kmidi_dsp::eq::{BandSettings, Equalizer};
use kmidi_dsp::mixer::{MixBuses, Mixer, MixerConfig, StripLayout};
use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};

/// Counts heap bytes for the footprint bench. Outside `count_allocations`
/// it costs one thread-local check per allocation, the same for every bench
/// in this binary.
#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;
use ringbuf::HeapRb;
use ringbuf::traits::{Consumer as _, Producer as _, Split as _};

fn ring_single_thread(c: &mut Criterion) {
    let mut g = c.benchmark_group("memory/ring_push_pop_block");
    for frames in BLOCK_SIZES {
        g.throughput(Throughput::Elements(frames as u64));
        let block = signals::noise(frames, 1);
        let mut out = vec![0.0f32; frames];
        let id = |name: &str| BenchmarkId::new(name.to_string(), format!("frames={frames}"));

        let (mut tx, mut rx) = kmidi_dsp::ring::channel::<f32>(8192);
        g.bench_function(id("kmidi"), |b| {
            b.iter(|| {
                tx.push_entire_slice(black_box(&block)).unwrap();
                rx.pop_entire_slice(black_box(&mut out)).unwrap();
            })
        });
        let (mut tx, mut rx) = rtrb::RingBuffer::<f32>::new(8192);
        g.bench_function(id("rtrb"), |b| {
            b.iter(|| {
                tx.push_entire_slice(black_box(&block)).unwrap();
                rx.pop_entire_slice(black_box(&mut out)).unwrap();
            })
        });
        let (mut tx, mut rx) = HeapRb::<f32>::new(8192).split();
        g.bench_function(id("ringbuf"), |b| {
            b.iter(|| {
                assert_eq!(tx.push_slice(black_box(&block)), frames);
                assert_eq!(rx.pop_slice(black_box(&mut out)), frames);
            })
        });
        let ring = MutexRing::new(8192);
        g.bench_function(id("mutex_vecdeque"), |b| {
            b.iter(|| {
                assert!(ring.push_slice(black_box(&block)));
                assert!(ring.pop_slice(black_box(&mut out)));
            })
        });
    }
    g.finish();
}

/// Streams blocks of 512 samples from a producer thread to this one.
///
/// One producer thread per measurement (not per iteration), and both sides
/// yield when the ring is full or empty instead of spinning: on a 2-core
/// machine that also runs Criterion, spinning measures the scheduler (runs
/// were bimodal, 0.2 ms or 6 ms for the same code), not the ring.
fn cross_thread<P, C>(
    iters: u64,
    make: impl Fn() -> (P, C),
    push: fn(&mut P, &[f32]) -> bool,
    pop: fn(&mut C, &mut [f32]) -> bool,
) -> Duration
where
    P: Send + 'static,
{
    let blocks = iters as usize * BLOCKS_PER_ITER;
    let (mut tx, mut rx) = make();
    let start = Instant::now();
    let producer = std::thread::spawn(move || {
        let block = [0.25f32; BLOCK];
        for _ in 0..blocks {
            while !push(&mut tx, &block) {
                std::thread::yield_now();
            }
        }
    });
    let mut out = [0.0f32; BLOCK];
    for _ in 0..blocks {
        while !pop(&mut rx, &mut out) {
            std::thread::yield_now();
        }
    }
    let elapsed = start.elapsed();
    producer.join().unwrap();
    black_box(out);
    elapsed
}

const BLOCKS_PER_ITER: usize = 100;

fn ring_two_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("memory/ring_cross_thread");
    g.throughput(Throughput::Elements((BLOCKS_PER_ITER * BLOCK) as u64));
    g.bench_function("kmidi/blocks=100", |b| {
        b.iter_custom(|iters| {
            cross_thread(
                iters,
                || kmidi_dsp::ring::channel::<f32>(4096),
                |tx, s| tx.push_entire_slice(s).is_ok(),
                |rx, d| rx.pop_entire_slice(d).is_ok(),
            )
        })
    });
    g.bench_function("rtrb/blocks=100", |b| {
        b.iter_custom(|iters| {
            cross_thread(
                iters,
                || rtrb::RingBuffer::<f32>::new(4096),
                |tx, s| tx.push_entire_slice(s).is_ok(),
                |rx, d| rx.pop_entire_slice(d).is_ok(),
            )
        })
    });
    g.bench_function("mutex_vecdeque/blocks=100", |b| {
        b.iter_custom(|iters| {
            cross_thread(
                iters,
                || {
                    let ring = Arc::new(MutexRing::new(4096));
                    (Arc::clone(&ring), ring)
                },
                |tx, s| tx.push_slice(s),
                |rx, d| rx.pop_slice(d),
            )
        })
    });
    g.finish();
}

fn allocation_patterns(c: &mut Criterion) {
    let mut g = c.benchmark_group("memory/allocation");
    g.throughput(Throughput::Elements(BLOCK as u64));
    let src = signals::noise(BLOCK, 2);
    g.bench_function("alloc_per_block/frames=512", |b| {
        b.iter(|| {
            let v: Vec<f32> = black_box(&src).iter().map(|s| s * 0.5).collect();
            black_box(v)
        })
    });
    let mut reused = vec![0.0f32; BLOCK];
    g.bench_function("reuse_preallocated/frames=512", |b| {
        b.iter(|| {
            for (d, s) in reused.iter_mut().zip(black_box(&src)) {
                *d = s * 0.5;
            }
            black_box(&reused);
        })
    });
    let mut buf = AudioBuffer::new(2, BLOCK);
    g.bench_function("audio_buffer_set_frames/frames=512", |b| {
        b.iter(|| {
            buf.set_frames(black_box(256)).unwrap();
            buf.set_frames(black_box(BLOCK)).unwrap();
        })
    });
    g.finish();
}

fn access_patterns(c: &mut Criterion) {
    let mut g = c.benchmark_group("memory/access");
    let len = 1 << 16; // 256 KiB of f32: beyond L1, inside L2
    g.throughput(Throughput::Elements(len as u64));
    let data = signals::noise(len, 3);
    let mut order: Vec<usize> = (0..len).collect();
    fastrand::Rng::with_seed(0x1234_5678).shuffle(&mut order);
    g.bench_function("sequential/samples=65536", |b| {
        b.iter(|| black_box(&data).iter().sum::<f32>())
    });
    g.bench_function("random/samples=65536", |b| {
        b.iter(|| order.iter().map(|&i| black_box(&data)[i]).sum::<f32>())
    });
    g.finish();
}

/// A mixer of `strips` stereo strips (with its output buses), each strip
/// with a 3-band EQ and a compressor, prepared for 48 kHz / 512: what a
/// session of that size holds.
fn build_session(strips: usize) -> (Mixer, MixBuses, Vec<(Equalizer, Compressor)>) {
    let spec = StreamSpec::new(48_000.0, BLOCK, 2).unwrap();
    let mut mixer = Mixer::new(&MixerConfig::uniform(strips, StripLayout::Stereo)).unwrap();
    mixer.prepare(&spec).unwrap();
    let inserts = (0..strips)
        .map(|_| {
            let mut eq = Equalizer::new(&[
                BandSettings::new(FilterType::LowShelf, 120.0, 0.707, 3.0),
                BandSettings::new(FilterType::Peaking, 1_000.0, 1.0, -4.0),
                BandSettings::new(FilterType::HighShelf, 8_000.0, 0.707, 2.0),
            ])
            .unwrap();
            let mut comp = Compressor::new(CompressorSettings::default()).unwrap();
            eq.prepare(&spec).unwrap();
            comp.prepare(&spec).unwrap();
            (eq, comp)
        })
        .collect();
    let buses = mixer.create_buses();
    (mixer, buses, inserts)
}

fn footprint(c: &mut Criterion) {
    // Heap bytes a session of N stereo channels allocates (measured with the
    // counting allocator; nothing is freed until the session is dropped, so
    // this is its peak), and how long building it takes. The byte count is
    // part of the bench id so it shows in every report.
    let mut g = c.benchmark_group("memory/footprint");
    for channels in [2usize, 4, 8, 16, 32] {
        let (session, stats) = count_allocations(|| build_session(channels));
        drop(session);
        eprintln!(
            "memory/footprint: {channels} channels: {} bytes in {} allocations",
            stats.bytes, stats.allocations
        );
        g.bench_function(
            BenchmarkId::new(
                "session",
                format!("channels={channels},bytes={}", stats.bytes),
            ),
            |b| b.iter(|| black_box(build_session(channels))),
        );
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = criterion_config();
    targets = ring_single_thread, ring_two_threads, allocation_patterns, access_patterns, footprint
}
criterion_main!(benches);
