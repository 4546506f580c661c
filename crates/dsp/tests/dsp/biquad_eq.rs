//! Known answers and behaviour of the RBJ biquads and the equalizer.

use crate::common;

use kmidi_dsp::biquad::{Biquad, BiquadCoefficients, FilterType};
use kmidi_dsp::eq::{BandOrder, BandSettings, Equalizer};
use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};

/// |H(jΩ)| of the cookbook's analog prototype, with Ω the bilinear image of
/// `f`: Ω = tan(πf/fs) / tan(πf0/fs). The cookbook filters are exactly these
/// prototypes under the bilinear transform prewarped at f0, so the digital
/// response must match them at every frequency.
fn analog_prototype_db(kind: FilterType, f: f64, fs: f64, f0: f64, q: f64, gain_db: f64) -> f64 {
    let w = (std::f64::consts::PI * f / fs).tan() / (std::f64::consts::PI * f0 / fs).tan();
    let a = 10f64.powf(gain_db / 40.0);
    // s = jw; evaluate numerator and denominator polynomials as complex numbers.
    let c = |re: f64, im: f64| (re, im);
    let mag2 = |(re, im): (f64, f64)| re * re + im * im;
    let s2 = -w * w; // s^2 = -w^2 (real)
    let (num, den) = match kind {
        FilterType::LowPass => (c(1.0, 0.0), c(s2 + 1.0, w / q)),
        FilterType::HighPass => (c(s2, 0.0), c(s2 + 1.0, w / q)),
        FilterType::BandPass => (c(0.0, w / q), c(s2 + 1.0, w / q)),
        FilterType::Notch => (c(s2 + 1.0, 0.0), c(s2 + 1.0, w / q)),
        FilterType::AllPass => (c(s2 + 1.0, -w / q), c(s2 + 1.0, w / q)),
        FilterType::Peaking => (c(s2 + 1.0, w * a / q), c(s2 + 1.0, w / (a * q))),
        FilterType::LowShelf => {
            let k = a.sqrt() / q;
            // A (s^2 + k s + A) / (A s^2 + k s + 1)
            let num = c(a * (s2 + a), a * k * w);
            let den = c(a * s2 + 1.0, k * w);
            (num, den)
        }
        FilterType::HighShelf => {
            let k = a.sqrt() / q;
            // A (A s^2 + k s + 1) / (s^2 + k s + A)
            let num = c(a * (a * s2 + 1.0), a * k * w);
            let den = c(s2 + a, k * w);
            (num, den)
        }
    };
    10.0 * (mag2(num) / mag2(den)).log10()
}

#[test]
fn every_type_matches_the_cookbook_prototype_to_a_hundredth_of_a_db() {
    let probe = [
        20.0, 63.0, 250.0, 700.0, 1_000.0, 1_400.0, 4_000.0, 12_000.0, 20_000.0,
    ];
    for fs in [44_100.0, 48_000.0, 96_000.0] {
        for kind in FilterType::ALL {
            for (f0, q, gain) in [
                (1_000.0, 0.707, 6.0),
                (150.0, 2.0, -9.0),
                (8_000.0, 0.5, 12.0),
            ] {
                let c = BiquadCoefficients::design(kind, fs, f0, q, gain).unwrap();
                for &f in &probe {
                    let expected = analog_prototype_db(kind, f, fs, f0, q, gain);
                    if expected < -80.0 {
                        continue; // deep in a notch or stop band: dB is ill-conditioned in f32
                    }
                    let got = c.magnitude_db(f, fs);
                    assert!(
                        (got - expected).abs() < 0.01,
                        "{kind:?} fs={fs} f0={f0} q={q} g={gain}: at {f} Hz got {got:.4} dB, RBJ {expected:.4} dB"
                    );
                }
            }
        }
    }
}

#[test]
fn cookbook_landmarks() {
    let fs = 48_000.0;
    let lp = BiquadCoefficients::design(
        FilterType::LowPass,
        fs,
        1_000.0,
        std::f64::consts::FRAC_1_SQRT_2,
        0.0,
    )
    .unwrap();
    assert!(
        (lp.magnitude_db(1_000.0, fs) + 3.0103).abs() < 0.01,
        "Butterworth -3 dB point"
    );
    assert!(lp.magnitude_db(1.0, fs).abs() < 1e-3, "unity at DC");
    let pk = BiquadCoefficients::design(FilterType::Peaking, fs, 2_000.0, 1.0, -12.0).unwrap();
    assert!((pk.magnitude_db(2_000.0, fs) + 12.0).abs() < 0.01);
    let ap = BiquadCoefficients::design(FilterType::AllPass, fs, 500.0, 0.7, 0.0).unwrap();
    for f in [50.0, 500.0, 5_000.0, 20_000.0] {
        assert!(ap.magnitude_db(f, fs).abs() < 0.01);
    }
    let ls = BiquadCoefficients::design(FilterType::LowShelf, fs, 200.0, 0.707, 6.0).unwrap();
    assert!((ls.magnitude_db(10.0, fs) - 6.0).abs() < 0.05);
    assert!(ls.magnitude_db(15_000.0, fs).abs() < 0.05);
}

