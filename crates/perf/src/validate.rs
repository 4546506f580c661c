//! `kmidi-perf validate`: the conformance suite ([`kmidi_conformance`])
//! over an engine config: the whole [`Engine`], and with `nodes` every node
//! the config builds (each track's EQ and compressor, the mixer, the master
//! EQ and limiter, the chord and onset detectors, the input resampler).
//!
//! The subjects live here, once: the CLI and `tests/perf/validate.rs` use them.

use kmidi_conformance::{Automation, Report, Strictness, Subject, Suite};
use kmidi_dsp::StreamSpec;
use kmidi_dsp::dynamics::{Compressor, Limiter};
use kmidi_dsp::eq::Equalizer;
use kmidi_dsp::mixer::{Mixer, MixerConfig, StripLayout};
use kmidi_dsp::resampler::{Resampler, ResamplerConfig};
use kmidi_engine::{Engine, EngineConfig};
use kmidi_groove::onset::{OnsetConfig, OnsetDetector};
use kmidi_harmony::detect::{ChordDetector, DetectorConfig};

/// Where an engine's config comes from.
#[derive(Debug, Clone)]
pub enum EngineSource {
    /// A preset, voiced for each rate the suite tries
    /// ([`EngineConfig::preset_at`]).
    Preset(String),
    /// A config used as written; at a rate it cannot run at (a band above
    /// Nyquist), the suite skips that rate and [`validate`] says so.
    Config(EngineConfig),
}

impl EngineSource {
    /// The config at `rate` Hz, or why there is none.
    pub fn at_rate(&self, rate: u32) -> Result<EngineConfig, String> {
        let mut config = match self {
            EngineSource::Preset(name) => {
                EngineConfig::preset_at(name, rate).map_err(|e| e.to_string())?
            }
            EngineSource::Config(c) => {
                let mut c = c.clone();
                c.sample_rate = rate;
                c
            }
        };
        config.sample_rate = rate;
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }
}

/// The whole engine as a subject, with the mixer automated from another
/// thread (faders, pans, mutes, master).
pub fn engine_subject(name: String, source: EngineSource) -> Subject<Engine> {
    Subject::new(name, move |spec: &StreamSpec| {
        let mut config = source.at_rate(spec.sample_rate() as u32).ok()?;
        if spec.channels() != config.input_channel_count() {
            return None;
        }
        config.block_frames = spec.max_block_frames();
        Engine::new(config).ok()
    })
    .automate(|engine| {
        let control = engine.control();
        let tracks = engine.config().tracks.len();
        Box::new(move |rng: &mut fastrand::Rng| {
            let mixer = control.mixer();
            let t = rng.usize(..tracks);
            mixer.set_gain_db(t, -24.0 + 30.0 * rng.f32()).ok();
            mixer.set_pan(t, rng.f32() * 2.0 - 1.0).ok();
            mixer.set_mute(t, rng.u8(..10) == 0).ok();
            mixer.set_master_db(-6.0 * rng.f32()).ok();
        }) as Automation
    })
}

/// Runs the suite over the engine and, with `nodes`, over each node of the
/// config at 48 kHz. Returns one report per subject, and notes on rates
/// the config could not be built at.
pub fn validate(
    label: &str,
    source: &EngineSource,
    suite: &Suite,
    nodes: bool,
) -> (Vec<Report>, Vec<String>) {
    let mut notes = Vec::new();
    for &rate in &[8_000u32, 44_100, 48_000, 96_000, 384_000] {
        if let Err(e) = source.at_rate(rate) {
            notes.push(format!(
                "{label} does not build at {rate} Hz, so that rate is skipped: {e}"
            ));
        }
    }
    let mut reports =
        vec![suite.check(&engine_subject(format!("Engine ({label})"), source.clone()))];
    if nodes {
        match source.at_rate(48_000) {
            Ok(_) => reports.extend(node_reports(source, suite)),
            Err(e) => notes.push(format!("nodes not checked: {e}")),
        }
    }
    (reports, notes)
}

/// One report per node of the config: each node is built from the config
/// voiced at the rate the suite tries (a preset's bands move with it).
fn node_reports(source: &EngineSource, suite: &Suite) -> Vec<Report> {
    let Ok(reference) = source.at_rate(48_000) else {
        return Vec::new();
    };
    let at =
        |spec: &StreamSpec, source: &EngineSource| source.at_rate(spec.sample_rate() as u32).ok();
    let mut out = Vec::new();
    for (i, track) in reference.tracks.iter().enumerate() {
        if !track.eq.is_empty() {
            let src = source.clone();
            let name = format!("track {i} (\"{}\") EQ", track.name);
            out.push(suite.check_in_place(&Subject::in_place(name, move |spec| {
                let bands: Vec<_> = at(spec, &src)?.tracks[i]
                    .eq
                    .iter()
                    .map(|b| b.settings())
                    .collect();
                Equalizer::new(&bands).ok()
            })));
        }
        if let Some(c) = &track.compressor {
            let settings = *c;
            let name = format!("track {i} (\"{}\") compressor", track.name);
            out.push(suite.check_in_place(&Subject::in_place(name, move |_| {
                Compressor::new(settings).ok()
            })));
        }
    }
    let tracks = reference.tracks.len();
    out.push(suite.check(&Subject::new(
        format!("mixer ({tracks} mono strips)"),
        move |spec: &StreamSpec| {
            (spec.channels() == tracks)
                .then(|| Mixer::new(&MixerConfig::uniform(tracks, StripLayout::Mono)).ok())
                .flatten()
        },
    )));
    if !reference.master.eq.is_empty() {
        let src = source.clone();
        out.push(
            suite.check_in_place(&Subject::in_place("master EQ", move |spec| {
                let bands: Vec<_> = at(spec, &src)?
                    .master
                    .eq
                    .iter()
                    .map(|b| b.settings())
                    .collect();
                Equalizer::new(&bands).ok()
            })),
        );
    }
    let limiter = reference.master.limiter.settings();
    out.push(
        suite.check_in_place(&Subject::in_place("master limiter", move |_| {
            Limiter::new(limiter).ok()
        })),
    );
    if reference.analysis.chords {
        out.push(
            suite.check_in_place(&Subject::in_place("chord detector", |_| {
                Some(ChordDetector::new(DetectorConfig::default()))
            })),
        );
    }
    if reference.analysis.onsets {
        out.push(
            suite.check_in_place(&Subject::in_place("onset detector", |_| {
                Some(OnsetDetector::new(OnsetConfig::default()))
            })),
        );
    }
    if let Some(input_rate) = reference.input_rate.filter(|&r| r != reference.sample_rate) {
        let to = reference.sample_rate;
        out.push(suite.check(&Subject::new(
            format!("input resampler ({input_rate} -> {to} Hz)"),
            move |spec: &StreamSpec| {
                Resampler::new(ResamplerConfig::new(
                    spec.sample_rate() as u32,
                    to,
                    spec.channels(),
                    spec.max_block_frames(),
                ))
                .ok()
            },
        )));
    }
    out
}

/// A suite at `level` (1 to 10), with `seed` if given.
pub fn suite(level: u8, seed: Option<u64>) -> Suite {
    let suite = Suite::new(Strictness::new(level));
    match seed {
        Some(s) => suite.with_seed(s),
        None => suite,
    }
}
