//! Chapter 1 (and every chapter with a picture). A small SVG plotter: axes with ticks, labels, a
//! title and a legend, and three kinds of series: lines, scatter points and histogram bars.
//!
//! ```no_run
//! use gan::io::svg::{Plot, Series};
//! let steps = [0.0, 1.0, 2.0, 3.0];
//! Plot::new("losses")
//!     .x_label("step")
//!     .y_label("loss")
//!     .draw(Series::line("D", &steps, &[1.4, 1.2, 1.3, 1.25]))
//!     .draw(Series::line("G", &steps, &[0.7, 0.9, 0.8, 0.85]))
//!     .save(std::path::Path::new("runs/losses.svg"))
//!     .unwrap();
//! ```
//!
//! Ranges are taken from the data unless fixed with [`Plot::x_range`] / [`Plot::y_range`];
//! whatever falls outside is clipped. Non-finite values are skipped (a line breaks there).

use crate::error::Result;
use std::fmt::Write;
use std::path::Path;

/// Colours given to series in order, unless a series sets its own (colour-blind-safe-ish, and
/// distinct in greyscale for the first few).
const PALETTE: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

// Pixel margins around the plotting area: room for tick labels, axis labels and the title.
const MARGIN_LEFT: f64 = 72.0;
const MARGIN_RIGHT: f64 = 24.0;
const MARGIN_TOP: f64 = 40.0;
const MARGIN_BOTTOM: f64 = 56.0;

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    /// Consecutive (x, y) joined by straight segments.
    Line,
    /// One dot per (x, y).
    Points,
    /// Bar i spans xs[i]..xs[i + 1] (the bin edges) with height ys[i].
    Bars,
}

/// One data series of a [`Plot`].
#[derive(Clone, Debug)]
pub struct Series {
    label: String,
    kind: Kind,
    xs: Vec<f64>,
    ys: Vec<f64>,
    color: Option<String>,
}

impl Series {
    /// A polyline through the points `(xs[i], ys[i])`.
    pub fn line(label: &str, xs: &[f64], ys: &[f64]) -> Self {
        Self::xy(label, Kind::Line, xs, ys)
    }

    /// A scatter plot of the points `(xs[i], ys[i])`.
    pub fn points(label: &str, xs: &[f64], ys: &[f64]) -> Self {
        Self::xy(label, Kind::Points, xs, ys)
    }

    /// Histogram bars: bar `i` covers `edges[i]..edges[i + 1]` and has height `heights[i]`, so there is
    /// one more edge than heights.
    pub fn histogram(label: &str, edges: &[f64], heights: &[f64]) -> Self {
        assert_eq!(
            edges.len(),
            heights.len() + 1,
            "Series::histogram '{label}': expected one more edge than heights, found {} edges and \
             {} heights",
            edges.len(),
            heights.len()
        );
        Series {
            label: label.to_string(),
            kind: Kind::Bars,
            xs: edges.to_vec(),
            ys: heights.to_vec(),
            color: None,
        }
    }

    fn xy(label: &str, kind: Kind, xs: &[f64], ys: &[f64]) -> Self {
        assert_eq!(
            xs.len(),
            ys.len(),
            "Series '{label}': expected as many y values as x values, found {} x and {} y",
            xs.len(),
            ys.len()
        );
        Series {
            label: label.to_string(),
            kind,
            xs: xs.to_vec(),
            ys: ys.to_vec(),
            color: None,
        }
    }

    /// Sets the colour (any SVG colour: "#d62728", "black", ...).
    pub fn color(mut self, color: &str) -> Self {
        self.color = Some(color.to_string());
        self
    }

    /// The y extent, including 0 for bars (they are drawn from 0).
    fn y_values(&self) -> impl Iterator<Item = f64> + '_ {
        let zero = (self.kind == Kind::Bars).then_some(0.0);
        self.ys.iter().copied().chain(zero)
    }
}

/// A 2-D plot, built step by step and rendered to SVG text.
#[derive(Clone, Debug)]
pub struct Plot {
    title: String,
    x_label: String,
    y_label: String,
    width: f64,
    height: f64,
    x_range: Option<(f64, f64)>,
    y_range: Option<(f64, f64)>,
    series: Vec<Series>,
}

impl Plot {
    /// An empty 720 x 450 plot with a title.
    pub fn new(title: &str) -> Self {
        Plot {
            title: title.to_string(),
            x_label: String::new(),
            y_label: String::new(),
            width: 720.0,
            height: 450.0,
            x_range: None,
            y_range: None,
            series: Vec::new(),
        }
    }

