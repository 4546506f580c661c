//! Standard MIDI Files, read and written without losing anything.
//!
//! [`MidiFile::parse`] keeps every event of every track, in file order and
//! with its tick: notes, controls, programs, pitch bend, channel and
//! polyphonic aftertouch, system exclusive (`F0`) and escape (`F7`) data,
//! and every meta event as its type byte and raw data (text, lyrics,
//! markers, cue points, key and time signatures with their MIDI-clock
//! fields, sequencer-specific and unknown types, End of Track). Chunks
//! other than `MTrk` are kept where they were, and so is anything after
//! the last chunk. [`MidiFile::to_bytes`] writes it all back: the events a
//! second reading finds are the events the first found, and writing that
//! again gives the same bytes.
//!
//! What the reader accepts is what real files need (mido, the reference
//! reader, accepts the same):
//!
//! * running status that survives a meta or sysex event (the standard says
//!   they cancel it; files in the wild rely on it, and no reading is
//!   ambiguous);
//! * a header whose track count is off (the chunks present are read, and a
//!   warning says so);
//! * bytes after the last chunk (kept, and warned about);
//! * format 2 (independent patterns) and SMPTE timing (frames per second
//!   and ticks per frame).
//!
//! Values that cannot be used are kept in the file as they are, and the
//! tempo map falls back with a warning ([`MidiFile::warnings`]): a tempo of
//! 0 or not 3 bytes long is ignored (the previous tempo stays), and so is a
//! time signature with a zero numerator or a denominator other than 1 to 64.
//! A truncated or corrupt track is an error that says where.
//!
//! What the scheduler plays: for format 0 and 1, every track's channel
//! events, merged by tick, in the tempo map of every track's tempo and
//! time-signature events; for format 2, the first pattern with its own
//! tempo map. SMPTE timing is turned into an exact equivalent metrical map
//! (ticks per second as the PPQ, one quarter per second; 29.97 drop-frame
//! as 30 frames and 1.001 s per quarter), and tempo events are ignored, as
//! SMPTE time does not follow them.
//!
//! ```
//! use kmidi_groove::event::{EventKind, TickEvent};
//! use kmidi_groove::smf::{MidiFile, SmfFormat};
//! use kmidi_groove::tempo::TempoMap;
//! let mut file = MidiFile::new(SmfFormat::Parallel, &TempoMap::new(480)?);
//! file.add_track(Some("drums"), &[
//!     TickEvent { tick: 0, kind: EventKind::NoteOn { channel: 9, key: 36, velocity: 100 } },
//!     TickEvent { tick: 240, kind: EventKind::NoteOff { channel: 9, key: 36, velocity: 0 } },
//! ]);
//! let bytes = file.to_bytes()?;
//! let back = MidiFile::parse(&bytes)?;
//! assert_eq!(back, file);
//! assert_eq!(back.to_bytes()?, bytes);
//! assert_eq!(back.tracks[1].name().as_deref(), Some("drums"));
//! # Ok::<(), kmidi_groove::GrooveError>(())
//! ```

use crate::GrooveError;
use crate::event::{EventKind, TickEvent};
use crate::tempo::TempoMap;

mod read;
mod write;

use write::end_of_track;

/// The file's layout of tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SmfFormat {
    /// Format 0: everything in one track.
    SingleTrack,
    /// Format 1: simultaneous tracks (usually a tempo track first).
    Parallel,
    /// Format 2: independent patterns, one after another.
    Sequential,
}

/// How ticks relate to time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timing {
    /// Ticks per quarter note (1 to 32767).
    Metrical(u16),
    /// SMPTE: frames per second (24, 25, 29 for 29.97 drop-frame, or 30)
    /// and ticks per frame.
    Timecode {
        /// 24, 25, 29 or 30.
        fps: u8,
        /// Ticks per frame (1 to 255).
        subframes: u8,
    },
}

/// A meta event: its type byte and its data, as in the file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MetaEvent {
    /// The type (0x51 tempo, 0x58 time signature, 0x03 track name...).
    pub kind: u8,
    /// The data bytes.
    pub data: Vec<u8>,
}

impl MetaEvent {
    /// Sequence or track name.
    pub const TRACK_NAME: u8 = 0x03;
    /// End of Track.
    pub const END_OF_TRACK: u8 = 0x2F;
    /// Tempo, microseconds per quarter (3 bytes).
    pub const TEMPO: u8 = 0x51;
    /// Time signature (numerator, denominator power, MIDI clocks per
    /// click, 32nds per quarter).
    pub const TIME_SIGNATURE: u8 = 0x58;
    /// Key signature (sharps or flats, minor).
    pub const KEY_SIGNATURE: u8 = 0x59;

