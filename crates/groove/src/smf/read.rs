//! Reading a Standard MIDI File: a cursor with errors that say where, the
//! track parser, and [`MidiFile::parse`] and [`MidiFile::load`].

use std::path::Path;

use super::*;

/// A cursor over a byte slice, with errors that say where.
pub(super) struct Reader<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) pos: usize,
    /// Offset of `bytes[0]` in the file, for messages.
    pub(super) base: usize,
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
    pub(super) fn vlq(&mut self, what: &str) -> Result<u32, GrooveError> {
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
}
