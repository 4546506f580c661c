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

use std::path::Path;

use crate::GrooveError;
use crate::event::{EventKind, TickEvent};
use crate::tempo::TempoMap;

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

/// A cursor over a byte slice, with errors that say where.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Offset of `bytes[0]` in the file, for messages.
    base: usize,
}

impl<'a> Reader<'a> {
    fn at(&self) -> usize {
        self.base + self.pos
    }

    fn u8(&mut self, what: &str) -> Result<u8, GrooveError> {
        let b = *self.bytes.get(self.pos).ok_or_else(|| {
            smf_error(format!("the file ends inside {what} at byte {}", self.at()))
        })?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], GrooveError> {
        if self.bytes.len() - self.pos < n {
            return Err(smf_error(format!(
                "{what} at byte {} needs {n} bytes, {} are left",
                self.at(),
                self.bytes.len() - self.pos
            )));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// A variable-length quantity (at most 4 bytes, 28 bits).
    fn vlq(&mut self, what: &str) -> Result<u32, GrooveError> {
        let start = self.at();
        let mut v = 0u32;
        for _ in 0..4 {
            let b = self.u8(what)?;
            v = (v << 7) | (b & 0x7F) as u32;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(smf_error(format!(
            "{what} at byte {start} is longer than 4 bytes (a variable-length number holds at most 28 bits)"
        )))
    }
}

fn write_vlq(out: &mut Vec<u8>, mut v: u32) {
    let mut buf = [0u8; 4];
    let mut n = 0;
    loop {
        buf[n] = (v & 0x7F) as u8;
        n += 1;
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        out.push(buf[i] | if i > 0 { 0x80 } else { 0 });
    }
}

/// Data bytes a channel status takes.
fn data_len(status: u8) -> usize {
    match status & 0xF0 {
        0xC0 | 0xD0 => 1,
        _ => 2,
    }
}

fn parse_track(data: &[u8], base: usize, index: usize) -> Result<Track, GrooveError> {
    let mut r = Reader {
        bytes: data,
        pos: 0,
        base,
    };
    let mut events = Vec::new();
    let mut tick = 0u64;
    let mut running: Option<u8> = None;
    while r.pos < data.len() {
        tick += r.vlq("a delta time")? as u64;
        let at = r.at();
        let first = r.u8("an event")?;
        let kind = match first {
            0xFF => {
                let kind = r.u8("a meta event's type")?;
                let len = r.vlq("a meta event's length")? as usize;
                let data = r.take(len, "a meta event's data")?.to_vec();
                FileEventKind::Meta(MetaEvent { kind, data })
            }
            0xF0 | 0xF7 => {
                let len = r.vlq("a sysex length")? as usize;
                let bytes = r.take(len, "sysex data")?.to_vec();
                if first == 0xF0 {
                    FileEventKind::SysEx(bytes)
                } else {
                    FileEventKind::Escape(bytes)
                }
            }
            0xF1..=0xFE => {
                return Err(smf_error(format!(
                    "track {index}: status byte 0x{first:02X} at byte {at} is not allowed in a file (system common and real-time messages are not file events)"
                )));
            }
            _ => {
                // A status byte, or a data byte under running status
                // (which, as in mido, survives meta and sysex events).
                let (status, first_data) = if first >= 0x80 {
                    running = Some(first);
                    (first, None)
                } else {
                    let s = running.ok_or_else(|| {
                        smf_error(format!(
                            "track {index}: data byte 0x{first:02X} at byte {at} with no status before it"
                        ))
                    })?;
                    (s, Some(first))
                };
                let mut d = [0u8; 2];
                for (i, slot) in d.iter_mut().enumerate().take(data_len(status)) {
                    let b = match (i, first_data) {
                        (0, Some(b)) => b,
                        _ => r.u8("a channel message")?,
                    };
                    if b >= 0x80 {
                        return Err(smf_error(format!(
                            "track {index}: byte 0x{b:02X} near byte {at} where a data byte (0 to 127) belongs"
                        )));
                    }
                    *slot = b;
                }
                FileEventKind::Channel(EventKind::from_midi_bytes(status, d))
            }
        };
        events.push(FileEvent { tick, kind });
    }
    Ok(Track { events })
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

    /// Reads a file from bytes. Nothing in it is dropped.
    ///
    /// # Errors
    /// [`GrooveError::Smf`] saying where the file is truncated or corrupt,
    /// or what header value is not allowed.
    pub fn parse(bytes: &[u8]) -> Result<Self, GrooveError> {
        Self::parse_inner(bytes).map_err(|e| match e {
            GrooveError::Smf { detail } => GrooveError::Smf {
                detail: format!("{detail} (in a file of {} bytes)", bytes.len()),
            },
            other => other,
        })
    }

    fn parse_inner(bytes: &[u8]) -> Result<Self, GrooveError> {
        let mut r = Reader {
            bytes,
            pos: 0,
            base: 0,
        };
        let id = r.take(4, "the header")?;
        if id != b"MThd" {
            return Err(smf_error(format!(
                "not a Standard MIDI File: it starts with {id:02X?}, not \"MThd\""
            )));
        }
        let len = u32::from_be_bytes(r.take(4, "the header length")?.try_into().unwrap_or([0; 4]))
            as usize;
        if len < 6 {
            return Err(smf_error(format!("header length {len}; allowed 6 or more")));
        }
        let header = r.take(len, "the header")?;
        let format = match u16::from_be_bytes([header[0], header[1]]) {
            0 => SmfFormat::SingleTrack,
            1 => SmfFormat::Parallel,
            2 => SmfFormat::Sequential,
            f => {
                return Err(smf_error(format!("format {f}; allowed 0, 1 and 2")));
            }
        };
        let declared = u16::from_be_bytes([header[2], header[3]]);
        let (hi, lo) = (header[4], header[5]);
        let timing = if hi & 0x80 != 0 {
            // The frame rate is stored negated, as a signed byte; widen
            // before negating (-(-128) overflows an i8: midly 0.5.3
            // panics there in debug builds).
            let fps = -(hi as i8 as i16);
            if ![24, 25, 29, 30].contains(&fps) {
                return Err(smf_error(format!(
                    "SMPTE timing with frame-rate byte 0x{hi:02X} ({fps} fps); allowed 24, 25, 29 (29.97 drop-frame) and 30"
                )));
            }
            if lo == 0 {
                return Err(smf_error(
                    "SMPTE timing with 0 ticks per frame; allowed 1 to 255",
                ));
            }
            Timing::Timecode {
                fps: fps as u8,
                subframes: lo,
            }
        } else {
            let ppq = u16::from_be_bytes([hi, lo]);
            if ppq == 0 {
                return Err(smf_error(
                    "division 0 ticks per quarter; allowed 1 to 32767",
                ));
            }
            Timing::Metrical(ppq)
        };
        let mut file = MidiFile {
            format,
            timing,
            tracks: Vec::new(),
            unknown_chunks: Vec::new(),
            header_extra: header[6..].to_vec(),
            trailing: Vec::new(),
            declared_tracks: None,
        };
        loop {
            let rest = bytes.len() - r.pos;
            if rest == 0 {
                break;
            }
            let looks_like_chunk = bytes[r.pos..(r.pos + 4).min(bytes.len())]
                .iter()
                .all(|b| b.is_ascii_alphanumeric());
            if looks_like_chunk && rest < 8 {
                return Err(smf_error(format!(
                    "the file ends inside a chunk header at byte {} ({rest} bytes left)",
                    r.pos
                )));
            }
            if !looks_like_chunk {
                // Not a chunk: padding or garbage after the last one.
                file.trailing = bytes[r.pos..].to_vec();
                break;
            }
            let id: [u8; 4] = bytes[r.pos..r.pos + 4].try_into().unwrap_or([0; 4]);
            let start = r.pos;
            r.pos += 4;
            let len = u32::from_be_bytes(r.take(4, "a chunk length")?.try_into().unwrap_or([0; 4]))
                as usize;
            if &id == b"MTrk" {
                let index = file.tracks.len();
                let data = r.take(len, &format!("track {index}"))?;
                file.tracks.push(parse_track(data, r.pos - len, index)?);
            } else if len <= bytes.len() - r.pos {
                let data = r.take(len, "a chunk")?.to_vec();
                file.unknown_chunks.push(UnknownChunk {
                    after_tracks: file.tracks.len(),
                    id,
                    data,
                });
            } else {
                // A "chunk" that runs past the end is trailing garbage.
                file.trailing = bytes[start..].to_vec();
                break;
            }
        }
        if declared as usize != file.tracks.len() {
            file.declared_tracks = Some(declared);
        }
        Ok(file)
    }

    /// Reads a file from disk.
    ///
    /// # Errors
    /// [`GrooveError::Io`] if it cannot be read, else as [`parse`](Self::parse).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, GrooveError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| GrooveError::io("read", path, e))?;
        Self::parse(&bytes).map_err(|e| match e {
            GrooveError::Smf { detail } => GrooveError::Smf {
                detail: format!("{}: {detail}", path.display()),
            },
            other => other,
        })
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

    /// Writes the file: every track's events in their order, with running
    /// status for consecutive channel messages of one status (cancelled by
    /// meta and sysex events, as the standard has it), and an End of Track
    /// added to a track that has none.
    ///
    /// A format 0 file read with more than one track chunk is written as
    /// it was read (see [`warnings`](Self::warnings)); `add_track` never
    /// makes one.
    ///
    /// # Errors
    /// [`GrooveError::OutOfRange`] for an event field outside its MIDI
    /// range, events out of tick order in a track, or a gap of more than
    /// 2²⁸ - 1 ticks.
    pub fn to_bytes(&self) -> Result<Vec<u8>, GrooveError> {
        let mut out = Vec::new();
        out.extend_from_slice(b"MThd");
        out.extend_from_slice(&(6 + self.header_extra.len() as u32).to_be_bytes());
        let format: u16 = match self.format {
            SmfFormat::SingleTrack => 0,
            SmfFormat::Parallel => 1,
            SmfFormat::Sequential => 2,
        };
        out.extend_from_slice(&format.to_be_bytes());
        let count = self.declared_tracks.unwrap_or(self.tracks.len() as u16);
        out.extend_from_slice(&count.to_be_bytes());
        match self.timing {
            Timing::Metrical(ppq) => {
                if ppq == 0 || ppq > 0x7FFF {
                    return Err(crate::error::out_of_range("ppq", ppq, "1 to 32767"));
                }
                out.extend_from_slice(&ppq.to_be_bytes());
            }
            Timing::Timecode { fps, subframes } => {
                if ![24, 25, 29, 30].contains(&fps) {
                    return Err(crate::error::out_of_range(
                        "SMPTE fps",
                        fps,
                        "24, 25, 29 or 30",
                    ));
                }
                out.push((-(fps as i8)) as u8);
                out.push(subframes);
            }
        }
        out.extend_from_slice(&self.header_extra);
        for index in 0..=self.tracks.len() {
            for chunk in self
                .unknown_chunks
                .iter()
                .filter(|c| c.after_tracks == index)
            {
                out.extend_from_slice(&chunk.id);
                out.extend_from_slice(&(chunk.data.len() as u32).to_be_bytes());
                out.extend_from_slice(&chunk.data);
            }
            if let Some(track) = self.tracks.get(index) {
                let data = encode_track(track, index)?;
                out.extend_from_slice(b"MTrk");
                out.extend_from_slice(&(data.len() as u32).to_be_bytes());
                out.extend_from_slice(&data);
            }
        }
        // Unknown chunks whose position is past the last track.
        for chunk in self
            .unknown_chunks
            .iter()
            .filter(|c| c.after_tracks > self.tracks.len())
        {
            out.extend_from_slice(&chunk.id);
            out.extend_from_slice(&(chunk.data.len() as u32).to_be_bytes());
            out.extend_from_slice(&chunk.data);
        }
        out.extend_from_slice(&self.trailing);
        Ok(out)
    }

    /// Writes the file to `path` atomically (a temporary file in the same
    /// directory, then a rename), so a crash never leaves half a file.
    ///
    /// # Errors
    /// [`GrooveError::Io`] naming the path, or as [`to_bytes`](Self::to_bytes).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), GrooveError> {
        let path = path.as_ref();
        let bytes = self.to_bytes()?;
        kmidi_dsp::atomic_file::write_atomic(path, &bytes)
            .map_err(|e| GrooveError::io("write", path, e))
    }
}

fn end_of_track(tick: u64) -> FileEvent {
    FileEvent {
        tick,
        kind: FileEventKind::Meta(MetaEvent {
            kind: MetaEvent::END_OF_TRACK,
            data: Vec::new(),
        }),
    }
}

fn encode_track(track: &Track, index: usize) -> Result<Vec<u8>, GrooveError> {
    let mut out = Vec::new();
    let mut last = 0u64;
    let mut running: Option<u8> = None;
    for e in &track.events {
        if e.tick < last {
            return Err(crate::error::out_of_range(
                "event tick",
                format!("{} after {last} in track {index}", e.tick),
                "ticks in order within a track",
            ));
        }
        let delta = e.tick - last;
        if delta > 0x0FFF_FFFF {
            return Err(crate::error::out_of_range(
                "gap between events",
                format!("{delta} ticks"),
                "at most 268435455 ticks",
            ));
        }
        write_vlq(&mut out, delta as u32);
        last = e.tick;
        match &e.kind {
            FileEventKind::Channel(kind) => {
                let (status, d, n) = kind.midi_bytes()?;
                if running != Some(status) {
                    out.push(status);
                    running = Some(status);
                }
                out.extend_from_slice(&d[..n]);
            }
            FileEventKind::SysEx(data) | FileEventKind::Escape(data) => {
                out.push(if matches!(e.kind, FileEventKind::SysEx(_)) {
                    0xF0
                } else {
                    0xF7
                });
                write_vlq(&mut out, data.len() as u32);
                out.extend_from_slice(data);
                running = None;
            }
            FileEventKind::Meta(m) => {
                out.push(0xFF);
                out.push(m.kind);
                write_vlq(&mut out, m.data.len() as u32);
                out.extend_from_slice(&m.data);
                running = None;
            }
        }
    }
    if !track.ends_with_end_of_track() {
        out.extend_from_slice(&[0x00, 0xFF, MetaEvent::END_OF_TRACK, 0x00]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
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
