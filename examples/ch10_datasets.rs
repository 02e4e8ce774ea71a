//! Chapter 10: draw the built-in data sets and look at them.
//!
//! cargo run --release --example ch10_datasets
//!
//! Writes PNG grids of digits (10 x 10) and shapes (3 x 10), one row per class, and a scatter
//! plot of the ring (SVG) to `runs/`, and times the drawing of 60,000 digits.

use gan::data::{ring, ring_modes, Dataset};
use gan::io::png::{image_grid, save_png};
use gan::io::svg::{Plot, Series};
use std::path::Path;
use std::time::Instant;

fn main() -> gan::Result<()> {
    std::fs::create_dir_all("runs").map_err(|e| gan::Error::io(Path::new("runs"), e))?;

    // MNIST's size, timed: a data set is drawn afresh at the start of every training run.
    let start = Instant::now();
    let digits = Dataset::builtin("digits", 60_000, 1)?;
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "digits: {} images of {:?} in {seconds:.2} s on {} threads; per class {:?}",
        digits.len(),
        digits.image_shape(),
        gan::parallel::threads(),
        digits.class_counts()
    );
    let path = Path::new("runs/ch10_digits.png");
    save_class_grid(path, &digits, 10)?;
    println!("wrote {}", path.display());

    let shapes = Dataset::builtin("shapes", 300, 1)?;
    println!(
        "shapes: {} images of {:?}, classes {:?}",
        shapes.len(),
        shapes.image_shape(),
        shapes.class_names
    );
    let path = Path::new("runs/ch10_shapes.png");
    save_class_grid(path, &shapes, 10)?;
    println!("wrote {}", path.display());

    let points = ring(2000, 1);
    let (xs, ys): (Vec<f64>, Vec<f64>) = (0..points.len())
        .map(|i| (points.x.at(i, 0) as f64, points.x.at(i, 1) as f64))
        .unzip();
    let modes = ring_modes();
    let (mx, my): (Vec<f64>, Vec<f64>) = modes.iter().map(|m| (m[0], m[1])).unzip();
    let (hit, quality) = gan::data::mode_coverage(&points.x, 0.02);
    println!(
        "ring: {} points; modes hit {hit} of 8, high quality {quality:.3}",
        points.len()
    );
    let path = Path::new("runs/ch10_ring.svg");
    Plot::new("ring: 2000 points from 8 Gaussians (radius 2, std 0.02)")
        .size(520.0, 520.0)
        .x_range(-2.5, 2.5)
        .y_range(-2.5, 2.5)
        .draw(Series::points("samples", &xs, &ys))
        .draw(Series::points("mode centres", &mx, &my).color("black"))
        .save(path)?;
    println!("wrote {}", path.display());
    Ok(())
}

/// `per_class` images of each class, one class per row, tiled by `image_grid` (2-pixel black
/// borders) into a PNG.
fn save_class_grid(path: &Path, data: &Dataset, per_class: usize) -> gan::Result<()> {
    let mut picked = Vec::new();
    for class in 0..data.classes {
        let of_class = (0..data.len()).filter(|&i| data.labels[i] == class);
        picked.extend(of_class.take(per_class));
    }
    let (images, _) = data.batch(&picked);
    let (w, h, c, pixels) = image_grid(&images, per_class);
    save_png(path, w, h, c, &pixels)
}
