//! The engine's control side: lock-free mixer moves, and groove changes
//! handed to the audio thread through wait-free rings.

use kmidi_dsp::mixer::MixerHandle;

use crate::EngineError;
use crate::config::{EngineConfig, GrooveConfig};
use crate::groove_track::LoopedGroove;

/// The control side of an [`Engine`](crate::Engine): lock-free mixer moves from any
/// thread (faders, pans, mutes, solos), validated.
#[derive(Debug, Clone)]
pub struct EngineControl {
    mixer: MixerHandle,
}

impl EngineControl {
    pub(super) fn new(mixer: MixerHandle) -> Self {
        Self { mixer }
    }

    /// The mixer's handle.
    pub fn mixer(&self) -> &MixerHandle {
        &self.mixer
    }
}

/// New grooves in flight to the audio thread.
const GROOVE_SLOTS: usize = 2;

/// Changes the engine's groove (tempo, swing, pattern or MIDI file) while
/// it plays, from a control thread. The new scheduler is built here (it
/// allocates), handed to the audio thread through a wait-free ring, and
/// takes over at the next block at the same position in its loop, so a
/// tempo change lands on the beat. The old one comes back through a second
/// ring and is freed here, never on the audio thread.
pub struct GrooveControl {
    sample_rate: u32,
    to_audio: rtrb::Producer<Box<LoopedGroove>>,
    from_audio: rtrb::Consumer<Box<LoopedGroove>>,
}

impl std::fmt::Debug for GrooveControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrooveControl")
            .field("sample_rate", &self.sample_rate)
            .finish()
    }
}

impl GrooveControl {
    /// A control for an engine at `sample_rate`, with the audio thread's
    /// ends of its rings. Returns can number at most the changes in flight
    /// plus the one playing, so the return ring never fills and the audio
    /// thread never has to free a groove itself.
    pub(super) fn with_rings(
        sample_rate: u32,
    ) -> (
        Self,
        rtrb::Consumer<Box<LoopedGroove>>,
        rtrb::Producer<Box<LoopedGroove>>,
    ) {
        let (to_audio, groove_in) = rtrb::RingBuffer::new(GROOVE_SLOTS);
        let (groove_out, from_audio) = rtrb::RingBuffer::new(GROOVE_SLOTS + 2);
        let control = Self {
            sample_rate,
            to_audio,
            from_audio,
        };
        (control, groove_in, groove_out)
    }

    /// Builds the groove for `config` and queues it for the audio thread.
    ///
    /// # Errors
    /// [`EngineError::Config`] for bad settings or a full queue (the audio
    /// thread has not run since the last two changes);
    /// [`EngineError::Groove`] for an unreadable MIDI file.
    pub fn set(&mut self, config: &GrooveConfig) -> Result<(), EngineError> {
        self.collect();
        let mut check = EngineConfig::preset("minimal")?;
        check.groove = config.clone();
        check.groove.enabled = true;
        check.validate()?;
        let groove = Box::new(LoopedGroove::new(config, self.sample_rate)?);
        self.to_audio.push(groove).map_err(|_| {
            EngineError::config(
                "groove",
                "two changes are already waiting for the audio thread: process a block first",
            )
        })
    }

    /// Frees the grooves the audio thread has handed back.
    pub fn collect(&mut self) -> usize {
        let mut n = 0;
        while self.from_audio.pop().is_ok() {
            n += 1;
        }
        n
    }
}
