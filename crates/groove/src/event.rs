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
}

impl EventKind {
    /// Order of events at the same time: note-offs first (so a repeated
    /// note is released before it is struck again), then controls and
    /// programs, then note-ons.
    pub fn order_key(&self) -> u8 {
        match self {
            EventKind::NoteOff { .. } => 0,
            EventKind::Control { .. } | EventKind::Program { .. } | EventKind::PitchBend { .. } => {
                1
            }
            EventKind::NoteOn { .. } => 2,
        }
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

/// Sorts events by time, note-offs before note-ons at the same time, and
/// otherwise keeps their order (a stable sort).
pub fn sort_events(events: &mut [TickEvent]) {
    events.sort_by_key(|e| (e.tick, e.kind.order_key()));
}

/// A note with a start and a duration in ticks: the unit the groove tools
/// work on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Note {
    /// Start, in ticks.
    pub start: u64,
    /// Length, in ticks (at least 1).
    pub duration: u64,
    /// MIDI channel 0-15.
    pub channel: u8,
    /// MIDI key 0-127.
    pub key: u8,
    /// Velocity 1-127.
    pub velocity: u8,
}

/// Pairs note-ons with their note-offs (a note-on with velocity 0 counts as
/// a note-off). A note still sounding at the end lasts to the last event.
pub fn notes_from_events(events: &[TickEvent]) -> Vec<Note> {
    let mut open: Vec<(u8, u8, u64, u8)> = Vec::new();
    let mut notes = Vec::new();
    let end = events.last().map_or(0, |e| e.tick);
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
                        duration: (e.tick - start).max(1),
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
            duration: end.saturating_sub(start).max(1),
            channel,
            key,
            velocity,
        });
    }
    notes.sort_by_key(|n| (n.start, n.channel, n.key));
    notes
}

/// Note-on and note-off events for `notes`, sorted.
pub fn events_from_notes(notes: &[Note]) -> Vec<TickEvent> {
    let mut ev: Vec<TickEvent> = notes
        .iter()
        .flat_map(|n| {
            [
                TickEvent {
                    tick: n.start,
                    kind: EventKind::NoteOn {
                        channel: n.channel,
                        key: n.key,
                        velocity: n.velocity.max(1),
                    },
                },
                TickEvent {
                    tick: n.start + n.duration.max(1),
                    kind: EventKind::NoteOff {
                        channel: n.channel,
                        key: n.key,
                        velocity: 64,
                    },
                },
            ]
        })
        .collect();
    sort_events(&mut ev);
    ev
}
