//! The chord detector through the conformance suite (kmidi-conformance):
//! its audio passes untouched, so the suite also compares what it
//! reports (label, key, tuning, frames seen) across partitions, resets
//! and re-prepares.

use kmidi_conformance::{Subject, Suite};
use kmidi_harmony::detect::{ChordDetector, DetectorConfig};

#[test]
fn chord_detector() {
    let subject = Subject::in_place("ChordDetector", |_| {
        Some(ChordDetector::new(DetectorConfig::default()))
    })
    .observe(|d| {
        let now = d.0.current();
        let label = now.label.map_or(-1.0, |l| {
            l.root.semitones() as f64 * 100.0 + l.kind as u8 as f64
        });
        let key = d.0.key_estimate().map_or(-1.0, |k| {
            k.key.tonic.pitch_class().semitones() as f64 + 12.0 * (k.key.mode as u8 as f64)
        });
        vec![
            label,
            now.since_frame as f64,
            key,
            d.0.tuning_a4_hz() as f64,
        ]
    });
    let report = Suite::from_env().check_in_place(&subject);
    println!("{report}");
    assert!(report.passed(), "{report}");
}
