//! Thresholds: when a change counts, per bench, from `perf-compare.toml`
//! (defaults plus `[[bench]]` rules matched by id with `*` wildcards, the
//! last matching rule winning).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::PerfError;

/// When a change counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Wall-time change, percent of the base median.
    pub wall_percent: f64,
    /// Instruction-count change, percent.
    pub instructions_percent: f64,
    /// Heap blocks allowed above the base.
    pub extra_allocations: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            wall_percent: 10.0,
            instructions_percent: 0.5,
            extra_allocations: 0,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialThresholds {
    wall_percent: Option<f64>,
    instructions_percent: Option<f64>,
    extra_allocations: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct BenchRule {
    #[serde(rename = "match")]
    pattern: String,
    wall_percent: Option<f64>,
    instructions_percent: Option<f64>,
    extra_allocations: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompareConfigFile {
    schema_version: u32,
    #[serde(default)]
    defaults: PartialThresholds,
    #[serde(default)]
    bench: Vec<BenchRule>,
}

/// Thresholds per bench: defaults plus `[[bench]]` rules, the last
/// matching rule winning.
#[derive(Debug, Clone, Default)]
pub struct CompareConfig {
    defaults: Thresholds,
    rules: Vec<(String, PartialThresholds)>,
}

/// Whether `text` matches `pattern`, where `*` matches any run of
/// characters (including none) and everything else matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

fn check_thresholds(p: &PartialThresholds, path: &Path, at: &str) -> Result<(), PerfError> {
    for (name, v) in [
        ("wall_percent", p.wall_percent),
        ("instructions_percent", p.instructions_percent),
    ] {
        if let Some(v) = v
            && !(v.is_finite() && v > 0.0 && v <= 1000.0)
        {
            return Err(PerfError::file(
                path,
                format!("{at}: {name} = {v}: a percentage above 0 and at most 1000"),
            ));
        }
    }
    Ok(())
}

impl CompareConfig {
    /// Reads a `perf-compare.toml`.
    ///
    /// # Errors
    /// [`PerfError::File`] with the line and column, or the rule at fault.
    pub fn from_file(path: &Path) -> Result<Self, PerfError> {
        let text = std::fs::read_to_string(path).map_err(|e| PerfError::caused(path, e))?;
        let file: CompareConfigFile = toml::from_str(&text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start].matches('\n').count() + 1;
                    format!("line {line}: ")
                })
                .unwrap_or_default();
            PerfError::file(path, format!("{at}{}", e.message()))
        })?;
        if file.schema_version != 1 {
            return Err(PerfError::file(
                path,
                format!(
                    "schema_version {}: this kmidi-perf reads version 1",
                    file.schema_version
                ),
            ));
        }
        check_thresholds(&file.defaults, path, "[defaults]")?;
        let d = Thresholds::default();
        let defaults = Thresholds {
            wall_percent: file.defaults.wall_percent.unwrap_or(d.wall_percent),
            instructions_percent: file
                .defaults
                .instructions_percent
                .unwrap_or(d.instructions_percent),
            extra_allocations: file
                .defaults
                .extra_allocations
                .unwrap_or(d.extra_allocations),
        };
        let mut rules = Vec::new();
        for (i, r) in file.bench.into_iter().enumerate() {
            if r.pattern.is_empty() {
                return Err(PerfError::file(
                    path,
                    format!(
                        "[[bench]] #{}: match is empty: a bench id, `*` wildcards allowed",
                        i + 1
                    ),
                ));
            }
            let thresholds = PartialThresholds {
                wall_percent: r.wall_percent,
                instructions_percent: r.instructions_percent,
                extra_allocations: r.extra_allocations,
            };
            check_thresholds(&thresholds, path, &format!("[[bench]] {:?}", r.pattern))?;
            rules.push((r.pattern, thresholds));
        }
        Ok(Self { defaults, rules })
    }

    /// The `[defaults]` thresholds (for a bench no rule names).
    pub fn defaults(&self) -> Thresholds {
        self.defaults
    }

    /// The thresholds for bench `id`.
    pub fn thresholds(&self, id: &str) -> Thresholds {
        let mut t = self.defaults;
        for (pattern, p) in &self.rules {
            if glob_match(pattern, id) {
                t.wall_percent = p.wall_percent.unwrap_or(t.wall_percent);
                t.instructions_percent = p.instructions_percent.unwrap_or(t.instructions_percent);
                t.extra_allocations = p.extra_allocations.unwrap_or(t.extra_allocations);
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_wildcards() {
        assert!(glob_match("canary/*", "canary/biquad_passes"));
        assert!(glob_match(
            "*/frames=512",
            "dsp/biquad/kmidi_tdf2/frames=512"
        ));
        assert!(glob_match(
            "dsp/*/frames=*",
            "dsp/biquad/kmidi_tdf2/frames=64"
        ));
        assert!(!glob_match(
            "dsp/*/frames=512",
            "dsp/biquad/kmidi_tdf2/frames=64"
        ));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
        assert!(!glob_match("a*a", "a"));
    }

    #[test]
    fn last_matching_rule_wins() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("perf-compare.toml");
        std::fs::write(
            &p,
            "schema_version = 1\n[defaults]\nwall_percent = 8.0\n[[bench]]\nmatch = \"dsp/*\"\nwall_percent = 6.0\n[[bench]]\nmatch = \"dsp/biquad/*\"\ninstructions_percent = 0.2\nwall_percent = 4.0\n",
        )
        .unwrap();
        let c = CompareConfig::from_file(&p).unwrap();
        assert_eq!(c.thresholds("engine/x").wall_percent, 8.0);
        assert_eq!(c.thresholds("dsp/eq/x").wall_percent, 6.0);
        let t = c.thresholds("dsp/biquad/kmidi_tdf2/frames=512");
        assert_eq!((t.wall_percent, t.instructions_percent), (4.0, 0.2));
        std::fs::write(&p, "schema_version = 1\n[defaults]\nwall_percent = -1.0\n").unwrap();
        let e = CompareConfig::from_file(&p).unwrap_err().to_string();
        assert!(
            e.contains("perf-compare.toml") && e.contains("above 0"),
            "{e}"
        );
        std::fs::write(&p, "schema_version = 1\n[defaults]\nwall = 5.0\n").unwrap();
        let e = CompareConfig::from_file(&p).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("unknown field"), "{e}");
    }
}
