//! Arbitrary bytes as a Standard MIDI File. Reading returns a file or an
//! error, never panics; a file that reads writes back to bytes that read
//! as the same file, and writing that again gives the same bytes; its tempo
//! map, merged events, notes and scheduler build without panicking.
#![no_main]

use kmidi_groove::event::notes_from_events;
use kmidi_groove::scheduler::BlockScheduler;
use kmidi_groove::smf::{FileEvent, FileEventKind, MetaEvent, MidiFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = MidiFile::parse(data) else {
        return;
    };
    let _ = file.warnings();
    let merged = file.merged_events();
    let _ = notes_from_events(&merged);
    if let Ok(map) = file.tempo_map() {
        for e in merged.iter().take(64) {
            let _ = map.bar_beat(e.tick);
            let _ = map.beat_ticks_at(e.tick);
            let _ = map.tick_to_frame(e.tick, 48_000);
        }
        if let Ok(mut s) = BlockScheduler::new(&merged, &map, 48_000) {
            for _ in 0..4 {
                s.process_block(4096, |_| {});
            }
        }
    }
    // Events out of order or out of range cannot come from a parse, so a
    // parsed file always writes.
    let once = file.to_bytes().expect("a file that reads writes");
    let again = MidiFile::parse(&once).expect("what was written reads");
    // Writing adds the End of Track a track cut short lacks, and nothing
    // else.
    let mut expected = file.clone();
    for track in &mut expected.tracks {
        if !track.ends_with_end_of_track() {
            let tick = track.end_tick();
            track.events.push(FileEvent {
                tick,
                kind: FileEventKind::Meta(MetaEvent {
                    kind: MetaEvent::END_OF_TRACK,
                    data: Vec::new(),
                }),
            });
        }
    }
    assert_eq!(again, expected, "lossless");
    assert_eq!(again.to_bytes().expect("writes again"), once, "byte-stable");
});
