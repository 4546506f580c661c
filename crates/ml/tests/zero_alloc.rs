//! Proves that the streaming log-mel analysis, which runs per hop on the
//! audio thread, never allocates, at any block size.

use kmidi_dsp::alloc_probe::{CountingAllocator, count_allocations};
use kmidi_ml::features::{MelConfig, MelSpectrogram};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[test]
fn streaming_log_mel_never_allocates() {
    for sr in [44_100.0, 48_000.0, 96_000.0] {
        let mut mel = MelSpectrogram::new(MelConfig::librosa_default(sr)).unwrap();
        let signal: Vec<f32> = (0..4096).map(|i| ((i as f32) * 0.05).sin()).collect();
        let mut frames = 0;
        for &block in [512usize, 1, 64, 333, 2048, 0, 7].iter().cycle().take(400) {
            let chunk = &signal[..block];
            let (new, stats) = count_allocations(|| mel.push(chunk));
            assert_eq!(
                stats.allocations, 0,
                "push allocated at {sr} Hz, block {block}"
            );
            frames += new as usize;
        }
        assert!(frames > 100, "{frames}");
    }
}
