//! Standard MIDI Files: nothing read is lost on writing, and the files
//! real programs write (running status after meta events, a wrong track
//! count, bytes after the end) are read as mido reads them.

use kmidi_groove::event::EventKind;
use kmidi_groove::smf::{FileEventKind, MetaEvent, MidiFile, SmfFormat, Timing};

/// A file from raw track bodies (each a list of bytes after MTrk's length).
fn file_bytes(
    format: u16,
    declared: u16,
    division: [u8; 2],
    tracks: &[&[u8]],
    tail: &[u8],
) -> Vec<u8> {
    let mut b = b"MThd\0\0\0\x06".to_vec();
    b.extend_from_slice(&format.to_be_bytes());
    b.extend_from_slice(&declared.to_be_bytes());
    b.extend_from_slice(&division);
    for t in tracks {
        b.extend_from_slice(b"MTrk");
        b.extend_from_slice(&(t.len() as u32).to_be_bytes());
        b.extend_from_slice(t);
    }
    b.extend_from_slice(tail);
    b
}

const EOT: [u8; 4] = [0x00, 0xFF, 0x2F, 0x00];

#[test]
fn every_kind_of_event_survives_a_round_trip() {
    let conductor: Vec<u8> = [
        &[0x00, 0xFF, 0x03, 5][..],
        b"Title",
        &[0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20], // tempo 500 000
        &[0x00, 0xFF, 0x58, 0x04, 0x06, 0x03, 0x24, 0x08], // 6/8, 36 clocks
        &[0x00, 0xFF, 0x59, 0x02, 0xFD, 0x01],       // 3 flats, minor
        &[0x00, 0xFF, 0x06, 6],
        b"Verse1", // marker
        &[0x00, 0xFF, 0x07, 3],
        b"cue",                                      // cue point
        &[0x00, 0xFF, 0x7F, 0x03, 0x00, 0x00, 0x41], // sequencer-specific
        &[0x00, 0xFF, 0x60, 0x02, 0xAB, 0xCD],       // a type no one defined
        &EOT,
    ]
    .concat();
    let music: Vec<u8> = [
        &[0x00, 0x90, 60, 100][..],
        &[0x10, 0xA0, 60, 77],                             // poly aftertouch
        &[0x10, 0xD0, 90],                                 // channel aftertouch
        &[0x00, 0xF0, 0x05, 0x7E, 0x7F, 0x09, 0x01, 0xF7], // sysex
        &[0x00, 0xF0, 0x03, 0x43, 0x12, 0x00],             // sysex in two packets...
        &[0x10, 0xF7, 0x02, 0x43, 0xF7],                   // ...the escape continues it
        &[0x00, 0xFF, 0x05, 4],
        b"la-a",                   // lyric
        &[0x00, 0xE0, 0x00, 0x40], // pitch bend centre
        &[0x20, 0x80, 60, 64],
        &[0x00, 0x90, 62, 90, 0x00, 62, 0], // zero-length note, running status
        &EOT,
    ]
    .concat();
    let bytes = file_bytes(1, 2, [0x01, 0xE0], &[&conductor, &music], &[]);
    let file = MidiFile::parse(&bytes).unwrap();
    assert_eq!(file.tracks.len(), 2);
    assert_eq!(file.tracks[0].name().as_deref(), Some("Title"));
    let metas: Vec<u8> = file.tracks[0].metas().map(|(_, m)| m.kind).collect();
    assert_eq!(
        metas,
        [0x03, 0x51, 0x58, 0x59, 0x06, 0x07, 0x7F, 0x60, 0x2F]
    );
    let ts = file.tracks[0]
        .metas()
        .find(|(_, m)| m.kind == MetaEvent::TIME_SIGNATURE)
        .unwrap()
        .1;
    assert_eq!(
        ts.as_time_signature(),
        Some([6, 3, 36, 8]),
        "clock fields kept"
    );
    let kinds: Vec<&FileEventKind> = file.tracks[1].events.iter().map(|e| &e.kind).collect();
    assert!(
        kinds.contains(&&FileEventKind::Channel(EventKind::PolyAftertouch {
            channel: 0,
            key: 60,
            pressure: 77
        }))
    );
    assert!(
        kinds.contains(&&FileEventKind::Channel(EventKind::ChannelAftertouch {
            channel: 0,
            pressure: 90
        }))
    );
    assert!(kinds.contains(&&FileEventKind::Escape(vec![0x43, 0xF7])));
    // Written back, read again: identical; written again: the same bytes.
    let once = file.to_bytes().unwrap();
    let again = MidiFile::parse(&once).unwrap();
    assert_eq!(again, file);
    assert_eq!(again.to_bytes().unwrap(), once);
}

