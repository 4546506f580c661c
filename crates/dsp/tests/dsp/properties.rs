//! Property tests: unity transparency, stability, finite output, recovery.

use kmidi_dsp::biquad::{BiquadCoefficients, FilterType};
use kmidi_dsp::dynamics::{Compressor, CompressorSettings, Detection, Limiter, LimiterSettings};
use kmidi_dsp::eq::{BandSettings, Equalizer};
use kmidi_dsp::gain::Gain;
use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};
use proptest::prelude::*;

fn kind() -> impl Strategy<Value = FilterType> {
    prop::sample::select(FilterType::ALL.to_vec())
}

fn rate() -> impl Strategy<Value = f64> {
    prop::sample::select(vec![
        8_000.0, 22_050.0, 44_100.0, 48_000.0, 96_000.0, 192_000.0, 384_000.0,
    ])
}

/// Any valid band at `fs`: frequency log-uniform from 1 Hz to 0.49 fs.
fn band(fs: f64) -> impl Strategy<Value = BandSettings> {
    (kind(), 0.0..1.0f64, 0.025f32..40.0, -48.0f32..48.0).prop_map(move |(k, f, q, g)| {
        let freq = (1.0f64.ln() + f * ((0.49 * fs).ln() - 1.0f64.ln())).exp();
        BandSettings::new(k, freq as f32, q, g)
    })
}

