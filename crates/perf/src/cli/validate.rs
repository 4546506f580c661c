//! `kmidi-perf validate`: the conformance suite (kmidi's pluginval) over
//! engine presets or a config, and over every node they build.

use std::path::PathBuf;
use std::process::ExitCode;

use kmidi_engine::EngineConfig;
use kmidi_perf::PerfError;
use kmidi_perf::validate::{EngineSource, suite, validate};

use super::args::{config_label, parse_seed, preset_names, range};

/// `kmidi-perf validate`'s arguments.
#[derive(clap::Args, Clone)]
pub struct ValidateArgs {
    /// Presets, comma-separated: minimal, band, large (or "all").
    #[arg(long, default_value = "band", value_delimiter = ',')]
    preset: Vec<String>,
    /// An engine config file (TOML) instead of a preset.
    #[arg(long, conflicts_with = "preset")]
    config: Option<PathBuf>,
    /// How hard to try, 1 to 10 (5 is what CI runs, 10 every rate,
    /// channel count and block size with racing automation).
    #[arg(long, default_value_t = 5)]
    strictness: u8,
    /// Also check each node the config builds (EQs, compressors, mixer,
    /// limiter, detectors, input resampler).
    #[arg(long)]
    nodes: bool,
    /// The seed every random choice comes from (a failure prints it).
    #[arg(long, value_parser = parse_seed)]
    seed: Option<u64>,
    /// Run only this check.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(kmidi_conformance::CHECK_NAMES))]
    check: Option<String>,
}

/// Runs the suite and prints each processor's report: exit 1 on any
/// failure.
pub fn execute(args: &ValidateArgs) -> Result<ExitCode, PerfError> {
    range("--strictness", args.strictness as f64, 1.0, 10.0)?;
    let sources: Vec<(String, EngineSource)> = match &args.config {
        Some(path) => vec![(
            config_label(path),
            EngineSource::Config(EngineConfig::from_file(path)?),
        )],
        None => preset_names(&args.preset)?
            .into_iter()
            .map(|n| (n.clone(), EngineSource::Preset(n)))
            .collect(),
    };
    let mut suite = suite(args.strictness, args.seed);
    if let Some(c) = &args.check {
        suite = suite.only(c.clone());
    }
    let start = std::time::Instant::now();
    let mut failed = 0;
    let mut total = 0;
    for (label, source) in &sources {
        let (reports, notes) = validate(label, source, &suite, args.nodes);
        for note in notes {
            println!("note: {note}");
        }
        for report in reports {
            println!("{report}\n");
            total += 1;
            if !report.passed() {
                failed += 1;
            }
        }
    }
    println!(
        "validate: {total} processors, {failed} failing, strictness {}, {:.1} s",
        args.strictness,
        start.elapsed().as_secs_f64()
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
