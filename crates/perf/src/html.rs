//! `kmidi-perf report`: one self-contained HTML file.
//!
//! Everything is inline: CSS, a few lines of script (a filter box for the
//! bench table), and SVG charts drawn by plotters' SVG backend (default
//! features off, so no font or bitmap libraries). Links to Criterion's
//! report and to flamegraphs are relative to the HTML file, so the page
//! works from a `file://` URL and from a published artifact alike.
//!
//! ```
//! use kmidi_perf::html::{ReportInputs, render};
//! let html = render(&ReportInputs::default(), std::path::Path::new("report.html"))?;
//! assert!(html.starts_with("<!DOCTYPE html>"));
//! assert!(html.contains("No comparison"));
//! # Ok::<(), kmidi_perf::PerfError>(())
//! ```

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::PerfError;
use crate::history::Trend;
use crate::machine::rfc3339_now;
use crate::render::comparison::format_ns;
use crate::report::RunReport;
use crate::verdict::{Comparison, Verdict};

/// What goes into a report; every part is optional.
#[derive(Debug, Default)]
pub struct ReportInputs {
    /// A `compare`/`ab` result.
    pub comparison: Option<Comparison>,
    /// A `run --json` result.
    pub run: Option<RunReport>,
    /// Trends from the history file.
    pub trends: Vec<Trend>,
    /// Criterion's directory, for links to its report.
    pub criterion_dir: Option<PathBuf>,
}

/// HTML-escapes text.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `target` relative to the directory `from`, both made absolute first,
/// with `/` separators and each segment percent-encoded where a URL needs
/// it (so `preset=band` and spaces survive `file://`).
pub fn relative_href(from_dir: &Path, target: &Path) -> String {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let (from, to) = (abs(from_dir), abs(target));
    let norm = |p: &Path| -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for c in p.components() {
            match c {
                Component::Normal(s) => v.push(s.to_string_lossy().into_owned()),
                Component::ParentDir => {
                    v.pop();
                }
                _ => {}
            }
        }
        v
    };
    let (f, t) = (norm(&from), norm(&to));
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = std::iter::repeat_n("..".to_string(), f.len() - common).collect();
    parts.extend(t[common..].iter().map(|s| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z'
                | b'a'..=b'z'
                | b'0'..=b'9'
                | b'-'
                | b'_'
                | b'.'
                | b'~'
                | b'='
                | b',' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    }));
    parts.join("/")
}

/// The label of a segmented (one row per item) axis position.
fn segment_name(y: &SegmentValue<usize>, names: &[&str]) -> String {
    match y {
        SegmentValue::CenterOf(i) => names.get(*i).map(|s| s.to_string()).unwrap_or_default(),
        _ => String::new(),
    }
}

fn plot_error(e: impl std::fmt::Display) -> PerfError {
    PerfError::Profiler(format!("chart: {e}"))
}

/// Pixels per row of the changes chart.
const ROW_PX: u32 = 18;
/// Thickness of a bar in it.
const ROW_BAR_PX: u32 = 11;

/// A horizontal bar chart of the wall-time changes with their intervals
/// (the `max` largest changes).
fn changes_svg(c: &Comparison, max: usize) -> Result<Option<String>, PerfError> {
    let mut rows: Vec<(&str, f64, f64, f64, Verdict)> = c
        .benches
        .iter()
        .filter_map(|b| {
            b.wall.as_ref().map(|w| {
                (
                    b.id.as_str(),
                    w.change_percent,
                    w.ci_percent.0,
                    w.ci_percent.1,
                    b.verdict,
                )
            })
        })
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    rows.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    rows.truncate(max);
    rows.reverse();
    let lim = rows
        .iter()
        .map(|r| r.2.abs().max(r.3.abs()))
        .fold(15.0_f64, f64::max)
        .min(200.0);
    let height = (80 + ROW_PX * rows.len() as u32).max(220);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(330)
            .caption(
                "Wall-time change, % (bar: median, line: 95% interval)",
                ("sans-serif", 15),
            )
            .build_cartesian_2d(-lim..lim, (0..rows.len()).into_segmented())
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(rows.len())
            .y_label_formatter(&|y| segment_name(y, &rows.iter().map(|r| r.0).collect::<Vec<_>>()))
            .x_desc("change, %")
            .draw()
            .map_err(plot_error)?;
        for (i, (_, change, lo, hi, verdict)) in rows.iter().enumerate() {
            let color = match verdict {
                Verdict::Regressed => RGBColor(200, 40, 40),
                Verdict::Improved => RGBColor(40, 140, 60),
                Verdict::Unchanged => RGBColor(150, 150, 150),
            };
            let c = change.clamp(-lim, lim);
            // The bar sits on its row's centre, where the label is, 11 px
            // thick in an 18 px row so that neighbours do not touch.
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![
                        (0.0, SegmentValue::CenterOf(i)),
                        (c, SegmentValue::CenterOf(i)),
                    ],
                    color.stroke_width(ROW_BAR_PX),
                )))
                .map_err(plot_error)?;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![
                        (lo.clamp(-lim, lim), SegmentValue::CenterOf(i)),
                        (hi.clamp(-lim, lim), SegmentValue::CenterOf(i)),
                    ],
                    BLACK.stroke_width(1),
                )))
                .map_err(plot_error)?;
        }
        root.present().map_err(plot_error)?;
    }
    Ok(Some(svg))
}