    pub fn x_label(mut self, label: &str) -> Self {
        self.x_label = label.to_string();
        self
    }

    pub fn y_label(mut self, label: &str) -> Self {
        self.y_label = label.to_string();
        self
    }

    /// The picture's size in pixels.
    pub fn size(mut self, width: f64, height: f64) -> Self {
        assert!(
            width > MARGIN_LEFT + MARGIN_RIGHT && height > MARGIN_TOP + MARGIN_BOTTOM,
            "Plot::size: expected at least {} x {} pixels, found {width} x {height}",
            MARGIN_LEFT + MARGIN_RIGHT,
            MARGIN_TOP + MARGIN_BOTTOM
        );
        self.width = width;
        self.height = height;
        self
    }

    /// Fixes the x axis to [lo, hi] instead of fitting the data.
    pub fn x_range(mut self, lo: f64, hi: f64) -> Self {
        assert!(
            lo < hi,
            "Plot::x_range: expected lo < hi, found [{lo}, {hi}]"
        );
        self.x_range = Some((lo, hi));
        self
    }

    /// Fixes the y axis to [lo, hi] instead of fitting the data.
    pub fn y_range(mut self, lo: f64, hi: f64) -> Self {
        assert!(
            lo < hi,
            "Plot::y_range: expected lo < hi, found [{lo}, {hi}]"
        );
        self.y_range = Some((lo, hi));
        self
    }

    /// Adds a series; it is drawn over the ones added before it.
    pub fn draw(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    /// Renders with [`Plot::to_svg`] and writes the file atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::io::write_atomic(path, self.to_svg().as_bytes())
    }

    /// The SVG document.
    pub fn to_svg(&self) -> String {
        let (x0, x1) = self.x_range.unwrap_or_else(|| {
            let pad = if self.series.iter().any(|s| s.kind == Kind::Points) {
                0.03
            } else {
                0.0
            };
            auto_range(
                self.series.iter().flat_map(|s| s.xs.iter().copied()),
                pad,
                pad,
            )
        });
        let (y0, y1) = self.y_range.unwrap_or_else(|| {
            // Bars stand on 0: no padding below them.
            let bars = self.series.iter().any(|s| s.kind == Kind::Bars);
            auto_range(
                self.series.iter().flat_map(Series::y_values),
                if bars { 0.0 } else { 0.05 },
                0.05,
            )
        });
        let area = Area {
            left: MARGIN_LEFT,
            top: MARGIN_TOP,
            width: self.width - MARGIN_LEFT - MARGIN_RIGHT,
            height: self.height - MARGIN_TOP - MARGIN_BOTTOM,
            x0,
            x1,
            y0,
            y1,
        };

        let mut svg = String::new();
        let (w, h) = (self.width, self.height);
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(svg, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
        let _ = writeln!(
            svg,
            r#"<defs><clipPath id="plot-area"><rect x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}"/></clipPath></defs>"#,
            area.left, area.top, area.width, area.height
        );
        self.write_axes(&mut svg, &area);
        let _ = writeln!(svg, r#"<g clip-path="url(#plot-area)">"#);
        for (i, s) in self.series.iter().enumerate() {
            let color = s.color.as_deref().unwrap_or(PALETTE[i % PALETTE.len()]);
            write_series(&mut svg, &area, s, color);
        }
        let _ = writeln!(svg, "</g>");
        self.write_legend(&mut svg, &area);
        svg.push_str("</svg>\n");
        svg
    }

    fn write_axes(&self, svg: &mut String, a: &Area) {
        let (bottom, right) = (a.top + a.height, a.left + a.width);
        // Grid lines and tick labels.
        for t in nice_ticks(a.x0, a.x1) {
            let x = a.px(t);
            let _ = writeln!(
                svg,
                "<line x1=\"{x:.2}\" y1=\"{:.2}\" x2=\"{x:.2}\" y2=\"{bottom:.2}\" stroke=\"#e0e0e0\"/>\n\
                 <line x1=\"{x:.2}\" y1=\"{bottom:.2}\" x2=\"{x:.2}\" y2=\"{:.2}\" stroke=\"black\"/>\n\
                 <text x=\"{x:.2}\" y=\"{:.2}\" text-anchor=\"middle\">{}</text>",
                a.top,
                bottom + 5.0,
                bottom + 18.0,
                format_tick(t, a.x1 - a.x0)
            );
        }
        for t in nice_ticks(a.y0, a.y1) {
            let y = a.py(t);
            let _ = writeln!(
                svg,
                "<line x1=\"{:.2}\" y1=\"{y:.2}\" x2=\"{right:.2}\" y2=\"{y:.2}\" stroke=\"#e0e0e0\"/>\n\
                 <line x1=\"{:.2}\" y1=\"{y:.2}\" x2=\"{:.2}\" y2=\"{y:.2}\" stroke=\"black\"/>\n\
                 <text x=\"{:.2}\" y=\"{:.2}\" text-anchor=\"end\">{}</text>",
                a.left,
                a.left - 5.0,
                a.left,
                a.left - 8.0,
                y + 4.0,
                format_tick(t, a.y1 - a.y0)
            );
        }
        // The frame, the axis labels and the title.
        let _ = writeln!(
            svg,
            r#"<rect x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="none" stroke="black"/>"#,
            a.left, a.top, a.width, a.height
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.2}" y="{:.2}" text-anchor="middle">{}</text>"#,
            a.left + a.width / 2.0,
            self.height - 12.0,
            escape(&self.x_label)
        );
        let (yx, yy) = (18.0, a.top + a.height / 2.0);
        let _ = writeln!(
            svg,
            r#"<text x="{yx:.2}" y="{yy:.2}" text-anchor="middle" transform="rotate(-90 {yx:.2} {yy:.2})">{}</text>"#,
            escape(&self.y_label)
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.2}" y="24" text-anchor="middle" font-size="15">{}</text>"#,
            self.width / 2.0,
            escape(&self.title)
        );
    }