    /// A tempo event.
    pub fn tempo(us_per_quarter: u32) -> Self {
        let b = us_per_quarter.min(0xFF_FFFF).to_be_bytes();
        Self {
            kind: Self::TEMPO,
            data: b[1..].to_vec(),
        }
    }

    /// A time signature event with the usual clock fields (24 clocks per
    /// click, 8 32nds per quarter).
    pub fn time_signature(numerator: u8, denominator: u8) -> Self {
        Self {
            kind: Self::TIME_SIGNATURE,
            data: vec![numerator, denominator.trailing_zeros() as u8, 24, 8],
        }
    }

    /// The tempo in microseconds per quarter, if this is a well-formed one.
    pub fn as_tempo(&self) -> Option<u32> {
        match (self.kind, self.data.as_slice()) {
            (Self::TEMPO, [a, b, c]) => Some(u32::from_be_bytes([0, *a, *b, *c])),
            _ => None,
        }
    }

    /// Numerator, denominator power of two, clocks per click and 32nds per
    /// quarter, if this is a time signature of 4 bytes.
    pub fn as_time_signature(&self) -> Option<[u8; 4]> {
        match (self.kind, self.data.as_slice()) {
            (Self::TIME_SIGNATURE, [n, d, c, b]) => Some([*n, *d, *c, *b]),
            _ => None,
        }
    }

    /// The text of a text-like event (types 0x01 to 0x0F), lossily decoded.
    pub fn as_text(&self) -> Option<String> {
        (0x01..=0x0F)
            .contains(&self.kind)
            .then(|| String::from_utf8_lossy(&self.data).into_owned())
    }
}

/// What one event in a track is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FileEventKind {
    /// A channel message.
    Channel(EventKind),
    /// System exclusive (`F0`): the bytes after the length, the closing
    /// `F7` included when the file has it.
    SysEx(Vec<u8>),
    /// An escape (`F7`): raw bytes for the MIDI stream.
    Escape(Vec<u8>),
    /// A meta event.
    Meta(MetaEvent),
}

/// An event of a track at an absolute tick.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileEvent {
    /// Ticks from the start.
    pub tick: u64,
    /// What it is.
    pub kind: FileEventKind,
}

/// One `MTrk` chunk: its events in file order, End of Track included.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Track {
    /// The events.
    pub events: Vec<FileEvent>,
}

impl Track {
    /// The first track-name meta event's text, if any.
    pub fn name(&self) -> Option<String> {
        self.metas()
            .find(|(_, m)| m.kind == MetaEvent::TRACK_NAME)
            .and_then(|(_, m)| m.as_text())
    }

    /// Every meta event with its tick.
    pub fn metas(&self) -> impl Iterator<Item = (u64, &MetaEvent)> {
        self.events.iter().filter_map(|e| match &e.kind {
            FileEventKind::Meta(m) => Some((e.tick, m)),
            _ => None,
        })
    }

    /// The channel messages, in order.
    pub fn channel_events(&self) -> impl Iterator<Item = TickEvent> + '_ {
        self.events.iter().filter_map(|e| match e.kind {
            FileEventKind::Channel(kind) => Some(TickEvent { tick: e.tick, kind }),
            _ => None,
        })
    }

    /// Where the track ends: its End of Track, or its last event.
    pub fn end_tick(&self) -> u64 {
        self.events.last().map_or(0, |e| e.tick)
    }

    /// Whether the last event is an End of Track (the standard requires
    /// one; files cut short lack it, and writing adds it).
    pub fn ends_with_end_of_track(&self) -> bool {
        matches!(
            self.events.last(),
            Some(FileEvent { kind: FileEventKind::Meta(m), .. }) if m.kind == MetaEvent::END_OF_TRACK
        )
    }
}

/// A chunk the reader does not interpret, kept to be written back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownChunk {
    /// How many tracks come before it in the file.
    pub after_tracks: usize,
    /// Its four-byte type.
    pub id: [u8; 4],
    /// Its data.
    pub data: Vec<u8>,
}

