//! Proves that the block scheduler never allocates on the audio thread, at
//! any block size, across tempo changes, seeks and loop wraps.

use kmidi_dsp::alloc_probe::{CountingAllocator, count_allocations};
use kmidi_groove::event::{EventKind, TickEvent};
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
}
