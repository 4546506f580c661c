//! The defects the corpus run of issue 15 found in kmidi-groove's timing,
//! one test each. The first two use only API that existed before the fixes,
//! so they show the old code failing (docs/ARCHITECTURE.md).

use kmidi_groove::event::{EventKind, TickEvent, notes_from_events, sort_events};
use kmidi_groove::scheduler::BlockScheduler;
use kmidi_groove::tempo::TempoMap;

use crate::on;

fn off(tick: u64, key: u8) -> TickEvent {
    TickEvent {
        tick,
        kind: EventKind::NoteOff {
            channel: 0,
            key,
            velocity: 0,
        },
    }
}

#[test]
fn a_zero_length_note_is_not_left_hanging() {
    // A note-on and its note-off at one tick, as 26 real files have them.
    let mut events = vec![
        on(0, 60),
        off(480, 60),
        on(960, 62),
        off(960, 62),
        on(1440, 64),
        off(1920, 64),
    ];
    sort_events(&mut events);
    assert_eq!(events[2], on(960, 62), "the order at tick 960 is kept");
    assert_eq!(events[3], off(960, 62));
    let notes = notes_from_events(&events);
    assert_eq!(notes.len(), 3);
    assert_eq!(
        (notes[1].start, notes[1].duration),
        (960, 0),
        "a zero-length note"
    );
    // What the audio thread plays: every note released.
    let map = TempoMap::new(480).unwrap();
    let mut s = BlockScheduler::new(&events, &map, 48_000).unwrap();
    let mut sounding = std::collections::BTreeSet::new();
    for _ in 0..200 {
        s.process_block(512, |e| match e.kind {
            EventKind::NoteOn { key, velocity, .. } if velocity > 0 => {
                sounding.insert(key);
            }
            EventKind::NoteOn { key, .. } | EventKind::NoteOff { key, .. } => {
                sounding.remove(&key);
            }
            _ => {}
        });
    }
    assert!(sounding.is_empty(), "stuck notes: {sounding:?}");
}

#[test]
fn bar_and_beat_never_divide_by_zero() {
    // PPQ 1 in 6/8 and PPQ 8 in 4/64: a beat is shorter than a tick.
    let mut map = TempoMap::new(1).unwrap();
    map.set_signature(0, 6, 8).unwrap();
    let bb = map.bar_beat(7);
    assert_eq!((bb.bar, bb.beat, bb.tick), (2, 2, 0));
    assert!(map.beat_ticks_at(0) >= 1);
    let mut map = TempoMap::new(8).unwrap();
    map.set_signature(0, 4, 64).unwrap();
    map.set_signature(40, 3, 4).unwrap();
    // A bar of 4/64 is a sixteenth: 2 ticks at PPQ 8, half a tick a beat.
    let bb = map.bar_beat(13);
    assert_eq!((bb.bar, bb.beat, bb.tick), (6, 2, 0));
    // 20 bars of 4/64 to tick 40, then bars of 3/4 (24 ticks).
    let bb = map.bar_beat(40 + 24 + 9);
    assert_eq!((bb.bar, bb.beat, bb.tick), (21, 1, 1));
    assert!(map.beat_ticks_at(0) >= 1);
}