#[test]
fn running_status_survives_meta_and_sysex_events() {
    // A note-on, a meta event, then data bytes under the note-on's status:
    // the standard says the meta cancels it; real files and mido disagree.
    let track: Vec<u8> = [
        &[0x00, 0x91, 60, 100][..],
        &[0x00, 0xFF, 0x01, 0x02, b'h', b'i'],
        &[0x60, 60, 0],
        &[0x00, 0xF0, 0x01, 0xF7],
        &[0x00, 64, 100, 0x60, 64, 0],
        &EOT,
    ]
    .concat();
    let file = MidiFile::parse(&file_bytes(0, 1, [0, 96], &[&track], &[])).unwrap();
    let notes: Vec<EventKind> = file.merged_events().into_iter().map(|e| e.kind).collect();
    assert_eq!(notes.len(), 4);
    assert!(notes.iter().all(|k| k.channel() == 1));
    assert_eq!(
        notes[1],
        EventKind::NoteOn {
            channel: 1,
            key: 60,
            velocity: 0
        }
    );
    // And a data byte with no status before it at all is an error.
    let err = MidiFile::parse(&file_bytes(0, 1, [0, 96], &[&[0x00, 60, 100]], &[])).unwrap_err();
    assert!(err.to_string().contains("no status before it"), "{err}");
}

#[test]
fn a_wrong_track_count_and_bytes_after_the_end_are_kept() {
    let t: &[u8] = &[
        0x00, 0x90, 60, 100, 0x10, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0x00,
    ];
    let bytes = file_bytes(1, 5, [0x01, 0xE0], &[t, t], &[0, 0, 0x1A]);
    let file = MidiFile::parse(&bytes).unwrap();
    assert_eq!(file.tracks.len(), 2);
    assert_eq!(file.declared_tracks, Some(5));
    assert_eq!(file.trailing, [0, 0, 0x1A]);
    let w = file.warnings();
    assert!(
        w.iter()
            .any(|w| w.contains("says 5 tracks, the file holds 2")),
        "{w:?}"
    );
    assert!(
        w.iter().any(|w| w.contains("3 bytes after the last chunk")),
        "{w:?}"
    );
    assert_eq!(file.to_bytes().unwrap(), bytes, "written back as found");
}

#[test]
fn a_track_that_does_not_end_with_end_of_track_gets_one_and_loses_nothing() {
    // Found by the smf fuzzer: a track chunk that ends before its End of
    // Track. Reading keeps what is there; writing adds the End of Track
    // the standard requires, at the last event's tick, and nothing else.
    let cut: &[u8] = &[0x00, 0x90, 60, 100, 0x10, 0x80, 60, 0];
    let bytes = file_bytes(1, 1, [0x01, 0xE0], &[cut], &[]);
    let file = MidiFile::parse(&bytes).unwrap();
    assert_eq!(file.tracks[0].events.len(), 2);
    assert!(!file.tracks[0].ends_with_end_of_track());
    assert!(
        file.warnings()
            .iter()
            .any(|w| w.contains("track 0 has no End of Track")),
        "{:?}",
        file.warnings()
    );
    let written = file.to_bytes().unwrap();
    let again = MidiFile::parse(&written).unwrap();
    assert_eq!(again.tracks[0].events[..2], file.tracks[0].events[..]);
    assert_eq!(again.tracks[0].events.len(), 3);
    assert!(again.tracks[0].ends_with_end_of_track());
    assert_eq!(again.tracks[0].events[2].tick, 0x10);
    assert!(again.warnings().is_empty(), "{:?}", again.warnings());
    assert_eq!(
        again.to_bytes().unwrap(),
        written,
        "byte-stable from then on"
    );

    // Also found by the fuzzer: an End of Track in the middle, with events
    // after it. They are kept, and the track still ends with one.
    let middle: &[u8] = &[
        0x00, 0xFF, 0x2F, 0x00, 0x00, 0x90, 60, 100, 0x10, 0x80, 60, 0,
    ];
    let file = MidiFile::parse(&file_bytes(1, 1, [0x01, 0xE0], &[middle], &[])).unwrap();
    assert_eq!(file.tracks[0].events.len(), 3);
    let again = MidiFile::parse(&file.to_bytes().unwrap()).unwrap();
    assert_eq!(again.tracks[0].events[..3], file.tracks[0].events[..]);
    assert!(again.tracks[0].ends_with_end_of_track());
    assert_eq!(again.tracks[0].events.len(), 4);
}