/// The latency histogram of one run result: one bar per bucket between its
/// own bounds (buckets grow by [`crate::stats::BUCKET_RATIO`], so a tail
/// block far from the body is still its own narrow bar).
fn histogram_svg(r: &crate::harness::RunResult) -> Result<String, PerfError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (440, 260)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let lower = |b: &crate::stats::Bucket| {
            if b.lower_us > 0.0 {
                b.lower_us
            } else {
                b.upper_us / crate::stats::BUCKET_RATIO
            }
        };
        let min_us = r
            .histogram
            .iter()
            .map(lower)
            .fold(f64::INFINITY, f64::min)
            .min(r.blocks.min_us.max(0.001))
            .max(0.001);
        let max_us = r
            .histogram
            .iter()
            .map(|b| b.upper_us)
            .fold(r.blocks.max_us, f64::max)
            .max(min_us * 2.0);
        let max_count = r
            .histogram
            .iter()
            .map(|b| b.blocks)
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .caption(
                format!(
                    "{} {} Hz / {}: block time",
                    r.preset, r.sample_rate, r.block_frames
                ),
                ("sans-serif", 13),
            )
            .build_cartesian_2d(0.0..max_us * 1.05, 0.0..max_count * 1.1)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("µs")
            .y_desc("blocks")
            .draw()
            .map_err(plot_error)?;
        chart
            .draw_series(r.histogram.iter().filter(|b| b.blocks > 0).map(|b| {
                Rectangle::new(
                    [(lower(b), 0.0), (b.upper_us, b.blocks as f64)],
                    RGBColor(60, 110, 180).filled(),
                )
            }))
            .map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// DSP load per stage (percent of the block period) of one run result: one
