//! The engine presets through the conformance suite, with the subjects
//! `kmidi-perf validate` uses (one place: `kmidi_perf::validate`), and the
//! command's exit codes.

use std::process::Command;

use kmidi_conformance::{Report, Suite};
use kmidi_perf::validate::{EngineSource, engine_subject, validate};

fn assert_conforms(report: &Report) {
    println!("{report}");
    assert!(report.passed(), "{report}");
}

#[test]
fn every_preset_conforms() {
    for preset in ["minimal", "band", "large"] {
        let subject = engine_subject(
            format!("Engine ({preset})"),
            EngineSource::Preset(preset.into()),
        );
        assert_conforms(&Suite::from_env().check(&subject));
    }
}

#[test]
fn an_engine_with_input_at_another_rate_conforms() {
    let mut config = kmidi_engine::EngineConfig::preset("band").unwrap();
    config.input_rate = Some(44_100);
    let (reports, notes) = validate(
        "band, input at 44.1 kHz",
        &EngineSource::Config(config),
        &Suite::from_env(),
        false,
    );
    println!("{notes:?}");
    for r in &reports {
        assert_conforms(r);
    }
}

#[test]
fn the_minimal_presets_nodes_conform() {
    let (reports, _) = validate(
        "minimal",
        &EngineSource::Preset("minimal".into()),
        &Suite::from_env(),
        true,
    );
    assert!(
        reports.len() >= 7,
        "engine, EQ, compressor, mixer, master EQ, limiter, detectors"
    );
    for r in &reports {
        assert_conforms(r);
    }
}

#[test]
fn validate_refuses_bad_options_with_exit_2() {
    let bin = env!("CARGO_BIN_EXE_kmidi-perf");
    for args in [
        vec!["validate", "--strictness", "11"],
        vec!["validate", "--check", "nope"],
        vec!["validate", "--preset", "orchestra"],
        vec!["validate", "--seed", "banana"],
    ] {
        let out = Command::new(bin).args(&args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn validate_passes_a_preset_and_names_its_checks() {
    let bin = env!("CARGO_BIN_EXE_kmidi-perf");
    let out = Command::new(bin)
        .args([
            "validate",
            "--preset",
            "minimal",
            "--strictness",
            "2",
            "--check",
            "poison",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("PASS  poison"), "{text}");
    assert!(text.contains("validate: 1 processors, 0 failing"), "{text}");
}
