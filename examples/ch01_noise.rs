//! Chapter 1: draw the generator's noise z ~ N(0, I), check that it is Gaussian, and plot it.
//!
//! cargo run --release --example ch01_noise

use gan::io::svg::{Plot, Series};
use gan::rng::{noise, Rng};
use gan::stats::{histogram, ks_p_value, ks_statistic, moments, normal_cdf, normal_pdf};
use std::path::Path;

fn main() -> gan::Result<()> {
    // A batch of 1000 noise vectors of dimension 100: 100,000 draws of N(0, 1).
    let (batch, dim, sigma) = (1000, 100, 1.0);
    let mut rng = Rng::new(1);
    let z = noise::<f64>(&mut rng, batch, dim, sigma);
    let xs = z.as_slice();
    let n = xs.len() as f64;
    println!(
        "z = noise(batch {batch}, dim {dim}, sigma {sigma}): shape {:?}",
        z.shape()
    );

    // Each moment next to its true value and its standard error.
    let m = moments(xs);
    println!(
        "{:<16} {:>9} {:>9} {:>8}",
        "moment", "sample", "N(0,1)", "SE"
    );
    for (name, value, truth, se) in [
        ("mean", m.mean, 0.0, (1.0 / n).sqrt()),
        ("variance", m.variance, 1.0, (2.0 / n).sqrt()),
        ("skewness", m.skewness, 0.0, (6.0 / n).sqrt()),
        ("excess kurtosis", m.excess_kurtosis, 0.0, (24.0 / n).sqrt()),
    ] {
        println!("{name:<16} {value:>9.5} {truth:>9.1} {se:>8.5}");
    }
    let d = ks_statistic(xs, normal_cdf);
    println!(
        "Kolmogorov-Smirnov D = {d:.5}, p = {:.3}",
        ks_p_value(d, xs.len())
    );

    // Histogram as a density (count / (n * bin width)), so it sits on the N(0, 1) curve.
    let (lo, hi, bins) = (-4.0, 4.0, 64);
    let width = (hi - lo) / bins as f64;
    let counts = histogram(xs, lo, hi, bins);
    let edges: Vec<f64> = (0..=bins).map(|i| lo + i as f64 * width).collect();
    let density: Vec<f64> = counts.iter().map(|&c| c as f64 / (n * width)).collect();
    let grid: Vec<f64> = (0..=400)
        .map(|i| lo + (hi - lo) * i as f64 / 400.0)
        .collect();
    let pdf: Vec<f64> = grid.iter().map(|&x| normal_pdf(x)).collect();

    std::fs::create_dir_all("runs").map_err(|e| gan::Error::io(Path::new("runs"), e))?;
    let path = Path::new("runs/ch01_noise_histogram.svg");
    Plot::new("100,000 draws of z ~ N(0, 1) by Box-Muller")
        .x_label("z")
        .y_label("density")
        .draw(Series::histogram("samples", &edges, &density))
        .draw(Series::line("N(0, 1) density", &grid, &pdf).color("black"))
        .save(path)?;
    println!("wrote {}", path.display());
    Ok(())
}
