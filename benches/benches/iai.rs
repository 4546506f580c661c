//! Instruction counts (callgrind, through gungraun) for every hot path: one
//! 512-frame block at 48 kHz, after one warm-up block run in the setup so
//! that lazy work (feature detection, first-touch) is not counted.
//!
//! Run with `scripts/bench.sh iai` (installs the matching `gungraun-runner`),
//! or `cargo bench -p kmidi-benches --bench iai`. This target has
//! `bench = false`, so a plain `cargo bench` (and its `--save-baseline`
//! flag) never reaches it. `kmidi-perf iai` compares the counts with
//! the committed `benches/iai-baseline.json`.

use std::hint::black_box;

use gungraun::{Dhat, LibraryBenchmarkConfig, library_benchmark, library_benchmark_group, main};
use kmidi_benches::{BLOCK, SAMPLE_RATE, signals};
use kmidi_dsp::biquad::{Biquad, BiquadCoefficients, FilterType};
use kmidi_dsp::dynamics::{Compressor, CompressorSettings, Limiter, LimiterSettings};
use kmidi_dsp::eq::{BandSettings, Equalizer};
use kmidi_dsp::mixer::{MixBuses, Mixer, MixerConfig, StripLayout};
use kmidi_dsp::resampler::{Resampler, ResamplerConfig};
use kmidi_dsp::ring::{Consumer, Producer};
use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};
use kmidi_groove::event::{EventKind, Note, TickEvent};
use kmidi_groove::groove::{Division, Grid, QuantizeSettings, quantize, swing};
use kmidi_groove::onset::{OnsetConfig, OnsetDetector};
use kmidi_groove::scheduler::BlockScheduler;
use kmidi_groove::tempo::TempoMap;
use kmidi_harmony::chord::Chord;
use kmidi_harmony::detect::{ChordDetector, DetectorConfig};
use kmidi_harmony::key::Key;
use kmidi_harmony::progression::{Progression, VoiceLeader};
use kmidi_harmony::roman::{RealizedChord, RomanNumeral};

fn spec(channels: usize) -> StreamSpec {
    StreamSpec::new(SAMPLE_RATE, BLOCK, channels).unwrap()
}

fn setup_gain() -> Vec<f32> {
    let mut x = signals::noise(BLOCK, 1);
    kmidi_dsp::gain::apply_gain(&mut x, 0.5);
    x
}

#[library_benchmark]
#[bench::mono_512(setup_gain())]
fn gain(mut x: Vec<f32>) -> Vec<f32> {
    kmidi_dsp::gain::apply_gain(black_box(&mut x), black_box(0.5));
    x
}

fn setup_mixer(strips: usize) -> (Mixer, MixBuses, Vec<AudioBuffer>) {
    let mut m = Mixer::new(&MixerConfig::uniform(strips, StripLayout::Stereo)).unwrap();
    m.prepare(&spec(2)).unwrap();
    let h = m.handle();
    for s in 0..strips {
        h.set_gain_db(s, -(s as f32)).unwrap();
        h.set_pan(s, (s as f32 / strips as f32) * 2.0 - 1.0)
            .unwrap();
    }
    m.reset();
    let mut buses = m.create_buses();
    let inputs: Vec<AudioBuffer> = (0..strips)
        .map(|s| signals::noise_block(2, BLOCK, s as u64))
        .collect();
    m.process(&inputs, &mut buses).unwrap();
    (m, buses, inputs)
}

#[library_benchmark]
#[bench::stereo_strips_8(setup_mixer(8))]
#[bench::stereo_strips_32(setup_mixer(32))]
fn mixer((mut m, mut buses, inputs): (Mixer, MixBuses, Vec<AudioBuffer>)) -> MixBuses {
    m.process(black_box(&inputs), &mut buses).unwrap();
    buses
}

fn setup_biquad() -> (Biquad, Vec<f32>) {
    let mut f = Biquad::new(
        BiquadCoefficients::design(FilterType::LowPass, SAMPLE_RATE, 1_000.0, 0.707, 0.0).unwrap(),
    );
    let mut x = signals::noise(BLOCK, 2);
    f.process_block(&mut x);
    (f, signals::noise(BLOCK, 3))
}

#[library_benchmark]
#[bench::mono_512(setup_biquad())]
fn biquad((mut f, mut x): (Biquad, Vec<f32>)) -> Vec<f32> {
    f.process_block(black_box(&mut x));
    // A deliberately slower build (a few hundred extra instructions, about
    // +3%), used by .ci/run to show that `kmidi-perf iai` fails on a
    // small regression. Kept out of line so the measured call's code
    // generation does not change.
    #[cfg(feature = "regression-demo")]
    extra_work(&mut x);
    x
}

#[cfg(feature = "regression-demo")]
#[inline(never)]
fn extra_work(x: &mut [f32]) {
    for v in x.iter_mut().take(48) {
        *v = black_box(*v * 0.999);
    }
}