fn finite_block(len: usize) -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(
        prop_oneof![
            -1.0e3f32..1.0e3,
            Just(0.0),
            Just(f32::MAX),
            Just(-f32::MAX),
            Just(1e-40)
        ],
        len,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_valid_design_is_stable((fs, b) in rate().prop_flat_map(|fs| (Just(fs), band(fs)))) {
        let c = BiquadCoefficients::design(b.kind, fs, b.frequency_hz as f64, b.q as f64, b.gain_db as f64).unwrap();
        prop_assert!(c.is_stable(), "{b:?} at {fs}: {c:?}");
    }

    #[test]
    fn interpolated_coefficients_stay_stable(
        (fs, a, b) in rate().prop_flat_map(|fs| (Just(fs), band(fs), band(fs))),
        t in 0.0f64..1.0,
    ) {
        let ca = BiquadCoefficients::design(a.kind, fs, a.frequency_hz as f64, a.q as f64, a.gain_db as f64).unwrap();
        let cb = BiquadCoefficients::design(b.kind, fs, b.frequency_hz as f64, b.q as f64, b.gain_db as f64).unwrap();
        prop_assert!(ca.lerp(&cb, t).is_stable());
    }

    #[test]
    fn equalizer_output_is_finite_for_finite_input(
        bands in prop::collection::vec(band(48_000.0), 1..6),
        block in finite_block(300),
    ) {
        let mut eq = Equalizer::new(&bands).unwrap();
        eq.prepare(&StreamSpec::new(48_000.0, 300, 1).unwrap()).unwrap();
        let mut buf = AudioBuffer::new(1, 300);
        // Scale to a sane range: +-f32::MAX times +48 dB of boost would overflow f32 by design.
        for (d, s) in buf.channel_mut(0).iter_mut().zip(&block) { *d = s.clamp(-1e3, 1e3); }
        for _ in 0..4 {
            eq.process(&mut buf);
            prop_assert!(buf.channel(0).iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn dynamics_output_is_finite_for_any_finite_input(
        block in finite_block(256),
        threshold in -60.0f32..0.0, ratio in 1.0f32..100.0, knee in 0.0f32..24.0,
        rms in any::<bool>(), link in any::<bool>(),
    ) {
        let settings = CompressorSettings {
            threshold_db: threshold, ratio, knee_db: knee,
            detection: if rms { Detection::Rms } else { Detection::Peak },
            stereo_link: link, ..Default::default()
        };
        let spec = StreamSpec::new(48_000.0, 256, 2).unwrap();
        let mut comp = Compressor::new(settings).unwrap();
        let mut lim = Limiter::new(LimiterSettings::default()).unwrap();
        comp.prepare(&spec).unwrap();
        lim.prepare(&spec).unwrap();
        let mut buf = AudioBuffer::new(2, 256);
        buf.channel_mut(0).copy_from_slice(&block);
        buf.channel_mut(1).copy_from_slice(&block);
        let mut c = buf.clone();
        comp.process(&mut c);
        prop_assert!(c.channel(0).iter().chain(c.channel(1)).all(|v| v.is_finite()));
        lim.process(&mut buf);
        prop_assert!(buf.peak() <= 10f32.powf(-0.3 / 20.0));
    }

    #[test]
    fn unity_settings_are_transparent(block in prop::collection::vec(-1.0f32..1.0, 512)) {
        let spec = StreamSpec::new(48_000.0, 512, 1).unwrap();
        let mut gain = Gain::new(0.0);
        let mut eq = Equalizer::new(&[BandSettings::new(FilterType::Peaking, 1_000.0, 1.0, 0.0)]).unwrap();
        let mut comp = Compressor::new(CompressorSettings { ratio: 1.0, ..Default::default() }).unwrap();
        gain.prepare(&spec).unwrap();
        eq.prepare(&spec).unwrap();
        comp.prepare(&spec).unwrap();
        let mut buf = AudioBuffer::new(1, 512);
        buf.channel_mut(0).copy_from_slice(&block);
        gain.process(&mut buf);
        prop_assert_eq!(buf.channel(0), &block[..], "0 dB gain is bit-transparent");
        eq.process(&mut buf);
        comp.process(&mut buf);
        for (a, b) in buf.channel(0).iter().zip(&block) {
            prop_assert!((a - b).abs() <= 1e-6, "{} vs {}", a, b);
        }
    }

    #[test]
    fn one_bad_block_never_poisons_a_filter(bad in prop_oneof![Just(f32::NAN), Just(f32::INFINITY), Just(f32::NEG_INFINITY)], b in band(48_000.0)) {
        let mut eq = Equalizer::new(&[b]).unwrap();
        eq.prepare(&StreamSpec::new(48_000.0, 64, 1).unwrap()).unwrap();
        let mut buf = AudioBuffer::new(1, 64);
        buf.channel_mut(0)[10] = bad;
        eq.process(&mut buf);
        buf.channel_mut(0).fill(0.1);
        eq.process(&mut buf);
        prop_assert!(buf.channel(0).iter().all(|v| v.is_finite()));
    }
}

#[test]
fn stream_spec_errors_name_the_field_and_range() {
    let e = StreamSpec::new(4_000.0, 512, 2).unwrap_err();
    assert_eq!(
        e.to_string(),
        "sample_rate = 4000 Hz is out of range: allowed 8000 to 384000 Hz"
    );
    let e = StreamSpec::new(48_000.0, 0, 2).unwrap_err();
    assert_eq!(
        e.to_string(),
        "max_block_frames = 0 is out of range: allowed 1 to 8192"
    );
    let e = StreamSpec::new(48_000.0, 512, 65).unwrap_err();
    assert_eq!(
        e.to_string(),
        "channels = 65 is out of range: allowed 1 to 64"
    );
    let e = StreamSpec::new(f64::NAN, 512, 2).unwrap_err();
    assert_eq!(
        e.to_string(),
        "sample_rate is NaN: it must be a finite number"
    );
    for (sr, block, ch) in [(8_000.0, 1, 1), (384_000.0, 8192, 64)] {
        assert!(StreamSpec::new(sr, block, ch).is_ok());
    }
}

#[test]
fn equalizer_checks_frequencies_against_the_sample_rate_at_prepare() {
    let mut eq =
        Equalizer::new(&[BandSettings::new(FilterType::LowPass, 20_000.0, 0.7, 0.0)]).unwrap();
    let e = eq
        .prepare(&StreamSpec::new(22_050.0, 512, 1).unwrap())
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "frequency_hz = 20000 Hz is out of range: allowed 1 to 10804.5 Hz"
    );
    assert!(
        eq.prepare(&StreamSpec::new(48_000.0, 512, 1).unwrap())
            .is_ok()
    );
    let e = eq
        .handle()
        .set_band(3, BandSettings::new(FilterType::Notch, 50.0, 10.0, 0.0))
        .unwrap_err();
    assert_eq!(e.to_string(), "band = 3 does not exist: allowed 0 to 0");
}

#[test]
fn every_processor_runs_at_the_extremes_of_the_spec() {
    for (sr, block, ch) in [(8_000.0, 1, 1), (384_000.0, 8192, 64), (44_100.0, 8192, 2)] {
        let spec = StreamSpec::new(sr, block, ch).unwrap();
        let mut procs: Vec<Box<dyn Processor>> = vec![
            Box::new(Gain::new(-6.0)),
            Box::new(
                Equalizer::new(&[BandSettings::new(FilterType::HighShelf, 3_000.0, 0.7, 4.0)])
                    .unwrap(),
            ),
            Box::new(Compressor::new(CompressorSettings::default()).unwrap()),
            Box::new(Limiter::new(LimiterSettings::default()).unwrap()),
        ];
        let mut buf = AudioBuffer::new(ch, block);
        for ch in buf.channels_iter_mut() {
            ch.fill(0.9);
        }
        for p in procs.iter_mut() {
            p.prepare(&spec).unwrap();
            p.process(&mut buf);
        }
        assert!(buf.peak().is_finite() && buf.peak() <= 1.0);
    }
}
