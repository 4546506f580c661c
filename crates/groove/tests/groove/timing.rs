//! Tempo map exactness, Standard MIDI File round trips and errors, the
//! block scheduler, and the groove tools.

use kmidi_groove::GrooveError;
use kmidi_groove::event::{
    EventKind, Note, TickEvent, events_from_notes, notes_from_events, sort_events,
};
use kmidi_groove::groove::{
    Division, Grid, GrooveTemplate, QuantizeSettings, humanize, quantize, swing,
};
use kmidi_groove::scheduler::BlockScheduler;
use kmidi_groove::smf::{FileEvent, FileEventKind, MidiFile, SmfFormat, Timing};
use kmidi_groove::tempo::TempoMap;
use proptest::prelude::*;

use crate::on;

#[test]
fn an_hour_has_no_drift_at_any_tempo() {
    for sr in [44_100u32, 48_000, 96_000] {
        for bpm in [60.0, 75.0, 100.0, 120.0, 125.0, 150.0, 160.0, 240.0] {
            let mut map = TempoMap::new(960).unwrap();
            map.set_tempo_bpm(0, bpm).unwrap();
            let us = map.tempos()[0].us_per_quarter as u128;
            // Whole quarters in an hour at this (integer µs) tempo.
            let quarters = 3_600_000_000u128 / us;
            let tick = (quarters * 960) as u64;
            let frame = map.tick_to_frame(tick, sr);
            let exact = (quarters * us * sr as u128 / 1_000_000) as u64;
            assert_eq!(frame, exact, "{bpm} BPM at {sr} Hz");
            assert_eq!(
                map.frame_to_tick(frame, sr),
                tick,
                "{bpm} BPM at {sr} Hz back to ticks"
            );
            assert!((map.tick_to_seconds(tick) - (quarters * us) as f64 / 1e6).abs() < 1e-9);
        }
    }
    // With tempo changes every bar for an hour: the sum of the parts is exact.
    let mut map = TempoMap::new(480).unwrap();
    let mut tick = 0u64;
    let mut expected_us = 0u128;
    let mut i = 0u32;
    while expected_us < 3_600_000_000 {
        let us = 400_000 + (i * 7919) % 300_000;
        map.set_tempo(tick, us).unwrap();
        expected_us += 4 * us as u128;
        tick += 4 * 480;
        i += 1;
    }
    assert_eq!(
        map.tick_to_frame(tick, 48_000),
        (expected_us * 48_000 / 1_000_000) as u64
    );
    assert_eq!(
        map.frame_to_tick(map.tick_to_frame(tick, 48_000), 48_000),
        tick
    );
}

proptest! {
    /// frame_to_tick inverts tick_to_frame wherever ticks land on distinct
    /// frames, across tempo changes.
    #[test]
    fn frame_and_tick_conversions_agree(
        tempos in proptest::collection::vec((1u64..20_000, 200_000u32..2_000_000), 0..6),
        ticks in proptest::collection::vec(0u64..200_000, 1..30),
    ) {
        let mut map = TempoMap::new(96).unwrap();
        let mut at = 0;
        for (gap, us) in tempos {
            at += gap;
            map.set_tempo(at, us).unwrap();
        }
        for t in ticks {
            let f = map.tick_to_frame(t, 48_000);
            let back = map.frame_to_tick(f, 48_000);
            prop_assert!(map.tick_to_frame(back, 48_000) == f);
            prop_assert!(back >= t);
            prop_assert!(map.tick_to_frame(back + 1, 48_000) > f);
            prop_assert!(map.seconds_to_tick(map.tick_to_seconds(t) + 1e-9) >= t);
        }
    }
}