/// A MIDI file in memory: every track, every event, and what else the file
/// held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MidiFile {
    /// Format 0, 1 or 2.
    pub format: SmfFormat,
    /// Metrical or SMPTE timing.
    pub timing: Timing,
    /// The tracks, in file order.
    pub tracks: Vec<Track>,
    /// Chunks other than tracks, where they were.
    pub unknown_chunks: Vec<UnknownChunk>,
    /// Header bytes beyond the standard six (kept for writing back).
    pub header_extra: Vec<u8>,
    /// Bytes after the last chunk (kept for writing back).
    pub trailing: Vec<u8>,
    /// The track count the header claimed, when it was not the number of
    /// tracks present (written back as found, so such a file stays as it
    /// was; `None` writes the true count).
    pub declared_tracks: Option<u16>,
}

fn smf_error(detail: impl ToString) -> GrooveError {
    GrooveError::Smf {
        detail: detail.to_string(),
    }
}

impl MidiFile {
    /// A file with one track holding the tempo map's tempos and time
    /// signatures (the conductor track of format 1, or the only track of
    /// format 0); add music with [`add_track`](Self::add_track).
    pub fn new(format: SmfFormat, tempo_map: &TempoMap) -> Self {
        let mut events: Vec<FileEvent> = tempo_map
            .tempos()
            .iter()
            .map(|t| FileEvent {
                tick: t.tick,
                kind: FileEventKind::Meta(MetaEvent::tempo(t.us_per_quarter)),
            })
            .chain(tempo_map.signatures().iter().map(|s| FileEvent {
                tick: s.tick,
                kind: FileEventKind::Meta(MetaEvent::time_signature(s.numerator, s.denominator)),
            }))
            .collect();
        events.sort_by_key(|e| e.tick);
        let end = events.last().map_or(0, |e| e.tick);
        events.push(FileEvent {
            tick: end,
            kind: FileEventKind::Meta(MetaEvent {
                kind: MetaEvent::END_OF_TRACK,
                data: Vec::new(),
            }),
        });
        Self {
            format,
            timing: Timing::Metrical(tempo_map.ppq()),
            tracks: vec![Track { events }],
            unknown_chunks: Vec::new(),
            header_extra: Vec::new(),
            trailing: Vec::new(),
            declared_tracks: None,
        }
    }

    /// Adds a track of channel events (in order; a name first if given,
    /// End of Track last). In format 0 the events join the one track, at
    /// their ticks after what is there.
    pub fn add_track(&mut self, name: Option<&str>, events: &[TickEvent]) {
        let mut track = Vec::with_capacity(events.len() + 2);
        if let Some(name) = name {
            track.push(FileEvent {
                tick: 0,
                kind: FileEventKind::Meta(MetaEvent {
                    kind: MetaEvent::TRACK_NAME,
                    data: name.as_bytes().to_vec(),
                }),
            });
        }
        track.extend(events.iter().map(|e| FileEvent {
            tick: e.tick,
            kind: FileEventKind::Channel(e.kind),
        }));
        if self.format == SmfFormat::SingleTrack
            && let Some(only) = self.tracks.first_mut()
        {
            // Merge by tick, keeping each side's order at equal ticks, and
            // keep one End of Track at the end.
            let mut merged: Vec<FileEvent> = only
                .events
                .drain(..)
                .filter(|e| !matches!(&e.kind, FileEventKind::Meta(m) if m.kind == MetaEvent::END_OF_TRACK))
                .chain(track)
                .collect();
            merged.sort_by_key(|e| e.tick);
            let end = merged.last().map_or(0, |e| e.tick);
            merged.push(end_of_track(end));
            only.events = merged;
            return;
        }
        let end = track.last().map_or(0, |e| e.tick);
        track.push(end_of_track(end));
        self.tracks.push(Track { events: track });
    }

    /// The ticks per quarter of the tempo map: the file's PPQ, or for SMPTE
    /// timing its ticks per second (30 per frame-second for 29.97).
    pub fn ppq(&self) -> Result<u16, GrooveError> {
        match self.timing {
            Timing::Metrical(ppq) => Ok(ppq),
            Timing::Timecode { fps, subframes } => {
                let frames = if fps == 29 { 30 } else { fps as u32 };
                u16::try_from(frames * subframes as u32).map_err(|_| {
                    crate::error::out_of_range(
                        "SMPTE ticks per second",
                        frames * subframes as u32,
                        "up to 65535 (30 fps × 255 ticks is the most a file can say)",
                    )
                })
            }
        }
    }

    /// The tracks the scheduler plays: every track for formats 0 and 1,
    /// the first pattern for format 2.
    fn played_tracks(&self) -> &[Track] {
        match self.format {
            SmfFormat::Sequential => &self.tracks[..self.tracks.len().min(1)],
            _ => &self.tracks,
        }
    }