/// A prepared processor and a block, after one warm-up block.
fn setup_processor<P: Processor>(mut p: P, channels: usize, scale: f32) -> (P, AudioBuffer) {
    p.prepare(&spec(channels)).unwrap();
    let mut buf = signals::noise_block(channels, BLOCK, 4);
    p.process(&mut buf);
    let mut buf = signals::noise_block(channels, BLOCK, 5);
    for ch in buf.channels_iter_mut() {
        for s in ch.iter_mut() {
            *s *= scale;
        }
    }
    (p, buf)
}

fn three_band() -> Equalizer {
    Equalizer::new(&[
        BandSettings::new(FilterType::LowShelf, 120.0, 0.707, 3.0),
        BandSettings::new(FilterType::Peaking, 1_000.0, 1.0, -4.0),
        BandSettings::new(FilterType::HighShelf, 8_000.0, 0.707, 2.0),
    ])
    .unwrap()
}

#[library_benchmark]
#[bench::eq_3band_stereo(setup_processor(three_band(), 2, 1.0))]
fn equalizer((mut p, mut buf): (Equalizer, AudioBuffer)) -> AudioBuffer {
    p.process(black_box(&mut buf));
    buf
}

#[library_benchmark]
#[bench::stereo_512(setup_processor(Compressor::new(CompressorSettings::default()).unwrap(), 2, 1.0))]
fn compressor((mut p, mut buf): (Compressor, AudioBuffer)) -> AudioBuffer {
    p.process(black_box(&mut buf));
    buf
}

#[library_benchmark]
#[bench::stereo_512(setup_processor(Limiter::new(LimiterSettings::default()).unwrap(), 2, 4.0))]
fn limiter((mut p, mut buf): (Limiter, AudioBuffer)) -> AudioBuffer {
    p.process(black_box(&mut buf));
    buf
}

fn setup_resampler() -> (Resampler, AudioBuffer) {
    let mut rs = Resampler::new(ResamplerConfig::new(44_100, 48_000, 2, BLOCK)).unwrap();
    let input = signals::noise_block(2, BLOCK, 6);
    let _ = rs.process(&input).unwrap();
    (rs, input)
}

#[library_benchmark]
#[bench::from_44k1_to_48k_stereo(setup_resampler())]
fn resampler((mut rs, input): (Resampler, AudioBuffer)) -> usize {
    rs.process(black_box(&input)).unwrap().frames()
}

type RingSetup = (Producer<f32>, Consumer<f32>, Vec<f32>, Vec<f32>);

fn setup_ring() -> RingSetup {
    let (mut tx, mut rx) = kmidi_dsp::ring::channel::<f32>(4096);
    let block = signals::noise(BLOCK, 7);
    let mut out = vec![0.0; BLOCK];
    tx.push_entire_slice(&block).unwrap();
    rx.pop_entire_slice(&mut out).unwrap();
    (tx, rx, block, out)
}

#[library_benchmark]
#[bench::push_pop_512(setup_ring())]
fn ring((mut tx, mut rx, block, mut out): RingSetup) -> Vec<f32> {
    tx.push_entire_slice(black_box(&block)).unwrap();
    rx.pop_entire_slice(black_box(&mut out)).unwrap();
    out
}

/// A C major chord with four partials per note, warmed through 40 blocks
/// so that the smoothing and labels are in their steady state.
fn setup_chord_detector() -> (ChordDetector, AudioBuffer) {
    let mut det = ChordDetector::new(DetectorConfig::default());
    det.prepare(&spec(1)).unwrap();
    let mut buf = AudioBuffer::new(1, BLOCK);
    for block in 0..41 {
        for (i, s) in buf.channel_mut(0).iter_mut().enumerate() {
            let t = (block * BLOCK + i) as f32 / SAMPLE_RATE as f32;
            *s = [130.81f32, 329.63, 392.0]
                .iter()
                .map(|f| {
                    (1..=4)
                        .map(|h| (std::f32::consts::TAU * f * h as f32 * t).sin() * 0.05 / h as f32)
                        .sum::<f32>()
                })
                .sum();
        }
        if block < 40 {
            det.process(&mut buf);
        }
    }
    (det, buf)
}

#[library_benchmark]
#[bench::mono_512(setup_chord_detector())]
fn chord_detector((mut det, mut buf): (ChordDetector, AudioBuffer)) -> ChordDetector {
    det.process(black_box(&mut buf));
    det
}

const SYMBOLS: [&str; 12] = [
    "C", "Am", "G7", "Fmaj7", "Dm7", "Bdim", "Eaug", "Bbmaj7", "C#m", "C/E", "Ab7", "Dbdim7",
];

#[library_benchmark]
#[bench::common_12(SYMBOLS)]
fn chord_parse(symbols: [&str; 12]) -> usize {
    symbols
        .iter()
        .filter(|s| black_box(**s).parse::<Chord>().is_ok())
        .count()
}

