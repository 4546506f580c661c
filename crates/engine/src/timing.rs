//! Per-stage timing: how long each stage of the block callback took, for
//! "stage: % of block time" bottleneck tables.
//!
//! When on, the engine reads the monotonic clock once at the start of a
//! block and once after each stage (9 reads a block, about 20 ns each
//! through the vDSO), so the cost is a fixed ~0.2 µs a block: under 1% of
//! the "band" preset's block time (`engine/stage_timing` bench). When off,
//! each stage boundary is one predictable branch.

use std::time::Instant;

/// The stages of one block, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Input: resampling to the engine rate and routing to the tracks.
    Input,
    /// The track inserts (EQ, compressor) of every track.
    TrackInserts,
    /// The mixer: faders, pans, sum to the stereo master.
    Mix,
    /// Master EQ and limiter.
    MasterBus,
    /// The `ChordDetector` tap.
    ChordDetector,
    /// The `OnsetDetector` tap.
    OnsetDetector,
    /// ML feature frames and requests/results to the inference worker.
    MlFeed,
    /// The groove scheduler's MIDI events for the block.
    MidiScheduler,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 8] = [
        Stage::Input,
        Stage::TrackInserts,
        Stage::Mix,
        Stage::MasterBus,
        Stage::ChordDetector,
        Stage::OnsetDetector,
        Stage::MlFeed,
        Stage::MidiScheduler,
    ];

    /// Number of stages.
    pub const COUNT: usize = Self::ALL.len();

    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Input => "input/resample",
            Stage::TrackInserts => "track inserts",
            Stage::Mix => "mix",
            Stage::MasterBus => "master bus",
            Stage::ChordDetector => "chord detector",
            Stage::OnsetDetector => "onset detector",
            Stage::MlFeed => "ml feed",
            Stage::MidiScheduler => "midi scheduler",
        }
    }
}

/// Nanoseconds per stage.
pub type StageNanos = [u64; Stage::COUNT];

/// The clock the engine reads between stages.
#[derive(Debug, Clone)]
pub(crate) struct StageClock {
    enabled: bool,
    mark: Option<Instant>,
    last: StageNanos,
    total: StageNanos,
    blocks: u64,
}

impl StageClock {
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            mark: None,
            last: [0; Stage::COUNT],
            total: [0; Stage::COUNT],
            blocks: 0,
        }
    }

    pub(crate) fn set_enabled(&mut self, on: bool) {
        self.enabled = on;
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    #[inline]
    pub(crate) fn start_block(&mut self) {
        if self.enabled {
            self.last = [0; Stage::COUNT];
            self.mark = Some(Instant::now());
        }
    }

    /// Charges the time since the last mark to `stage`.
    #[inline]
    pub(crate) fn lap(&mut self, stage: Stage) {
        if self.enabled
            && let Some(mark) = self.mark
        {
            let now = Instant::now();
            let ns = now.saturating_duration_since(mark).as_nanos() as u64;
            self.last[stage as usize] += ns;
            self.total[stage as usize] += ns;
            self.mark = Some(now);
        }
    }

    #[inline]
    pub(crate) fn end_block(&mut self) {
        if self.enabled {
            self.blocks += 1;
            self.mark = None;
        }
    }

    pub(crate) fn last(&self) -> &StageNanos {
        &self.last
    }

    pub(crate) fn totals(&self) -> (&StageNanos, u64) {
        (&self.total, self.blocks)
    }

    pub(crate) fn clear(&mut self) {
        self.total = [0; Stage::COUNT];
        self.last = [0; Stage::COUNT];
        self.blocks = 0;
    }
}
