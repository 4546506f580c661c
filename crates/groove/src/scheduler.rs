//! The block scheduler: what the audio thread asks every block.
//!
//! [`BlockScheduler::new`] turns a sorted event list and a tempo map into
//! frame-stamped events once, off the audio thread (tempo changes are
//! resolved there, exactly). Then [`BlockScheduler::process_block`] hands
//! out the events inside `[position, position + frames)` with their offsets
//! in the block. It keeps a cursor, so a block costs time in proportion to
//! the events in it; it never allocates; and a loop region wraps
//! mid-block with the offsets continuing after the wrap. A jump
//! ([`seek`](BlockScheduler::seek)) costs one binary search.
//!
//! ```
//! use kmidi_groove::event::{EventKind, TickEvent};
//! use kmidi_groove::scheduler::BlockScheduler;
//! use kmidi_groove::tempo::TempoMap;
//! let map = TempoMap::new(480)?; // 120 BPM: a quarter is 24 000 frames at 48 kHz
//! let hit = |tick| TickEvent { tick, kind: EventKind::NoteOn { channel: 9, key: 36, velocity: 100 } };
//! let mut s = BlockScheduler::new(&[hit(0), hit(480), hit(960)], &map, 48_000)?;
//! s.set_loop(Some((0, 48_000)))?; // loop two beats
//! let mut offsets = Vec::new();
//! for _ in 0..200 {
//!     s.process_block(512, |e| offsets.push(e.offset));
//! }
//! // 200 × 512 frames = 2.13 loops: hits at 0, 24 000, then again.
//! assert_eq!(offsets.len(), 5);
//! # Ok::<(), kmidi_groove::GrooveError>(())
//! ```

use crate::GrooveError;
use crate::error::out_of_range;
use crate::event::{EventKind, FrameEvent, TickEvent};
use crate::tempo::TempoMap;

/// An event inside the current block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockEvent {
    /// Frames from the start of the block.
    pub offset: u32,
    /// The event's absolute frame on the timeline (before loop wrapping
    /// this equals the block position plus the offset).
    pub frame: u64,
    /// What it does.
    pub kind: EventKind,
}

/// Frame-stamped events and a playhead.
pub struct BlockScheduler {
    events: Vec<FrameEvent>,
    position: u64,
    cursor: usize,
    looping: Option<(u64, u64)>,
}

impl BlockScheduler {
    /// Converts `events` (sorted by tick) to frames at `sample_rate`.
    ///
    /// # Errors
    /// [`GrooveError::Unsorted`] if the events are not in tick order, or
    /// [`GrooveError::OutOfRange`] for a zero sample rate.
    pub fn new(
        events: &[TickEvent],
        tempo: &TempoMap,
        sample_rate: u32,
    ) -> Result<Self, GrooveError> {
        if sample_rate == 0 {
            return Err(out_of_range("sample rate", 0, "1 Hz or more"));
        }
        if let Some(i) = events.windows(2).position(|w| w[1].tick < w[0].tick) {
            return Err(GrooveError::Unsorted {
                what: "events",
                detail: format!(
                    "event {} at tick {} comes after tick {}",
                    i + 1,
                    events[i + 1].tick,
                    events[i].tick
                ),
            });
        }
        let events = events
            .iter()
            .map(|e| FrameEvent {
                frame: tempo.tick_to_frame(e.tick, sample_rate),
                kind: e.kind,
            })
            .collect();
        Ok(Self::from_frames(events))
    }

    /// From events already in frames (sorted by frame).
    pub fn from_frames(events: Vec<FrameEvent>) -> Self {
        Self {
            events,
            position: 0,
            cursor: 0,
            looping: None,
        }
    }

    /// The frame-stamped events.
    pub fn events(&self) -> &[FrameEvent] {
        &self.events
    }

    /// The playhead: the frame the next block starts at.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Moves the playhead (one binary search).
    pub fn seek(&mut self, frame: u64) {
        self.position = frame;
        self.cursor = self.events.partition_point(|e| e.frame < frame);
    }

    /// The loop region, if looping.
    pub fn loop_region(&self) -> Option<(u64, u64)> {
        self.looping
    }

    /// Loops `[start, end)` in frames, or stops looping with `None`. A
    /// playhead already past the end jumps to the start at the next block.
    ///
    /// # Errors
    /// [`GrooveError::OutOfRange`] for an empty region.
    pub fn set_loop(&mut self, region: Option<(u64, u64)>) -> Result<(), GrooveError> {
        if let Some((s, e)) = region
            && e <= s
        {
            return Err(out_of_range(
                "loop region",
                format!("{s}..{e}"),
                "an end after the start",
            ));
        }
        self.looping = region;
        Ok(())
    }

    /// Calls `emit` for every event in the next `frames` frames, in order,
    /// with its offset in the block, and advances the playhead. No
    /// allocation; cost in proportion to the events emitted (plus one
    /// binary search per loop wrap).
    pub fn process_block(&mut self, frames: u32, mut emit: impl FnMut(BlockEvent)) {
        let mut done = 0u32;
        while done < frames {
            let mut span_end = self.position + (frames - done) as u64;
            if let Some((start, end)) = self.looping {
                if self.position >= end {
                    self.seek(start);
                }
                span_end = span_end.min(end);
            }
            while let Some(e) = self.events.get(self.cursor) {
                if e.frame >= span_end {
                    break;
                }
                if e.frame >= self.position {
                    emit(BlockEvent {
                        offset: done + (e.frame - self.position) as u32,
                        frame: e.frame,
                        kind: e.kind,
                    });
                }
                self.cursor += 1;
            }
            done += (span_end - self.position) as u32;
            self.position = span_end;
            if let Some((start, end)) = self.looping
                && self.position >= end
            {
                self.seek(start);
            }
        }
    }
}