#[library_benchmark]
#[bench::eight_in_eb(["V7/V", "ii65", "bVI", "vii°7/ii", "I6", "Ger+6", "N6", "IV"])]
fn numeral_realize(numerals: [&str; 8]) -> u16 {
    let key: Key = "Eb major".parse().unwrap();
    numerals
        .iter()
        .filter_map(|s| black_box(*s).parse::<RomanNumeral>().ok())
        .fold(0, |m, n| m ^ n.realize(key).pitch_class_mask())
}

fn setup_voice_leading() -> (VoiceLeader, Vec<RealizedChord>) {
    let p = Progression::parse("C major".parse().unwrap(), "I vi ii65 V7 I IV V7/V V").unwrap();
    let chords = p.chords();
    let mut leader = VoiceLeader::default();
    leader.realize(&chords).unwrap();
    (leader, chords)
}

#[library_benchmark]
#[bench::eight_chords_warm(setup_voice_leading())]
fn voice_leading((mut leader, chords): (VoiceLeader, Vec<RealizedChord>)) -> usize {
    leader.realize(black_box(&chords)).unwrap().len()
}

/// An onset detector fed 40 blocks of decaying noise bursts (8ths at 120
/// BPM), then the block to measure.
fn setup_onset_detector() -> (OnsetDetector, AudioBuffer) {
    let mut det = OnsetDetector::new(OnsetConfig::default());
    det.prepare(&spec(1)).unwrap();
    let mut buf = AudioBuffer::new(1, BLOCK);
    let noise = signals::noise(41 * BLOCK, 9);
    for block in 0..41 {
        for (i, s) in buf.channel_mut(0).iter_mut().enumerate() {
            let n = block * BLOCK + i;
            *s = noise[n] * (-((n % 12_000) as f32) / 1_500.0).exp();
        }
        if block < 40 {
            det.process(&mut buf);
        }
    }
    (det, buf)
}

#[library_benchmark]
#[bench::mono_512(setup_onset_detector())]
fn onset_detector((mut det, mut buf): (OnsetDetector, AudioBuffer)) -> OnsetDetector {
    det.process(black_box(&mut buf));
    det
}

/// 10 000 events one tick apart (about 8 per block) at 100 BPM.
fn setup_scheduler() -> BlockScheduler {
    let mut map = TempoMap::new(480).unwrap();
    map.set_tempo_bpm(0, 100.0).unwrap();
    let events: Vec<TickEvent> = (0..10_000u64)
        .map(|i| TickEvent {
            tick: i,
            kind: EventKind::NoteOn {
                channel: 9,
                key: 36,
                velocity: 100,
            },
        })
        .collect();
    let mut s = BlockScheduler::new(&events, &map, 48_000).unwrap();
    s.seek(48_000);
    s
}

#[library_benchmark]
#[bench::block_512_of_10k(setup_scheduler())]
fn scheduler(mut s: BlockScheduler) -> u32 {
    let mut n = 0u32;
    s.process_block(black_box(512), |e| n += e.offset);
    n
}

fn setup_notes() -> Vec<Note> {
    (0..10_000u64)
        .map(|i| Note {
            start: i * 120 + (i * 37) % 41,
            duration: 60,
            channel: 9,
            key: 36,
            velocity: 100,
        })
        .collect()
}

#[library_benchmark]
#[bench::ten_thousand(setup_notes())]
fn quantize_swing(mut notes: Vec<Note>) -> Vec<Note> {
    let grid = Grid::new(480, Division::Sixteenth, false).unwrap();
    quantize(
        &mut notes,
        grid,
        QuantizeSettings {
            strength: 90.0,
            swing: 50.0,
            window: 100.0,
        },
    )
    .unwrap();
    swing(&mut notes, grid, 58.0).unwrap();
    notes
}

fn setup_canary() -> kmidi_benches::canary::Canary {
    let mut canary = kmidi_benches::canary::Canary::new(kmidi_benches::canary::work_percent());
    canary.run();
    canary
}

// The canary, scaled by `KMIDI_CANARY_WORK` (passed through to valgrind):
// 101 makes exactly 1% more passes, the growth the compare gate must always
// flag. (gungraun's macro accepts no doc comment here.)
#[library_benchmark]
#[bench::nominal_512(setup_canary())]
fn canary(mut canary: kmidi_benches::canary::Canary) -> f32 {
    black_box(canary.run())
}

library_benchmark_group!(
    name = hot_paths;
    benchmarks = gain, mixer, biquad, equalizer, compressor, limiter, resampler, ring,
        chord_detector, chord_parse, numeral_realize, voice_leading,
        onset_detector, scheduler, quantize_swing, canary
);

main!(
    config = LibraryBenchmarkConfig::default()
        .tool(Dhat::default())
        .pass_through_env("KMIDI_CANARY_WORK");
    library_benchmark_groups = hot_paths
);
