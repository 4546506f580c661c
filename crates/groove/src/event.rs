//! Note and control events in musical time (ticks) and in sample time.

/// What an event does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Start a note.
    NoteOn {
        /// MIDI channel 0-15.
        channel: u8,
        /// MIDI key 0-127.
        key: u8,
        /// Velocity 1-127 (0 is a note-off by MIDI convention).
        velocity: u8,
    },
    /// Stop a note.
    NoteOff {
        /// MIDI channel 0-15.
        channel: u8,
        /// MIDI key 0-127.
        key: u8,
        /// Release velocity 0-127.
        velocity: u8,
    },
    /// A control change.
    Control {
        /// MIDI channel 0-15.
        channel: u8,
        /// Controller number 0-127.
        controller: u8,
        /// Value 0-127.
        value: u8,
    },
    /// A program change.
    Program {
        /// MIDI channel 0-15.
        channel: u8,
        /// Program 0-127.
        program: u8,
    },
    /// Pitch bend, -8192 to 8191.
    PitchBend {
        /// MIDI channel 0-15.
        channel: u8,
        /// Bend amount, 0 = centre.
        value: i16,
    },
    /// Polyphonic key pressure (aftertouch on one key).
    PolyAftertouch {
        /// MIDI channel 0-15.
        channel: u8,
        /// MIDI key 0-127.
        key: u8,
        /// Pressure 0-127.
        pressure: u8,
    },
    /// Channel pressure (aftertouch for the whole channel).
    ChannelAftertouch {
        /// MIDI channel 0-15.
        channel: u8,
        /// Pressure 0-127.
        pressure: u8,
    },
}

impl EventKind {
    /// The MIDI channel, 0-15.
    pub fn channel(&self) -> u8 {
        match *self {
            EventKind::NoteOn { channel, .. }
            | EventKind::NoteOff { channel, .. }
            | EventKind::Control { channel, .. }
            | EventKind::Program { channel, .. }
            | EventKind::PitchBend { channel, .. }
            | EventKind::PolyAftertouch { channel, .. }
            | EventKind::ChannelAftertouch { channel, .. } => channel,
        }
    }

    /// The MIDI bytes of the message: status, data, and how many data
    /// bytes there are (1 or 2).
    ///
    /// # Errors
    /// [`GrooveError::OutOfRange`](crate::GrooveError::OutOfRange) for a
    /// field outside its MIDI range.
    pub fn midi_bytes(&self) -> Result<(u8, [u8; 2], usize), crate::GrooveError> {
        let d7 = |what: &'static str, v: u8| {
            if v < 0x80 {
                Ok(v)
            } else {
                Err(crate::error::out_of_range(what, v, "0 to 127"))
            }
        };
        let ch = self.channel();
        if ch > 15 {
            return Err(crate::error::out_of_range("MIDI channel", ch, "0 to 15"));
        }
        let (hi, d, n) = match *self {
            EventKind::NoteOff { key, velocity, .. } => {
                (0x80, [d7("key", key)?, d7("velocity", velocity)?], 2)
            }
            EventKind::NoteOn { key, velocity, .. } => {
                (0x90, [d7("key", key)?, d7("velocity", velocity)?], 2)
            }
            EventKind::PolyAftertouch { key, pressure, .. } => {
                (0xA0, [d7("key", key)?, d7("pressure", pressure)?], 2)
            }
            EventKind::Control {
                controller, value, ..
            } => (
                0xB0,
                [
                    d7("controller", controller)?,
                    d7("controller value", value)?,
                ],
                2,
            ),
            EventKind::Program { program, .. } => (0xC0, [d7("program", program)?, 0], 1),
            EventKind::ChannelAftertouch { pressure, .. } => {
                (0xD0, [d7("pressure", pressure)?, 0], 1)
            }
            EventKind::PitchBend { value, .. } => {
                if !(-8192..=8191).contains(&value) {
                    return Err(crate::error::out_of_range(
                        "pitch bend",
                        value,
                        "-8192 to 8191",
                    ));
                }
                let v = (value + 8192) as u16;
                (0xE0, [(v & 0x7F) as u8, (v >> 7) as u8], 2)
            }
        };
        Ok((hi | ch, d, n))
    }

    /// The message a status byte and its data bytes make.
    pub fn from_midi_bytes(status: u8, data: [u8; 2]) -> EventKind {
        let channel = status & 0x0F;
        let d = data;
        match status & 0xF0 {
            0x80 => EventKind::NoteOff {
                channel,
                key: d[0],
                velocity: d[1],
            },
            0x90 => EventKind::NoteOn {
                channel,
                key: d[0],
                velocity: d[1],
            },
            0xA0 => EventKind::PolyAftertouch {
                channel,
                key: d[0],
                pressure: d[1],
            },
            0xB0 => EventKind::Control {
                channel,
                controller: d[0],
                value: d[1],
            },
            0xC0 => EventKind::Program {
                channel,
                program: d[0],
            },
            0xD0 => EventKind::ChannelAftertouch {
                channel,
                pressure: d[0],
            },
            _ => EventKind::PitchBend {
                channel,
                value: ((d[1] as i16 & 0x7F) << 7 | (d[0] as i16 & 0x7F)) - 8192,
            },
        }
    }

    /// Whether this starts a note (a note-on with velocity above 0).
    pub fn is_note_on(&self) -> bool {
        matches!(self, EventKind::NoteOn { velocity, .. } if *velocity > 0)
    }

    /// Whether this ends a note: a note-off, or a note-on with velocity 0
    /// (the MIDI convention).
    pub fn is_note_off(&self) -> bool {
        matches!(
            self,
            EventKind::NoteOff { .. } | EventKind::NoteOn { velocity: 0, .. }
        )
    }
}

