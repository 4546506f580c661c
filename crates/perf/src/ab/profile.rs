//! Differential profiles of a regressed bench: both builds profiled the
//! same way, and the two profiles drawn as one flamegraph (red: grew in
//! the new build, blue: shrank).
//!
//! Two routes:
//! * **pprof**, when the measured project has a Criterion profiler hook
//!   (kmidi's benches do): Criterion's `--profile-time` writes folded
//!   stacks per bench;
//! * **callgrind**, for any other project: the bench executable runs in
//!   Criterion's profile mode under `valgrind --tool=callgrind`, and each
//!   function's own instructions become one frame of the profile. Profile
//!   mode runs for a time, not a number of iterations, so each function's
//!   cost is taken per call (`diff-profile.txt` lists the functions whose
//!   instructions per call moved most).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::PerfError;

use super::cargo::bench_command;
use super::{AbSpec, Side};

/// Writes a differential flamegraph of `before` → `after` folded stacks;
/// `normalize` scales the first profile to the second's total.
///
/// # Errors
/// [`PerfError::File`] naming the file that could not be read or written.
pub fn differential_flamegraph(
    before: &Path,
    after: &Path,
    out: &Path,
    title: &str,
    normalize: bool,
) -> Result<(), PerfError> {
    for p in [before, after] {
        if !p.is_file() {
            return Err(PerfError::file(
                p,
                "no folded stacks here (was the bench profiled?)",
            ));
        }
    }
    let mut diff = Vec::new();
    let options = inferno::differential::Options {
        normalize,
        ..Default::default()
    };
    inferno::differential::from_files(options, before, after, &mut diff)
        .map_err(|e| PerfError::file(after, format!("cannot diff the stacks: {e}")))?;
    if diff.is_empty() {
        return Err(PerfError::file(after, "both profiles are empty"));
    }
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_string();
    options.subtitle = Some("red: more samples in the new build, blue: fewer".into());
    let mut svg = Vec::new();
    inferno::flamegraph::from_reader(&mut options, diff.as_slice(), &mut svg)
        .map_err(|e| PerfError::file(out, format!("cannot draw the flamegraph: {e}")))?;
    crate::write_atomic(out, &svg)
}

/// Runs `id` in Criterion's profile mode for the spec's profile time.
fn profile_mode(mut c: Command, spec: &AbSpec, id: &str) -> Result<(), PerfError> {
    let seconds = format!("{:.1}", spec.profile_seconds);
    c.args(["--bench", "--profile-time", &seconds, "--exact", id]);
    let status = c
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| PerfError::file(Path::new(id), format!("cannot run: {e}")))?;
    if !status.success() {
        return Err(PerfError::file(
            Path::new(id),
            format!("profiling failed ({status})"),
        ));
    }
    Ok(())
}

/// One function's own cost in a callgrind profile.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct FunctionCost {
    /// Instructions executed in the function itself.
    self_ir: u64,
    /// Calls into it (0 when it is only an entry point).
    calls: u64,
}

/// Reads a callgrind output file: each function's own instructions (cost
/// lines, except the inclusive cost that follows a `calls=` line) and the
/// calls into it (the `calls=` counts under its `cfn=`), with callgrind's
/// `(id) name` compression resolved.
fn read_callgrind(text: &str) -> BTreeMap<String, FunctionCost> {
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    // `fn=(12) name` defines id 12; a later `fn=(12)` refers to it.
    let mut resolve = |spec: &str| -> String {
        let spec = spec.trim();
        match spec.strip_prefix('(').and_then(|r| r.split_once(')')) {
            Some((id, rest)) if !rest.trim().is_empty() => {
                names.insert(id.to_string(), rest.trim().to_string());
                rest.trim().to_string()
            }
            Some((id, _)) => names.get(id).cloned().unwrap_or_else(|| format!("({id})")),
            None => spec.to_string(),
        }
    };
    let mut costs: BTreeMap<String, FunctionCost> = BTreeMap::new();
    let mut current = String::new();
    let mut callee = String::new();
    let mut after_calls = false;
    for line in text.lines() {
        if let Some(spec) = line.strip_prefix("fn=") {
            current = resolve(spec);
        } else if let Some(spec) = line.strip_prefix("cfn=") {
            callee = resolve(spec);
        } else if let Some(rest) = line.strip_prefix("calls=") {
            let count: u64 = rest
                .split_whitespace()
                .next()
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            costs.entry(callee.clone()).or_default().calls += count;
            after_calls = true;
        } else if line.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '-' || c == '*')
        {
            if after_calls {
                // The inclusive cost of the call just named: the callee's
                // own part is counted under its own `fn=`.
                after_calls = false;
                continue;
            }
            let ir: u64 = line
                .split_whitespace()
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            costs.entry(current.clone()).or_default().self_ir += ir;
        }
    }
    costs
}

