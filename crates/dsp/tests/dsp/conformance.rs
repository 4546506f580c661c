//! Every processor family of the DSP core through the conformance suite
//! (kmidi-conformance) at the CI strictness; `KMIDI_CONFORMANCE_LEVEL`
//! raises it (10 is the highest).

use kmidi_conformance::{Automation, Exactness, Report, Subject, Suite};
use kmidi_dsp::StreamSpec;
use kmidi_dsp::biquad::FilterType;
use kmidi_dsp::dynamics::{Compressor, CompressorSettings, Detection, Limiter, LimiterSettings};
use kmidi_dsp::eq::{BandSettings, Equalizer};
use kmidi_dsp::gain::Gain;
use kmidi_dsp::mixer::{Mixer, MixerConfig, StripLayout};
use kmidi_dsp::resampler::{Resampler, ResamplerConfig, ResamplerQuality};

fn assert_conforms(report: Report) {
    println!("{report}");
    assert!(report.passed(), "{report}");
}

#[test]
fn gain() {
    let subject = Subject::in_place("Gain", |_| Some(Gain::new(-6.0))).automate(|g| {
        let h = g.0.handle();
        Box::new(move |rng: &mut fastrand::Rng| {
            h.set_db(-60.0 + 72.0 * rng.f32()).ok();
        }) as Automation
    });
    assert_conforms(Suite::from_env().check_in_place(&subject));
}

fn random_band(rng: &mut fastrand::Rng, rate: f32) -> BandSettings {
    let kinds = [
        FilterType::Peaking,
        FilterType::LowShelf,
        FilterType::HighShelf,
        FilterType::LowPass,
        FilterType::HighPass,
    ];
    let top = (0.45 * rate).min(20_000.0);
    BandSettings::new(
        kinds[rng.usize(..kinds.len())],
        20.0 * (top / 20.0).powf(rng.f32()),
        0.3 + 4.0 * rng.f32(),
        -24.0 + 48.0 * rng.f32(),
    )
}

#[test]
fn equalizer() {
    // A mastering EQ whose bands exist at every rate from 8 kHz up.
    let bands = [
        BandSettings::new(FilterType::HighPass, 30.0, 0.707, 0.0),
        BandSettings::new(FilterType::LowShelf, 120.0, 0.707, 3.0),
        BandSettings::new(FilterType::Peaking, 1_000.0, 1.0, -4.0),
        BandSettings::new(FilterType::HighShelf, 3_500.0, 0.707, 2.0),
    ];
    let subject = Subject::in_place("Equalizer (4 bands)", move |_| Equalizer::new(&bands).ok())
        .automate(|eq| {
            let h = eq.0.handle();
            Box::new(move |rng: &mut fastrand::Rng| {
                let band = rng.usize(..h.band_count());
                h.set_band(band, random_band(rng, 48_000.0)).ok();
            }) as Automation
        });
    assert_conforms(Suite::from_env().check_in_place(&subject));
}

#[test]
fn equalizer_with_a_narrow_deep_resonance() {
    // The band that took 99 s to forget one sample of 1e30.
    let bands = [BandSettings::new(FilterType::Peaking, 40.0, 40.0, 24.0)];
    let subject = Subject::in_place("Equalizer (40 Hz, Q 40, +24 dB)", move |_| {
        Equalizer::new(&bands).ok()
    });
    assert_conforms(Suite::from_env().check_in_place(&subject));
}

fn compressor_subject(
    name: &str,
    settings: CompressorSettings,
) -> Subject<kmidi_dsp::InPlace<Compressor>> {
    Subject::in_place(name.to_string(), move |_| Compressor::new(settings).ok()).automate(|c| {
        let h = c.0.handle();
        Box::new(move |rng: &mut fastrand::Rng| {
            let mut s = h.get();
            s.threshold_db = -40.0 + 40.0 * rng.f32();
            s.ratio = 1.0 + 19.0 * rng.f32();
            s.makeup_db = -6.0 + 12.0 * rng.f32();
            s.attack_ms = 1.0 + 30.0 * rng.f32();
            s.release_ms = 20.0 + 300.0 * rng.f32();
            h.set(&s).ok();
        }) as Automation
    })
}