#[test]
fn a_format_0_file_with_two_tracks_is_written_as_it_was_read() {
    // Found by the fuzzer: such a file read, then refused on writing.
    let t: &[u8] = &[
        0x00, 0x90, 60, 100, 0x10, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0x00,
    ];
    let bytes = file_bytes(0, 2, [0x01, 0xE0], &[t, t], &[]);
    let file = MidiFile::parse(&bytes).unwrap();
    assert_eq!(file.format, SmfFormat::SingleTrack);
    assert_eq!(file.tracks.len(), 2);
    assert_eq!(file.merged_events().len(), 4, "both tracks play");
    assert!(
        file.warnings()
            .iter()
            .any(|w| w.contains("format 0 holds one track, this file holds 2")),
        "{:?}",
        file.warnings()
    );
    assert_eq!(file.to_bytes().unwrap(), bytes);
}

#[test]
fn unusable_tempo_and_signature_values_fall_back_with_a_warning() {
    let track: Vec<u8> = [
        &[0x00, 0xFF, 0x51, 0x03, 0x00, 0x00, 0x00][..], // tempo 0
        &[0x00, 0xFF, 0x58, 0x04, 0x00, 0x02, 24, 8],    // numerator 0
        &[0x00, 0xFF, 0x58, 0x04, 0x04, 0x07, 24, 8],    // 4/128
        &[0x00, 0xFF, 0x51, 0x02, 0x07, 0xA1],           // tempo of 2 bytes
        &[0x00, 0x90, 60, 100, 0x60, 0x80, 60, 0],
        &EOT,
    ]
    .concat();
    let file = MidiFile::parse(&file_bytes(0, 1, [0, 96], &[&track], &[])).unwrap();
    let map = file.tempo_map().unwrap();
    assert_eq!(map.tempo_at(0).us_per_quarter, 500_000, "the default stays");
    assert_eq!(map.signature_at(0).numerator, 4);
    assert_eq!(file.warnings().len(), 4, "{:?}", file.warnings());
    // The events themselves are kept, to be written back as they were.
    assert_eq!(MidiFile::parse(&file.to_bytes().unwrap()).unwrap(), file);
}

#[test]
fn smpte_timing_and_format_2_are_read() {
    let t: &[u8] = &[
        0x00, 0x90, 60, 100, 0x81, 0x48, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0x00,
    ];
    // 29.97 drop-frame, 80 ticks a frame: 2 400 ticks are 1.001 s.
    let file = MidiFile::parse(&file_bytes(2, 2, [0xE3, 80], &[t, t], &[])).unwrap();
    assert_eq!(file.format, SmfFormat::Sequential);
    assert_eq!(
        file.timing,
        Timing::Timecode {
            fps: 29,
            subframes: 80
        }
    );
    let map = file.tempo_map().unwrap();
    assert_eq!(map.tick_to_frame(2_400, 48_000), 48_048);
    assert_eq!(
        file.merged_events().len(),
        2,
        "format 2 plays its first pattern"
    );
    for bad in [[0x80u8, 1], [0xE8, 0], [0xE1, 10], [0, 0]] {
        let err = MidiFile::parse(&file_bytes(0, 1, bad, &[t], &[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("allowed"), "{bad:02X?}: {err}");
    }
}
