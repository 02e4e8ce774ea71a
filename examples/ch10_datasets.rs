//! Chapter 10: draw the built-in data sets and look at them.
//!
//! cargo run --release --example ch10_datasets
//!
//! Writes a 10 x 10 grid of digits (one row per class), a grid of shapes (one row per class) and
//! a scatter plot of the ring to `runs/`, and times the drawing of 60,000 digits.

use gan::data::{ring, ring_modes, Dataset};
use gan::io::svg::{Plot, Series};
use gan::io::write_atomic;
use gan::Tensor;
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
    let path = Path::new("runs/ch10_digits.pgm");
    save_grid(path, &class_grid(&digits, 10, 10))?;
    println!("wrote {}", path.display());

    let shapes = Dataset::builtin("shapes", 300, 1)?;
    println!(
        "shapes: {} images of {:?}, classes {:?}",
        shapes.len(),
        shapes.image_shape(),
        shapes.class_names
    );
    let path = Path::new("runs/ch10_shapes.ppm");
    save_grid(path, &class_grid(&shapes, 3, 10))?;
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

/// `per_class` images of each class, one class per row, tiled with a 2-pixel gap:
/// `[classes * per_class, C, H, W] -> [C, H', W']`.
fn class_grid(data: &Dataset, classes: usize, per_class: usize) -> Tensor<f32> {
    let mut picked = Vec::new();
    for class in 0..classes {
        let of_class = (0..data.len()).filter(|&i| data.labels[i] == class);
        picked.extend(of_class.take(per_class));
    }
    let (images, _) = data.batch(&picked);
    let (c, h, w) = data.image_shape();
    let gap = 2;
    let (gh, gw) = (classes * (h + gap) + gap, per_class * (w + gap) + gap);
    let mut grid = Tensor::full(&[c, gh, gw], 0.0f32); // mid grey between tiles
    for (k, image) in (0..picked.len()).map(|k| (k, images.row(k))) {
        let (top, left) = (
            gap + (k / per_class) * (h + gap),
            gap + (k % per_class) * (w + gap),
        );
        for ch in 0..c {
            for y in 0..h {
                for x in 0..w {
                    *grid.at_mut(ch, (top + y) * gw + left + x) = image[(ch * h + y) * w + x];
                }
            }
        }
    }
    grid
}

/// Writes `image: [C, H, W]` in [-1, 1] as a binary PGM (C = 1) or PPM (C = 3): a short text
/// header, then one byte per channel per pixel, row by row. Most image viewers open them.
fn save_grid(path: &Path, image: &Tensor<f32>) -> gan::Result<()> {
    let (c, h, w) = (image.shape()[0], image.shape()[1], image.shape()[2]);
    let magic = if c == 1 { "P5" } else { "P6" };
    let mut bytes = format!("{magic}\n{w} {h}\n255\n").into_bytes();
    let v = image.as_slice();
    for y in 0..h {
        for x in 0..w {
            for ch in 0..c {
                let value = v[(ch * h + y) * w + x];
                bytes.push(((value + 1.0) * 127.5).round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    write_atomic(path, &bytes)
}