#[test]
fn processed_sine_has_the_designed_gain() {
    // The time-domain filter agrees with the analysed response.
    let fs = 48_000.0;
    let c = BiquadCoefficients::design(FilterType::Peaking, fs, 1_000.0, 1.0, 9.0).unwrap();
    let mut f = Biquad::new(c);
    let mut x = common::sine(1_000.0, fs, 48_000, 0.1);
    f.process_block(&mut x);
    let tail = &x[24_000..];
    let rms = (tail.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / tail.len() as f64).sqrt();
    let db = 20.0 * (rms / (0.1 / 2f64.sqrt())).log10();
    assert!((db - 9.0).abs() < 0.01, "measured {db} dB");
}

#[test]
fn design_rejects_bad_parameters_naming_the_field() {
    let e =
        BiquadCoefficients::design(FilterType::LowPass, 48_000.0, 30_000.0, 0.7, 0.0).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("frequency_hz") && msg.contains("23520"),
        "{msg}"
    );
    let e =
        BiquadCoefficients::design(FilterType::LowPass, 48_000.0, 1_000.0, 0.0, 0.0).unwrap_err();
    assert!(e.to_string().contains("q = 0"), "{e}");
    let e = BiquadCoefficients::design(FilterType::Peaking, 48_000.0, 1_000.0, 1.0, f64::NAN)
        .unwrap_err();
    assert!(
        e.to_string().contains("gain_db") && e.to_string().contains("finite"),
        "{e}"
    );
}

fn eq3() -> Vec<BandSettings> {
    vec![
        BandSettings::new(FilterType::LowShelf, 120.0, 0.707, 4.0),
        BandSettings::new(FilterType::Peaking, 1_000.0, 1.2, -6.0),
        BandSettings::new(FilterType::HighShelf, 9_000.0, 0.707, 3.0),
    ]
}

#[test]
fn fused_and_sequential_orders_give_the_same_output() {
    let spec = StreamSpec::new(48_000.0, 512, 2).unwrap();
    let mut fused = Equalizer::new(&eq3()).unwrap();
    let mut seq = Equalizer::new(&eq3())
        .unwrap()
        .with_band_order(BandOrder::Sequential);
    fused.prepare(&spec).unwrap();
    seq.prepare(&spec).unwrap();
    let mut noise = common::Noise::new(7);
    let signal: Vec<f32> = (0..512 * 8).map(|_| noise.sample()).collect();
    let mut a = AudioBuffer::new(2, 512);
    let mut b = AudioBuffer::new(2, 512);
    for blk in 0..8 {
        common::fill_from(&mut a, &signal, blk * 512);
        common::fill_from(&mut b, &signal, blk * 512);
        fused.process(&mut a);
        seq.process(&mut b);
        for ch in 0..2 {
            for (x, y) in a.channel(ch).iter().zip(b.channel(ch)) {
                assert!((x - y).abs() < 1e-6, "block {blk}: {x} vs {y}");
            }
        }
    }
}

#[test]
fn equalizer_matches_a_cascade_of_single_biquads() {
    let fs = 48_000.0;
    let spec = StreamSpec::new(fs, 256, 1).unwrap();
    let mut eq = Equalizer::new(&eq3()).unwrap();
    eq.prepare(&spec).unwrap();
    let mut sections: Vec<Biquad> = eq3()
        .iter()
        .map(|b| {
            Biquad::new(
                BiquadCoefficients::design(
                    b.kind,
                    fs,
                    b.frequency_hz as f64,
                    b.q as f64,
                    b.gain_db as f64,
                )
                .unwrap(),
            )
        })
        .collect();
    let mut noise = common::Noise::new(3);
    let mut buf = AudioBuffer::new(1, 256);
    for _ in 0..4 {
        let x: Vec<f32> = (0..256).map(|_| noise.sample()).collect();
        buf.channel_mut(0).copy_from_slice(&x);
        eq.process(&mut buf);
        let mut y = x.clone();
        for s in sections.iter_mut() {
            s.process_block(&mut y);
        }
        for (a, b) in buf.channel(0).iter().zip(&y) {
            assert!((a - b).abs() < 1e-6);
        }
    }
}

