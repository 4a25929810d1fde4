//! The Markdown the bench writes between the markers of docs/BENCHMARKS.md: the run's facts, the
//! budgets with their verdicts, and one section of figures and tables per measurement. What the
//! figures mean, and what a missed budget would take, is the document's hand-written part.

use std::{fmt::Write as _, time::Duration};

use anyhow::Result;

use super::{machine::Machine, Options};
use crate::root;

const BEGIN: &str =
    "<!-- bench:begin (written by `cargo xtask bench`; edit outside these markers) -->";
const END: &str = "<!-- bench:end -->";

#[derive(Clone, Copy, PartialEq)]
enum Goal {
    AtMost,
    AtLeast,
}

pub struct Budget {
    limit: f64,
    goal: Goal,
    /// How the limit reads in the table ("≤ 130 KB").
    shown: &'static str,
}

impl Budget {
    pub fn at_most(limit: f64, shown: &'static str) -> Budget {
        Budget {
            limit,
            goal: Goal::AtMost,
            shown,
        }
    }

    pub fn at_least(limit: f64, shown: &'static str) -> Budget {
        Budget {
            limit,
            goal: Goal::AtLeast,
            shown,
        }
    }
}

struct Row {
    figure: String,
    value: Option<f64>,
    shown: String,
    budget: Option<Budget>,
}

impl Row {
    fn met(&self) -> Option<bool> {
        let budget = self.budget.as_ref()?;
        let value = self.value?;
        Some(match budget.goal {
            Goal::AtMost => value <= budget.limit,
            Goal::AtLeast => value >= budget.limit,
        })
    }
}

#[derive(Default)]
pub struct Section {
    title: String,
    /// One line of the settings the figures were measured with (counts, durations).
    setup: String,
    rows: Vec<Row>,
    /// Markdown after the table of figures: the detailed tables.
    pub details: String,
}

impl Section {
    pub fn new(title: &str, setup: String) -> Section {
        Section {
            title: title.to_owned(),
            setup,
            ..Section::default()
        }
    }

    /// A figure without a budget.
    pub fn info(&mut self, figure: impl Into<String>, shown: impl Into<String>) {
        self.rows.push(Row {
            figure: figure.into(),
            value: None,
            shown: shown.into(),
            budget: None,
        });
    }

    /// A figure with a budget: `value` is compared with it, `shown` is printed.
    pub fn budgeted(
        &mut self,
        figure: impl Into<String>,
        value: f64,
        shown: impl Into<String>,
        budget: Budget,
    ) {
        self.rows.push(Row {
            figure: figure.into(),
            value: Some(value),
            shown: shown.into(),
            budget: Some(budget),
        });
    }
}

#[derive(Default)]
pub struct Report {
    pub sections: Vec<Section>,
    /// What could not be measured on this machine, and why.
    pub unmeasured: Vec<String>,
    /// What did not work (an error, not a slow figure): the bench fails after writing the report.
    pub failures: Vec<String>,
}

impl Report {
    fn rows(&self) -> impl Iterator<Item = &Row> {
        self.sections.iter().flat_map(|s| &s.rows)
    }

    pub fn missed(&self) -> Vec<String> {
        self.rows()
            .filter(|r| r.met() == Some(false))
            .map(|r| r.figure.clone())
            .collect()
    }

    pub fn markdown(
        &self,
        machine: &Machine,
        options: &Options,
        built: Duration,
        total: Duration,
    ) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "## Last run\n\n{}\n- duration of `cargo xtask bench`: {} in all, of which {} \
             building (release backend, criterion harness, release SPA, first-render harness); \
             throughput runs of {} s per endpoint{}\n\nHow each figure is measured, and what a \
             missed budget would take: the notes after this generated part.",
            machine.markdown(),
            minutes(total),
            minutes(built),
            options.seconds,
            if options.shortened() {
                " (shortened with --seconds)"
            } else {
                ""
            },
        );

        let _ = writeln!(
            out,
            "\n### Budgets\n\n| figure | measured | budget | verdict |\n|---|---|---|---|"
        );
        for row in self.rows() {
            let (Some(budget), Some(met)) = (&row.budget, row.met()) else {
                continue;
            };
            let verdict = if met { "met" } else { "**missed**" };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {verdict} |",
                row.figure, row.shown, budget.shown
            );
        }
        let missed = self.missed();
        if !missed.is_empty() {
            let _ = writeln!(
                out,
                "\nMissed: {}; see “What a missed budget would take” in the notes.",
                missed.join("; ")
            );
        }
        for (title, lines) in [
            ("Failures (the bench exited with an error)", &self.failures),
            ("Not measured in this run", &self.unmeasured),
        ] {
            if !lines.is_empty() {
                let _ = writeln!(out, "\n### {title}\n");
                for line in lines {
                    let _ = writeln!(out, "- {line}");
                }
            }
        }
        for section in &self.sections {
            let _ = writeln!(out, "\n### {}\n\n{}\n", section.title, section.setup);
            if !section.rows.is_empty() {
                let _ = writeln!(out, "| figure | measured | budget |\n|---|---|---|");
                for row in &section.rows {
                    let budget = match (&row.budget, row.met()) {
                        (Some(b), Some(true)) => format!("{} (met)", b.shown),
                        (Some(b), _) => format!("{} (**missed**)", b.shown),
                        (None, _) => String::new(),
                    };
                    let _ = writeln!(out, "| {} | {} | {budget} |", row.figure, row.shown);
                }
            }
            if !section.details.is_empty() {
                let _ = writeln!(out, "\n{}", section.details.trim_end());
            }
        }
        out
    }
}

/// Replaces the text between the markers of docs/BENCHMARKS.md; what is outside (the notes
/// written by hand) stays. A missing file is created with a short header.
pub fn write_doc(generated: &str) -> Result<()> {
    let path = root().join("docs/BENCHMARKS.md");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let (before, after) = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => (old[..b].to_owned(), old[e + END.len()..].to_owned()),
        _ => ("# Benchmarks\n\n".to_owned(), "\n".to_owned()),
    };
    std::fs::create_dir_all(root().join("docs"))?;
    std::fs::write(&path, format!("{before}{BEGIN}\n{generated}{END}{after}"))?;
    Ok(())
}

pub fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

pub fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1024.0)
}

/// Milliseconds, with two decimals below 10 ms.
pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The `p`-th percentile (0..=100) of sorted samples, nearest rank.
pub fn percentile<T: Copy + Default>(sorted: &[T], p: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_medians() {
        let sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert_eq!(percentile(&sorted, 50.0), 5);
        assert_eq!(percentile(&sorted, 99.0), 10);
        assert_eq!(percentile::<u32>(&[], 99.0), 0);
        assert_eq!(median(&mut [3.0, 1.0, 2.0, 10.0]), 2.5);
    }

    #[test]
    fn verdicts_follow_the_goal_and_only_budgeted_rows_count() {
        let mut section = Section::new("1. Test", "setup".into());
        section.budgeted("small", 131.0, "131 KB", Budget::at_most(130.0, "≤ 130 KB"));
        section.budgeted("ratio", 60.0, "60 %", Budget::at_least(60.0, "≥ 60 %"));
        section.info("no budget", "1 ms");
        let report = Report {
            sections: vec![section],
            ..Report::default()
        };
        assert_eq!(report.missed(), ["small"]);
    }
}
