//! Runs scenarios against two targets and reports every differing field.

use std::fmt;

use crate::scenarios::Scenario;
use crate::session::{Exchange, Session};
use crate::tree::compare;

/// A broker to talk to: a name for the report (`kafka`, `rill`) and its `host:port`.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub addr: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A behaviour difference: fails the differential test.
    Difference,
    /// Reported apart, never a failure (why: the string).
    Informative(&'static str),
    /// Listed in known-differences.txt: reported, not a failure.
    Known,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub scenario: String,
    pub step: String,
    pub path: String,
    pub a: Option<String>,
    pub b: Option<String>,
    pub kind: Kind,
}

#[derive(Debug, Default)]
pub struct Report {
    pub a: String,
    pub b: String,
    pub findings: Vec<Finding>,
    /// Steps compared (both sides answered or both lacked the version).
    pub steps: usize,
    /// Leaves on side a's normalized trees.
    pub leaves: usize,
    /// Leaves normalized, both sides together.
    pub masked: usize,
}

/// Why a difference is informative rather than a failure, if it is.
pub fn informative(api: &str, path: &str) -> Option<&'static str> {
    let top = path.split(['.', '[']).next().unwrap_or_default();
    if api == "ApiVersions"
        && matches!(
            top,
            "api_keys" | "supported_features" | "finalized_features" | "finalized_features_epoch"
        )
    {
        return Some("supported versions and features");
    }
    if path.rsplit('.').next() == Some("error_message") {
        return Some("error message text");
    }
    None
}

/// `scenario / step / path-pattern` lines; `*` matches any run of characters.
pub fn known(patterns: &str, scenario: &str, step: &str, path: &str) -> bool {
    let subject = format!("{scenario} / {step} / {path}");
    patterns
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .any(|p| glob(p, &subject))
}

fn glob(pattern: &str, s: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == s,
        Some((head, tail)) => {
            s.starts_with(head)
                && (head.len()..=s.len()).any(|i| s.is_char_boundary(i) && glob(tail, &s[i..]))
        }
    }
}

/// Compares two runs of one scenario step by step.
pub fn diff_exchanges(
    scenario: &str,
    ea: &[Exchange],
    eb: &[Exchange],
    known_patterns: &str,
) -> (Vec<Finding>, usize) {
    let mut findings = Vec::new();
    let mut steps = 0;
    for i in 0..ea.len().max(eb.len()) {
        let (a, b) = (ea.get(i), eb.get(i));
        let step = a.or(b).map(|e| e.label.clone()).unwrap_or_default();
        let mut add = |path: String, x: Option<String>, y: Option<String>, api: &str| {
            let kind = if let Some(why) = informative(api, &path) {
                Kind::Informative(why)
            } else if known(known_patterns, scenario, &step, &path) {
                Kind::Known
            } else {
                Kind::Difference
            };
            findings.push(Finding {
                scenario: scenario.to_string(),
                step: step.clone(),
                path,
                a: x,
                b: y,
                kind,
            });
        };
        match (a, b) {
            (Some(a), Some(b)) if a.label == b.label => {
                steps += 1;
                for d in compare(&a.tree, &b.tree) {
                    add(d.path, d.a, d.b, &a.api);
                }
            }
            (a, b) => add(
                "(step)".into(),
                a.map(|e| e.label.clone()),
                b.map(|e| e.label.clone()),
                "",
            ),
        }
    }
    (findings, steps)
}

/// Runs one scenario on one target (a fresh connection).
pub fn run(scenario: &Scenario, target: &Target, nonce: &str) -> (Vec<Exchange>, usize) {
    let mut sess = Session::open(&target.addr, nonce);
    (scenario.run)(&mut sess);
    let masked = sess.masked();
    (sess.exchanges, masked)
}

/// With `RILL_DIFF_DUMP=DIR`: each target's normalized answers, one line per step, in
/// `DIR/<target>-<scenario>.txt` (to read what was compared).
fn dump(scenario: &str, target: &Target, exchanges: &[Exchange]) {
    let Some(dir) = std::env::var_os("RILL_DIFF_DUMP") else {
        return;
    };
    let text: String = exchanges
        .iter()
        .map(|e| format!("{}: {}\n", e.label, e.tree))
        .collect();
    let path = std::path::Path::new(&dir).join(format!("{}-{scenario}.txt", target.name));
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&path, text)) {
        eprintln!("RILL_DIFF_DUMP: {}: {e}", path.display());
    }
}

/// Every scenario on `a` then on `b`, compared.
pub fn differential(
    a: &Target,
    b: &Target,
    scenarios: &[Scenario],
    nonce: &str,
    known_patterns: &str,
) -> Report {
    let mut report = Report {
        a: a.name.clone(),
        b: b.name.clone(),
        ..Report::default()
    };
    for sc in scenarios {
        let (ea, ma) = run(sc, a, nonce);
        let (eb, mb) = run(sc, b, nonce);
        dump(sc.name, a, &ea);
        dump(sc.name, b, &eb);
        let (findings, steps) = diff_exchanges(sc.name, &ea, &eb, known_patterns);
        report.findings.extend(findings);
        report.steps += steps;
        report.leaves += ea.iter().map(|e| e.tree.leaves()).sum::<usize>();
        report.masked += ma + mb;
    }
    report
}

impl Report {
    pub fn differences(&self) -> Vec<&Finding> {
        self.findings
            .iter()
            .filter(|f| f.kind == Kind::Difference)
            .collect()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = |k: fn(&Kind) -> bool| self.findings.iter().filter(|x| k(&x.kind)).count();
        writeln!(
            f,
            "differential {} vs {}: {} steps, {} fields compared ({} normalized), {} differences, {} known, {} informative",
            self.a,
            self.b,
            self.steps,
            self.leaves,
            self.masked,
            count(|k| *k == Kind::Difference),
            count(|k| *k == Kind::Known),
            count(|k| matches!(k, Kind::Informative(_))),
        )?;
        for x in &self.findings {
            let tag = match x.kind {
                Kind::Difference => "DIFF".to_string(),
                Kind::Known => "known".to_string(),
                Kind::Informative(why) => format!("info ({why})"),
            };
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "<absent>".into());
            writeln!(
                f,
                "  {tag}: {} / {} / {}: {}={} {}={}",
                x.scenario,
                x.step,
                x.path,
                self.a,
                show(&x.a),
                self.b,
                show(&x.b)
            )?;
        }
        Ok(())
    }
}
