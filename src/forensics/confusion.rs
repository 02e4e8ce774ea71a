//! Chapter 14. The confusion matrix of a classifier: row = the true class, column = the
//! predicted one. Its diagonal holds the right answers; off the diagonal, which classes are
//! mistaken for which. Drawn as an SVG heat map (each cell shaded by its share of its row).

use crate::error::{Error, Result};
use crate::io::write_atomic;
use std::fmt::Write;
use std::path::Path;

/// Counts of (true class, predicted class) pairs.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfusionMatrix {
    /// One name per class, for the picture.
    pub names: Vec<String>,
    /// `counts[truth * classes + predicted]`.
    pub counts: Vec<usize>,
}

impl ConfusionMatrix {
    /// Counts `truth[i]` against `predicted[i]` for every i; classes are `0..names.len()`.
    pub fn new(names: &[String], truth: &[usize], predicted: &[usize]) -> Result<Self> {
        let classes = names.len();
        if truth.len() != predicted.len() {
            return Err(Error::shape(
                "confusion matrix: one prediction per true label",
                [truth.len()],
                [predicted.len()],
            ));
        }
        let mut counts = vec![0; classes * classes];
        for (&t, &p) in truth.iter().zip(predicted) {
            if t >= classes || p >= classes {
                return Err(Error::msg(format!(
                    "confusion matrix: class ({t}, {p}) out of range for {classes} classes"
                )));
            }
            counts[t * classes + p] += 1;
        }
        Ok(ConfusionMatrix {
            names: names.to_vec(),
            counts,
        })
    }

    pub fn classes(&self) -> usize {
        self.names.len()
    }

    /// How many images of class `truth` were called `predicted`.
    pub fn get(&self, truth: usize, predicted: usize) -> usize {
        self.counts[truth * self.classes() + predicted]
    }

    /// The fraction on the diagonal.
    pub fn accuracy(&self) -> f64 {
        let right: usize = (0..self.classes()).map(|c| self.get(c, c)).sum();
        right as f64 / self.counts.iter().sum::<usize>().max(1) as f64
    }

    /// The matrix as text, one row per true class.
    pub fn to_text(&self) -> String {
        let width = self.names.iter().map(|n| n.len()).max().unwrap_or(0).max(6);
        let mut text = format!("{:>width$}  predicted ->\n", "true");
        text += &format!("{:>width$}", "");
        for name in &self.names {
            text += &format!(" {name:>width$}");
        }
        text += "\n";
        for (t, name) in self.names.iter().enumerate() {
            text += &format!("{name:>width$}");
            for p in 0..self.classes() {
                text += &format!(" {:>width$}", self.get(t, p));
            }
            text += "\n";
        }
        text
    }

    /// An SVG heat map: cell (t, p) shaded by count / (images of class t), count written inside.
    pub fn to_svg(&self, title: &str) -> String {
        let k = self.classes();
        let cell = if k <= 4 { 90.0 } else { 60.0 };
        let (left, top) = (130.0, 70.0);
        let (width, height) = (left + cell * k as f64 + 20.0, top + cell * k as f64 + 50.0);
        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="13">"#
        );
        let _ = writeln!(
            svg,
            r#"<rect width="100%" height="100%" fill="white"/><text x="{}" y="24" text-anchor="middle" font-size="15">{}</text>"#,
            width / 2.0,
            escape(title)
        );
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="52" text-anchor="middle">predicted</text><text x="16" y="{}" text-anchor="middle" transform="rotate(-90 16 {})">true</text>"#,
            left + cell * k as f64 / 2.0,
            top + cell * k as f64 / 2.0,
            top + cell * k as f64 / 2.0
        );
        for t in 0..k {
            let row_total: usize = (0..k).map(|p| self.get(t, p)).sum();
            let y = top + cell * t as f64;
            let _ = writeln!(
                svg,
                r#"<text x="{}" y="{}" text-anchor="end" dominant-baseline="middle">{}</text>"#,
                left - 8.0,
                y + cell / 2.0,
                escape(&self.names[t])
            );
            for p in 0..k {
                let x = left + cell * p as f64;
                let share = self.get(t, p) as f64 / row_total.max(1) as f64;
                // White (0) to dark blue (1); text turns white on dark cells.
                let shade = |full: f64| (255.0 - share * (255.0 - full)).round() as u8;
                let (r, g, b) = (shade(8.0), shade(48.0), shade(107.0));
                let ink = if share > 0.5 { "white" } else { "black" };
                let _ = writeln!(
                    svg,
                    r##"<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="#{r:02x}{g:02x}{b:02x}" stroke="#999"/><text x="{}" y="{}" text-anchor="middle" dominant-baseline="middle" fill="{ink}">{}</text>"##,
                    x + cell / 2.0,
                    y + cell / 2.0,
                    self.get(t, p)
                );
            }
        }
        for (p, name) in self.names.iter().enumerate() {
            let _ = writeln!(
                svg,
                r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
                left + cell * (p as f64 + 0.5),
                top + cell * k as f64 + 20.0,
                escape(name)
            );
        }
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle">accuracy {:.3}</text></svg>"#,
            width / 2.0,
            height - 8.0,
            self.accuracy()
        );
        svg
    }

    /// Writes [`ConfusionMatrix::to_svg`] to `path`.
    pub fn save_svg(&self, path: &Path, title: &str) -> Result<()> {
        write_atomic(path, self.to_svg(title).as_bytes())
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
