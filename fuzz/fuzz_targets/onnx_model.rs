//! Arbitrary bytes as an ONNX model for kmidi-ml's session: opening reads
//! the model's contract or returns an error, never panics (ONNX Runtime is
//! loaded from ORT_DYLIB_PATH, which scripts/fuzz.sh sets). A model that
//! opens and declares only fixed shapes is run once.
#![no_main]

use kmidi_ml::session::{ModelSession, SessionConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut s) = ModelSession::open_any_bytes("fuzz", data, SessionConfig::default()) else {
        return;
    };
    let small = s
        .contract()
        .inputs
        .iter()
        .all(|i| i.shape.iter().all(|&d| (0..=4096).contains(&d)));
    if small {
        let _ = s.run();
    }
});
