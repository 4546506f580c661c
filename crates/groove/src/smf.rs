//! Standard MIDI Files, format 0 and 1, through `midly`.
//!
//! Reading takes note, control, program and pitch-bend messages (a note-on
//! with velocity 0 becomes a note-off), and tempo and time-signature meta
//! events from any track into the [`TempoMap`]. Running status is read and
//! written (midly writes it by default). midly runs in strict mode, so a
//! truncated or corrupt file is an error, not a partial read. Files are
//! saved atomically: written to a temporary file next to the target, then
//! renamed over it.
//!
//! ```
//! use kmidi_groove::event::{EventKind, TickEvent};
//! use kmidi_groove::smf::{MidiFile, SmfFormat, Track};
//! use kmidi_groove::tempo::TempoMap;
//! let mut file = MidiFile::new(SmfFormat::Parallel, TempoMap::new(480)?);
//! file.tracks.push(Track {
//!     name: Some("drums".into()),
//!     events: vec![
//!         TickEvent { tick: 0, kind: EventKind::NoteOn { channel: 9, key: 36, velocity: 100 } },
//!         TickEvent { tick: 240, kind: EventKind::NoteOff { channel: 9, key: 36, velocity: 0 } },
//!     ],
//! });
//! let bytes = file.to_bytes()?;
//! assert_eq!(MidiFile::parse(&bytes)?, file);
//! # Ok::<(), kmidi_groove::GrooveError>(())
//! ```

use std::path::Path;

use midly::num::{u4, u7, u15, u24, u28};
use midly::{
    Format, Header, MetaMessage, MidiMessage, PitchBend, Smf, Timing, TrackEvent, TrackEventKind,
};

use crate::GrooveError;
use crate::event::{EventKind, TickEvent, sort_events};
use crate::tempo::TempoMap;

/// Format 0 (one track) or 1 (simultaneous tracks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SmfFormat {
    /// Format 0: everything in one track.
    SingleTrack,
    /// Format 1: a tempo track, then one track per part.
    Parallel,
}

/// A track: an optional name and its events, sorted by tick.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Track {
    /// The track name meta event, if any.
    pub name: Option<String>,
    /// The events.
    pub events: Vec<TickEvent>,
}

/// A MIDI file in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MidiFile {
    /// Format 0 or 1.
    pub format: SmfFormat,
    /// PPQ, tempos and time signatures.
    pub tempo_map: TempoMap,
    /// The tracks with musical events (for format 1, not counting the
    /// tempo track, which [`to_bytes`](Self::to_bytes) writes from the
    /// tempo map).
    pub tracks: Vec<Track>,
}

fn smf_error(detail: impl ToString) -> GrooveError {
    GrooveError::Smf {
        detail: detail.to_string(),
    }
}

impl MidiFile {
    /// An empty file.
    pub fn new(format: SmfFormat, tempo_map: TempoMap) -> Self {
        Self {
            format,
            tempo_map,
            tracks: Vec::new(),
        }
    }

    /// Every event of every track, merged and sorted.
    pub fn merged_events(&self) -> Vec<TickEvent> {
        let mut all: Vec<TickEvent> = self
            .tracks
            .iter()
            .flat_map(|t| t.events.iter().copied())
            .collect();
        sort_events(&mut all);
        all
    }