    fn write_legend(&self, svg: &mut String, a: &Area) {
        let entries: Vec<(usize, &Series)> = self
            .series
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.label.is_empty())
            .collect();
        if entries.is_empty() {
            return;
        }
        // Top right inside the plotting area; the width guesses 7 px per character.
        let longest = entries
            .iter()
            .map(|(_, s)| s.label.chars().count())
            .max()
            .unwrap_or(0);
        let (row, box_w) = (18.0, 40.0 + 7.0 * longest as f64);
        let (x, y) = (a.left + a.width - box_w - 8.0, a.top + 8.0);
        let _ = writeln!(
            svg,
            "<rect x=\"{x:.2}\" y=\"{y:.2}\" width=\"{box_w:.2}\" height=\"{:.2}\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#808080\"/>",
            row * entries.len() as f64 + 6.0
        );
        for (k, (i, s)) in entries.iter().enumerate() {
            let color = s.color.as_deref().unwrap_or(PALETTE[i % PALETTE.len()]);
            let cy = y + 3.0 + row * (k as f64 + 0.5);
            let _ = match s.kind {
                Kind::Line => writeln!(
                    svg,
                    r#"<line x1="{:.2}" y1="{cy:.2}" x2="{:.2}" y2="{cy:.2}" stroke="{color}" stroke-width="2"/>"#,
                    x + 6.0,
                    x + 28.0
                ),
                Kind::Points => writeln!(
                    svg,
                    r#"<circle cx="{:.2}" cy="{cy:.2}" r="3" fill="{color}"/>"#,
                    x + 17.0
                ),
                Kind::Bars => writeln!(
                    svg,
                    r#"<rect x="{:.2}" y="{:.2}" width="22" height="10" fill="{color}" fill-opacity="0.45" stroke="{color}"/>"#,
                    x + 6.0,
                    cy - 5.0
                ),
            };
            let _ = writeln!(
                svg,
                r#"<text x="{:.2}" y="{:.2}">{}</text>"#,
                x + 34.0,
                cy + 4.0,
                escape(&s.label)
            );
        }
    }
}