/// Peak level, in dBFS, of what lies above 6 kHz: an 8th-order Butterworth-ish
/// high pass (four cascaded RBJ sections). A 1 kHz sine is attenuated by over
/// 100 dB; a click (a step in value or slope) is broadband and shows up.
fn click_level_db(x: &[f32]) -> f32 {
    let mut y = x.to_vec();
    for _ in 0..4 {
        let c = BiquadCoefficients::design(FilterType::HighPass, 48_000.0, 6_000.0, 0.707, 0.0)
            .unwrap();
        Biquad::new(c).process_block(&mut y);
    }
    // Skip the filters' own start-up transient.
    let peak = y[2_000..].iter().fold(0.0f32, |m, v| m.max(v.abs()));
    20.0 * peak.max(1e-12).log10()
}

#[test]
fn a_parameter_jump_glides_without_a_click() {
    // A +15 dB boost switched in while a 1 kHz sine plays.
    let fs = 48_000.0;
    let spec = StreamSpec::new(fs, 128, 1).unwrap();
    let signal = common::sine(1_000.0, fs, 128 * 200, 0.25);
    let target = BandSettings::new(FilterType::Peaking, 1_000.0, 1.0, 15.0);

    let mut eq =
        Equalizer::new(&[BandSettings::new(FilterType::Peaking, 1_000.0, 1.0, 0.0)]).unwrap();
    eq.prepare(&spec).unwrap();
    let handle = eq.handle();
    let mut glided = Vec::new();
    let mut buf = AudioBuffer::new(1, 128);
    for blk in 0..200 {
        if blk == 50 {
            handle.set_band(0, target).unwrap();
        }
        common::fill_from(&mut buf, &signal, blk * 128);
        eq.process(&mut buf);
        glided.extend_from_slice(buf.channel(0));
    }

    // The same change made abruptly: coefficients replaced at one sample.
    let mut abrupt = Biquad::new(BiquadCoefficients::IDENTITY);
    let boosted = BiquadCoefficients::design(FilterType::Peaking, fs, 1_000.0, 1.0, 15.0).unwrap();
    let mut stepped = signal.clone();
    let switch_at = 128 * 50 + 12; // near a peak of the sine
    abrupt.process_block(&mut stepped[..switch_at]);
    abrupt.set_coefficients(boosted);
    abrupt.process_block(&mut stepped[switch_at..]);

    let glide_db = click_level_db(&glided);
    let step_db = click_level_db(&stepped);
    assert!(
        glide_db < -70.0,
        "glided change leaves {glide_db:.1} dBFS above 6 kHz"
    );
    assert!(
        step_db > glide_db + 20.0,
        "abrupt {step_db:.1} dBFS vs glided {glide_db:.1} dBFS"
    );
}

#[test]
fn disabling_a_band_fades_it_out_and_then_costs_nothing() {
    let spec = StreamSpec::new(48_000.0, 512, 1).unwrap();
    let mut eq = Equalizer::new(&eq3()).unwrap().with_ramp_ms(5.0).unwrap();
    eq.prepare(&spec).unwrap();
    let h = eq.handle();
    for i in 0..3 {
        let mut b = eq3()[i];
        b.enabled = false;
        h.set_band(i, b).unwrap();
    }
    let mut buf = AudioBuffer::new(1, 512);
    for _ in 0..4 {
        eq.process(&mut buf);
    }
    for i in 0..3 {
        assert!(eq.band_coefficients(i).unwrap().is_identity());
    }
    // With every band off, the EQ is bit-transparent.
    let x: Vec<f32> = common::sine(440.0, 48_000.0, 512, 0.9);
    buf.channel_mut(0).copy_from_slice(&x);
    eq.process(&mut buf);
    assert_eq!(buf.channel(0), &x[..]);
}

#[test]
fn a_decaying_tail_flushes_state_to_exact_zero() {
    let c = BiquadCoefficients::design(FilterType::LowPass, 48_000.0, 200.0, 0.707, 0.0).unwrap();
    let mut f = Biquad::new(c);
    let mut x = vec![0.0f32; 512];
    x[0] = 1.0;
    f.process_block(&mut x);
    for _ in 0..2_000 {
        x.fill(0.0);
        f.process_block(&mut x);
    }
    assert!(
        x.iter().all(|&v| v == 0.0),
        "state must flush below 1e-20, never linger as denormals"
    );
}
