//! `kmidi-perf compare <base> <new>`: judge two saved baselines bench by
//! bench.

use std::path::PathBuf;
use std::process::ExitCode;

use kmidi_perf::PerfError;
use kmidi_perf::baseline::{Baseline, read_gungraun};
use kmidi_perf::compare::{CompareOptions, Comparison, FingerprintCheck, compare, sort_benches};
use kmidi_perf::fingerprint::Fingerprint;
use kmidi_perf::verdict::PROCESS_METHOD;

use super::output::{VerdictOutput, default_criterion_dir, load_config, read_document};

/// `kmidi-perf compare`'s arguments.
#[derive(clap::Args, Clone)]
pub struct CompareArgs {
    /// The base baseline name (as given to --save-baseline).
    base: String,
    /// The new baseline name.
    new: String,
    /// Criterion's directory (default: $CRITERION_HOME or target/criterion).
    #[arg(long)]
    criterion_dir: Option<PathBuf>,
    /// Where gungraun baselines are saved, one folder per name.
    #[arg(long, default_value = "target/gungraun-baselines")]
    gungraun_dir: PathBuf,
    /// Judge only the benches both baselines have, listing the others.
    #[arg(long)]
    allow_missing: bool,
    /// Compare baselines from different machines, marked UNTRUSTED.
    #[arg(long)]
    allow_mismatch: bool,
    /// Take wall-time verdicts from a process-level A/B run (the JSON of
    /// `kmidi-perf ab --save`) instead of the Criterion baselines; the
    /// baselines then give only instruction and allocation counts.
    #[arg(long)]
    wall_from: Option<PathBuf>,
    #[command(flatten)]
    output: VerdictOutput,
}

impl CompareArgs {
    /// The A/B run named by `--wall-from`, checked to be one.
    fn process_run(&self) -> Result<Option<Comparison>, PerfError> {
        let Some(p) = &self.wall_from else {
            return Ok(None);
        };
        let ab: Comparison = read_document(p, "kmidi-perf/compare")?;
        if ab.method != PROCESS_METHOD {
            return Err(PerfError::file(
                p,
                format!(
                    "method {:?}: --wall-from takes the JSON of kmidi-perf ab --save (method {PROCESS_METHOD:?}; runs older than the process-level ab must be run again)",
                    ab.method
                ),
            ));
        }
        Ok(Some(ab))
    }

    /// Wall time from the A/B run `ab`; the baselines give the
    /// instruction and allocation counts.
    fn with_process_wall(
        &self,
        ab: &Comparison,
        options: &CompareOptions,
    ) -> Result<Comparison, PerfError> {
        let counted = |name: &str| -> Result<Baseline, PerfError> {
            Ok(Baseline {
                name: name.into(),
                wall: Default::default(),
                counted: read_gungraun(&self.gungraun_dir, name)?,
            })
        };
        let (a, b) = (counted(&self.base)?, counted(&self.new)?);
        let mut c = if a.is_empty() && b.is_empty() {
            ab.clone()
        } else {
            let mut c = compare(&a, &b, None, None, options)?;
            c.benches.extend(ab.benches.iter().cloned());
            c
        };
        // Both sides of an A/B run ran on this one machine.
        c.base = self.base.clone();
        c.new = self.new.clone();
        c.fingerprint = ab.fingerprint.clone();
        c.base_fingerprint = ab.base_fingerprint.clone();
        c.new_fingerprint = ab.new_fingerprint.clone();
        c.method = PROCESS_METHOD.into();
        sort_benches(&mut c.benches);
        Ok(c)
    }
}

/// Compares and prints the verdicts: exit 1 on any regression.
pub fn execute(args: &CompareArgs) -> Result<ExitCode, PerfError> {
    let criterion_dir = args
        .criterion_dir
        .clone()
        .unwrap_or_else(default_criterion_dir);
    let options = CompareOptions {
        config: load_config(args.output.config.as_deref())?,
        allow_missing: args.allow_missing,
    };
    let c = match args.process_run()? {
        Some(ab) => args.with_process_wall(&ab, &options)?,
        None => {
            let (base, new) = (&args.base, &args.new);
            let a = Baseline::read(&criterion_dir, &args.gungraun_dir, base)?;
            let b = Baseline::read(&criterion_dir, &args.gungraun_dir, new)?;
            let fa = Fingerprint::load(&criterion_dir, base)?;
            let fb = Fingerprint::load(&criterion_dir, new)?;
            compare(&a, &b, fa, fb, &options)?
        }
    };
    if let FingerprintCheck::Mismatch { differences } = &c.fingerprint
        && !args.allow_mismatch
    {
        return Err(PerfError::invalid(
            "fingerprints",
            format!(
                "{} vs {}: {}",
                Fingerprint::path(&criterion_dir, &args.base).display(),
                Fingerprint::path(&criterion_dir, &args.new).display(),
                differences.join("; ")
            ),
            "baselines from the same kind of machine; pass --allow-mismatch to compare anyway, marked UNTRUSTED",
        ));
    }
    if let Some(w) = c.fingerprint_warning() {
        eprintln!("kmidi-perf: {w}");
    }
    args.output.emit(&c, &criterion_dir)
}
