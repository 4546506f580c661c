//! Built-in, music-like test material, so the lab runs without any files.
//!
//! Four bars at 120 BPM (8 s) of a I–vi–IV–V7 progression in a key, realized
//! by kmidi-harmony's Roman numerals and rendered once per track role:
//! kick, snare and hi-hats (the same pattern as the engine's MIDI groove),
//! a bass line on the chord roots, keys comping on the off-beats, a pad,
//! an arpeggiated lead and a noise texture. A [`MaterialPlayer`] loops the
//! stems block by block into the engine's input, one channel per track.
//!
//! Stems are rendered with phasor oscillators (one complex multiply a
//! partial a sample), so 8 s at 96 kHz take well under a second; the loops
//! take 4 bytes a frame a role (12 MB at 48 kHz for all nine).
//!
//! [`humanized_drum_notes`] is the symbolic material of the lab's groove
//! workloads (quantize, swing, schedule), shared by `kmidi-perf check` and
//! the Criterion benches so that both time the same notes.

use std::f64::consts::TAU;

use kmidi_dsp::AudioBuffer;
use kmidi_groove::event::Note;
use kmidi_groove::groove::humanize;
use kmidi_harmony::key::Key;
use kmidi_harmony::roman::RomanNumeral;

use crate::config::TrackRole;

/// Tempo of the material, BPM.
pub const TEMPO_BPM: f64 = 120.0;
/// Bars in the loop.
pub const BARS: usize = 4;
/// The progression, one numeral a bar.
pub const PROGRESSION: [&str; 4] = ["I", "vi", "IV", "V7"];

/// `count` drum hits on channel 10 (kick, side stick, snare, clap in
/// turn), one every 120 ticks at 60 ticks long, humanized by up to 20
/// ticks and 8 velocity steps with seed 1: the same notes on every run.
///
/// ```
/// let notes = kmidi_engine::material::humanized_drum_notes(100);
/// assert_eq!(notes.len(), 100);
/// assert!(notes.iter().all(|n| n.channel == 9 && (36..40).contains(&n.key)));
/// ```
pub fn humanized_drum_notes(count: u64) -> Vec<Note> {
    let mut notes: Vec<Note> = (0..count)
        .map(|i| Note {
            start: i * 120,
            duration: 60,
            channel: 9,
            key: 36 + (i % 4) as u8,
            velocity: 100,
        })
        .collect();
    // A fixed seed and amounts inside humanize's ranges: it cannot fail,
    // and if it could, the notes would stay on the grid.
    let _ = humanize(&mut notes, 20.0, 8.0, 1);
    notes
}

/// Pre-rendered stems: one loop per [`TrackRole`], plus their mix.
#[derive(Debug, Clone)]
pub struct Material {
    sample_rate: u32,
    key: Key,
    /// Stems in `TrackRole::BAND` order, then the mix.
    stems: Vec<Vec<f32>>,
    /// MIDI notes of each bar's chord.
    chords: Vec<Vec<u8>>,
}

/// A deterministic white-noise source, uniform in [-1, 1).
#[derive(Debug, Clone)]
struct Noise(fastrand::Rng);

impl Noise {
    fn new(seed: u64) -> Self {
        Self(fastrand::Rng::with_seed(seed))
    }

    fn next(&mut self) -> f32 {
        self.0.f32() * 2.0 - 1.0
    }
}

fn midi_hz(note: f64) -> f64 {
    440.0 * 2f64.powf((note - 69.0) / 12.0)
}

