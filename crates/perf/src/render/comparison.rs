//! A comparison as a terminal table and as Markdown for a pull request.

use std::fmt::Write as _;
use std::path::Path;

use crate::verdict::{BenchClock, BenchComparison, Comparison, ProcessEvidence, Verdict};

/// Formats nanoseconds with a unit.
pub fn format_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

fn change_cell(b: &BenchComparison) -> String {
    let mut parts = Vec::new();
    if let Some(w) = &b.wall {
        parts.push(format!(
            "{:+.1}% [{:+.1}, {:+.1}]",
            w.change_percent, w.ci_percent.0, w.ci_percent.1
        ));
        if let Some(p) = &w.processes {
            parts.push(process_cell(p));
        }
    }
    if let Some(i) = &b.instructions {
        parts.push(format!("Ir {:+.2}%", i.change_percent));
    }
    if let Some(a) = &b.allocations
        && (a.base != 0 || a.new != 0)
    {
        parts.push(format!("blocks {}→{}", a.base, a.new));
    }
    parts.join(", ")
}

/// The process-level evidence in one cell: processes per side, the rank
/// test, the power, why measuring stopped, and the modes of an unstable
/// bench.
fn process_cell(p: &ProcessEvidence) -> String {
    let mut cell = format!(
        "{}+{} processes, p {:.1e} (level {:.1e}; rank test {:.1e}), power {:.0}%, {}",
        p.base_medians_ns.len(),
        p.new_medians_ns.len(),
        p.p_value,
        p.alpha,
        p.rank_p_value,
        p.power * 100.0,
        p.stopped.as_str()
    );
    if p.clock != BenchClock::Wall {
        cell.push_str(&format!(", {}", p.clock.as_str()));
    }
    if p.undisturbed_only {
        let kept = |shares: &[f64]| shares.iter().filter(|s| **s >= p.served_share).count();
        cell.push_str(&format!(
            ", only processes with ≥ {:.0}% CPU ({} base, {} new)",
            p.served_share * 100.0,
            kept(&p.base_cpu_shares),
            kept(&p.new_cpu_shares)
        ));
    }
    if p.unstable() {
        cell.push_str(&format!(", unstable: {}", p.modes_text()));
    }
    cell
}

fn value_cells(b: &BenchComparison) -> (String, String) {
    if let Some(w) = &b.wall {
        (format_ns(w.base_ns), format_ns(w.new_ns))
    } else if let Some(i) = &b.instructions {
        (format!("{} Ir", i.base), format!("{} Ir", i.new))
    } else {
        (String::new(), String::new())
    }
}

/// The terminal table.
pub fn table(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "compare {} -> {} ({}): {} regressed, {} improved, {} unchanged",
        c.base,
        c.new,
        c.method,
        c.count(Verdict::Regressed),
        c.count(Verdict::Improved),
        c.count(Verdict::Unchanged)
    );
    if let Some(w) = c.fingerprint_warning() {
        let _ = writeln!(out, "{w}");
    }
    let width = c
        .benches
        .iter()
        .map(|b| b.id.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(
        out,
        "{:<9}  {:<width$}  {:>12}  {:>12}  {:>7}  change [{}]",
        "verdict",
        "bench",
        "base",
        "new",
        "thresh",
        if c.method == crate::verdict::PROCESS_METHOD {
            "interval], fastest half of per-process medians; evidence"
        } else {
            "95% CI"
        }
    );
    for b in &c.benches {
        let (base, new) = value_cells(b);
        let thr = if b.wall.is_some() {
            b.thresholds.wall_percent
        } else {
            b.thresholds.instructions_percent
        };
        let _ = writeln!(
            out,
            "{:<9}  {:<width$}  {:>12}  {:>12}  {:>6}%  {}",
            b.verdict.as_str(),
            b.id,
            base,
            new,
            thr,
            change_cell(b)
        );
    }
    for id in &c.only_in_base {
        let _ = writeln!(out, "{:<9}  {id} (only in {})", "removed", c.base);
    }
    for id in &c.only_in_new {
        let _ = writeln!(out, "{:<9}  {id} (only in {})", "added", c.new);
    }
    out
}

fn link(path: &Path, criterion_dir: &Path, link_base: Option<&str>) -> String {
    match (link_base, path.strip_prefix(criterion_dir)) {
        (Some(base), Ok(rel)) => format!("{}/{}", base.trim_end_matches('/'), rel.display()),
        _ => path.display().to_string(),
    }
}

