//! Writing a Standard MIDI File: variable-length quantities, track
//! encoding with running status, and [`MidiFile::to_bytes`] and
//! [`MidiFile::save`].

use std::path::Path;

use super::*;

pub(super) fn write_vlq(out: &mut Vec<u8>, mut v: u32) {
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

impl MidiFile {
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

pub(super) fn end_of_track(tick: u64) -> FileEvent {
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