/// Profiles `id` of `exe` under callgrind (Criterion's profile mode, which
/// runs the routine for a time, so the two sides run different numbers of
/// iterations) and returns each function's own cost.
fn callgrind_side(
    exe: &Path,
    side: &Side,
    spec: &AbSpec,
    id: &str,
    raw: &Path,
) -> Result<BTreeMap<String, FunctionCost>, PerfError> {
    if let Some(d) = raw.parent() {
        std::fs::create_dir_all(d).map_err(|e| PerfError::caused(d, e))?;
    }
    let mut c = Command::new("valgrind");
    c.current_dir(&side.dir).stdin(Stdio::null());
    for (k, v) in &side.env {
        c.env(k, v);
    }
    c.env("CRITERION_HOME", spec.out.join("profile-callgrind"))
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", raw.display()))
        .arg(exe);
    profile_mode(c, spec, id).map_err(|e| {
        PerfError::file(
            raw,
            format!("{e} (is valgrind installed? apt-get install valgrind)"),
        )
    })?;
    let text = std::fs::read_to_string(raw).map_err(|e| PerfError::caused(raw, e))?;
    Ok(read_callgrind(&text))
}

/// Instructions per call of a function, so that runs of different lengths
/// compare (a function never called, an entry point, keeps its whole
/// count).
fn per_call(cost: &FunctionCost) -> f64 {
    cost.self_ir as f64 / cost.calls.max(1) as f64
}

/// Folded stacks of one side for the differential flamegraph: each
/// function one frame, weighted by its instructions per call times the
/// base's calls, so that both sides are scaled to the base's iterations.
fn folded(side: &BTreeMap<String, FunctionCost>, base: &BTreeMap<String, FunctionCost>) -> String {
    let mut text = String::new();
    for (f, c) in side {
        let calls = base.get(f).map_or(c.calls, |b| b.calls).max(1);
        let weight = (per_call(c) * calls as f64).round() as u64;
        if weight > 0 {
            let _ = writeln!(text, "{} {weight}", f.replace([' ', ';'], "_"));
        }
    }
    text
}

/// The functions whose instructions per call moved most, as text, the
/// largest growth first (functions under 0.5% of both sides' own
/// instructions left out).
fn per_call_changes(
    before: &BTreeMap<String, FunctionCost>,
    after: &BTreeMap<String, FunctionCost>,
) -> String {
    let total = |m: &BTreeMap<String, FunctionCost>| {
        m.values().map(|c| c.self_ir).sum::<u64>().max(1) as f64
    };
    let (tb, ta) = (total(before), total(after));
    let mut rows: Vec<(f64, &str, f64, f64)> = before
        .iter()
        .filter_map(|(f, b)| {
            let a = after.get(f)?;
            let share = (b.self_ir as f64 / tb).max(a.self_ir as f64 / ta);
            (share >= 0.005 && b.calls > 0 && a.calls > 0).then(|| {
                let (pb, pa) = (per_call(b), per_call(a));
                ((pa / pb - 1.0) * 100.0, f.as_str(), pb, pa)
            })
        })
        .collect();
    rows.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(y.1)));
    let mut out = String::from("instructions per call, base -> new, by function\n");
    for (d, f, b, a) in rows.iter().take(20) {
        let _ = writeln!(out, "{d:+8.2}%  {b:>14.1} -> {a:>14.1}  {f}");
    }
    out
}

