//! Onset, tempo and beat accuracy on synthesized drum patterns: kick (a
//! pitch-swept sine), snare (noise and a tone) and closed hi-hat (high-passed
//! noise), at 60 to 180 BPM, straight and swung, with white noise 20 dB
//! below the drums.
//!
//! Onsets are scored with the MIREX ±50 ms window (hits closer than 30 ms
//! count as one onset), beats with ±70 ms, both as an F-measure with
//! one-to-one matching.

use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};
use kmidi_groove::beat::{Material, TempoPrior, estimate_tempo, track_beats};
use kmidi_groove::onset::{OnsetConfig, OnsetDetector};

const SR: f64 = 48_000.0;

/// Seeded noise (fastrand, the workspace's one generator).
struct Rng(fastrand::Rng);
impl Rng {
    fn new(seed: u64) -> Self {
        Self(fastrand::Rng::with_seed(seed))
    }
    /// Uniform in [-1, 1).
    fn uniform(&mut self) -> f32 {
        self.0.f32() * 2.0 - 1.0
    }
}

#[derive(Clone, Copy)]
enum Drum {
    Kick,
    Snare,
    Hat,
}

fn add_hit(out: &mut [f32], at: usize, drum: Drum, gain: f32, rng: &mut Rng) {
    let sr = SR as f32;
    let len = match drum {
        Drum::Kick => 0.3,
        Drum::Snare => 0.2,
        Drum::Hat => 0.06,
    };
    let n = ((len * sr) as usize).min(out.len().saturating_sub(at));
    let mut phase = 0.0f32;
    let mut prev = 0.0f32;
    for i in 0..n {
        let t = i as f32 / sr;
        let v = match drum {
            Drum::Kick => {
                let f = 50.0 + 100.0 * (-t / 0.03).exp();
                phase += std::f32::consts::TAU * f / sr;
                phase.sin() * (-t / 0.08).exp()
            }
            Drum::Snare => {
                let tone = (std::f32::consts::TAU * 190.0 * t).sin() * (-t / 0.04).exp();
                0.5 * tone + 0.7 * rng.uniform() * (-t / 0.06).exp()
            }
            Drum::Hat => {
                let w = rng.uniform();
                let hp = w - prev; // first difference: a high-pass
                prev = w;
                0.6 * hp * (-t / 0.015).exp()
            }
        };
        out[at + i] += gain * v;
    }
}

struct Pattern {
    audio: Vec<f32>,
    onsets: Vec<f64>,
    beats: Vec<f64>,
}

/// Kick on 1 and 3, snare on 2 and 4, hi-hat 8ths; off-beat 8ths swung to
/// `swing` (0.5 straight) of the beat.
fn drums(bpm: f64, swing: f64, seconds: f64, seed: u64) -> Pattern {
    let mut rng = Rng::new(seed);
    let len = (seconds * SR) as usize;
    let mut audio = vec![0.0f32; len];
    let beat = 60.0 / bpm;
    let mut hits = Vec::new();
    let mut beats = Vec::new();
    let mut b = 0usize;
    loop {
        let t = b as f64 * beat + 0.05;
        if t + beat > seconds - 0.3 {
            break;
        }
        beats.push(t);
        let main = if b.is_multiple_of(2) {
            Drum::Kick
        } else {
            Drum::Snare
        };
        let gain = if b.is_multiple_of(2) { 0.9 } else { 0.7 };
        hits.push((t, main, gain));
        hits.push((t, Drum::Hat, 0.3));
        hits.push((t + swing * beat, Drum::Hat, 0.25));
        b += 1;
    }
    for &(t, drum, gain) in &hits {
        add_hit(&mut audio, (t * SR) as usize, drum, gain, &mut rng);
    }
    let rms = (audio.iter().map(|x| x * x).sum::<f32>() / len as f32).sqrt();
    let noise = rms * 0.1 * 3f32.sqrt(); // 20 dB below
    for s in &mut audio {
        *s += noise * rng.uniform();
    }
    let mut onsets: Vec<f64> = hits.iter().map(|h| h.0).collect();
    onsets.sort_by(f64::total_cmp);
    onsets.dedup_by(|a, b| (*a - *b).abs() < 0.03);
    Pattern {
        audio,
        onsets,
        beats,
    }
}

