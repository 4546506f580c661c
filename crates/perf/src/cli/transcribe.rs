//! `kmidi-perf transcribe`: a WAV file to notes with Basic Pitch, as JSON,
//! a mir_eval `.lab` file and a Standard MIDI File.

use std::path::PathBuf;
use std::process::ExitCode;

use kmidi_engine::transcribe::{TranscribeConfig, transcribe_wav};
use kmidi_ml::transcription::{BasicPitch, NoteParams};
use kmidi_perf::{PerfError, write_atomic};

/// `kmidi-perf transcribe`'s arguments.
#[derive(clap::Args, Clone)]
pub struct TranscribeArgs {
    /// Input WAV (8-32-bit int or 32-bit float, any channels and rate).
    input: PathBuf,
    /// Directory for <name>.notes.json, <name>.notes.lab (onset, offset,
    /// Hz: mir_eval's format) and <name>.mid (written atomically; created
    /// if missing). Without it, the JSON goes to standard output.
    #[arg(long)]
    out_dir: Option<PathBuf>,
    /// The Basic Pitch model (default: basic_pitch-0.4.0-nmp.onnx where
    /// scripts/fetch_onnxruntime.sh puts it, or in $KMIDI_MODELS_DIR).
    #[arg(long)]
    model: Option<PathBuf>,
    /// An onset peak at least this starts a note, 0.05 to 0.95.
    #[arg(long, default_value_t = NoteParams::default().onset_threshold)]
    onset_threshold: f64,
    /// A note lasts while its posterior is at least this, 0.05 to 0.95.
    #[arg(long, default_value_t = NoteParams::default().frame_threshold)]
    frame_threshold: f64,
    /// Notes must be longer than this, ms (0 to 2000).
    #[arg(long, default_value_t = NoteParams::default().minimum_note_ms)]
    minimum_note_ms: f64,
    /// Do not turn energy without an onset into notes (Basic Pitch's
    /// "Melodia trick", on by default).
    #[arg(long)]
    no_melodia_trick: bool,
    /// Frames per block handed to the transcription worker, 1 to 8192.
    #[arg(long, default_value_t = 512)]
    block: usize,
    /// Tempo of the MIDI file's grid, BPM (10 to 400).
    #[arg(long, default_value_t = 120.0)]
    midi_bpm: f64,
}

/// Transcribes the input; prints the JSON, or writes it, the `.lab` file
/// and the MIDI file.
pub fn execute(args: &TranscribeArgs) -> Result<ExitCode, PerfError> {
    let input = args.input.as_path();
    let config = TranscribeConfig {
        model: args.model.clone().unwrap_or_else(BasicPitch::default_path),
        notes: NoteParams {
            onset_threshold: args.onset_threshold,
            frame_threshold: args.frame_threshold,
            minimum_note_ms: args.minimum_note_ms,
            melodia_trick: !args.no_melodia_trick,
            ..NoteParams::default()
        },
        block_frames: args.block,
        midi_bpm: args.midi_bpm,
        ..TranscribeConfig::default()
    };
    let t = transcribe_wav(input, &config)?;
    let json = serde_json::to_string_pretty(&t).map_err(|e| {
        PerfError::file(
            input,
            format!("transcription cannot be written as JSON: {e}"),
        )
    })?;
    let Some(dir) = args.out_dir.as_deref() else {
        println!("{json}");
        return Ok(ExitCode::SUCCESS);
    };
    let stem = input.file_stem().map_or_else(
        || "transcription".into(),
        |s| s.to_string_lossy().into_owned(),
    );
    write_atomic(
        &dir.join(format!("{stem}.notes.json")),
        (json + "\n").as_bytes(),
    )?;
    write_atomic(
        &dir.join(format!("{stem}.notes.lab")),
        t.notes_lab().as_bytes(),
    )?;
    write_atomic(&dir.join(format!("{stem}.mid")), &t.midi_bytes()?)?;
    println!(
        "{}: {} notes in {:.1} s of audio; model {:.1} ms per second of audio (real-time factor {:.3}) -> {}/{stem}.{{notes.json,notes.lab,mid}}",
        input.display(),
        t.notes.len(),
        t.duration_s,
        t.cost_ms_per_audio_s,
        t.real_time_factor,
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
