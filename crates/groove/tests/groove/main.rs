//! The groove crate's tests in one binary (one link instead of 5); the
//! zero-allocation tests and the others a script runs by name keep
//! their own.

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

use kmidi_dsp::alloc_probe::CountingAllocator;

mod beats;
mod conformance;
mod drums;
mod regressions;
mod smf;
mod timing;

use kmidi_groove::event::{EventKind, TickEvent};

/// A note-on of `key` on channel 0 at velocity 100.
fn on(tick: u64, key: u8) -> TickEvent {
    TickEvent {
        tick,
        kind: EventKind::NoteOn {
            channel: 0,
            key,
            velocity: 100,
        },
    }
}