#[test]
fn bars_and_beats_follow_signature_changes() {
    let mut map = TempoMap::new(480).unwrap();
    map.set_signature(4 * 480 * 2, 3, 4).unwrap(); // two bars of 4/4, then 3/4
    map.set_signature(4 * 480 * 2 + 3 * 480 * 2, 7, 8).unwrap(); // then 7/8
    let bb = map.bar_beat(4 * 480 * 2 + 3 * 480 + 480 + 5);
    assert_eq!((bb.bar, bb.beat, bb.tick), (3, 1, 5));
    let bb = map.bar_beat(4 * 480 * 2 + 3 * 480 * 2 + 240 * 8);
    assert_eq!((bb.bar, bb.beat), (5, 1));
    assert_eq!(map.beat_ticks_at(4 * 480 * 2 + 3 * 480 * 2), 240);
    assert!(
        map.set_signature(0, 4, 3)
            .unwrap_err()
            .to_string()
            .contains("1, 2, 4, 8, 16, 32 or 64")
    );
    assert!(TempoMap::new(0).is_err());
    assert!(
        map.set_tempo_bpm(0, f64::NAN)
            .unwrap_err()
            .to_string()
            .contains("4 to 1000 BPM")
    );
}

fn sample_file(format: SmfFormat) -> MidiFile {
    let mut map = TempoMap::new(480).unwrap();
    map.set_tempo_bpm(0, 96.0).unwrap();
    map.set_tempo_bpm(1920, 132.0).unwrap();
    map.set_signature(1920, 6, 8).unwrap();
    let mut file = MidiFile::new(format, &map);
    let mut drums: Vec<TickEvent> = (0..64)
        .flat_map(|i| {
            let t = i * 120;
            [
                on(t, 36 + (i % 3) as u8),
                TickEvent {
                    tick: t + 60,
                    kind: EventKind::NoteOff {
                        channel: 0,
                        key: 36 + (i % 3) as u8,
                        velocity: 0,
                    },
                },
            ]
        })
        .collect();
    drums.push(TickEvent {
        tick: 10,
        kind: EventKind::Control {
            channel: 0,
            controller: 7,
            value: 90,
        },
    });
    drums.push(TickEvent {
        tick: 20,
        kind: EventKind::PitchBend {
            channel: 0,
            value: -4096,
        },
    });
    drums.push(TickEvent {
        tick: 0,
        kind: EventKind::Program {
            channel: 0,
            program: 5,
        },
    });
    sort_events(&mut drums);
    file.add_track(Some("drums"), &drums);
    if format == SmfFormat::Parallel {
        let bass: Vec<TickEvent> = events_from_notes(&[
            Note {
                start: 0,
                duration: 900,
                channel: 1,
                key: 40,
                velocity: 80,
            },
            Note {
                start: 960,
                duration: 960,
                channel: 1,
                key: 43,
                velocity: 70,
            },
        ]);
        file.add_track(Some("bass"), &bass);
    }
    file
}

#[test]
fn smf_round_trips_format_0_and_1_with_running_status() {
    for format in [SmfFormat::SingleTrack, SmfFormat::Parallel] {
        let file = sample_file(format);
        let bytes = file.to_bytes().unwrap();
        let back = MidiFile::parse(&bytes).unwrap();
        assert_eq!(back, file, "{format:?}");
        assert_eq!(
            back.to_bytes().unwrap(),
            bytes,
            "{format:?}: writing is deterministic"
        );
        // Running status: 128 note messages on one channel take well under
        // 3 bytes + delta each; without it they would need 4.
        let note_bytes = bytes.len();
        assert!(
            note_bytes < 128 * 4 + 200,
            "{format:?}: {note_bytes} bytes, running status not used?"
        );
    }
    // A file built by hand with running status (the second note-on has no
    // status byte) parses.
    let mut raw = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60MTrk".to_vec();
    let track = [
        0x00, 0x90, 60, 100, 0x60, 64, 100, 0x60, 60, 0, 0x00, 64, 0, 0x00, 0xFF, 0x2F, 0x00,
    ];
    raw.extend_from_slice(&(track.len() as u32).to_be_bytes());
    raw.extend_from_slice(&track);
    let file = MidiFile::parse(&raw).unwrap();
    let notes = notes_from_events(&file.merged_events());
    assert_eq!(notes.len(), 2);
    assert_eq!((notes[1].start, notes[1].key), (0x60, 64));
}

