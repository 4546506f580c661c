//! # kmidi-conformance
//!
//! A conformance suite for real-time audio processors: kmidi's pluginval.
//! Point it at any [`BufferProcessor`], or any in-place
//! [`Processor`], in your own tests, and it checks the
//! real-time contract of `kmidi-dsp` the way a hostile host would:
//!
//! | check | what it does |
//! |---|---|
//! | `rates` | every sample rate from 8 to 384 kHz (how many: strictness) |
//! | `channels` | channel counts from 1 to 64 |
//! | `blocks` | largest blocks from 1 to 8192 frames, fed blocks of every length up to them |
//! | `partition` | one signal cut into random blocks: the output (and what an analyser reports, [`Subject::observe`]) equals the whole-block output, bit for bit or within the subject's stated tolerance |
//! | `oversized` | a block longer than prepared: the defined behaviour (in place: the extra frames and channels come back untouched; buffer processors: an error and a silent output) |
//! | `reprepare` | prepare A, run, prepare B, run, reset, prepare A: equal to a fresh A |
//! | `reset` | reset after audio: equal to a fresh processor |
//! | `automation` | parameters changed every block from another thread: finite output, no clicks |
//! | `poison` | NaN, ±Inf, denormals, 1e30, ±f32::MAX, DC, silence and full-scale squares, each followed by normal audio: finite output from the next block on, and back to the output of a run without it within the processor's stated latency + tail |
//! | `latency` | the reported latency equals the measured delay of a band-limited impulse's peak, or (for nodes that keep the rate) where a unit impulse's response starts: a minimum-phase filter's group delay is not latency |
//! | `realtime` | in steady state: zero allocations, zero system calls (perf tracepoint), no voluntary context switches (blocking, locks that wait) and no page faults |
//!
//! Every call is wrapped in `catch_unwind` and counted for allocations, in
//! every check. Every failure names the processor, the check, the stream
//! and the input (or the seed that regenerates it), and the report prints
//! the environment that reruns it. Allocation counting needs
//! [`CountingAllocator`](kmidi_dsp::alloc_probe::CountingAllocator) as the
//! test binary's global allocator; the system-call count needs Linux,
//! tracefs and root (see [`probe`]). Where they are missing, the check says
//! so instead of passing.
//!
//! ```
//! use kmidi_conformance::{Strictness, Subject, Suite};
//! use kmidi_dsp::gain::Gain;
//!
//! #[global_allocator]
//! static A: kmidi_dsp::alloc_probe::CountingAllocator = kmidi_dsp::alloc_probe::CountingAllocator;
//!
//! let subject = Subject::in_place("Gain -6 dB", |_spec| Some(Gain::new(-6.0)))
//!     .automate(|gain| {
//!         let handle = gain.0.handle();
//!         Box::new(move |rng: &mut fastrand::Rng| {
//!             handle.set_db(rng.f32() * -40.0).ok();
//!         })
//!     });
//! let report = Suite::new(Strictness::QUICK).check_in_place(&subject);
//! assert!(report.passed(), "{report}");
//! ```
#![warn(missing_docs)]

mod checks;
mod driver;
pub mod probe;
mod report;
pub mod signal;

use std::time::Instant;

use kmidi_dsp::{BufferProcessor, InPlace, Processor, StreamSpec};

pub use checks::CHECK_NAMES;
pub use report::{CheckResult, Failure, Outcome, Report, SpecLabel};

/// How hard the suite tries, 1 to 10, as pluginval's strictness levels:
/// more rates, channel counts, block sizes, partitions and automation
/// blocks as the level rises. [`Strictness::CI`] is what kmidi's CI runs;
/// [`Strictness::HIGHEST`] every rate and size the contract names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Strictness(u8);

impl Strictness {
    /// Two rates, two channel counts, one block size: a smoke test.
    pub const QUICK: Self = Self(2);
    /// What CI runs: the extremes and the common cases of each axis.
    pub const CI: Self = Self(5);
    /// Every rate, channel count and block size listed in the contract,
    /// with racing automation.
    pub const HIGHEST: Self = Self(10);

    /// A level from 1 to 10 (clamped).
    pub fn new(level: u8) -> Self {
        Self(level.clamp(1, 10))
    }

    /// The level, 1 to 10.
    pub fn level(self) -> u8 {
        self.0
    }