/// bar per stage, in processing order from the top, each with its stage
/// name and figure on its own row.
fn stages_svg(r: &crate::harness::RunResult) -> Result<Option<String>, PerfError> {
    if r.stages.is_empty() {
        return Ok(None);
    }
    let mut svg = String::new();
    {
        let rows = r.stages.len();
        let height = (60 + 24 * rows).max(140) as u32;
        let root = SVGBackend::with_string(&mut svg, (440, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let max = r
            .stages
            .iter()
            .map(|s| s.percent_of_period)
            .fold(0.01_f64, f64::max);
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(8)
            .caption("DSP load per stage, % of the period", ("sans-serif", 13))
            // Room on the right for the longest bar's label.
            .build_cartesian_2d(0.0..max * 1.9, 0.0..rows as f64)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .x_desc("% of the block period")
            .draw()
            .map_err(plot_error)?;
        // Row i (first stage on top) spans [rows-i-1, rows-i); its bar
        // fills the middle 60% and its label sits at the row's centre.
        let row = |i: usize| (rows - i - 1) as f64;
        chart
            .draw_series(r.stages.iter().enumerate().map(|(i, s)| {
                Rectangle::new(
                    [(0.0, row(i) + 0.2), (s.percent_of_period, row(i) + 0.8)],
                    RGBColor(220, 140, 40).filled(),
                )
            }))
            .map_err(plot_error)?;
        let font = ("sans-serif", 12)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        chart
            .draw_series(r.stages.iter().enumerate().map(|(i, s)| {
                Text::new(
                    format!("{} {:.3}%", s.stage, s.percent_of_period),
                    (s.percent_of_period + max * 0.02, row(i) + 0.5),
                    font.clone(),
                )
            }))
            .map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    Ok(Some(svg))
}

/// A line chart of one trend.
fn trend_svg(t: &Trend) -> Result<String, PerfError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (440, 220)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let (lo, hi) = t
            .points
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| {
                (l.min(p.value), h.max(p.value))
            });
        let pad = ((hi - lo) * 0.1).max(hi.abs() * 0.02).max(1e-9);
        let n = t.points.len().max(2);
        let title = if t.slow_drift {
            format!("{} (slow drift)", t.bench)
        } else {
            t.bench.clone()
        };
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(70)
            .caption(title, ("sans-serif", 12))
            .build_cartesian_2d(0.0..(n - 1) as f64, (lo - pad)..(hi + pad))
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("run")
            .y_desc(t.metric.as_str())
            .draw()
            .map_err(plot_error)?;
        let color = if t.slow_drift || t.step_change {
            RGBColor(200, 40, 40)
        } else {
            RGBColor(60, 110, 180)
        };
        chart
            .draw_series(LineSeries::new(
                t.points
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (i as f64, p.value)),
                color.stroke_width(2),
            ))
            .map_err(plot_error)?;
        chart
            .draw_series(
                t.points
                    .iter()
                    .enumerate()
                    .map(|(i, p)| Circle::new((i as f64, p.value), 3, color.filled())),
            )
            .map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// The timeline of a host run or soak: per minute, the engine's mean and
/// worst callback (µs, left axis) and the xruns blamed on the engine and
/// on the host (bars, counted on the right of the caption).
fn timeline_svg(r: &crate::harness::RunResult) -> Result<Option<String>, PerfError> {
    let Some(h) = &r.host else {
        return Ok(None);
    };
    if h.timeline.is_empty() {
        return Ok(None);
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 280)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let n = h.timeline.len() as f64;
        let top = h.timeline.iter().map(|m| m.worst_us).fold(1.0f64, f64::max) * 1.15;
        let xruns: u64 = h
            .timeline
            .iter()
            .map(|m| m.engine_xruns + m.host_xruns)
            .sum();
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .caption(
                format!(
                    "{} {} Hz / {} in {}: callback time per minute (blue mean, red worst); {} xruns (bars: orange engine, grey host)",
                    r.preset,
                    r.sample_rate,
                    r.block_frames,
                    h.host.name(),
                    xruns
                ),
                ("sans-serif", 12),
            )
            .build_cartesian_2d(0.5..n + 0.5, 0.0..top)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("minute")
            .y_desc("µs")
            .draw()
            .map_err(plot_error)?;
        // Xrun bars scaled to a tenth of the chart per xrun of the busiest
        // minute.
        let most = h
            .timeline
            .iter()
            .map(|m| m.engine_xruns + m.host_xruns)
            .max()
            .unwrap_or(0)
            .max(1) as f64;
        let bar = |x: f64, count: u64, from: f64, color: RGBColor| {
            Rectangle::new(
                [
                    (x - 0.3, from),
                    (x + 0.3, from + count as f64 / most * top * 0.3),
                ],
                color.mix(0.6).filled(),
            )
        };
        chart
            .draw_series(h.timeline.iter().map(|m| {
                bar(
                    f64::from(m.minute),
                    m.host_xruns,
                    0.0,
                    RGBColor(150, 150, 150),
                )
            }))
            .map_err(plot_error)?;
        chart
            .draw_series(h.timeline.iter().map(|m| {
                bar(
                    f64::from(m.minute),
                    m.engine_xruns,
                    m.host_xruns as f64 / most * top * 0.3,
                    RGBColor(230, 140, 30),
                )
            }))
            .map_err(plot_error)?;
        for (color, value) in [
            (
                RGBColor(60, 110, 180),
                (|m: &crate::host::MinuteStats| m.mean_us) as fn(&crate::host::MinuteStats) -> f64,
            ),
            (RGBColor(200, 40, 40), |m: &crate::host::MinuteStats| {
                m.worst_us
            }),
        ] {
            chart
                .draw_series(LineSeries::new(
                    h.timeline.iter().map(|m| (f64::from(m.minute), value(m))),
                    color.stroke_width(2),
                ))
                .map_err(plot_error)?;
        }
        root.present().map_err(plot_error)?;
    }
    Ok(Some(svg))
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:12px}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.regressed{color:#b22}.improved{color:#282}
.warn{background:#fff3cd;padding:8px;border:1px solid #e0c36a}.charts{display:flex;flex-wrap:wrap;gap:12px}
#filter{margin:8px 0;padding:4px;width:320px}";

const SCRIPT: &str = "document.getElementById('filter').addEventListener('input',function(e){\
var q=e.target.value.toLowerCase();\
document.querySelectorAll('#benches tbody tr').forEach(function(r){\
r.style.display=r.dataset.id.toLowerCase().indexOf(q)>=0?'':'none';});});";

/// Renders the report. `out` is where it will be written (links are made
/// relative to its directory).
///
/// # Errors
/// [`PerfError::Profiler`] when a chart cannot be drawn.
pub fn render(inputs: &ReportInputs, out: &Path) -> Result<String, PerfError> {
    let out_dir = out.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>kmidi performance report</title>");
    let _ = write!(h, "<style>{STYLE}</style></head><body>");
    let _ = write!(
        h,
        "<h1>kmidi performance report</h1><p>Generated {}.",
        rfc3339_now()
    );
    if let Some(dir) = &inputs.criterion_dir {
        let index = dir.join("report").join("index.html");
        if index.is_file() {
            let _ = write!(
                h,
                " <a href=\"{}\">Criterion's report</a>.",
                escape(&relative_href(&out_dir, &index))
            );
        }
    }
    h.push_str("</p>");

    h.push_str("<h2>Verdicts</h2>");
    match &inputs.comparison {
        None => h.push_str("<p>No comparison was given (pass --compare compare.json).</p>"),
        Some(c) => {
            let _ = write!(
                h,
                "<p><code>{}</code> → <code>{}</code> ({} comparison): <b class=\"regressed\">{} regressed</b>, <b class=\"improved\">{} improved</b>, {} unchanged.</p>",
                escape(&c.base),
                escape(&c.new),
                escape(&c.method),
                c.count(Verdict::Regressed),
                c.count(Verdict::Improved),
                c.count(Verdict::Unchanged)
            );
            if let Some(w) = c.fingerprint_warning() {
                let _ = write!(h, "<p class=\"warn\">{}</p>", escape(&w));
            }
            if let Some(svg) = changes_svg(c, 40)? {
                h.push_str(&svg);
            }
            h.push_str(
                "<p><input id=\"filter\" type=\"search\" placeholder=\"filter benches\"></p>",
            );
            h.push_str("<table id=\"benches\"><thead><tr><th>verdict</th><th>bench</th><th>base</th><th>new</th><th>change</th><th>95% interval</th><th>Ir change</th><th>heap blocks</th><th>DSP load @ 48k/512</th><th>links</th></tr></thead><tbody>");
            for b in &c.benches {
                let (base, new, change, ci) = match &b.wall {
                    Some(w) => (
                        format_ns(w.base_ns),
                        format_ns(w.new_ns),
                        format!("{:+.1}%", w.change_percent),
                        format!("{:+.1}% … {:+.1}%", w.ci_percent.0, w.ci_percent.1),
                    ),
                    None => Default::default(),
                };
                let ir = b
                    .instructions
                    .map(|i| format!("{:+.2}% ({})", i.change_percent, i.new))
                    .unwrap_or_default();
                let blocks = b
                    .allocations
                    .map(|a| format!("{} → {}", a.base, a.new))
                    .unwrap_or_default();
                let load = b
                    .dsp_load_percent
                    .map(|(x, y)| format!("{x:.2}% → {y:.2}%"))
                    .unwrap_or_default();
                let mut links = Vec::new();
                for (label, p) in [
                    ("diff flamegraph", &b.diff_flamegraph),
                    ("flamegraph", &b.flamegraph),
                    ("report", &b.report),
                ] {
                    if let Some(p) = p {
                        links.push(format!(
                            "<a href=\"{}\">{label}</a>",
                            escape(&relative_href(&out_dir, p))
                        ));
                    }
                }
                let _ = write!(
                    h,
                    "<tr data-id=\"{id}\"><td class=\"{v}\">{v}</td><td title=\"{why}\">{id}</td><td class=\"n\">{base}</td><td class=\"n\">{new}</td><td class=\"n\">{change}</td><td class=\"n\">{ci}</td><td class=\"n\">{ir}</td><td class=\"n\">{blocks}</td><td class=\"n\">{load}</td><td>{links}</td></tr>",
                    id = escape(&b.id),
                    v = b.verdict.as_str(),
                    why = escape(&b.reasons.join("; ")),
                    links = links.join(" · ")
                );
            }
            h.push_str("</tbody></table>");
        }
    }

    h.push_str("<h2>Deadlines (kmidi-perf run)</h2>");
    match &inputs.run {
        None => h.push_str("<p>No run was given (pass --run run.json).</p>"),
        Some(r) => {
            let _ = write!(h, "<p>{}</p>", escape(&r.machine.summary()));
            h.push_str("<table><thead><tr><th>preset</th><th>rate / block</th><th>median</th><th>p99</th><th>p99.9</th><th>max</th><th>DSP load mean</th><th>worst</th><th>xruns</th><th>allocations</th></tr></thead><tbody>");
            for x in &r.results {
                let b = &x.blocks;
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{} Hz / {}</td><td class=\"n\">{:.1} µs</td><td class=\"n\">{:.1} µs</td><td class=\"n\">{:.1} µs</td><td class=\"n\">{:.1} µs</td><td class=\"n\">{:.2}%</td><td class=\"n\">{:.2}%</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                    escape(&x.preset),
                    x.sample_rate,
                    x.block_frames,
                    b.median_us,
                    b.p99_us,
                    b.p999_us,
                    b.max_us,
                    b.dsp_load_mean_percent,
                    b.dsp_load_worst_percent,
                    b.xruns,
                    x.audio_thread_allocations
                );
            }
            h.push_str("</tbody></table><div class=\"charts\">");
            for x in r.results.iter().take(12) {
                if let Some(svg) = timeline_svg(x)? {
                    h.push_str(&svg);
                }
                h.push_str(&histogram_svg(x)?);
                if let Some(svg) = stages_svg(x)? {
                    h.push_str(&svg);
                }
            }
            h.push_str("</div>");
        }
    }

    h.push_str("<h2>Trends (history)</h2>");
    if inputs.trends.is_empty() {
        h.push_str("<p>No history was given (pass --history perf-history.sqlite).</p>");
    } else {
        let flagged: Vec<&Trend> = inputs
            .trends
            .iter()
            .filter(|t| t.slow_drift || t.step_change)
            .collect();
        let _ = write!(
            h,
            "<p>{} benches, {} with a slow drift or a step. Charts: flagged benches first, up to 24.</p>",
            inputs.trends.len(),
            flagged.len()
        );
        h.push_str("<table><thead><tr><th>bench</th><th>metric</th><th>runs</th><th>first</th><th>last</th><th>fitted change</th><th>largest step</th><th>trend p</th><th>flag</th></tr></thead><tbody>");
        let mut ordered: Vec<&Trend> = flagged.clone();
        ordered.extend(
            inputs
                .trends
                .iter()
                .filter(|t| !(t.slow_drift || t.step_change)),
        );
        for t in &ordered {
            let (first, last) = (
                t.points.first().map_or(0.0, |p| p.value),
                t.points.last().map_or(0.0, |p| p.value),
            );
            let flag = if t.slow_drift {
                "slow drift"
            } else if t.step_change {
                "step"
            } else {
                ""
            };
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{first:.4}</td><td class=\"n\">{last:.4}</td><td class=\"n\">{:+.1}%</td><td class=\"n\">{:+.1}%</td><td class=\"n\">{:.3}</td><td class=\"regressed\">{flag}</td></tr>",
                escape(&t.bench),
                escape(&t.metric),
                t.points.len(),
                t.fitted_change_percent,
                t.largest_step_percent,
                t.trend_p_value
            );
        }
        h.push_str("</tbody></table><div class=\"charts\">");
        for t in ordered.iter().filter(|t| t.points.len() >= 2).take(24) {
            h.push_str(&trend_svg(t)?);
        }
        h.push_str("</div>");
    }
    if inputs.comparison.is_some() {
        let _ = write!(h, "<script>{SCRIPT}</script>");
    }
    h.push_str("</body></html>\n");
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_links_walk_up_and_encode() {
        assert_eq!(
            relative_href(
                Path::new("/a/b/out"),
                Path::new("/a/b/criterion/x y/report/index.html")
            ),
            "../criterion/x%20y/report/index.html"
        );
        assert_eq!(
            relative_href(Path::new("/a"), Path::new("/a/p/preset=band/f.svg")),
            "p/preset=band/f.svg"
        );
    }

    #[test]
    fn escape_covers_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
