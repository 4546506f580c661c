//! What a run found: one outcome per check, and for every failure the
//! processor, the check, the stream and a reproducer.

use std::fmt;
use std::time::Duration;

use kmidi_dsp::StreamSpec;

/// A stream a check ran with, for reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpecLabel {
    /// Sample rate, Hz.
    pub sample_rate: f64,
    /// Largest block, frames.
    pub max_block_frames: usize,
    /// Channels.
    pub channels: usize,
}

impl From<&StreamSpec> for SpecLabel {
    fn from(s: &StreamSpec) -> Self {
        Self {
            sample_rate: s.sample_rate(),
            max_block_frames: s.max_block_frames(),
            channels: s.channels(),
        }
    }
}

impl fmt::Display for SpecLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} Hz, {} frames, {} ch",
            self.sample_rate, self.max_block_frames, self.channels
        )
    }
}

/// One violation of the contract.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The check that found it.
    pub check: &'static str,
    /// The stream it ran with, if any.
    pub spec: Option<SpecLabel>,
    /// What was wrong.
    pub what: String,
    /// The exact input, or the seed that regenerates it.
    pub input: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.what)?;
        if let Some(spec) = &self.spec {
            write!(f, " [{spec}]")?;
        }
        write!(f, "; input: {}", self.input)
    }
}

/// How a check ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Everything held; `cases` counts what was tried.
    Pass {
        /// Streams, partitions or inputs tried.
        cases: usize,
    },
    /// At least one violation (at most a few are kept per check).
    Fail(Vec<Failure>),
    /// Could not be checked here, and why.
    Skip(String),
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    /// The check's name.
    pub check: &'static str,
    /// What it found.
    pub outcome: Outcome,
    /// How long it took.
    pub elapsed: Duration,
}

/// Everything one run of the suite found for one processor.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The processor's name, as the subject gave it.
    pub processor: String,
    /// The strictness level, 1 to 10.
    pub strictness: u8,
    /// The seed every random choice came from.
    pub seed: u64,
    /// One result per check, in the order run.
    pub checks: Vec<CheckResult>,
}

impl Report {
    /// Whether no check failed.
    pub fn passed(&self) -> bool {
        self.failures().next().is_none()
    }

    /// Every failure, check by check.
    pub fn failures(&self) -> impl Iterator<Item = &Failure> {
        self.checks.iter().flat_map(|c| match &c.outcome {
            Outcome::Fail(f) => f.as_slice(),
            _ => &[],
        })
    }

    /// Checks that could not run here.
    pub fn skipped(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.checks.iter().filter_map(|c| match &c.outcome {
            Outcome::Skip(why) => Some((c.check, why.as_str())),
            _ => None,
        })
    }

    /// Total time of the run.
    pub fn elapsed(&self) -> Duration {
        self.checks.iter().map(|c| c.elapsed).sum()
    }

    /// The environment that reruns exactly this run's inputs.
    pub fn reproduce_env(&self, check: &str) -> String {
        format!(
            "KMIDI_CONFORMANCE_SEED={:#x} KMIDI_CONFORMANCE_CHECK={check}",
            self.seed
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "kmidi conformance: {} (strictness {}, seed {:#x})",
            self.processor, self.strictness, self.seed
        )?;
        let (mut pass, mut fail, mut skip) = (0, 0, 0);
        for c in &self.checks {
            let ms = c.elapsed.as_secs_f64() * 1e3;
            match &c.outcome {
                Outcome::Pass { cases } => {
                    pass += 1;
                    writeln!(f, "  PASS  {:<14} {cases} cases, {ms:.0} ms", c.check)?;
                }
                Outcome::Skip(why) => {
                    skip += 1;
                    writeln!(f, "  SKIP  {:<14} {why}", c.check)?;
                }
                Outcome::Fail(failures) => {
                    fail += 1;
                    writeln!(f, "  FAIL  {:<14} {ms:.0} ms", c.check)?;
                    for failure in failures {
                        writeln!(f, "        {}: {failure}", self.processor)?;
                    }
                    writeln!(
                        f,
                        "        reproduce: {} (same build, same subject)",
                        self.reproduce_env(c.check)
                    )?;
                }
            }
        }
        write!(
            f,
            "  {} checks: {pass} pass, {fail} fail, {skip} skipped, {:.2} s",
            self.checks.len(),
            self.elapsed().as_secs_f64()
        )
    }
}
