//! Arbitrary text as an engine config (TOML): parsing and validation return
//! a config or an error naming the field, never panic; a config that
//! validates also builds an engine graph (without the models).
#![no_main]

use kmidi_engine::{Engine, EngineConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(mut config) = EngineConfig::from_toml_str(text) else {
        return;
    };
    if config.validate().is_err() {
        return;
    }
    config.ml.harmony = false;
    config.ml.dynamics = false;
    // A groove from a MIDI file would read the disk; keep to the pattern.
    config.groove.midi_file = None;
    // Big graphs are legal but slow: keep the fuzzer moving.
    if config.tracks.len() > 8 || config.block_frames > 2048 {
        return;
    }
    let _ = Engine::new(config);
});