#[test]
fn compressor_peak() {
    assert_conforms(Suite::from_env().check_in_place(&compressor_subject(
        "Compressor (peak, linked)",
        CompressorSettings::default(),
    )));
}

#[test]
fn compressor_rms_unlinked() {
    let settings = CompressorSettings {
        detection: Detection::Rms,
        stereo_link: false,
        threshold_db: -30.0,
        ratio: 8.0,
        ..Default::default()
    };
    assert_conforms(Suite::from_env().check_in_place(&compressor_subject(
        "Compressor (RMS, per channel)",
        settings,
    )));
}

/// The limiter with `settings`, its ceiling and release automated.
fn limiter_subject(name: &str, settings: LimiterSettings) -> Subject<kmidi_dsp::InPlace<Limiter>> {
    Subject::in_place(name, move |_| Limiter::new(settings).ok()).automate(|l| {
        let h = l.0.handle();
        Box::new(move |rng: &mut fastrand::Rng| {
            h.set_ceiling_db(-20.0 * rng.f32()).ok();
            h.set_release_ms(10.0 + 500.0 * rng.f32()).ok();
        }) as Automation
    })
}

#[test]
fn limiter() {
    let subject = limiter_subject("Limiter", LimiterSettings::default());
    assert_conforms(Suite::from_env().check_in_place(&subject));
}

#[test]
fn limiter_true_peak() {
    let settings = LimiterSettings {
        true_peak: true,
        ..Default::default()
    };
    let subject = limiter_subject("Limiter (true peak)", settings);
    assert_conforms(Suite::from_env().check_in_place(&subject));
}

#[test]
fn mixer_of_mono_strips() {
    // One mono strip per input channel, two aux buses.
    let subject = Subject::new("Mixer (mono strips, 2 aux)", |spec: &StreamSpec| {
        let mut config = MixerConfig::uniform(spec.channels(), StripLayout::Mono);
        config.aux_buses = 2;
        Mixer::new(&config).ok()
    })
    .automate(|m| {
        let h = m.handle();
        let strips = m.strip_count();
        Box::new(move |rng: &mut fastrand::Rng| {
            let s = rng.usize(..strips);
            h.set_gain_db(s, -30.0 + 36.0 * rng.f32()).ok();
            h.set_pan(s, rng.f32() * 2.0 - 1.0).ok();
            h.set_send(
                s,
                rng.usize(..2),
                -30.0 * rng.f32(),
                kmidi_dsp::mixer::SendTap::PostFader,
            )
            .ok();
            h.set_master_db(-12.0 * rng.f32()).ok();
        }) as Automation
    });
    assert_conforms(Suite::from_env().check(&subject));
}

#[test]
fn mixer_of_stereo_strips() {
    let subject = Subject::new("Mixer (stereo strips)", |spec: &StreamSpec| {
        if !spec.channels().is_multiple_of(2) {
            return None;
        }
        Mixer::new(&MixerConfig::uniform(
            spec.channels() / 2,
            StripLayout::Stereo,
        ))
        .ok()
    });
    assert_conforms(Suite::from_env().check(&subject));
}

fn resampler_subject(quality: ResamplerQuality, to: u32) -> Subject<Resampler> {
    Subject::new(
        format!("Resampler ({quality:?}, to {to} Hz)"),
        move |spec: &StreamSpec| {
            Resampler::new(
                ResamplerConfig::new(spec.sample_rate() as u32, to, spec.channels(), 512)
                    .with_quality(quality),
            )
            .ok()
        },
    )
    .exactness(Exactness::BitExact)
}

#[test]
fn resampler_fft() {
    for to in [44_100, 96_000] {
        assert_conforms(Suite::from_env().check(&resampler_subject(ResamplerQuality::Fft, to)));
    }
}

#[test]
fn resampler_sinc() {
    for to in [44_100, 96_000] {
        assert_conforms(Suite::from_env().check(&resampler_subject(ResamplerQuality::Sinc, to)));
    }
}

#[test]
fn resampler_polynomial() {
    for to in [44_100, 96_000] {
        assert_conforms(
            Suite::from_env().check(&resampler_subject(ResamplerQuality::Polynomial, to)),
        );
    }
}