/// Adds `partials` harmonics (amplitude 1/k^tilt) of `hz` with an
/// attack/decay envelope into `out[start..start+len]`.
#[allow(clippy::too_many_arguments)]
fn add_tone(
    out: &mut [f32],
    rate: f64,
    start: usize,
    len: usize,
    hz: f64,
    partials: usize,
    tilt: f64,
    gain: f64,
    attack_s: f64,
    decay_s: f64,
) {
    let end = (start + len).min(out.len());
    let nyq = rate / 2.0;
    let attack = (attack_s * rate).max(1.0);
    let decay = (-1.0 / (decay_s * rate)).exp();
    for k in 1..=partials {
        let f = hz * k as f64;
        if f >= nyq * 0.9 {
            break;
        }
        let amp = gain / (k as f64).powf(tilt);
        let w = TAU * f / rate;
        let (rot_re, rot_im) = (w.cos(), w.sin());
        let (mut re, mut im) = (1.0f64, 0.0f64);
        let mut env = 1.0f64;
        for (i, o) in out[start..end].iter_mut().enumerate() {
            let a = if (i as f64) < attack {
                i as f64 / attack
            } else {
                env *= decay;
                env
            };
            *o += (amp * a * im) as f32;
            let nre = re * rot_re - im * rot_im;
            im = re * rot_im + im * rot_re;
            re = nre;
        }
    }
}

impl Material {
    /// Renders the stems at `sample_rate` in `key` (for example
    /// `"C major".parse()`). `seed` varies the noise.
    pub fn generate(sample_rate: u32, key: Key, seed: u64) -> Self {
        let rate = sample_rate as f64;
        let beat = (rate * 60.0 / TEMPO_BPM).round() as usize;
        let bar = beat * 4;
        let len = bar * BARS;
        let sixteenth = beat / 4;
        let chords: Vec<Vec<u8>> = PROGRESSION
            .iter()
            .map(|n| {
                n.parse::<RomanNumeral>()
                    .map(|n| {
                        n.realize(key)
                            .notes()
                            .map(|p| 60 + p.pitch_class().semitones())
                            .collect()
                    })
                    .unwrap_or_else(|_| vec![60, 64, 67])
            })
            .collect();
        let mut noise = Noise::new(seed);
        let mut stems = vec![vec![0.0f32; len]; TrackRole::BAND.len() + 1];

        for (b, chord) in chords.iter().enumerate() {
            let bar_start = b * bar;
            let root = chord[0] as f64;
            for s in 0..16 {
                let t = bar_start + s * sixteenth;
                // Kick: a pitch-swept sine.
                if s == 0 || s == 8 || (b % 2 == 1 && s == 7) {
                    let out = &mut stems[0];
                    let mut phase = 0.0f64;
                    for i in 0..(0.35 * rate) as usize {
                        let ts = i as f64 / rate;
                        let f = 45.0 + 105.0 * (-ts / 0.04).exp();
                        phase += TAU * f / rate;
                        if let Some(o) = out.get_mut(t + i) {
                            *o += (0.9 * (-ts / 0.12).exp() * phase.sin()) as f32;
                        }
                    }
                }
                // Snare: noise burst plus a 190 Hz body.
                if s == 4 || s == 12 || s == 11 {
                    let level = if s == 11 { 0.15 } else { 0.6 };
                    let out = &mut stems[1];
                    for i in 0..(0.2 * rate) as usize {
                        let ts = i as f64 / rate;
                        let v = level
                            * ((-ts / 0.06).exp() * noise.next() as f64
                                + 0.5 * (-ts / 0.05).exp() * (TAU * 190.0 * ts).sin());
                        if let Some(o) = out.get_mut(t + i) {
                            *o += v as f32;
                        }
                    }
                }
                // Hi-hat: high-passed noise, accented on the 8ths.
                {
                    let level = if s % 2 == 0 { 0.3 } else { 0.15 };
                    let decay = if s == 14 { 0.15 } else { 0.03 };
                    let out = &mut stems[2];
                    let mut prev = 0.0f32;
                    for i in 0..(decay * 4.0 * rate) as usize {
                        let ts = i as f64 / rate;
                        let n = noise.next();
                        let hp = n - prev;
                        prev = n;
                        if let Some(o) = out.get_mut(t + i) {
                            *o += (level * (-ts / decay).exp()) as f32 * hp * 0.5;
                        }
                    }
                }
                // Bass: roots in octave 2, on the 8ths.
                if s % 2 == 0 {
                    let note = root - 24.0 + if s == 14 { 7.0 } else { 0.0 };
                    add_tone(
                        &mut stems[3],
                        rate,
                        t,
                        sixteenth * 2,
                        midi_hz(note),
                        6,
                        1.0,
                        0.35,
                        0.005,
                        0.25,
                    );
                }
                // Keys: chord stabs on the off-beats.
                if s % 4 == 2 {
                    for &n in chord {
                        add_tone(
                            &mut stems[4],
                            rate,
                            t,
                            sixteenth * 2,
                            midi_hz(n as f64),
                            5,
                            1.3,
                            0.18,
                            0.004,
                            0.18,
                        );
                    }
                }
                // Lead: arpeggio over the chord, an octave up.
                if s % 2 == 1 {
                    let n = chord[(s / 2) % chord.len()] as f64 + 12.0;
                    add_tone(
                        &mut stems[6],
                        rate,
                        t,
                        sixteenth * 2,
                        midi_hz(n),
                        3,
                        1.5,
                        0.2,
                        0.01,
                        0.2,
                    );
                }
            }
            // Pad: the chord held for the bar, two detuned voices a note.
            for &n in chord {
                for detune in [-0.06, 0.06] {
                    add_tone(
                        &mut stems[5],
                        rate,
                        bar_start,
                        bar,
                        midi_hz(n as f64 - 12.0 + detune),
                        3,
                        1.0,
                        0.08,
                        0.3,
                        4.0,
                    );
                }
            }
        }
        // Texture: soft brown-ish noise.
        let mut lp = 0.0f32;
        for o in stems[7].iter_mut() {
            lp = 0.98 * lp + 0.02 * noise.next();
            *o = lp * 0.3;
        }
        let (parts, mix) = stems.split_at_mut(TrackRole::BAND.len());
        for part in parts.iter() {
            for (m, x) in mix[0].iter_mut().zip(part) {
                *m += 0.5 * x;
            }
        }
        Self {
            sample_rate,
            key,
            stems,
            chords,
        }
    }

