//! The MIDI groove the engine's scheduler plays: a built-in drum pattern
//! (General MIDI channel 10) with swing, or a Standard MIDI File, looped.

use kmidi_groove::event::{EventKind, Note, TickEvent, events_from_notes, sort_events};
use kmidi_groove::groove::{Division, Grid, swing};
use kmidi_groove::scheduler::BlockScheduler;
use kmidi_groove::smf::MidiFile;
use kmidi_groove::tempo::TempoMap;

use crate::EngineError;
use crate::config::GrooveConfig;

/// Ticks per quarter of the built-in pattern.
pub const PATTERN_PPQ: u16 = 480;
/// General MIDI drum channel (10, zero-based 9).
pub const DRUM_CHANNEL: u8 = 9;
/// GM kick, snare, closed and open hi-hat keys.
pub const KICK: u8 = 36;
/// GM acoustic snare.
pub const SNARE: u8 = 38;
/// GM closed hi-hat.
pub const CLOSED_HAT: u8 = 42;
/// GM open hi-hat.
pub const OPEN_HAT: u8 = 46;

/// The built-in pattern: `bars` bars of a 16th-note rock/funk beat, swung
/// by `swing_percent`, as sorted tick events.
///
/// # Errors
/// [`EngineError::Groove`] for a swing outside 50–75%.
pub fn drum_pattern(bars: u32, swing_percent: f64) -> Result<Vec<TickEvent>, EngineError> {
    let step = PATTERN_PPQ as u64 / 4;
    let mut notes = Vec::new();
    let mut hit = |start: u64, key: u8, velocity: u8| {
        notes.push(Note {
            start,
            duration: step / 2,
            channel: DRUM_CHANNEL,
            key,
            velocity,
        });
    };
    for bar in 0..bars as u64 {
        let base = bar * 16 * step;
        for s in 0..16u64 {
            let t = base + s * step;
            // Kick on 1 and 3, plus a pickup on the "a" of 2 every other bar.
            if s == 0 || s == 8 || (bar % 2 == 1 && s == 7) {
                hit(t, KICK, if s == 0 { 120 } else { 104 });
            }
            // Backbeat, and a ghost note before beat 4.
            if s == 4 || s == 12 {
                hit(t, SNARE, 118);
            } else if s == 11 {
                hit(t, SNARE, 38);
            }
            // 16th hats, accented on the 8ths, open on the last "and".
            if s == 14 {
                hit(t, OPEN_HAT, 90);
            } else {
                hit(t, CLOSED_HAT, if s % 2 == 0 { 96 } else { 60 });
            }
        }
    }
    let grid = Grid::new(PATTERN_PPQ, Division::Sixteenth, false)?;
    swing(&mut notes, grid, swing_percent)?;
    let mut events = events_from_notes(&notes);
    sort_events(&mut events);
    Ok(events)
}

/// Builds the looping scheduler for `config` at `sample_rate` (off the
/// audio thread: it allocates).
///
/// # Errors
/// [`EngineError::Groove`] for an unreadable or corrupt MIDI file, or bad
/// pattern settings.
pub fn build_scheduler(
    config: &GrooveConfig,
    sample_rate: u32,
) -> Result<BlockScheduler, EngineError> {
    let (events, tempo, end_tick) = match &config.midi_file {
        Some(path) => {
            let file = MidiFile::load(path).map_err(|e| {
                EngineError::config(format!("groove midi_file {}", path.display()), e)
            })?;
            let tempo = file.tempo_map().map_err(|e| {
                EngineError::config(format!("groove midi_file {}", path.display()), e)
            })?;
            let events = file.merged_events();
            let last = events.last().map_or(0, |e| e.tick);
            // Loop on a whole bar after the last event.
            let bar = tempo.ppq() as u64 * 4;
            let end = (last / bar + 1) * bar;
            (events, tempo, end)
        }
        None => {
            let mut tempo = TempoMap::new(PATTERN_PPQ)?;
            tempo.set_tempo_bpm(0, config.tempo_bpm)?;
            let events = drum_pattern(config.bars, config.swing_percent)?;
            let end = config.bars as u64 * 4 * PATTERN_PPQ as u64;
            (events, tempo, end)
        }
    };
    let mut scheduler = BlockScheduler::new(&events, &tempo, sample_rate)?;
    let end_frame = tempo.tick_to_frame(end_tick, sample_rate).max(1);
    scheduler.set_loop(Some((0, end_frame)))?;
    Ok(scheduler)
}

/// A looping scheduler and its loop length, as the engine holds it.
pub struct LoopedGroove {
    /// The scheduler, looping on `[0, loop_frames)`.
    pub scheduler: BlockScheduler,
    /// Frames in the loop.
    pub loop_frames: u64,
}

impl LoopedGroove {
    /// Builds the groove for `config` at `sample_rate` (allocates).
    ///
    /// # Errors
    /// As [`build_scheduler`].
    pub fn new(config: &GrooveConfig, sample_rate: u32) -> Result<Self, EngineError> {
        let scheduler = build_scheduler(config, sample_rate)?;
        // `build_scheduler` always loops from 0 to the end of the last bar.
        let loop_frames = scheduler.loop_region().map_or(1, |(_, end)| end.max(1));
        Ok(Self {
            scheduler,
            loop_frames,
        })
    }

    /// Where the playhead is in the loop, 0 to 1.
    pub fn phase(&self) -> f64 {
        (self.scheduler.position() % self.loop_frames) as f64 / self.loop_frames as f64
    }

    /// Moves the playhead to `phase` (0 to 1) of the loop: a new groove
    /// taking over keeps the bar position, so a tempo change lands in time.
    pub fn seek_phase(&mut self, phase: f64) {
        let frame = (phase.clamp(0.0, 1.0) * self.loop_frames as f64) as u64;
        self.scheduler.seek(frame.min(self.loop_frames - 1));
    }
}

/// Whether `kind` is a note-on (for counting hits).
pub fn is_note_on(kind: &EventKind) -> bool {
    matches!(kind, EventKind::NoteOn { velocity, .. } if *velocity > 0)
}