/// An event at a tick (musical time; see [`TempoMap`](crate::tempo::TempoMap)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TickEvent {
    /// Ticks from the start.
    pub tick: u64,
    /// What it does.
    pub kind: EventKind,
}

/// An event at an exact sample frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameEvent {
    /// Frames from the start.
    pub frame: u64,
    /// What it does.
    pub kind: EventKind,
}

/// Sorts events by time and keeps the order of events at the same time (a
/// stable sort). Events at one tick stay as they were written: a note-on
/// followed by its note-off at the same tick is a zero-length note, and
/// moving the note-off first would leave the note stuck.
pub fn sort_events(events: &mut [TickEvent]) {
    events.sort_by_key(|e| e.tick);
}

/// A note with a start and a duration in ticks: the unit the groove tools
/// work on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Note {
    /// Start, in ticks.
    pub start: u64,
    /// Length, in ticks (0 for a note-on and note-off at the same tick).
    pub duration: u64,
    /// MIDI channel 0-15.
    pub channel: u8,
    /// MIDI key 0-127.
    pub key: u8,
    /// Velocity 1-127.
    pub velocity: u8,
}

/// Pairs note-ons with their note-offs, in the order the events come (a
/// note-on with velocity 0 counts as a note-off; each note-off closes the
/// earliest open note of its key and channel). A note-on and note-off at
/// the same tick make a zero-length note. A note still sounding at the end
/// lasts to the last event.
pub fn notes_from_events(events: &[TickEvent]) -> Vec<Note> {
    let mut open: Vec<(u8, u8, u64, u8)> = Vec::new();
    let mut notes = Vec::new();
    let end = events.iter().map(|e| e.tick).max().unwrap_or(0);
    for e in events {
        match e.kind {
            EventKind::NoteOn {
                channel,
                key,
                velocity,
            } if velocity > 0 => {
                open.push((channel, key, e.tick, velocity));
            }
            EventKind::NoteOn { channel, key, .. } | EventKind::NoteOff { channel, key, .. } => {
                if let Some(i) = open.iter().position(|o| o.0 == channel && o.1 == key) {
                    let (channel, key, start, velocity) = open.remove(i);
                    notes.push(Note {
                        start,
                        duration: e.tick.saturating_sub(start),
                        channel,
                        key,
                        velocity,
                    });
                }
            }
            _ => {}
        }
    }
    for (channel, key, start, velocity) in open {
        notes.push(Note {
            start,
            duration: end.saturating_sub(start),
            channel,
            key,
            velocity,
        });
    }
    notes.sort_by_key(|n| (n.start, n.channel, n.key));
    notes
}

/// Note-on and note-off events for `notes`, sorted. At one tick, the
/// note-offs of notes that end there come first (a repeated note is
/// released before it is struck again), then each note that starts there
/// with, for a zero-length note, its note-off right after its note-on.
pub fn events_from_notes(notes: &[Note]) -> Vec<TickEvent> {
    // (tick, rank, index): rank 0 for a note-off that ends a sounding
    // note, 1 for a note-on and the note-off of a zero-length note.
    let mut ev: Vec<(u64, u8, usize, TickEvent)> = Vec::with_capacity(notes.len() * 2);
    for (i, n) in notes.iter().enumerate() {
        let on = TickEvent {
            tick: n.start,
            kind: EventKind::NoteOn {
                channel: n.channel,
                key: n.key,
                velocity: n.velocity.max(1),
            },
        };
        let off = TickEvent {
            tick: n.start + n.duration,
            kind: EventKind::NoteOff {
                channel: n.channel,
                key: n.key,
                velocity: 64,
            },
        };
        ev.push((on.tick, 1, 2 * i, on));
        ev.push((off.tick, u8::from(n.duration == 0), 2 * i + 1, off));
    }
    ev.sort_by_key(|&(tick, rank, index, _)| (tick, rank, index));
    ev.into_iter().map(|(_, _, _, e)| e).collect()
}