/// Profiles a regressed bench in both builds and writes its differential
/// flamegraph under `spec.out/diff/<bench>/`; returns the flamegraph.
///
/// # Errors
/// [`PerfError`] when a profile cannot be taken or drawn.
pub fn differential_profile(
    spec: &AbSpec,
    base_exe: &Path,
    head_exe: &Path,
    id: &str,
    rel: &Path,
) -> Result<PathBuf, PerfError> {
    let (pa, pb) = (spec.out.join("profile-base"), spec.out.join("profile-new"));
    let out_dir = spec.out.join("diff").join(rel);
    let svg = out_dir.join("diff-flamegraph.svg");
    let title = format!("{id}: base → head");
    profile_mode(bench_command(base_exe, &spec.base, &pa), spec, id)?;
    profile_mode(bench_command(head_exe, &spec.head, &pb), spec, id)?;
    let before = pa.join(rel).join("profile").join("stacks.folded");
    let after = pb.join(rel).join("profile").join("stacks.folded");
    if before.is_file() && after.is_file() {
        differential_flamegraph(&before, &after, &svg, &title, false)?;
        return Ok(svg);
    }
    // No profiler hook in the measured project: callgrind instead.
    eprintln!("ab: {id} has no Criterion profiler hook; profiling it under callgrind");
    let fb = callgrind_side(
        base_exe,
        &spec.base,
        spec,
        id,
        &out_dir.join("base.callgrind"),
    )?;
    let fa = callgrind_side(
        head_exe,
        &spec.head,
        spec,
        id,
        &out_dir.join("new.callgrind"),
    )?;
    let (before, after) = (out_dir.join("base.folded"), out_dir.join("new.folded"));
    crate::write_atomic(&before, folded(&fb, &fb).as_bytes())?;
    crate::write_atomic(&after, folded(&fa, &fb).as_bytes())?;
    let table = per_call_changes(&fb, &fa);
    crate::write_atomic(&out_dir.join("diff-profile.txt"), table.as_bytes())?;
    eprint!("ab: {id}, callgrind {table}");
    differential_flamegraph(&before, &after, &svg, &title, false)?;
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILE: &str = "\
events: Ir
fl=(1) src/lib.rs
fn=(1) peer::bench_loop
0 100
cfl=(1)
cfn=(2) peer::fir_filter
calls=10 0
0 5000
fn=(2)
0 4000
+1 1000
fn=(3) main
0 7
cfn=(1)
calls=1 0
0 5100
";

    #[test]
    fn callgrind_files_give_self_cost_and_calls() {
        let c = read_callgrind(PROFILE);
        assert_eq!(
            c["peer::fir_filter"],
            FunctionCost {
                self_ir: 5000,
                calls: 10
            }
        );
        assert_eq!(
            c["peer::bench_loop"],
            FunctionCost {
                self_ir: 100,
                calls: 1
            }
        );
        assert_eq!(
            c["main"],
            FunctionCost {
                self_ir: 7,
                calls: 0
            }
        );
    }

    #[test]
    fn per_call_changes_lead_with_the_growth() {
        let base = read_callgrind(PROFILE);
        // Twice the iterations, each 10% dearer in fir_filter.
        let mut new = base.clone();
        new.insert(
            "peer::fir_filter".into(),
            FunctionCost {
                self_ir: 11_000,
                calls: 20,
            },
        );
        let t = per_call_changes(&base, &new);
        let first = t.lines().nth(1).unwrap();
        assert!(
            first.contains("+10.00%") && first.ends_with("peer::fir_filter"),
            "{t}"
        );
        // The flamegraph weights scale the new side back to the base's calls.
        assert!(folded(&new, &base).contains("peer::fir_filter 5500"));
    }
}
