//! `kmidi-perf analyze`: a WAV file through the engine's detectors, as
//! JSON and as mir_eval `.lab` files.

use std::path::PathBuf;
use std::process::ExitCode;

use kmidi_engine::analyze::{AnalysisConfig, analyze_wav};
use kmidi_perf::{PerfError, write_atomic};

/// `kmidi-perf analyze`'s arguments.
#[derive(clap::Args, Clone)]
pub struct AnalyzeArgs {
    /// Input WAV (8-32-bit int or 32-bit float, any channels and rate).
    input: PathBuf,
    /// Directory for <name>.json, <name>.chords.lab, .key.lab,
    /// .onsets.lab and .beats.lab (written atomically; created if
    /// missing). Without it, the JSON goes to standard output.
    #[arg(long)]
    out_dir: Option<PathBuf>,
    /// Frames per block fed to the detectors, 1 to 8192.
    #[arg(long, default_value_t = 512)]
    block: usize,
    /// The onset detector's threshold (default: its own), 0.1 to 100.
    #[arg(long)]
    onset_threshold: Option<f32>,
    /// Also write the onset envelope (novelty per hop) into the JSON.
    #[arg(long)]
    envelope: bool,
    /// The chord detector's chroma smoothing, ms (default: its own).
    #[arg(long)]
    chord_smoothing_ms: Option<f32>,
    /// Hops a new chord must win before it is reported (default: its own).
    #[arg(long)]
    chord_hold_hops: Option<u32>,
}

impl AnalyzeArgs {
    /// The analysis config: the defaults, with what the flags set.
    fn config(&self) -> AnalysisConfig {
        let mut config = AnalysisConfig {
            block_frames: self.block,
            keep_envelope: self.envelope,
            ..AnalysisConfig::default()
        };
        if let Some(t) = self.onset_threshold {
            config.onsets.threshold = t;
        }
        if let Some(ms) = self.chord_smoothing_ms {
            config.chords.smoothing_ms = ms;
        }
        if let Some(h) = self.chord_hold_hops {
            config.chords.hold_hops = h;
        }
        config
    }
}

/// Analyses the input; prints the JSON, or writes it and the `.lab` files.
pub fn execute(args: &AnalyzeArgs) -> Result<ExitCode, PerfError> {
    let input = args.input.as_path();
    let a = analyze_wav(input, &args.config())?;
    let json = serde_json::to_string_pretty(&a)
        .map_err(|e| PerfError::file(input, format!("analysis cannot be written as JSON: {e}")))?;
    let Some(dir) = args.out_dir.as_deref() else {
        println!("{json}");
        return Ok(ExitCode::SUCCESS);
    };
    let stem = input
        .file_stem()
        .map_or_else(|| "analysis".into(), |s| s.to_string_lossy().into_owned());
    for (suffix, text) in [
        ("json", json + "\n"),
        ("chords.lab", a.chords_lab()),
        ("beat_chords.lab", a.beat_chords_lab()),
        ("key.lab", a.key_lab()),
        ("onsets.lab", a.onsets_lab()),
        ("beats.lab", a.beats_lab()),
    ] {
        write_atomic(&dir.join(format!("{stem}.{suffix}")), text.as_bytes())?;
    }
    println!(
        "{}: {} chord segments, key {}, {} onsets, {} beats, tempo {} ({}) -> {}/{stem}.*",
        input.display(),
        a.chords.len(),
        a.key.as_deref().unwrap_or("none"),
        a.onsets_s.len(),
        a.beats_s.len(),
        a.tempo_bpm.map_or("none".into(), |t| format!("{t:.1} BPM")),
        if a.material.drum_kit {
            "drum kit heard"
        } else {
            "no drum kit heard"
        },
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