    pub(crate) fn rates(self) -> &'static [f64] {
        match self.0 {
            1..=3 => &[44_100.0, 48_000.0],
            4..=6 => &[8_000.0, 44_100.0, 48_000.0, 96_000.0, 384_000.0],
            _ => &[
                8_000.0, 11_025.0, 16_000.0, 22_050.0, 32_000.0, 44_100.0, 48_000.0, 88_200.0,
                96_000.0, 176_400.0, 192_000.0, 352_800.0, 384_000.0,
            ],
        }
    }

    pub(crate) fn channel_counts(self) -> &'static [usize] {
        match self.0 {
            1..=3 => &[1, 2],
            4..=6 => &[1, 2, 5, 64],
            _ => &[1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 63, 64],
        }
    }

    pub(crate) fn max_blocks(self) -> &'static [usize] {
        match self.0 {
            1..=3 => &[64, 512],
            4..=6 => &[1, 64, 512, 8192],
            _ => &[
                1, 2, 3, 32, 64, 100, 128, 256, 512, 1000, 1024, 2048, 4096, 8192,
            ],
        }
    }

    pub(crate) fn partitions(self) -> usize {
        2 * self.0 as usize
    }

    pub(crate) fn automation_blocks(self) -> usize {
        60 * self.0 as usize
    }

    pub(crate) fn racing_automation(self) -> bool {
        self.0 >= 7
    }
}

/// A parameter change the control thread makes, given the suite's random
/// generator (so that a seed reproduces the changes).
pub type Automation = Box<dyn FnMut(&mut fastrand::Rng) + Send>;

type Builder<P> = Box<dyn Fn(&StreamSpec) -> Option<P> + Sync>;
type Automator<P> = Box<dyn Fn(&P) -> Automation + Sync>;
type Observer<P> = Box<dyn Fn(&P) -> Vec<f64> + Sync>;

/// How closely outputs must agree when the same signal is cut into other
/// blocks, or a processor is reset or prepared again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Exactness {
    /// Bit for bit.
    BitExact,
    /// Within this absolute difference per sample.
    Within(f32),
}

impl Exactness {
    pub(crate) fn agrees(self, a: f32, b: f32) -> bool {
        match self {
            Exactness::BitExact => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            Exactness::Within(tol) => (a - b).abs() <= tol || (a.is_nan() && b.is_nan()),
        }
    }
}

/// A processor under test: how to build one for a stream, and optionally
/// how to automate its parameters from another thread.
pub struct Subject<P> {
    name: String,
    build: Builder<P>,
    automation: Option<Automator<P>>,
    observer: Option<Observer<P>>,
    exactness: Exactness,
    clicks_checked: bool,
}

impl<P> std::fmt::Debug for Subject<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subject")
            .field("name", &self.name)
            .field("automated", &self.automation.is_some())
            .field("exactness", &self.exactness)
            .finish()
    }
}

impl<P: BufferProcessor> Subject<P> {
    /// A subject built by `build` for each stream the suite tries;
    /// `build` returns `None` for a stream the processor does not take
    /// (a mixer with a fixed strip layout given another channel count,
    /// say). The stream 48 kHz, 512 frames and the processor's natural
    /// channel count must be supported.
    pub fn new(
        name: impl Into<String>,
        build: impl Fn(&StreamSpec) -> Option<P> + Sync + 'static,
    ) -> Self {
        Self {
            name: name.into(),
            build: Box::new(build),
            automation: None,
            observer: None,
            exactness: Exactness::BitExact,
            clicks_checked: true,
        }
    }

    /// Automates the processor's parameters: `automate` gets each new
    /// instance (before it moves to the audio thread) and returns what the
    /// control thread calls once per block.
    pub fn automate(mut self, automate: impl Fn(&P) -> Automation + Sync + 'static) -> Self {
        self.automation = Some(Box::new(automate));
        self
    }

    /// What the processor reports besides audio (an analyser's label,
    /// counts, estimates), read after a whole signal: the `partition`,
    /// `reset` and `reprepare` checks require it to agree exactly, like the
    /// audio (an analyser leaves its audio untouched, so the audio alone
    /// proves little).
    pub fn observe(mut self, observe: impl Fn(&P) -> Vec<f64> + Sync + 'static) -> Self {
        self.observer = Some(Box::new(observe));
        self
    }

    pub(crate) fn observation(&self, p: &P) -> Vec<f64> {
        self.observer.as_ref().map_or_else(Vec::new, |o| o(p))
    }

    /// How closely outputs must agree across partitions, resets and
    /// re-prepares (default: bit for bit).
    pub fn exactness(mut self, exactness: Exactness) -> Self {
        self.exactness = exactness;
        self
    }

