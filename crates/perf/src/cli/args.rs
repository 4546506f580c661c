//! Arguments and checks that several subcommands share: the engine grid
//! (`--preset`, `--config`, `--rates`, `--blocks`), range checks and seeds.

use std::ops::RangeInclusive;
use std::path::PathBuf;

use kmidi_engine::EngineConfig;
use kmidi_engine::config::PRESETS;
use kmidi_perf::PerfError;

/// The engine rates the lab accepts, Hz.
const RATES_HZ: RangeInclusive<u32> = 8_000..=384_000;
/// The block sizes it accepts, frames.
const BLOCK_FRAMES: RangeInclusive<usize> = 1..=8192;
/// `--grid`: rates (with every preset and [`GRID_BLOCKS`]).
const GRID_RATES: [u32; 3] = [44_100, 48_000, 96_000];
/// `--grid`: block sizes, frames.
const GRID_BLOCKS: [usize; 6] = [64, 128, 256, 512, 1024, 2048];

/// An engine rate, Hz, within [`RATES_HZ`].
pub fn parse_rate(text: &str) -> Result<u32, String> {
    text.trim()
        .parse()
        .ok()
        .filter(|r| RATES_HZ.contains(r))
        .ok_or_else(|| "allowed 8000 to 384000 Hz".to_string())
}

/// A block size, frames, within [`BLOCK_FRAMES`].
fn parse_block(text: &str) -> Result<usize, String> {
    text.trim()
        .parse()
        .ok()
        .filter(|b| BLOCK_FRAMES.contains(b))
        .ok_or_else(|| "allowed 1 to 8192 frames".to_string())
}

/// A seed: decimal or `0x` hex, as the suite prints it.
pub fn parse_seed(text: &str) -> Result<u64, String> {
    kmidi_conformance::parse_seed(text)
        .ok_or_else(|| format!("{text:?} is not a seed: a decimal or 0x-hex number"))
}

/// Which engines to build: presets or a config file, at each rate and
/// block size.
#[derive(clap::Args, Clone)]
pub struct EngineArgs {
    /// Presets, comma-separated: minimal, band, large (or "all").
    #[arg(long, default_value = "band", value_delimiter = ',')]
    pub preset: Vec<String>,
    /// An engine config file (TOML) instead of a preset.
    #[arg(long, conflicts_with = "preset")]
    pub config: Option<PathBuf>,
    /// Engine sample rates, Hz, comma-separated (8000 to 384000).
    #[arg(long, default_value = "48000", value_delimiter = ',', value_parser = parse_rate)]
    pub rates: Vec<u32>,
    /// Block sizes, frames, comma-separated (1 to 8192).
    #[arg(long, default_value = "512", value_delimiter = ',', value_parser = parse_block)]
    pub blocks: Vec<usize>,
    /// Run without the ML models (no ONNX Runtime needed).
    #[arg(long)]
    pub no_ml: bool,
    /// Do not time each stage (saves ~0.2 µs a block).
    #[arg(long)]
    pub no_stage_timing: bool,
}

/// `Ok` if `v` is finite and within `lo..=hi`, else an error naming the
/// flag and the allowed range.
pub fn range(what: &'static str, v: f64, lo: f64, hi: f64) -> Result<(), PerfError> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(PerfError::Invalid {
            what,
            value: v.to_string(),
            allowed: format!("allowed {lo} to {hi}"),
        })
    }
}

/// The presets named (`all` = every one), each checked to exist.
pub fn preset_names(names: &[String]) -> Result<Vec<String>, PerfError> {
    let names: Vec<String> = if names.iter().any(|n| n.trim() == "all") {
        PRESETS.iter().map(|s| s.to_string()).collect()
    } else {
        names.iter().map(|s| s.trim().to_string()).collect()
    };
    for n in &names {
        EngineConfig::preset(n)?;
    }
    Ok(names)
}

/// A config file's label: its stem.
pub fn config_label(path: &std::path::Path) -> String {
    path.file_stem()
        .map_or("config".into(), |s| s.to_string_lossy().into_owned())
}

/// The (label, config) pairs of the grid, at each rate and block (`full`:
/// every preset at [`GRID_RATES`] × [`GRID_BLOCKS`]).
pub fn engine_grid(
    args: &EngineArgs,
    full: bool,
) -> Result<Vec<(String, EngineConfig)>, PerfError> {
    let all = ["all".to_string()];
    let (rates, blocks, presets): (&[u32], &[usize], &[String]) = if full {
        (&GRID_RATES, &GRID_BLOCKS, &all)
    } else {
        (&args.rates, &args.blocks, &args.preset)
    };
    // A config file is used as written; a preset is voiced for each rate.
    let bases: Vec<(String, Option<EngineConfig>)> = match &args.config {
        Some(path) => vec![(config_label(path), Some(EngineConfig::from_file(path)?))],
        None => preset_names(presets)?
            .into_iter()
            .map(|n| (n, None))
            .collect(),
    };
    let mut out = Vec::new();
    for (name, base) in &bases {
        for &rate in rates {
            for &block in blocks {
                let mut c = match base {
                    Some(c) => c.clone(),
                    None => EngineConfig::preset_at(name, rate)?,
                };
                if args.config.is_none() || rates.len() > 1 || rate != 48_000 {
                    c.sample_rate = rate;
                }
                if args.config.is_none() || blocks.len() > 1 || block != 512 {
                    c.block_frames = block;
                }
                if args.no_ml {
                    c.ml.harmony = false;
                    c.ml.dynamics = false;
                }
                c.stage_timing = !args.no_stage_timing;
                c.validate()?;
                out.push((name.clone(), c));
            }
        }
    }
    Ok(out)
}

/// The one (label, config) of a command that takes exactly one point.
pub fn one_point(args: &EngineArgs, command: &str) -> Result<(String, EngineConfig), PerfError> {
    let mut points = engine_grid(args, false)?;
    if points.len() != 1 {
        return Err(PerfError::invalid(
            "--preset/--rates/--blocks",
            format!("{} combinations", points.len()),
            format!("{command} takes one preset, one rate and one block size"),
        ));
    }
    Ok(points.remove(0))
}