    /// The tempo map: PPQ from the timing, tempos and time signatures from
    /// the played tracks' meta events. Unusable values are skipped (see
    /// [`warnings`](Self::warnings)).
    ///
    /// # Errors
    /// [`GrooveError::OutOfRange`] only for SMPTE timing too fine to hold.
    pub fn tempo_map(&self) -> Result<TempoMap, GrooveError> {
        Ok(self.tempo_map_and_warnings()?.0)
    }

    /// What the reader or the tempo map could not use, one line each (a
    /// track count off in the header, bytes after the last chunk, a tempo
    /// of 0, a time signature out of range...).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = match self.tempo_map_and_warnings() {
            Ok((_, w)) => w,
            Err(e) => vec![e.to_string()],
        };
        if let Some(d) = self.declared_tracks {
            out.push(format!(
                "the header says {d} tracks, the file holds {}",
                self.tracks.len()
            ));
        }
        if !self.trailing.is_empty() {
            out.push(format!(
                "{} bytes after the last chunk (kept)",
                self.trailing.len()
            ));
        }
        if self.format == SmfFormat::SingleTrack && self.tracks.len() > 1 {
            out.push(format!(
                "format 0 holds one track, this file holds {} (all kept and played)",
                self.tracks.len()
            ));
        }
        for (i, track) in self.tracks.iter().enumerate() {
            if !track.ends_with_end_of_track() {
                out.push(format!(
                    "track {i} has no End of Track at its end (writing adds one)"
                ));
            }
        }
        out
    }

    fn tempo_map_and_warnings(&self) -> Result<(TempoMap, Vec<String>), GrooveError> {
        let mut warnings = Vec::new();
        let mut map = TempoMap::new(self.ppq()?)?;
        if let Timing::Timecode { fps: 29, .. } = self.timing {
            map.set_tempo(0, 1_001_000)?;
        } else if let Timing::Timecode { .. } = self.timing {
            map.set_tempo(0, 1_000_000)?;
        }
        let smpte = matches!(self.timing, Timing::Timecode { .. });
        for (t, track) in self.played_tracks().iter().enumerate() {
            for (tick, meta) in track.metas() {
                match meta.kind {
                    MetaEvent::TEMPO if !smpte => match meta.as_tempo() {
                        Some(us) if us > 0 => map.set_tempo(tick, us)?,
                        _ => warnings.push(format!(
                            "track {t}, tick {tick}: tempo {:02X?} ignored (3 bytes, 1 to 16777215 µs per quarter); the previous tempo stays",
                            meta.data
                        )),
                    },
                    MetaEvent::TIME_SIGNATURE => {
                        let ok = meta.as_time_signature().and_then(|[n, d, _, _]| {
                            (n > 0 && d <= 6).then(|| map.set_signature(tick, n, 1 << d).ok())?
                        });
                        if ok.is_none() {
                            warnings.push(format!(
                                "track {t}, tick {tick}: time signature {:?} ignored (numerator 1 to 255, denominator 2^0 to 2^6); the previous one stays",
                                meta.data
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok((map, warnings))
    }

    /// Every played track's channel events, merged by tick; events at the
    /// same tick keep their order (track by track, then as written), so a
    /// note-on and note-off at one tick stay a zero-length note.
    pub fn merged_events(&self) -> Vec<TickEvent> {
        let mut all: Vec<TickEvent> = self
            .played_tracks()
            .iter()
            .flat_map(Track::channel_events)
            .collect();
        // Stable: ties keep track order, then file order.
        all.sort_by_key(|e| e.tick);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::read::Reader;
    use super::write::write_vlq;
    use super::*;

    #[test]
    fn vlq_round_trips_at_every_length() {
        for v in [
            0u32,
            0x7F,
            0x80,
            0x3FFF,
            0x4000,
            0x1F_FFFF,
            0x20_0000,
            0x0FFF_FFFF,
        ] {
            let mut out = Vec::new();
            write_vlq(&mut out, v);
            let mut r = Reader {
                bytes: &out,
                pos: 0,
                base: 0,
            };
            assert_eq!(r.vlq("test").unwrap(), v);
            assert_eq!(r.pos, out.len());
        }
    }

    #[test]
    fn pitch_bend_round_trips_at_its_ends() {
        for value in [-8192i16, -1, 0, 1, 8191] {
            let kind = EventKind::PitchBend { channel: 3, value };
            let (status, d, _) = kind.midi_bytes().unwrap();
            assert_eq!(EventKind::from_midi_bytes(status, d), kind);
        }
    }
}
