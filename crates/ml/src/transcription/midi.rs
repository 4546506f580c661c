//! Transcribed notes as kmidi-groove events and as a Standard MIDI File.
//!
//! As Basic Pitch's `note_events_to_midi` (its default,
//! `multiple_pitch_bends = false`): one track at 120 BPM unless told
//! otherwise, velocity `round(127 × amplitude)`, and pitch bends (±2
//! semitones, 4096 units a semitone) written for the notes that overlap
//! no other note, spread evenly over the note, and back to centre at its
//! end (Basic Pitch leaves the last bend standing); a bend is a
//! channel-wide message, so an overlapping note keeps none.

use kmidi_groove::GrooveError;
use kmidi_groove::event::{EventKind, FrameEvent, Note, TickEvent, events_from_notes, sort_events};
use kmidi_groove::smf::{MidiFile, SmfFormat};
use kmidi_groove::tempo::TempoMap;

use super::{TranscribedNote, Transcription};

/// MIDI pitch-bend units per contour bin (a third of a semitone, with a
/// ±2-semitone bend range).
const BEND_UNITS_PER_BIN: f64 = 4096.0 / 3.0;

impl Transcription {
    /// The notes sorted by start (then key), the order for playback.
    pub fn sorted_notes(&self) -> Vec<&TranscribedNote> {
        let mut v: Vec<&TranscribedNote> = self.notes.iter().collect();
        v.sort_by(|a, b| {
            a.start_s
                .total_cmp(&b.start_s)
                .then(a.key.cmp(&b.key))
                .then(a.end_s.total_cmp(&b.end_s))
        });
        v
    }

    /// Note-on and note-off events at sample frames of `sample_rate`, on
    /// `channel` (0-15), sorted (at one frame, note-offs first).
    pub fn frame_events(&self, sample_rate: u32, channel: u8) -> Vec<FrameEvent> {
        let to_frame = |s: f64| (s.max(0.0) * f64::from(sample_rate)).round() as u64;
        let mut ev: Vec<(u64, u8, FrameEvent)> = Vec::with_capacity(self.notes.len() * 2);
        for n in &self.notes {
            let (on, off) = (to_frame(n.start_s), to_frame(n.end_s));
            ev.push((
                off,
                0,
                FrameEvent {
                    frame: off,
                    kind: EventKind::NoteOff {
                        channel,
                        key: n.key,
                        velocity: 0,
                    },
                },
            ));
            ev.push((
                on,
                1,
                FrameEvent {
                    frame: on,
                    kind: EventKind::NoteOn {
                        channel,
                        key: n.key,
                        velocity: n.velocity(),
                    },
                },
            ));
        }
        ev.sort_by_key(|e| (e.0, e.1));
        ev.into_iter().map(|e| e.2).collect()
    }

    /// The notes as kmidi-groove [`Note`]s in ticks of `tempo_map`, on
    /// `channel`, sorted by start.
    pub fn groove_notes(&self, tempo_map: &TempoMap, channel: u8) -> Vec<Note> {
        self.sorted_notes()
            .into_iter()
            .map(|n| {
                let start = tempo_map.seconds_to_tick(n.start_s.max(0.0));
                let end = tempo_map.seconds_to_tick(n.end_s.max(0.0)).max(start);
                Note {
                    start,
                    duration: end - start,
                    channel,
                    key: n.key,
                    velocity: n.velocity(),
                }
            })
            .collect()
    }

    /// A format-1 MIDI file: a tempo track at `bpm`, and one track of the
    /// notes (and pitch bends) on channel 0, at 480 ticks a quarter.
    ///
    /// # Errors
    /// [`GrooveError`] for a tempo out of its range.
    pub fn to_midi_file(&self, bpm: f64) -> Result<MidiFile, GrooveError> {
        let mut tempo = TempoMap::new(480)?;
        tempo.set_tempo_bpm(0, bpm)?;
        let notes = self.groove_notes(&tempo, 0);
        let mut events: Vec<TickEvent> = events_from_notes(&notes);
        for n in self.notes_without_overlap() {
            if n.bends.is_empty() {
                continue;
            }
            let len = n.bends.len();
            for (i, &b) in n.bends.iter().enumerate() {
                // Evenly from start to end, as numpy's linspace.
                let t = if len == 1 {
                    n.start_s
                } else {
                    n.start_s + (n.end_s - n.start_s) * i as f64 / (len - 1) as f64
                };
                let value = (f64::from(b) * BEND_UNITS_PER_BIN)
                    .round()
                    .clamp(-8192.0, 8191.0) as i16;
                events.push(TickEvent {
                    tick: tempo.seconds_to_tick(t.max(0.0)),
                    kind: EventKind::PitchBend { channel: 0, value },
                });
            }
            // Back to centre when the note ends, so that the next note
            // (bent or not) starts in tune.
            events.push(TickEvent {
                tick: tempo.seconds_to_tick(n.end_s.max(0.0)),
                kind: EventKind::PitchBend {
                    channel: 0,
                    value: 0,
                },
            });
        }
        sort_events(&mut events);
        let mut file = MidiFile::new(SmfFormat::Parallel, &tempo);
        file.add_track(Some("Basic Pitch transcription"), &events);
        Ok(file)
    }

    /// The notes that overlap no other note in time.
    fn notes_without_overlap(&self) -> Vec<&TranscribedNote> {
        let sorted = self.sorted_notes();
        let mut overlapping = vec![false; sorted.len()];
        for i in 0..sorted.len() {
            for j in i + 1..sorted.len() {
                if sorted[j].start_s >= sorted[i].end_s {
                    break;
                }
                overlapping[i] = true;
                overlapping[j] = true;
            }
        }
        sorted
            .into_iter()
            .zip(overlapping)
            .filter(|(_, o)| !o)
            .map(|(n, _)| n)
            .collect()
    }
}