    /// Turns off the click check under automation (for processors whose
    /// parameters are meant to jump, such as a sample-exact switch).
    pub fn allow_clicks(mut self) -> Self {
        self.clicks_checked = false;
        self
    }

    /// The subject's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn build(&self, spec: &StreamSpec) -> Option<P> {
        (self.build)(spec)
    }
}

impl<Q: Processor> Subject<InPlace<Q>> {
    /// A subject for an in-place [`Processor`], wrapped in [`InPlace`]
    /// (its automation closure reaches the processor as `.0`).
    pub fn in_place(
        name: impl Into<String>,
        build: impl Fn(&StreamSpec) -> Option<Q> + Sync + 'static,
    ) -> Self {
        Subject::new(name, move |spec| build(spec).map(InPlace))
    }
}

/// The suite: a strictness level and a seed.
#[derive(Debug, Clone)]
pub struct Suite {
    strictness: Strictness,
    seed: u64,
    only: Option<String>,
}

/// The seed used unless one is given ("kmidi" in ASCII).
pub const DEFAULT_SEED: u64 = 0x6b_6d_69_64_69;

/// A seed as a failure prints it: decimal, or hex after `0x`.
///
/// ```
/// assert_eq!(kmidi_conformance::parse_seed("0x6b6d696469"), Some(kmidi_conformance::DEFAULT_SEED));
/// assert_eq!(kmidi_conformance::parse_seed(" 42 "), Some(42));
/// assert_eq!(kmidi_conformance::parse_seed("seed"), None);
/// ```
pub fn parse_seed(text: &str) -> Option<u64> {
    let t = text.trim();
    match t.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

impl Suite {
    /// A suite at `strictness`. The seed and the checks to run can be set
    /// from the environment, to rerun a reported failure:
    /// `KMIDI_CONFORMANCE_SEED` (decimal or 0x hex) and
    /// `KMIDI_CONFORMANCE_CHECK` (one check's name).
    pub fn new(strictness: Strictness) -> Self {
        let seed = std::env::var("KMIDI_CONFORMANCE_SEED")
            .ok()
            .and_then(|s| parse_seed(&s))
            .unwrap_or(DEFAULT_SEED);
        let only = std::env::var("KMIDI_CONFORMANCE_CHECK").ok();
        Self {
            strictness,
            seed,
            only,
        }
    }

    /// A suite at the strictness `KMIDI_CONFORMANCE_LEVEL` names (1 to
    /// 10; [`Strictness::CI`] when unset or unreadable), with the seed and
    /// checks of [`new`](Self::new): what a crate's conformance test runs.
    pub fn from_env() -> Self {
        let level = std::env::var("KMIDI_CONFORMANCE_LEVEL")
            .ok()
            .and_then(|l| l.trim().parse().ok())
            .map_or(Strictness::CI, Strictness::new);
        Self::new(level)
    }

    /// The same suite with another seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Runs only the named check.
    pub fn only(mut self, check: impl Into<String>) -> Self {
        self.only = Some(check.into());
        self
    }

    /// The strictness level.
    pub fn strictness(&self) -> Strictness {
        self.strictness
    }

    /// A random generator for one check and case, derived from the seed.
    pub(crate) fn rng(&self, check: &str, case: u64) -> fastrand::Rng {
        let mut h = self.seed ^ case.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for b in check.bytes() {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
        fastrand::Rng::with_seed(h)
    }

    fn runs(&self, check: &str) -> bool {
        self.only.as_deref().is_none_or(|o| o == check)
    }

    /// Runs every check on a [`BufferProcessor`].
    pub fn check<P: BufferProcessor>(&self, subject: &Subject<P>) -> Report {
        self.run_checks(subject, checks::buffer_checks::<P>())
    }

    /// Runs every check on an in-place processor, including the in-place
    /// form of `oversized`.
    pub fn check_in_place<Q: Processor>(&self, subject: &Subject<InPlace<Q>>) -> Report {
        self.run_checks(subject, checks::in_place_checks::<Q>())
    }

    fn run_checks<P: BufferProcessor>(
        &self,
        subject: &Subject<P>,
        list: Vec<checks::Check<P>>,
    ) -> Report {
        let mut results = Vec::new();
        for (name, check) in list {
            if !self.runs(name) {
                continue;
            }
            let start = Instant::now();
            let outcome = check(self, subject);
            results.push(CheckResult {
                check: name,
                outcome,
                elapsed: start.elapsed(),
            });
        }
        Report {
            processor: subject.name.clone(),
            strictness: self.strictness.level(),
            seed: self.seed,
            checks: results,
        }
    }
}