#[test]
fn truncated_and_corrupt_files_are_clear_errors() {
    let bytes = sample_file(SmfFormat::Parallel).to_bytes().unwrap();
    for cut in [0, 5, 13, 20, bytes.len() / 2, bytes.len() - 1] {
        let err = MidiFile::parse(&bytes[..cut]).unwrap_err();
        assert!(
            matches!(err, GrooveError::Smf { .. }),
            "cut at {cut}: {err}"
        );
        assert!(
            err.to_string().starts_with("cannot read MIDI file: "),
            "{err}"
        );
        assert!(err.to_string().contains(&format!("{cut} bytes")), "{err}");
    }
    let mut bad = bytes.clone();
    bad[0] = b'X';
    assert!(MidiFile::parse(&bad).is_err());
    // Format 2 and SMPTE timing are read (the scheduler plays format 2's
    // first pattern; SMPTE becomes an exact metrical map).
    let mut f2 = bytes.clone();
    f2[9] = 2;
    let file = MidiFile::parse(&f2).unwrap();
    assert_eq!(file.format, SmfFormat::Sequential);
    assert_eq!(
        file.merged_events(),
        file.tracks[0].channel_events().collect::<Vec<_>>()
    );
    let mut smpte = bytes.clone();
    smpte[12] = 0xE7; // -25 fps
    smpte[13] = 40;
    let file = MidiFile::parse(&smpte).unwrap();
    assert_eq!(
        file.timing,
        Timing::Timecode {
            fps: 25,
            subframes: 40
        }
    );
    let map = file.tempo_map().unwrap();
    assert_eq!(
        map.tick_to_frame(1000, 48_000),
        48_000,
        "1000 ticks = 1 s at 25 × 40"
    );
    // A frame-rate byte of 0x80 (-128 fps) is an error, not a panic.
    smpte[12] = 0x80;
    let err = MidiFile::parse(&smpte).unwrap_err().to_string();
    assert!(err.contains("SMPTE") && err.contains("0x80"), "{err}");
    assert!(
        MidiFile::load("/nonexistent/dir/x.mid")
            .unwrap_err()
            .to_string()
            .contains("/nonexistent/dir/x.mid")
    );
}

#[test]
fn saving_is_atomic_and_loads_back() {
    let dir = std::env::temp_dir().join(format!("kmidi-groove-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("song.mid");
    let file = sample_file(SmfFormat::Parallel);
    file.save(&path).unwrap();
    assert_eq!(MidiFile::load(&path).unwrap(), file);
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name() != "song.mid")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // An invalid event fails before anything is written: the old file stays.
    let mut broken = file.clone();
    broken.tracks[1].events.push(FileEvent {
        tick: 99_999,
        kind: FileEventKind::Channel(EventKind::NoteOn {
            channel: 16,
            key: 1,
            velocity: 1,
        }),
    });
    let err = broken.save(&path).unwrap_err().to_string();
    assert!(
        err.contains("MIDI channel") && err.contains("0 to 15"),
        "{err}"
    );
    assert_eq!(MidiFile::load(&path).unwrap(), file);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn scheduler_yields_each_event_once_with_its_offset() {
    let mut map = TempoMap::new(480).unwrap();
    map.set_tempo_bpm(480 * 8, 90.0).unwrap(); // a tempo change after 2 bars
    let events: Vec<TickEvent> = (0..200).map(|i| on(i * 97, (i % 100) as u8)).collect();
    let mut s = BlockScheduler::new(&events, &map, 48_000).unwrap();
    let expected: Vec<u64> = events
        .iter()
        .map(|e| map.tick_to_frame(e.tick, 48_000))
        .collect();
    for block in [1u32, 7, 64, 333, 512, 4096] {
        s.seek(0);
        let mut got = Vec::new();
        let mut start = 0u64;
        while start <= *expected.last().unwrap() {
            s.process_block(block, |e| {
                assert!(e.offset < block);
                got.push(start + e.offset as u64);
            });
            start += block as u64;
        }
        assert_eq!(got, expected, "block {block}");
    }
    // Seeking lands mid-stream.
    s.seek(expected[50]);
    let mut first = None;
    s.process_block(1, |e| first = Some(e.frame));
    assert_eq!(first, Some(expected[50]));
    // Unsorted input is refused with where it broke.
    let err = BlockScheduler::new(&[on(10, 1), on(5, 2)], &map, 48_000)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("event 1 at tick 5"), "{err}");
}

#[test]
fn scheduler_loops_mid_block() {
    let map = TempoMap::new(480).unwrap(); // 24 000 frames per quarter at 48 kHz
    let events = [on(0, 1), on(240, 2), on(480, 3), on(960, 4)];
    let mut s = BlockScheduler::new(&events, &map, 48_000).unwrap();
    s.set_loop(Some((0, 24_000))).unwrap(); // one beat: events 1 and 2
    let mut got = Vec::new();
    let mut start = 0u64;
    for _ in 0..(3 * 24_000 / 1000) {
        s.process_block(1000, |e| got.push((start + e.offset as u64, e.kind)));
        start += 1000;
    }
    let keys: Vec<u8> = got
        .iter()
        .map(|(_, k)| match k {
            EventKind::NoteOn { key, .. } => *key,
            _ => 0,
        })
        .collect();
    assert_eq!(keys, [1, 2, 1, 2, 1, 2]);
    let times: Vec<u64> = got.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, [0, 12_000, 24_000, 36_000, 48_000, 60_000]);
    assert!(s.set_loop(Some((10, 10))).is_err());
}