    /// The rate the stems were rendered at.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The key.
    pub fn key(&self) -> Key {
        self.key
    }

    /// Frames in the loop.
    pub fn loop_frames(&self) -> usize {
        self.stems[0].len()
    }

    /// MIDI notes of each bar's chord.
    pub fn chords(&self) -> &[Vec<u8>] {
        &self.chords
    }

    /// The stem for a role, or the full mix for `None`.
    pub fn stem(&self, role: Option<TrackRole>) -> &[f32] {
        match role {
            Some(r) => {
                let i = TrackRole::BAND.iter().position(|x| *x == r).unwrap_or(0);
                &self.stems[i]
            }
            None => &self.stems[TrackRole::BAND.len()],
        }
    }

    /// A player that feeds `channels` channels: channel `c` plays the stem
    /// of track `c` of a `channels`-track preset (the mix for one channel).
    pub fn player(&self, channels: usize) -> MaterialPlayer<'_> {
        MaterialPlayer {
            material: self,
            roles: (0..channels)
                .map(|c| TrackRole::for_track(c, channels))
                .collect(),
            position: 0,
        }
    }
}

/// Loops a [`Material`]'s stems into input blocks. See [`Material::player`].
#[derive(Debug, Clone)]
pub struct MaterialPlayer<'a> {
    material: &'a Material,
    roles: Vec<Option<TrackRole>>,
    position: usize,
}

impl MaterialPlayer<'_> {
    /// Back to the start of the loop.
    pub fn rewind(&mut self) {
        self.position = 0;
    }

    /// Fills `block` (its frame count is kept) with the next frames.
    pub fn fill(&mut self, block: &mut AudioBuffer) {
        let frames = block.frames();
        let len = self.material.loop_frames();
        for (ch, role) in self.roles.iter().enumerate().take(block.channels()) {
            let stem = self.material.stem(*role);
            let dst = block.channel_mut(ch);
            let mut done = 0;
            let mut pos = self.position;
            while done < frames {
                let n = (len - pos).min(frames - done);
                dst[done..done + n].copy_from_slice(&stem[pos..pos + n]);
                done += n;
                pos = (pos + n) % len;
            }
        }
        self.position = (self.position + frames) % len;
    }
}
