//! Groove benches: the block scheduler over a 10k-event sequence, quantize
//! and swing over 10k notes, and Standard MIDI File parsing in the same
//! group as midly's raw parse of the same bytes.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kmidi_benches::{BLOCK_SIZES, SAMPLE_RATE, criterion_config, signals};
use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};
use kmidi_engine::material::humanized_drum_notes;
use kmidi_groove::event::{EventKind, Note, TickEvent, events_from_notes};
use kmidi_groove::groove::{Division, Grid, QuantizeSettings, quantize, swing};
use kmidi_groove::onset::{OnsetConfig, OnsetDetector};
use kmidi_groove::scheduler::BlockScheduler;
use kmidi_groove::smf::{MidiFile, SmfFormat};
use kmidi_groove::tempo::TempoMap;

/// 10 000 events: 16th-note drums at 120 BPM with a few tempo changes,
/// about 1 250 events per minute (about 11 per 512-frame block).
fn ten_thousand_events(map: &mut TempoMap) -> Vec<TickEvent> {
    for bar in (0..300u64).step_by(32) {
        map.set_tempo_bpm(bar * 4 * 480, 100.0 + (bar % 64) as f64)
            .unwrap();
    }
    (0..10_000u64)
        .map(|i| TickEvent {
            tick: i * 120,
            kind: EventKind::NoteOn {
                channel: 9,
                key: [36, 42, 38, 42][(i % 4) as usize],
                velocity: 100,
            },
        })
        .collect()
}

fn scheduler(c: &mut Criterion) {
    let mut g = c.benchmark_group("groove/scheduler");
    let mut map = TempoMap::new(480).unwrap();
    let events = ten_thousand_events(&mut map);
    let mut s = BlockScheduler::new(&events, &map, 48_000).unwrap();
    let end = s.events().last().unwrap().frame;
    g.bench_function("block_512_of_10k_events", |b| {
        b.iter(|| {
            if s.position() > end {
                s.seek(0);
            }
            let mut n = 0u32;
            s.process_block(black_box(512), |e| n += e.offset);
            black_box(n)
        })
    });
    // Dense: 10 000 events one tick apart (about 8 per block).
    let dense: Vec<TickEvent> = events
        .iter()
        .enumerate()
        .map(|(i, e)| TickEvent {
            tick: i as u64,
            ..*e
        })
        .collect();
    let mut d = BlockScheduler::new(&dense, &map, 48_000).unwrap();
    let dense_end = d.events().last().unwrap().frame;
    g.bench_function("block_512_of_10k_dense_events", |b| {
        b.iter(|| {
            if d.position() > dense_end {
                d.seek(0);
            }
            let mut n = 0u32;
            d.process_block(black_box(512), |e| n += e.offset);
            black_box(n)
        })
    });
    g.finish();
}

fn quantize_swing(c: &mut Criterion) {
    let mut g = c.benchmark_group("groove/quantize");
    let notes = humanized_drum_notes(10_000);
    let grid = Grid::new(480, Division::Sixteenth, false).unwrap();
    g.throughput(Throughput::Elements(notes.len() as u64));
    g.bench_function("quantize_and_swing_10k", |b| {
        b.iter_batched_ref(
            || notes.clone(),
            |n| {
                quantize(
                    n,
                    grid,
                    QuantizeSettings {
                        strength: 90.0,
                        swing: 50.0,
                        window: 100.0,
                    },
                )
                .unwrap();
                swing(n, grid, 58.0).unwrap();
            },
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn smf_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("groove/smf_parse");
    let map = TempoMap::new(480).unwrap();
    let mut file = MidiFile::new(SmfFormat::Parallel, &map);
    let notes: Vec<Note> = humanized_drum_notes(10_000)
        .into_iter()
        .take(5_000)
        .collect();
    file.add_track(Some("drums"), &events_from_notes(&notes)); // 10 000 events
    let bytes = file.to_bytes().unwrap();
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("kmidi/10k_events", |b| {
        b.iter(|| black_box(MidiFile::parse(black_box(&bytes)).unwrap()))
    });
    g.bench_function("midly_raw/10k_events", |b| {
        b.iter(|| black_box(midly::Smf::parse(black_box(&bytes)).unwrap()))
    });
    g.finish();
}

/// A drum-like signal: a decaying noise burst every 8th at 120 BPM.
fn clicks(len: usize) -> Vec<f32> {
    signals::noise(len, 0x2545_F491)
        .into_iter()
        .enumerate()
        .map(|(i, noise)| {
            let since = i % 12_000;
            noise * (-(since as f32) / 1_500.0).exp()
        })
        .collect()
}

fn onset_detector(c: &mut Criterion) {
    let mut g = c.benchmark_group("groove/onset_detector");
    let signal = clicks(4 * 48_000);
    for frames in BLOCK_SIZES {
        g.throughput(Throughput::Elements(frames as u64));
        let mut det = OnsetDetector::new(OnsetConfig::default());
        det.prepare(&StreamSpec::new(SAMPLE_RATE, frames, 1).unwrap())
            .unwrap();
        let mut buf = AudioBuffer::new(1, frames);
        let mut pos = 0usize;
        g.bench_function(
            criterion::BenchmarkId::new("process_mono", format!("frames={frames}")),
            |b| {
                b.iter(|| {
                    if pos + frames > signal.len() {
                        pos = 0;
                    }
                    buf.channel_mut(0)
                        .copy_from_slice(&signal[pos..pos + frames]);
                    pos += frames;
                    det.process(black_box(&mut buf));
                    black_box(det.onsets().len())
                })
            },
        );
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = criterion_config();
    targets = onset_detector, scheduler, quantize_swing, smf_parse
}
criterion_main!(benches);
