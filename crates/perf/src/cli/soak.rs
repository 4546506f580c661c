//! `kmidi-perf soak`: minutes of continuous playback in a host, one
//! summary line a minute, then xruns per hour by class, the worst
//! callback, the drift of the worst case, RSS growth, and whether the
//! engine's output for a repeated probe stayed identical.

use std::path::PathBuf;
use std::process::ExitCode;

use kmidi_perf::PerfError;
use kmidi_perf::harness::{calibrate, material_bytes};
use kmidi_perf::host::soak::{soak_plan, summarize};
use kmidi_perf::host::{HostEvent, Music, run_on_host};
use kmidi_perf::machine::Machine;
use kmidi_perf::report::{RunReport, SCHEMA_VERSION, run_table};

use super::args::{EngineArgs, engine_grid, range};
use super::host::{HostChoice, JackArgs, host_lines, make_host, minute_line};
use super::output::{emit_json, line_above, progress_bar};

/// `kmidi-perf soak`'s arguments.
#[derive(clap::Args, Clone)]
pub struct SoakArgs {
    #[command(flatten)]
    engine: EngineArgs,
    /// The host.
    #[arg(long, value_enum, default_value_t = HostChoice::Sim)]
    host: HostChoice,
    #[command(flatten)]
    jack: JackArgs,
    /// Minutes of playback (0.1 to 1440).
    #[arg(long, default_value_t = 10.0, allow_negative_numbers = true)]
    minutes: f64,
    /// Safety margin: blocks over this share of the period are counted (0.05 to 1).
    #[arg(long, default_value_t = 0.8, allow_negative_numbers = true)]
    margin: f64,
    /// Exit 1 when more xruns than this are blamed on the engine.
    #[arg(long)]
    max_engine_xruns: Option<u64>,
    /// Print JSON (schema kmidi-perf/run, the soak in `host.soak`)
    /// instead of tables.
    #[arg(long)]
    json: bool,
    /// Also write the JSON to this file (atomically); `kmidi-perf report
    /// --run FILE` draws its timeline.
    #[arg(long)]
    save: Option<PathBuf>,
}

/// Runs the soak; exit 1 on state drift, a run cut short, audio-thread
/// allocations or too many engine xruns.
pub fn execute(args: &SoakArgs) -> Result<ExitCode, PerfError> {
    range("--minutes", args.minutes, 0.1, 1440.0)?;
    range("--margin", args.margin, 0.05, 1.0)?;
    let points = engine_grid(&args.engine, false)?;
    let [(label, config)] = points.as_slice() else {
        return Err(PerfError::invalid(
            "--preset/--rates/--blocks",
            format!("{} combinations", points.len()),
            "a soak runs one preset at one rate and block",
        ));
    };
    let engine = kmidi_engine::Engine::new(config.clone())?;
    let channels = engine.input_channels();
    let in_rate = config.effective_input_rate();
    drop(engine);
    let block = config.block_frames;
    let (plan, callbacks) = soak_plan(
        Music::Generated(in_rate),
        channels,
        in_rate,
        config.sample_rate,
        block,
        args.minutes,
    );
    let machine = Machine::detect();
    let harness = calibrate(material_bytes(config.sample_rate));
    let mut host = make_host(args.host, &args.jack, config.sample_rate, block)?;
    let minutes_total =
        (callbacks as f64 * block as f64 / f64::from(config.sample_rate) / 60.0).ceil() as u32;
    let pb = progress_bar(callbacks, args.json);
    pb.set_message(format!(
        "soak: {label} {} Hz / {block}, {} min",
        config.sample_rate, args.minutes
    ));
    let run = run_on_host(
        host.as_mut(),
        config,
        &plan,
        callbacks,
        args.margin,
        false,
        &mut |e| match e {
            HostEvent::Progress(n) => pb.inc(n),
            HostEvent::Minute(m) => line_above(&pb, &minute_line(m, Some(minutes_total))),
        },
    );
    pb.finish_and_clear();
    let run = run?;
    drop(host);
    let mut r = run.result(label, config, "generated (soak)", args.margin)?;
    let block_s = block as f64 / f64::from(config.sample_rate);
    let summary = summarize(&run.minutes, &run.info, &run.captured, block_s);
    let mut failed = Vec::new();
    if let Some(h) = r.host.as_mut() {
        h.soak = Some(summary.clone());
        if h.partial {
            failed.push(h.ended_by.clone().unwrap_or_else(|| "ended early".into()));
        }
        if let Some(max) = args.max_engine_xruns
            && h.engine_xruns > max
        {
            failed.push(format!(
                "{} xruns blamed on the engine (allowed {max})",
                h.engine_xruns
            ));
        }
    }
    if summary.probe_identical == Some(false) {
        failed.push(format!(
            "state drift: the probe's output at the end differs from the start at frame {}",
            summary.probe_first_difference.unwrap_or(0)
        ));
    }
    if r.audio_thread_allocations > 0 {
        failed.push(format!(
            "{} allocations on the audio thread (must be 0)",
            r.audio_thread_allocations
        ));
    }
    let report = RunReport {
        schema: "kmidi-perf/run".into(),
        schema_version: SCHEMA_VERSION,
        machine,
        harness,
        results: vec![r],
    };
    if !args.json {
        print!("{}", run_table(&report));
        if let Some(h) = &report.results[0].host {
            print!("{}", host_lines(h));
        }
        println!(
            "soak: {:.1} min; xruns per hour: {:.1} engine, {:.1} host; worst callback {:.1} µs (minute {}); worst-case drift {:+.1} µs/h, mean drift {:+.2} µs/h; RSS growth {:+.1} MB; probe at the end {}",
            summary.minutes,
            summary.engine_xruns_per_hour,
            summary.host_xruns_per_hour,
            summary.worst_callback_us,
            summary.worst_minute,
            summary.worst_drift_us_per_hour,
            summary.mean_drift_us_per_hour,
            summary.rss_growth_bytes as f64 / 1e6,
            match summary.probe_identical {
                Some(true) => "identical to the start (no state drift)".to_string(),
                Some(false) => "DIFFERS from the start".to_string(),
                None => "not compared".to_string(),
            }
        );
    }
    emit_json(args.json, args.save.as_deref(), &report)?;
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        for f in &failed {
            eprintln!("kmidi-perf: FAIL: soak: {f}");
        }
        Ok(ExitCode::FAILURE)
    }
}
