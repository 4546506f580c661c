//! Heap profiles of kmidi's DSP core with dhat, in two phases:
//!
//! 1. **set-up**: building and preparing a band-sized graph (8 stereo strips,
//!    each with a 3-band EQ and a compressor, a mixer with 2 aux buses, a
//!    master limiter and a 44.1 → 48 kHz input resampler): everything that is
//!    allowed to allocate. Written to `dhat-prepare.json`.
//! 2. **steady state**: 2000 blocks of 512 frames through that graph, where
//!    the real-time contract says nothing may allocate. Written to
//!    `dhat-heap.json`.
//!
//! Open either file in dh_view (`dh_view.html` from valgrind, or the online
//! viewer). Run with `scripts/bench.sh dhat`.

use kmidi_benches::{BLOCK, SAMPLE_RATE, signals};
use kmidi_dsp::biquad::FilterType;
use kmidi_dsp::dynamics::{Compressor, CompressorSettings, Limiter, LimiterSettings};
use kmidi_dsp::eq::{BandSettings, Equalizer};
use kmidi_dsp::mixer::{MixBuses, Mixer, MixerConfig, SendTap, StripLayout};
use kmidi_dsp::resampler::{Resampler, ResamplerConfig};
use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const STRIPS: usize = 8;
const BLOCKS: usize = 2000;

struct Graph {
    input: Resampler,
    inserts: Vec<(Equalizer, Compressor)>,
    tracks: Vec<AudioBuffer>,
    mixer: Mixer,
    buses: MixBuses,
    limiter: Limiter,
}

fn build() -> Result<Graph, kmidi_dsp::ConfigError> {
    let spec = StreamSpec::new(SAMPLE_RATE, BLOCK, 2)?;
    let input = Resampler::new(ResamplerConfig::new(44_100, 48_000, 2, BLOCK))?;
    let mut inserts = Vec::new();
    for _ in 0..STRIPS {
        let mut eq = Equalizer::new(&[
            BandSettings::new(FilterType::HighPass, 40.0, 0.707, 0.0),
            BandSettings::new(FilterType::Peaking, 900.0, 1.0, -3.0),
            BandSettings::new(FilterType::HighShelf, 9_000.0, 0.707, 2.0),
        ])?;
        let mut comp = Compressor::new(CompressorSettings::default())?;
        eq.prepare(&spec)?;
        comp.prepare(&spec)?;
        inserts.push((eq, comp));
    }
    let mut mixer = Mixer::new(&MixerConfig {
        aux_buses: 2,
        ..MixerConfig::uniform(STRIPS, StripLayout::Stereo)
    })?;
    mixer.prepare(&spec)?;
    let h = mixer.handle();
    for s in 0..STRIPS {
        h.set_pan(s, s as f32 / STRIPS as f32 * 2.0 - 1.0)?;
        h.set_send(s, s % 2, -12.0, SendTap::PostFader)?;
    }
    let buses = mixer.create_buses();
    let mut limiter = Limiter::new(LimiterSettings::default())?;
    limiter.prepare(&spec)?;
    let tracks = (0..STRIPS).map(|_| AudioBuffer::new(2, BLOCK)).collect();
    Ok(Graph {
        input,
        inserts,
        tracks,
        mixer,
        buses,
        limiter,
    })
}

fn run(graph: &mut Graph, source: &AudioBuffer) -> Result<f32, kmidi_dsp::ProcessError> {
    let mut peak = 0.0f32;
    for _ in 0..BLOCKS {
        let resampled = graph.input.process(source)?;
        let frames = resampled.frames().min(BLOCK);
        for ((eq, comp), track) in graph.inserts.iter_mut().zip(graph.tracks.iter_mut()) {
            track.set_frames_clamped(frames);
            for ch in 0..2 {
                track
                    .channel_mut(ch)
                    .copy_from_slice(&resampled.channel(ch)[..frames]);
            }
            eq.process(track);
            comp.process(track);
        }
        graph.mixer.process(&graph.tracks, &mut graph.buses)?;
        graph.limiter.process(&mut graph.buses.master);
        peak = peak.max(graph.buses.master.peak());
    }
    Ok(peak)
}

fn report(phase: &str, file: &str, stats: &dhat::HeapStats) {
    println!(
        "{phase:<13} total {:>6} blocks {:>10} bytes | peak {:>5} blocks {:>10} bytes | file {file}",
        stats.total_blocks, stats.total_bytes, stats.max_blocks, stats.max_bytes
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let source = signals::noise_block(2, BLOCK, 42);

    let profiler = dhat::Profiler::builder()
        .file_name("dhat-prepare.json")
        .build();
    let mut graph = build()?;
    let setup = dhat::HeapStats::get();
    drop(profiler);
    report("set-up", "dhat-prepare.json", &setup);

    // One block outside the profile so the resampler's FIFO reaches its
    // steady state, as it would after the first callback.
    let _ = graph.input.process(&source)?;

    let profiler = dhat::Profiler::builder()
        .file_name("dhat-heap.json")
        .build();
    let peak = run(&mut graph, &source)?;
    let steady = dhat::HeapStats::get();
    drop(profiler);
    report("steady-state", "dhat-heap.json", &steady);
    println!("({BLOCKS} blocks of {BLOCK} frames; output peak {peak:.3})");
    if steady.total_blocks != 0 {
        return Err(format!(
            "steady-state processing allocated {} blocks: the real-time contract is broken",
            steady.total_blocks
        )
        .into());
    }
    Ok(())
}