/// The plotting area in pixels and the data window it shows.
struct Area {
    left: f64,
    top: f64,
    width: f64,
    height: f64,
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Area {
    fn px(&self, x: f64) -> f64 {
        self.left + (x - self.x0) / (self.x1 - self.x0) * self.width
    }
    /// SVG's y axis points down, the plot's up.
    fn py(&self, y: f64) -> f64 {
        self.top + self.height - (y - self.y0) / (self.y1 - self.y0) * self.height
    }
}

fn write_series(svg: &mut String, a: &Area, s: &Series, color: &str) {
    match s.kind {
        Kind::Line => {
            // One path; a non-finite point ends a piece and the next finite one starts a new one.
            let mut d = String::new();
            let mut pen_down = false;
            for (&x, &y) in s.xs.iter().zip(&s.ys) {
                if x.is_finite() && y.is_finite() {
                    let _ = write!(
                        d,
                        "{}{:.2} {:.2} ",
                        if pen_down { "L" } else { "M" },
                        a.px(x),
                        a.py(y)
                    );
                    pen_down = true;
                } else {
                    pen_down = false;
                }
            }
            let _ = writeln!(
                svg,
                r#"<path d="{}" fill="none" stroke="{color}" stroke-width="2" stroke-linejoin="round"/>"#,
                d.trim_end()
            );
        }
        Kind::Points => {
            for (&x, &y) in s.xs.iter().zip(&s.ys) {
                if x.is_finite() && y.is_finite() {
                    let _ = writeln!(
                        svg,
                        r#"<circle cx="{:.2}" cy="{:.2}" r="2.5" fill="{color}" fill-opacity="0.6"/>"#,
                        a.px(x),
                        a.py(y)
                    );
                }
            }
        }
        Kind::Bars => {
            for (edge, &height) in s.xs.windows(2).zip(&s.ys) {
                if !(edge[0].is_finite() && edge[1].is_finite() && height.is_finite()) {
                    continue;
                }
                let (left, right) = (a.px(edge[0].min(edge[1])), a.px(edge[0].max(edge[1])));
                let (top, base) = (a.py(height.max(0.0)), a.py(height.min(0.0)));
                let _ = writeln!(
                    svg,
                    r#"<rect x="{left:.2}" y="{top:.2}" width="{:.2}" height="{:.2}" fill="{color}" fill-opacity="0.45" stroke="{color}" stroke-width="0.5"/>"#,
                    right - left,
                    base - top
                );
            }
        }
    }
}

/// The smallest window holding every finite value, widened by the given fractions of its width
/// below and above. A single value gets a window around it; no values give [0, 1].
fn auto_range(values: impl Iterator<Item = f64>, pad_low: f64, pad_high: f64) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return (0.0, 1.0);
    }
    if lo == hi {
        let half = if lo == 0.0 { 0.5 } else { 0.1 * lo.abs() };
        return (lo - half, hi + half);
    }
    let span = hi - lo;
    (lo - pad_low * span, hi + pad_high * span)
}

/// Tick positions inside [lo, hi], about five of them, spaced 1, 2 or 5 times a power of 10.
pub(crate) fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let step = tick_step(hi - lo);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

fn tick_step(span: f64) -> f64 {
    let raw = span / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw * 0.999)
        .unwrap_or(10.0 * magnitude)
}

/// A tick label with just enough decimals for the tick spacing; scientific notation for very
/// large or very small values.
fn format_tick(v: f64, span: f64) -> String {
    let step = tick_step(span);
    if v == 0.0 {
        return "0".to_string();
    }
    if v.abs() >= 1e6 || step < 1e-4 {
        return format!("{v:.2e}");
    }
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{v:.decimals$}")
}

/// Escapes the characters XML gives meaning to.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_numbers_inside_the_range() {
        assert_eq!(
            nice_ticks(0.0, 1.0),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        assert_eq!(nice_ticks(-4.0, 4.0), vec![-4.0, -2.0, 0.0, 2.0, 4.0]);
        assert_eq!(nice_ticks(3.0, 1000.0).first(), Some(&200.0));
        assert_eq!(format_tick(0.6000000000000001, 1.0), "0.6");
        assert_eq!(format_tick(-2.0, 8.0), "-2");
        assert_eq!(format_tick(2.5e7, 1e8), "2.50e7");
    }

    #[test]
    fn svg_holds_every_series_title_and_escaped_labels() {
        let svg = Plot::new("a < b & c")
            .x_label("x")
            .y_label("density")
            .draw(Series::histogram("bars", &[0.0, 1.0, 2.0], &[0.3, 0.7]))
            .draw(
                Series::line("line", &[0.0, 1.0, f64::NAN, 2.0], &[0.0, 1.0, 5.0, 0.5])
                    .color("black"),
            )
            .draw(Series::points("", &[0.5], &[0.5]))
            .to_svg();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("a &lt; b &amp; c"));
        assert_eq!(svg.matches("fill-opacity=\"0.45\"").count(), 2 + 1); // two bars + legend swatch
        assert_eq!(svg.matches("<circle").count(), 1); // unlabeled points: no legend entry
        assert!(svg.contains("stroke=\"black\" stroke-width=\"2\""));
        // The NaN breaks the line into two pieces.
        let path = svg.lines().find(|l| l.starts_with("<path")).unwrap();
        assert_eq!(path.matches('M').count(), 2, "{path}");
    }

    #[test]
    fn empty_and_constant_data_still_give_a_window() {
        assert_eq!(auto_range(std::iter::empty(), 0.0, 0.0), (0.0, 1.0));
        assert_eq!(auto_range([2.0, 2.0].into_iter(), 0.0, 0.0), (1.8, 2.2));
        let svg = Plot::new("empty").to_svg();
        assert!(svg.contains("</svg>"));
    }
}