fn pattern() -> Vec<Note> {
    (0..64)
        .map(|i| Note {
            start: i * 120,
            duration: 60,
            channel: 9,
            key: [36, 42, 38, 42][(i % 4) as usize],
            velocity: 100,
        })
        .collect()
}

/// One short note at `start`.
fn note(start: u64) -> Note {
    Note {
        start,
        duration: 10,
        channel: 0,
        key: 1,
        velocity: 1,
    }
}

/// Where `quantize` moves one note at `start`.
fn quantized_start(start: u64, grid: Grid, settings: QuantizeSettings) -> u64 {
    let mut n = [note(start)];
    quantize(&mut n, grid, settings).unwrap();
    n[0].start
}

#[test]
fn quantize_at_full_strength_lands_on_the_grid() {
    let grid = Grid::new(480, Division::Sixteenth, false).unwrap();
    let mut notes = pattern();
    humanize(&mut notes, 25.0, 10.0, 7).unwrap();
    assert!(notes.iter().any(|n| n.start % 120 != 0));
    quantize(&mut notes, grid, QuantizeSettings::default()).unwrap();
    assert!(
        notes.iter().all(|n| n.start % 120 == 0),
        "{:?}",
        notes.iter().map(|n| n.start).collect::<Vec<_>>()
    );
    // Triplets: 1/8 triplet at 480 PPQ is 160 ticks.
    assert_eq!(Grid::new(480, Division::Eighth, true).unwrap().step, 160);
    assert_eq!(
        Grid::new(480, Division::SixtyFourth, false).unwrap().step,
        30
    );
    assert!(Grid::new(100, Division::SixtyFourth, true).is_err());
    // Half strength goes half way; a narrow window leaves far notes alone.
    assert_eq!(
        quantized_start(
            100,
            grid,
            QuantizeSettings {
                strength: 50.0,
                ..Default::default()
            }
        ),
        110
    );
    assert_eq!(
        quantized_start(
            60,
            grid,
            QuantizeSettings {
                window: 50.0,
                ..Default::default()
            }
        ),
        60
    );
    // Quantize with swing puts off-beats on the swung line.
    assert_eq!(
        quantized_start(
            125,
            grid,
            QuantizeSettings {
                swing: 66.0,
                ..Default::default()
            }
        ),
        120 + 38
    );
    let err = quantize(
        &mut [note(125)],
        grid,
        QuantizeSettings {
            strength: 120.0,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("0 to 100%"), "{err}");
}

#[test]
fn swing_at_50_percent_is_straight_and_66_is_a_triplet_feel() {
    let s16 = Grid::new(480, Division::Sixteenth, false).unwrap();
    let mut notes = pattern();
    let before = notes.clone();
    swing(&mut notes, s16, 50.0).unwrap();
    assert_eq!(notes, before);
    let s8 = Grid::new(480, Division::Eighth, false).unwrap();
    let mut notes = pattern();
    swing(&mut notes, s8, 66.666_666_7).unwrap();
    // Off-beat 8ths move to the last triplet 8th: 240 -> 320.
    assert!(notes.iter().any(|n| n.start == 320));
    assert!(
        notes
            .iter()
            .all(|n| n.start % 480 == 0 || n.start % 480 >= 120)
    );
    assert!(swing(&mut notes, s8, 80.0).is_err());
}

#[test]
fn humanize_is_deterministic_and_bounded() {
    let mut a = pattern();
    let mut b = pattern();
    humanize(&mut a, 10.0, 8.0, 42).unwrap();
    humanize(&mut b, 10.0, 8.0, 42).unwrap();
    assert_eq!(a, b);
    let mut c = pattern();
    humanize(&mut c, 10.0, 8.0, 43).unwrap();
    assert_ne!(a, c);
    for (h, o) in a.iter().zip(pattern()) {
        assert!(h.start.abs_diff(o.start) <= 30);
        assert!((1..=127).contains(&h.velocity));
    }
    assert!(humanize(&mut c, -1.0, 0.0, 1).is_err());
}

#[test]
fn template_extracted_from_a_performance_recovers_it_within_one_tick() {
    let grid = Grid::new(480, Division::Sixteenth, false).unwrap();
    // A performance: the pattern with a fixed per-step feel over a bar.
    let feel: [i64; 16] = [0, 14, -6, 22, 3, 17, -9, 25, 0, 12, -4, 20, 5, 16, -7, 23];
    let vel: [u8; 16] = [
        118, 62, 90, 70, 110, 60, 95, 72, 115, 64, 92, 68, 108, 58, 97, 74,
    ];
    let quantized = pattern();
    let performance: Vec<Note> = quantized
        .iter()
        .map(|n| {
            let step = ((n.start / 120) % 16) as usize;
            Note {
                start: (n.start as i64 + feel[step]) as u64,
                velocity: vel[step],
                ..*n
            }
        })
        .collect();
    let template = GrooveTemplate::extract("feel", &performance, grid, 16).unwrap();
    assert_eq!(template.offsets, feel);
    let mut applied = quantized.clone();
    template.apply(&mut applied, 100.0).unwrap();
    for (a, p) in applied.iter().zip(&performance) {
        assert!(a.start.abs_diff(p.start) <= 1, "{a:?} vs {p:?}");
        assert_eq!(a.velocity, p.velocity);
    }
    // The library has the feels people ask for, each applicable.
    let lib = GrooveTemplate::library(480);
    for name in [
        "straight 16ths",
        "MPC 16th swing 54%",
        "MPC 16th swing 75%",
        "MPC 8th swing 66%",
        "shuffle",
        "laid back",
        "push",
    ] {
        let t = lib
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name}"));
        let mut n = quantized.clone();
        t.apply(&mut n, 100.0).unwrap();
    }
    let straight = lib.iter().find(|t| t.name == "straight 16ths").unwrap();
    let mut n = quantized.clone();
    straight.apply(&mut n, 100.0).unwrap();
    assert_eq!(n, quantized);
    assert!(GrooveTemplate::extract("x", &performance, grid, 0).is_err());
}

#[test]
fn a_missing_midi_file_keeps_the_os_error_as_its_source() {
    use std::error::Error;
    let e = kmidi_groove::smf::MidiFile::load("/no/such/dir/take.mid").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("cannot read /no/such/dir/take.mid: "),
        "{e}"
    );
    let cause = e.source().expect("the OS error is kept");
    let io = cause
        .downcast_ref::<kmidi_dsp::Cause>()
        .and_then(|c| c.get().downcast_ref::<std::io::Error>())
        .expect("an io::Error");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
}
