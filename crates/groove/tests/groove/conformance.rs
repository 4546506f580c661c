//! The onset detector through the conformance suite (kmidi-conformance):
//! its audio passes untouched, so the suite also compares what it
//! reports (the onset envelope) across partitions, resets and re-prepares.

use kmidi_conformance::{Subject, Suite};
use kmidi_groove::onset::{OnsetConfig, OnsetDetector};

#[test]
fn onset_detector() {
    let subject = Subject::in_place("OnsetDetector", |_| {
        Some(OnsetDetector::new(OnsetConfig::default()))
    })
    .observe(|d| {
        let mut envelope = Vec::new();
        let hops = d.0.envelope_into(&mut envelope);
        let mut out = vec![hops as f64];
        out.extend(envelope.iter().map(|&v| v as f64));
        out
    });
    let report = Suite::from_env().check_in_place(&subject);
    println!("{report}");
    assert!(report.passed(), "{report}");
}
