//! Real MIDI files, read by kmidi and by mido (the reference reader), event
//! for event, and written back: the second write must give the same bytes.
//! `scripts/midi_corpus.sh` gathers the files (music21's bundled .mid
//! files, Debian's openttd-openmsx and mma), has mido dump them, and runs
//! this test with `KMIDI_MIDI_CORPUS` pointing at the dump.

use kmidi_groove::event::{EventKind, notes_from_events};
use kmidi_groove::scheduler::BlockScheduler;
use kmidi_groove::smf::{FileEventKind, MidiFile, SmfFormat, Timing};

/// Notes still sounding after `events` in this order (each note-off
/// releases one sounding note of its key and channel).
fn hanging(events: impl Iterator<Item = EventKind>) -> usize {
    let mut on = std::collections::HashMap::<(u8, u8), usize>::new();
    for e in events {
        match e {
            EventKind::NoteOn {
                channel,
                key,
                velocity,
            } if velocity > 0 => {
                *on.entry((channel, key)).or_default() += 1;
            }
            EventKind::NoteOn { channel, key, .. } | EventKind::NoteOff { channel, key, .. } => {
                if let Some(n) = on.get_mut(&(channel, key)) {
                    *n = n.saturating_sub(1);
                }
            }
            _ => {}
        }
    }
    on.values().sum()
}

/// One event the way `scripts/eval/mido_dump.py` writes it.
fn canonical(file: &MidiFile) -> Vec<Vec<serde_json::Value>> {
    use serde_json::json;
    file.tracks
        .iter()
        .map(|t| {
            t.events
                .iter()
                .map(|e| match &e.kind {
                    FileEventKind::Channel(k) => {
                        let (status, d, n) = k.midi_bytes().expect("read from a file");
                        let mut v = vec![json!(e.tick), json!("ch"), json!(status)];
                        v.extend(d[..n].iter().map(|b| json!(b)));
                        serde_json::Value::Array(v)
                    }
                    FileEventKind::SysEx(data) | FileEventKind::Escape(data) => {
                        // mido reads F0 and F7 packets alike and drops a
                        // final F7.
                        let data = data.strip_suffix(&[0xF7]).unwrap_or(data);
                        json!([e.tick, "sysex", data])
                    }
                    FileEventKind::Meta(m) => json!([e.tick, "meta", m.kind, m.data]),
                })
                .collect()
        })
        .collect()
}

#[test]
#[ignore = "needs the corpus: scripts/midi_corpus.sh"]
fn every_file_mido_reads_round_trips_event_for_event() {
    let path =
        std::env::var("KMIDI_MIDI_CORPUS").expect("KMIDI_MIDI_CORPUS: run scripts/midi_corpus.sh");
    let text = std::fs::read_to_string(&path).expect("the mido dump");
    let (mut files, mut events, mut skipped, mut warned) = (0, 0usize, Vec::new(), 0);
    let mut failures = Vec::new();
    let mut extra_tracks = Vec::new();
    let mut zero_length = 0usize;
    for line in text.lines() {
        let want: serde_json::Value = serde_json::from_str(line).expect("one JSON object per line");
        let file_path = want["path"].as_str().expect("a path").to_string();
        if let Some(e) = want.get("error") {
            skipped.push(format!("{file_path}: mido: {e}"));
            continue;
        }
        let bytes = std::fs::read(&file_path).expect("the file");
        let file = match MidiFile::parse(&bytes) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("{file_path}: mido reads it, kmidi does not: {e}"));
                continue;
            }
        };
        files += 1;
        if !file.warnings().is_empty() {
            warned += 1;
        }
        let format = match file.format {
            SmfFormat::SingleTrack => 0,
            SmfFormat::Parallel => 1,
            SmfFormat::Sequential => 2,
        };
        if want["type"] != format {
            failures.push(format!(
                "{file_path}: format {format}, mido says {}",
                want["type"]
            ));
        }
        if let Timing::Metrical(ppq) = file.timing
            && want["ticks_per_beat"] != ppq
        {
            failures.push(format!(
                "{file_path}: PPQ {ppq}, mido says {}",
                want["ticks_per_beat"]
            ));
        }
        let got = canonical(&file);
        let want_tracks = want["tracks"].as_array().expect("tracks");
        // mido reads as many tracks as the header says; kmidi reads every
        // track chunk there is (and keeps the header's count to write
        // back). Beyond the header's count, mido has nothing to compare.
        let beyond_header =
            file.declared_tracks == Some(want_tracks.len() as u16) && got.len() > want_tracks.len();
        if got.len() != want_tracks.len() && !beyond_header {
            failures.push(format!(
                "{file_path}: {} tracks, mido reads {}",
                got.len(),
                want_tracks.len()
            ));
            continue;
        }
        if beyond_header {
            extra_tracks.push(format!(
                "{file_path}: the header says {} tracks, the file holds {}; kmidi keeps them all",
                want_tracks.len(),
                got.len()
            ));
        }
        for (t, (g, w)) in got.iter().zip(want_tracks).enumerate() {
            let w = w.as_array().expect("events");
            events += w.len();
            if let Some(i) = (0..g.len().max(w.len())).find(|&i| g.get(i) != w.get(i)) {
                failures.push(format!(
                    "{file_path}: track {t}, event {i}: kmidi {:?}, mido {:?}",
                    g.get(i),
                    w.get(i)
                ));
                break;
            }
        }
        // The events as the audio thread gets them leave no note hanging
        // that the file itself does not (zero-length notes included).
        let merged = file.merged_events();
        zero_length += notes_from_events(&merged)
            .iter()
            .filter(|n| n.duration == 0)
            .count();
        if let Ok(tempo) = file.tempo_map()
            && let Ok(mut scheduler) = BlockScheduler::new(&merged, &tempo, 48_000)
        {
            let end = scheduler.events().last().map_or(0, |e| e.frame) + 1;
            let mut played = Vec::with_capacity(merged.len());
            while scheduler.position() < end {
                scheduler.process_block(4096, |e| played.push(e.kind));
            }
            let (in_file, in_play) = (
                hanging(merged.iter().map(|e| e.kind)),
                hanging(played.into_iter()),
            );
            if in_play != in_file {
                failures.push(format!(
                    "{file_path}: {in_play} notes left hanging by the scheduler, {in_file} in the file"
                ));
            }
        }
        // Written back: the same events, and a second write the same bytes.
        let once = file.to_bytes().expect("writes what it read");
        let again = MidiFile::parse(&once).expect("reads what it wrote");
        if canonical(&again) != got {
            failures.push(format!("{file_path}: the events changed on writing"));
        }
        let twice = again.to_bytes().expect("writes again");
        if twice != once {
            failures.push(format!(
                "{file_path}: the second write differs from the first"
            ));
        }
    }
    println!(
        "midi corpus: {files} files read, {events} events compared with mido, {} differences; \
         {warned} files with warnings; {zero_length} zero-length notes kept; {} skipped because mido cannot read them",
        failures.len(),
        skipped.len()
    );
    for s in &skipped {
        println!("  skipped {s}");
    }
    for e in &extra_tracks {
        println!("  note: {e}");
    }
    assert!(files > 0, "no files in {path}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