    /// Reads a file from bytes.
    ///
    /// # Errors
    /// [`GrooveError::Smf`] for a truncated or corrupt file, format 2, or
    /// SMPTE timecode timing, saying which.
    pub fn parse(bytes: &[u8]) -> Result<Self, GrooveError> {
        let smf = Smf::parse(bytes)
            .map_err(|e| smf_error(format!("{e} (in a file of {} bytes)", bytes.len())))?;
        let format = match smf.header.format {
            Format::SingleTrack => SmfFormat::SingleTrack,
            Format::Parallel => SmfFormat::Parallel,
            Format::Sequential => {
                return Err(smf_error(
                    "format 2 (sequential tracks) is not supported; allowed formats 0 and 1",
                ));
            }
        };
        let ppq = match smf.header.timing {
            Timing::Metrical(t) => t.as_int(),
            Timing::Timecode(fps, sub) => {
                return Err(smf_error(format!(
                    "SMPTE timecode timing ({} fps, {sub} subframes) is not supported; allowed metrical timing (ticks per quarter note)",
                    fps.as_f32()
                )));
            }
        };
        let mut tempo_map = TempoMap::new(ppq).map_err(smf_error)?;
        let mut tracks = Vec::new();
        for raw in &smf.tracks {
            let mut track = Track::default();
            let mut tick = 0u64;
            let mut has_music = false;
            for ev in raw {
                tick += ev.delta.as_int() as u64;
                match ev.kind {
                    TrackEventKind::Midi { channel, message } => {
                        let channel = channel.as_int();
                        let kind = match message {
                            MidiMessage::NoteOn { key, vel } if vel.as_int() == 0 => {
                                EventKind::NoteOff {
                                    channel,
                                    key: key.as_int(),
                                    velocity: 0,
                                }
                            }
                            MidiMessage::NoteOn { key, vel } => EventKind::NoteOn {
                                channel,
                                key: key.as_int(),
                                velocity: vel.as_int(),
                            },
                            MidiMessage::NoteOff { key, vel } => EventKind::NoteOff {
                                channel,
                                key: key.as_int(),
                                velocity: vel.as_int(),
                            },
                            MidiMessage::Controller { controller, value } => EventKind::Control {
                                channel,
                                controller: controller.as_int(),
                                value: value.as_int(),
                            },
                            MidiMessage::ProgramChange { program } => EventKind::Program {
                                channel,
                                program: program.as_int(),
                            },
                            MidiMessage::PitchBend { bend } => EventKind::PitchBend {
                                channel,
                                value: bend.as_int(),
                            },
                            // Aftertouch is not part of kmidi's event model.
                            _ => continue,
                        };
                        has_music = true;
                        track.events.push(TickEvent { tick, kind });
                    }
                    TrackEventKind::Meta(MetaMessage::Tempo(us)) => {
                        tempo_map.set_tempo(tick, us.as_int()).map_err(smf_error)?;
                    }
                    TrackEventKind::Meta(MetaMessage::TimeSignature(num, den_pow, _, _)) => {
                        let den = 1u32.checked_shl(den_pow as u32).filter(|d| *d <= 64).ok_or_else(|| {
                            smf_error(format!("time signature denominator 2^{den_pow} at tick {tick}; allowed 1 to 64"))
                        })?;
                        tempo_map
                            .set_signature(tick, num, den as u8)
                            .map_err(smf_error)?;
                    }
                    TrackEventKind::Meta(MetaMessage::TrackName(name)) => {
                        track.name = Some(String::from_utf8_lossy(name).into_owned());
                    }
                    _ => {}
                }
            }
            // A format 1 tempo track (no musical events) lives in the map.
            if has_music || track.name.is_some() || format == SmfFormat::SingleTrack {
                tracks.push(track);
            }
        }
        Ok(MidiFile {
            format,
            tempo_map,
            tracks,
        })
    }

    /// Reads a file from disk.
    ///
    /// # Errors
    /// [`GrooveError::Io`] if it cannot be read, else as [`parse`](Self::parse).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, GrooveError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| GrooveError::Io {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        Self::parse(&bytes)
    }

    /// Writes the file to bytes: format 0 merges every track into one;
    /// format 1 writes a tempo track and then each track.
    ///
    /// # Errors
    /// [`GrooveError::OutOfRange`] if an event field exceeds its MIDI range
    /// or two events are more than 2²⁸ ticks apart.
    pub fn to_bytes(&self) -> Result<Vec<u8>, GrooveError> {
        let ppq = u15::try_from(self.tempo_map.ppq())
            .ok_or_else(|| crate::error::out_of_range("ppq", self.tempo_map.ppq(), "1 to 32767"))?;
        let (format, mut tracks_out) = match self.format {
            SmfFormat::SingleTrack => (Format::SingleTrack, Vec::with_capacity(1)),
            SmfFormat::Parallel => (Format::Parallel, Vec::with_capacity(self.tracks.len() + 1)),
        };
        let mut smf = Smf::new(Header::new(format, Timing::Metrical(ppq)));
        let meta: Vec<(u64, TrackEventKind<'static>)> = self
            .tempo_map
            .tempos()
            .iter()
            .map(|t| {
                (
                    t.tick,
                    TrackEventKind::Meta(MetaMessage::Tempo(u24::new(t.us_per_quarter))),
                )
            })
            .chain(self.tempo_map.signatures().iter().map(|s| {
                (
                    s.tick,
                    TrackEventKind::Meta(MetaMessage::TimeSignature(
                        s.numerator,
                        s.denominator.trailing_zeros() as u8,
                        24,
                        8,
                    )),
                )
            }))
            .collect();
        let names: Vec<Option<Vec<u8>>> = self
            .tracks
            .iter()
            .map(|t| t.name.as_ref().map(|n| n.as_bytes().to_vec()))
            .collect();
        match self.format {
            SmfFormat::SingleTrack => {
                let mut timed: Vec<(u64, u8, TrackEventKind)> =
                    meta.iter().map(|(t, k)| (*t, 0, *k)).collect();
                if let Some(Some(name)) = names.first() {
                    timed.insert(
                        0,
                        (0, 0, TrackEventKind::Meta(MetaMessage::TrackName(name))),
                    );
                }
                for e in self.merged_events() {
                    timed.push((e.tick, 1 + e.kind.order_key(), midi_kind(&e.kind)?));
                }
                tracks_out.push(encode_track(timed)?);
            }
            SmfFormat::Parallel => {
                tracks_out.push(encode_track(
                    meta.iter().map(|(t, k)| (*t, 0, *k)).collect(),
                )?);
                for (track, name) in self.tracks.iter().zip(&names) {
                    let mut timed = Vec::with_capacity(track.events.len() + 1);
                    if let Some(name) = name {
                        timed.push((0, 0, TrackEventKind::Meta(MetaMessage::TrackName(name))));
                    }
                    for e in &track.events {
                        timed.push((e.tick, 1 + e.kind.order_key(), midi_kind(&e.kind)?));
                    }
                    tracks_out.push(encode_track(timed)?);
                }
            }
        }
        smf.tracks = tracks_out;
        let mut out = Vec::new();
        smf.write_std(&mut out)
            .map_err(|e| smf_error(format!("writing: {e}")))?;
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
        let io = |e: std::io::Error| GrooveError::Io {
            path: path.display().to_string(),
            detail: e.to_string(),
        };
        let file_name = path.file_name().ok_or_else(|| GrooveError::Io {
            path: path.display().to_string(),
            detail: "not a file path".into(),
        })?;
        let tmp = path.with_file_name(format!(
            ".{}.tmp-{}",
            file_name.to_string_lossy(),
            std::process::id()
        ));
        std::fs::write(&tmp, &bytes).map_err(io)?;
        if let Err(e) = std::fs::rename(&tmp, path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(e));
        }
        Ok(())
    }
}