/// F-measure with one-to-one greedy matching within `tol` seconds.
fn f_measure(detected: &[f64], truth: &[f64], tol: f64) -> f64 {
    let mut used = vec![false; truth.len()];
    let mut hits = 0usize;
    for &d in detected {
        if let Some((i, _)) = truth
            .iter()
            .enumerate()
            .filter(|(i, t)| !used[*i] && (**t - d).abs() <= tol)
            .min_by(|a, b| (a.1 - d).abs().total_cmp(&(b.1 - d).abs()))
        {
            used[i] = true;
            hits += 1;
        }
    }
    if detected.is_empty() || truth.is_empty() {
        return 0.0;
    }
    let p = hits as f64 / detected.len() as f64;
    let r = hits as f64 / truth.len() as f64;
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

struct Result {
    onset_f: f64,
    bpm: f64,
    beat_f: f64,
}

/// A detector with 30 s of envelope run over `audio` in blocks of `block`
/// frames, and the onsets it found, seconds.
fn detect(audio: &[f32], block: usize) -> (OnsetDetector, Vec<f64>) {
    let mut det = OnsetDetector::new(OnsetConfig {
        envelope_seconds: 30.0,
        ..OnsetConfig::default()
    });
    det.prepare(&StreamSpec::new(SR, block, 1).unwrap())
        .unwrap();
    let mut buf = AudioBuffer::new(1, block);
    let mut found = Vec::new();
    for chunk in audio.chunks(block) {
        buf.set_frames(chunk.len()).unwrap();
        buf.channel_mut(0).copy_from_slice(chunk);
        det.process(&mut buf);
        found.extend(det.onsets().iter().map(|o| o.frame as f64 / SR));
    }
    (det, found)
}

/// The material the detector heard, from its three rings.
fn material_of(det: &OnsetDetector) -> Material {
    let (mut env, mut broadband, mut spread) = (Vec::new(), Vec::new(), Vec::new());
    det.envelope_into(&mut env);
    det.broadband_envelope_into(&mut broadband);
    det.spread_envelope_into(&mut spread);
    Material::measure(&env, &broadband, &spread)
}

fn analyse(p: &Pattern, block: usize) -> Result {
    let (det, found) = detect(&p.audio, block);
    let onset_f = f_measure(&found, &p.onsets, 0.05);
    if std::env::var_os("KMIDI_DEBUG_ONSETS").is_some() {
        eprintln!("found {} truth {}", found.len(), p.onsets.len());
    }
    let mut env = Vec::new();
    let end = det.envelope_into(&mut env);
    let hop = det.hop_frames() as f64;
    let hop_s = hop / SR;
    // Every pattern has a kit: heard at the kit's tempo prior.
    let material = material_of(&det);
    assert!(material.has_drum_kit(), "{material:?}");
    let tempo =
        estimate_tempo(&env, hop_s, TempoPrior::for_material(material)).map_or(0.0, |t| t.bpm);
    let start = end as f64 - env.len() as f64 * hop;
    let beats: Vec<f64> = track_beats(&env, hop_s, tempo)
        .iter()
        .map(|&i| (start + (i as f64 + 1.0) * hop - 4.0 * hop) / SR)
        .collect();
    let beat_f = f_measure(&beats, &p.beats, 0.07);
    Result {
        onset_f,
        bpm: tempo,
        beat_f,
    }
}

#[test]
fn onsets_tempo_and_beats_on_straight_patterns() {
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for (i, bpm) in [
        60.0, 72.0, 85.0, 97.0, 110.0, 120.0, 128.0, 140.0, 155.0, 168.0, 180.0,
    ]
    .into_iter()
    .enumerate()
    {
        let p = drums(bpm, 0.5, 14.0, i as u64 + 1);
        let r = analyse(&p, 512);
        report.push(format!(
            "{bpm} BPM: onset F {:.3}, tempo {:.2}, beat F {:.3}",
            r.onset_f, r.bpm, r.beat_f
        ));
        // Above 160 BPM the 85 ms window holds the quiet off-beat hat
        // together with the kick's tail (F 0.86-0.91 here; rendered real
        // drums score 0.98, docs/ACCURACY.md).
        let onset_floor = if bpm > 160.0 { 0.85 } else { 0.95 };
        if r.onset_f < onset_floor {
            failures.push(format!("{bpm}: onset F {:.3}", r.onset_f));
        }
        // The tempo prior (log-normal about 120 BPM) picks the metrical
        // level; a kick-snare-hat pattern at 60 BPM is heard at 120 and
        // one at 155-180 may be heard at half speed. Between 70 and 140
        // BPM it must be the written tempo; outside, the written tempo or
        // an octave of it, within 2% either way.
        let octave_ok = !(70.0..=140.0).contains(&bpm);
        let level = [1.0, 2.0, 0.5]
            .into_iter()
            .take(if octave_ok { 3 } else { 1 })
            .find(|&f| (r.bpm - bpm * f).abs() <= 0.02 * bpm * f);
        match level {
            None => failures.push(format!("{bpm}: tempo {:.2}", r.bpm)),
            // Beats are scored against the written beats only at that level.
            Some(f) if f == 1.0 && r.beat_f < 0.9 => {
                failures.push(format!("{bpm}: beat F {:.3}", r.beat_f))
            }
            Some(_) => {}
        }
    }
    println!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{failures:?}\n{}", report.join("\n"));
}

#[test]
fn onsets_and_beats_on_swung_patterns_and_odd_blocks() {
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for (i, (bpm, swing, block)) in [
        (90.0, 0.62, 64),
        (120.0, 0.66, 333),
        (150.0, 0.58, 2048),
        (75.0, 0.7, 512),
    ]
    .into_iter()
    .enumerate()
    {
        let p = drums(bpm, swing, 14.0, 100 + i as u64);
        let r = analyse(&p, block);
        report.push(format!(
            "{bpm} BPM swing {swing}: onset F {:.3}, tempo {:.2}, beat F {:.3}",
            r.onset_f, r.bpm, r.beat_f
        ));
        if r.onset_f < 0.95 {
            failures.push(format!("{bpm}: onset F {:.3}", r.onset_f));
        }
        if r.beat_f < 0.9 {
            failures.push(format!("{bpm}: beat F {:.3}", r.beat_f));
        }
    }
    println!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{failures:?}\n{}", report.join("\n"));
}

#[test]
fn silence_noise_and_bad_samples_give_no_onsets() {
    let mut det = OnsetDetector::new(OnsetConfig::default());
    det.prepare(&StreamSpec::new(44_100.0, 256, 2).unwrap())
        .unwrap();
    let mut buf = AudioBuffer::new(2, 256);
    let mut count = 0;
    for _ in 0..200 {
        det.process(&mut buf);
        count += det.onsets().len();
    }
    for (i, s) in buf.channel_mut(0).iter_mut().enumerate() {
        *s = [f32::NAN, f32::INFINITY, 1e-40, 0.0][i % 4];
    }
    for _ in 0..200 {
        det.process(&mut buf);
        count += det.onsets().len();
    }
    assert_eq!(count, 0);
    let mut rng = Rng::new(3);
    let mut noisy = 0;
    for _ in 0..800 {
        for ch in buf.channels_iter_mut() {
            ch.iter_mut().for_each(|s| *s = 0.2 * rng.uniform());
        }
        det.process(&mut buf);
        noisy += det.onsets().len();
    }
    // Steady noise is not a string of onsets (only its start may be one).
    assert!(noisy <= 2, "{noisy} onsets in steady noise");
    let err = OnsetDetector::new(OnsetConfig {
        threshold: -1.0,
        ..OnsetConfig::default()
    })
    .prepare(&StreamSpec::new(48_000.0, 512, 1).unwrap())
    .unwrap_err();
    assert!(err.to_string().contains("threshold"), "{err}");
}

#[test]
fn pitched_notes_in_eighths_are_not_a_kit() {
    // Piano-like tones: eight partials falling 6 dB each, a 0.4 s decay,
    // four-note chords on the quarters and single notes on the eighths
    // between, at 68 quarters per minute, over the same noise as the drums.
    let mut rng = Rng::new(7);
    let seconds = 20.0;
    let mut audio: Vec<f32> = (0..(seconds * SR) as usize)
        .map(|_| 0.01 * rng.uniform())
        .collect();
    let eighth = 60.0 / 136.0;
    let scale = [0, 2, 4, 5, 7, 9, 11];
    let mut t = 0.5;
    let mut n = 0usize;
    while t < seconds - 1.0 {
        let start = (t * SR) as usize;
        let voices: &[usize] = if n.is_multiple_of(2) {
            &[0, 2, 4, 7]
        } else {
            &[5]
        };
        for &v in voices {
            let degree = (n * 3 + v) % 14;
            let key = 48 + 12 * (degree / 7) + scale[degree % 7] + if v > 4 { 12 } else { 0 };
            let f0 = 440.0 * 2f32.powf((key as f32 - 69.0) / 12.0);
            for i in 0..(SR as usize).min(audio.len() - start) {
                let s = i as f32 / SR as f32;
                let env = (-s / 0.4).exp() * (1.0 - (-s / 0.003).exp());
                let tone: f32 = (1..=8)
                    .map(|k| 0.5f32.powi(k - 1) * (std::f32::consts::TAU * f0 * k as f32 * s).sin())
                    .sum();
                audio[start + i] += 0.08 * env * tone;
            }
        }
        t += eighth;
        n += 1;
    }
    let (det, found) = detect(&audio, 512);
    assert!(found.len() > 20, "{} onsets", found.len());
    let material = material_of(&det);
    assert!(!material.has_drum_kit(), "{material:?}");
    // A kit's hits over the same noise are a kit.
    let kit = drums(120.0, 0.0, 10.0, 3);
    let (det, _) = detect(&kit.audio, 512);
    assert!(material_of(&det).has_drum_kit(), "{:?}", material_of(&det));
}
