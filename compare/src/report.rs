//! Medians over rounds, ratios to the first row taken round by round, and their printing.

use crate::Options;

/// One case's figure in every round.
pub struct Row {
    pub name: String,
    pub samples: Vec<f64>,
    /// Heap allocations per request, where counted.
    pub allocations: Option<f64>,
}

/// Rows whose first is the baseline of the ratio column.
pub struct Table {
    pub title: &'static str,
    /// What a sample is, as the figure column's heading.
    pub unit: &'static str,
    pub rows: Vec<Row>,
}

pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    }
}

impl Table {
    /// The median over rounds of this row's sample divided by the baseline's of the same round.
    fn ratio(&self, row: &Row) -> f64 {
        let base = &self.rows[0].samples;
        let ratios: Vec<f64> = row.samples.iter().zip(base).map(|(s, b)| s / b).collect();
        median(&ratios)
    }

    pub fn print(&self, options: &Options) {
        if options.tsv {
            for row in &self.rows {
                println!("{}\t{}\t{:.1}", self.title, row.name, median(&row.samples));
                if let Some(allocations) = row.allocations {
                    println!("{} allocations\t{}\t{allocations:.1}", self.title, row.name);
                }
            }
            return;
        }
        let rounds = self.rows[0].samples.len();
        let counted = self.rows.iter().any(|row| row.allocations.is_some());
        let (heading, rule) = if counted {
            (" allocations |", "---:|")
        } else {
            ("", "")
        };
        println!("\n## {} ({rounds} interleaved rounds)\n", self.title);
        println!(
            "| case | {} (median) | × {} |{heading}",
            self.unit, self.rows[0].name
        );
        println!("|---|---:|---:|{rule}");
        for row in &self.rows {
            let allocations = match row.allocations {
                Some(a) => format!(" {a:.1} |"),
                None if counted => " |".to_owned(),
                None => String::new(),
            };
            println!(
                "| {} | {:.0} | {:.2} |{allocations}",
                row.name,
                median(&row.samples),
                self.ratio(row)
            );
        }
    }
}