/// Markdown for a pull-request comment: a headline, regressions first
/// with their reasons, DSP load at 48 kHz / 512, and links to Criterion's
/// report and the (differential) flamegraphs. Links are made relative to
/// `criterion_dir` and prefixed with `link_base` when given (the URL the
/// reports are published under), else they are local paths.
pub fn markdown(c: &Comparison, criterion_dir: &Path, link_base: Option<&str>) -> String {
    let mut out = String::new();
    let (r, i, u) = (
        c.count(Verdict::Regressed),
        c.count(Verdict::Improved),
        c.count(Verdict::Unchanged),
    );
    let icon = if r > 0 { "❌" } else { "✅" };
    let _ = writeln!(out, "<!-- kmidi-perf-compare -->");
    let _ = writeln!(
        out,
        "### {icon} kmidi-perf: {r} regressed, {i} improved, {u} unchanged\n"
    );
    if c.method == crate::verdict::PROCESS_METHOD {
        let _ = writeln!(
            out,
            "`{}` → `{}`, compared over many short processes per side in ABBA blocks, one median per process; base and new are the geometric means of the fastest half of the per-process medians. A regression needs a permutation test over processes significant at its look's level, an interval above zero and a change of at least {:.0}% of the bench's threshold; benches whose per-process medians split into modes are marked unstable and judged by the same rule.\n",
            c.base,
            c.new,
            crate::verdict::MIN_EFFECT_SHARE * 100.0
        );
    } else {
        let _ = writeln!(
            out,
            "`{}` → `{}`, {} comparison. A regression needs a change beyond the bench's threshold with a 95% interval that excludes zero.\n",
            c.base, c.new, c.method
        );
    }
    if let Some(w) = c.fingerprint_warning() {
        let _ = writeln!(out, "> **⚠ {w}**\n");
    }
    let row = |out: &mut String, b: &BenchComparison| {
        let (base, new) = value_cells(b);
        let load = b
            .dsp_load_percent
            .map(|(x, y)| format!("{x:.2}% → {y:.2}%"))
            .unwrap_or_else(|| "—".into());
        let mut links = Vec::new();
        if let Some(p) = &b.diff_flamegraph {
            links.push(format!(
                "[diff flamegraph]({})",
                link(p, criterion_dir, link_base)
            ));
        }
        if let Some(p) = &b.flamegraph {
            links.push(format!(
                "[flamegraph]({})",
                link(p, criterion_dir, link_base)
            ));
        }
        if let Some(p) = &b.report {
            links.push(format!("[report]({})", link(p, criterion_dir, link_base)));
        }
        let why = if b.reasons.is_empty() {
            change_cell(b)
        } else {
            b.reasons.join("; ")
        };
        let _ = writeln!(
            out,
            "| {} | `{}` | {base} | {new} | {why} | {load} | {} |",
            b.verdict.as_str(),
            b.id,
            links.join(" · ")
        );
    };
    let header = "| verdict | bench | base | new | change | DSP load @ 48 kHz/512 | links |\n|---|---|---|---|---|---|---|\n";
    let flagged: Vec<&BenchComparison> = c
        .benches
        .iter()
        .filter(|b| b.verdict != Verdict::Unchanged)
        .collect();
    if !flagged.is_empty() {
        out.push_str(header);
        for b in &flagged {
            row(&mut out, b);
        }
        out.push('\n');
    }
    let rest: Vec<&BenchComparison> = c
        .benches
        .iter()
        .filter(|b| b.verdict == Verdict::Unchanged)
        .collect();
    if !rest.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} unchanged</summary>\n",
            rest.len()
        );
        out.push_str(header);
        for b in &rest {
            row(&mut out, b);
        }
        out.push_str("\n</details>\n");
    }
    let evidence: Vec<(&str, &ProcessEvidence)> = c
        .benches
        .iter()
        .filter_map(|b| Some((b.id.as_str(), b.wall.as_ref()?.processes.as_ref()?)))
        .collect();
    if !evidence.is_empty() {
        let _ = writeln!(
            out,
            "\n<details><summary>Per-process medians, in run order</summary>\n"
        );
        let list = |xs: &[f64]| {
            xs.iter()
                .map(|x| format_ns(*x))
                .collect::<Vec<_>>()
                .join(", ")
        };
        for (id, p) in evidence {
            let _ = writeln!(
                out,
                "- `{id}`: base {}; new {}; {}",
                list(&p.base_medians_ns),
                list(&p.new_medians_ns),
                p.modes_text()
            );
        }
        out.push_str("\n</details>\n");
    }
    if !c.only_in_base.is_empty() || !c.only_in_new.is_empty() {
        let _ = writeln!(
            out,
            "\nNot judged: {} only in `{}`, {} only in `{}`.",
            c.only_in_base.len(),
            c.base,
            c.only_in_new.len(),
            c.new
        );
    }
    out
}
