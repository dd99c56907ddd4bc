//! What the tour reports: each step with what was expected and what happened, rendered as a
//! plain-text table with a verdict line.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

/// One step of the tour: what was expected, what happened, whether that is right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub(crate) name: String,
    pub(crate) expected: String,
    pub(crate) got: String,
    pub(crate) ok: bool,
}

/// What the tour did.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub(crate) gateway_url: String,
    pub database_dir: PathBuf,
    pub steps: Vec<Step>,
    pub(crate) elapsed: Duration,
}

impl DemoReport {
    /// True when every step behaved.
    pub fn passed(&self) -> bool {
        !self.steps.is_empty() && self.steps.iter().all(|s| s.ok)
    }

    /// The steps as a plain-text table, then a verdict line.
    pub fn render(&self) -> String {
        let headers = ["#", "step", "expected", "got", "ok"];
        let rows: Vec<[String; 5]> = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                [
                    (i + 1).to_string(),
                    s.name.clone(),
                    s.expected.clone(),
                    s.got.clone(),
                    if s.ok { "ok" } else { "FAIL" }.to_owned(),
                ]
            })
            .collect();
        let mut widths = headers.map(|h| h.chars().count());
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: [&str; 5]| {
            let mut out = String::new();
            for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
                let pad = width.saturating_sub(cell.chars().count());
                if i + 1 == cells.len() {
                    out.push_str(cell);
                } else {
                    out.push_str(cell);
                    out.push_str(&" ".repeat(pad + 2));
                }
            }
            out.trim_end().to_owned()
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "refund-gateway demo: embedded default, SQLite in {}, gateway at {}",
            self.database_dir.display(),
            self.gateway_url
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", line(headers));
        let rule = widths.map(|w| "-".repeat(w));
        let _ = writeln!(
            out,
            "{}",
            line([&rule[0], &rule[1], &rule[2], &rule[3], &rule[4]])
        );
        for row in &rows {
            let _ = writeln!(
                out,
                "{}",
                line([&row[0], &row[1], &row[2], &row[3], &row[4]])
            );
        }
        let failed = self.steps.iter().filter(|s| !s.ok).count();
        let _ = writeln!(out);
        if self.passed() {
            let _ = writeln!(
                out,
                "all {} steps behaved ({} ms)",
                self.steps.len(),
                self.elapsed.as_millis()
            );
        } else {
            let _ = writeln!(
                out,
                "{failed} of {} steps did NOT behave ({} ms)",
                self.steps.len(),
                self.elapsed.as_millis()
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(oks: &[bool]) -> DemoReport {
        DemoReport {
            gateway_url: "http://127.0.0.1:1".into(),
            database_dir: PathBuf::from("/tmp/x"),
            steps: oks
                .iter()
                .enumerate()
                .map(|(i, ok)| Step {
                    name: format!("step {i}"),
                    expected: "201 succeeded".into(),
                    got: if *ok {
                        "201 succeeded".into()
                    } else {
                        "201 failed".into()
                    },
                    ok: *ok,
                })
                .collect(),
            elapsed: Duration::from_millis(5),
        }
    }

    #[test]
    fn a_report_passes_only_when_every_step_behaved() {
        assert!(report(&[true, true]).passed());
        assert!(!report(&[true, false]).passed());
        assert!(!report(&[]).passed());
    }

    #[test]
    fn the_table_marks_each_step_and_says_how_many_failed() {
        let text = report(&[true, false]).render();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("1 ") && l.ends_with("ok")),
            "{text}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("2 ") && l.ends_with("FAIL")),
            "{text}"
        );
        assert!(text.contains("1 of 2 steps did NOT behave"), "{text}");
    }
}
