//! Proves that the streaming log-mel analysis, which runs per hop on the
//! audio thread, never allocates, at any block size.

use kmidi_dsp::alloc_probe::{CountingAllocator, count_allocations};
use kmidi_ml::features::{MelConfig, MelSpectrogram};
use kmidi_ml::worker::spawn;

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
            let (new, stats) = count_allocations(|| mel.push(chunk, |_| {}));
            assert_eq!(
                stats.allocations, 0,
                "push allocated at {sr} Hz, block {block}"
            );
            frames += new;
        }
        assert!(frames > 100, "{frames}");
    }
}

#[test]
fn the_audio_side_of_the_inference_worker_never_allocates() {
    let (worker, mut audio) = spawn::<[f32; 64], [f32; 8]>(32, 4, |x| {
        std::thread::sleep(std::time::Duration::from_micros(300));
        std::array::from_fn(|i| x[i] * 2.0)
    })
    .unwrap();
    let mut got = 0;
    for k in 0..500 {
        let req = [k as f32; 64];
        let (_, stats) = count_allocations(|| {
            audio.request(req);
            while let Some(r) = audio.poll() {
                got += 1;
                std::hint::black_box(r);
            }
        });
        assert_eq!(stats.allocations, 0, "audio side allocated at request {k}");
        if k % 50 == 0 {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
    assert!(got > 0);
    worker.stop();
}