fn midi_kind(kind: &EventKind) -> Result<TrackEventKind<'static>, GrooveError> {
    let ch = |c: u8| {
        u4::try_from(c).ok_or_else(|| crate::error::out_of_range("MIDI channel", c, "0 to 15"))
    };
    let d7 = |what: &'static str, v: u8| {
        u7::try_from(v).ok_or_else(|| crate::error::out_of_range(what, v, "0 to 127"))
    };
    let (channel, message) = match *kind {
        EventKind::NoteOn {
            channel,
            key,
            velocity,
        } => (
            ch(channel)?,
            MidiMessage::NoteOn {
                key: d7("key", key)?,
                vel: d7("velocity", velocity)?,
            },
        ),
        EventKind::NoteOff {
            channel,
            key,
            velocity,
        } => (
            ch(channel)?,
            MidiMessage::NoteOff {
                key: d7("key", key)?,
                vel: d7("velocity", velocity)?,
            },
        ),
        EventKind::Control {
            channel,
            controller,
            value,
        } => (
            ch(channel)?,
            MidiMessage::Controller {
                controller: d7("controller", controller)?,
                value: d7("controller value", value)?,
            },
        ),
        EventKind::Program { channel, program } => (
            ch(channel)?,
            MidiMessage::ProgramChange {
                program: d7("program", program)?,
            },
        ),
        EventKind::PitchBend { channel, value } => {
            if !(-8192..=8191).contains(&value) {
                return Err(crate::error::out_of_range(
                    "pitch bend",
                    value,
                    "-8192 to 8191",
                ));
            }
            (
                ch(channel)?,
                MidiMessage::PitchBend {
                    bend: PitchBend::from_int(value),
                },
            )
        }
    };
    Ok(TrackEventKind::Midi { channel, message })
}

/// Sorts (tick, order, event) and turns ticks into deltas, ending the track.
fn encode_track<'a>(
    mut timed: Vec<(u64, u8, TrackEventKind<'a>)>,
) -> Result<Vec<TrackEvent<'a>>, GrooveError> {
    timed.sort_by_key(|(t, o, _)| (*t, *o));
    let mut out = Vec::with_capacity(timed.len() + 1);
    let mut last = 0u64;
    for (tick, _, kind) in timed {
        let delta = tick - last;
        let delta = u28::try_from(u32::try_from(delta).unwrap_or(u32::MAX)).ok_or_else(|| {
            crate::error::out_of_range(
                "gap between events",
                format!("{delta} ticks"),
                "at most 268435455 ticks",
            )
        })?;
        out.push(TrackEvent { delta, kind });
        last = tick;
    }
    out.push(TrackEvent {
        delta: u28::new(0),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });
    Ok(out)
}
