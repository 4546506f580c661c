//! Arbitrary bytes as a WAV file for the engine's reader (hound underneath):
//! opening and reading return audio or an error, never panic, and every
//! sample read is finite.
#![no_main]

use std::io::Write;

use kmidi_dsp::AudioBuffer;
use kmidi_engine::render::WavSource;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("kmidi-fuzz-wav-{}.wav", std::process::id()));
    let Ok(mut f) = std::fs::File::create(&path) else {
        return;
    };
    if f.write_all(data).is_err() {
        return;
    }
    drop(f);
    if let Ok(mut source) = WavSource::open(&path) {
        let info = source.info();
        let mut block = AudioBuffer::new(info.channels.clamp(1, 64), 256);
        for _ in 0..64 {
            match source.read_block(&mut block) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    for ch in 0..block.channels() {
                        assert!(block.channel(ch).iter().all(|s| s.is_finite()));
                    }
                }
            }
        }
    }
    let _ = std::fs::remove_file(&path);
});
