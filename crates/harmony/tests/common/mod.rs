//! Synthesis for the detection tests: harmonic tones from a wavetable,
//! chord sequences with inversions and octaves, and white noise.

#![allow(dead_code)]

use kmidi_dsp::{AudioBuffer, Processor};
use kmidi_harmony::detect::ChordDetector;

/// A small deterministic PRNG (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// Uniform in [-1, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

const TABLE: usize = 4096;

/// One period of a harmonic tone: partials 1..=6 at amplitude 1/h with
/// fixed pseudo-random phases.
pub struct Wavetable(Vec<f32>);

impl Wavetable {
    pub fn harmonic(partials: usize) -> Self {
        let mut rng = Rng::new(7);
        let phases: Vec<f32> = (0..partials)
            .map(|_| rng.uniform() * std::f32::consts::PI)
            .collect();
        let mut t = vec![0.0f32; TABLE + 1];
        for (i, v) in t.iter_mut().enumerate() {
            let x = i as f32 / TABLE as f32 * std::f32::consts::TAU;
            *v = (1..=partials)
                .map(|h| (x * h as f32 + phases[h - 1]).sin() / h as f32)
                .sum();
        }
        Wavetable(t)
    }
}

/// Notes sounding for a span of time.
pub struct Segment {
    pub midi: Vec<f32>,
    pub seconds: f32,
}

/// Renders segments (each note with a 10 ms attack and release) plus white
/// noise at `snr_db` below the signal RMS, at `a4_hz` tuning.
pub fn render(
    segments: &[Segment],
    sr: f32,
    a4_hz: f32,
    snr_db: f32,
    table: &Wavetable,
    seed: u64,
) -> Vec<f32> {
    let mut out = Vec::new();
    for seg in segments {
        let n = (seg.seconds * sr) as usize;
        let start = out.len();
        out.resize(start + n, 0.0);
        let ramp = (0.01 * sr) as usize;
        for &m in &seg.midi {
            let f = a4_hz * 2f32.powf((m - 69.0) / 12.0);
            let inc = f / sr * TABLE as f32;
            let mut phase = 0.0f32;
            for (i, s) in out[start..].iter_mut().enumerate() {
                let idx = phase as usize;
                let frac = phase - idx as f32;
                let v = table.0[idx] + frac * (table.0[idx + 1] - table.0[idx]);
                let env = (i.min(n - 1 - i) as f32 / ramp as f32).min(1.0);
                *s += 0.08 * v * env;
                phase += inc;
                if phase >= TABLE as f32 {
                    phase -= TABLE as f32;
                }
            }
        }
    }
    let rms = (out.iter().map(|x| x * x).sum::<f32>() / out.len().max(1) as f32).sqrt();
    let noise = rms * 10f32.powf(-snr_db / 20.0) * 3f32.sqrt();
    let mut rng = Rng::new(seed);
    for s in &mut out {
        *s += noise * rng.uniform();
    }
    out
}

/// Feeds `signal` through `proc` in blocks of `block`, calling `after`
/// with the number of frames processed so far after each block.
pub fn run(
    proc: &mut ChordDetector,
    signal: &[f32],
    block: usize,
    mut after: impl FnMut(&ChordDetector, usize),
) {
    let mut buf = AudioBuffer::new(1, block);
    let mut done = 0;
    while done < signal.len() {
        let n = block.min(signal.len() - done);
        buf.set_frames(n).unwrap();
        buf.channel_mut(0).copy_from_slice(&signal[done..done + n]);
        proc.process(&mut buf);
        done += n;
        after(proc, done);
    }
}
