//! Proves that the block scheduler and the onset detector never allocate
//! on the audio thread, at any block size, across tempo changes, seeks,
//! loop wraps and onsets.

use kmidi_dsp::alloc_probe::{CountingAllocator, count_allocations};
use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};
use kmidi_groove::event::{EventKind, TickEvent};
use kmidi_groove::onset::{OnsetConfig, OnsetDetector};
use kmidi_groove::scheduler::BlockScheduler;
use kmidi_groove::tempo::TempoMap;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[test]
fn scheduler_never_allocates() {
    let mut map = TempoMap::new(960).unwrap();
    map.set_tempo_bpm(960 * 16, 140.0).unwrap();
    let events: Vec<TickEvent> = (0..10_000u64)
        .map(|i| TickEvent {
            tick: i * 60,
            kind: EventKind::NoteOn {
                channel: 9,
                key: 36 + (i % 12) as u8,
                velocity: 100,
            },
        })
        .collect();
    let mut s = BlockScheduler::new(&events, &map, 48_000).unwrap();
    let mut seen = 0u64;
    for (i, &block) in [512u32, 1, 64, 333, 2048, 0, 7]
        .iter()
        .cycle()
        .take(3000)
        .enumerate()
    {
        if i == 1000 {
            s.set_loop(Some((100_000, 150_000))).unwrap();
        }
        let (_, stats) = count_allocations(|| {
            if i % 500 == 499 {
                s.seek(i as u64 * 97);
            }
            s.process_block(block, |e| {
                seen += 1;
                std::hint::black_box(e);
            })
        });
        assert_eq!(stats.allocations, 0, "block {block}, call {i}");
    }
    assert!(seen > 500, "the test must emit events ({seen})");

    for sr in [44_100.0, 48_000.0, 96_000.0] {
        let mut det = OnsetDetector::new(OnsetConfig::default());
        det.prepare(&StreamSpec::new(sr, 2048, 2).unwrap()).unwrap();
        let mut buf = AudioBuffer::new(2, 2048);
        let mut t = 0u64;
        let mut onsets = 0;
        for &block in [512usize, 1, 64, 333, 2048, 0, 7].iter().cycle().take(900) {
            buf.set_frames(block).unwrap();
            for ch in 0..2 {
                for (i, s) in buf.channel_mut(ch).iter_mut().enumerate() {
                    let n = t + i as u64;
                    // A click train: a decaying burst every 0.25 s.
                    let since = n % (sr as u64 / 4);
                    *s = if since < 400 {
                        (1.0 - since as f32 / 400.0) * if n.is_multiple_of(2) { 0.8 } else { -0.8 }
                    } else {
                        0.0
                    };
                }
            }
            t += block as u64;
            let (_, stats) = count_allocations(|| det.process(&mut buf));
            assert_eq!(
                stats.allocations, 0,
                "onset detector allocated at {sr} Hz, block {block}"
            );
            onsets += det.onsets().len();
        }
        assert!(
            onsets >= 10,
            "the test must produce onsets ({onsets} at {sr} Hz)"
        );
    }
}
