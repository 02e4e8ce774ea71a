//! Chapter 6: the generator.
//!
//! cargo run --release --example ch06_generator
//!
//! 1. DCGAN's generator for 64 x 64 RGB images, layer by layer: z as a 1 x 1 image, projected to
//!    4 x 4, then four fractionally-strided convolutions to 64 x 64 (the lecture's figure).
//! 2. What an untrained G makes: 16 samples (runs/ch06_untrained.png).
//! 3. What one coordinate of z does: z[0] and z[1], each moved from -3 to 3 with the rest of z
//!    fixed, in evaluation mode (runs/ch06_noise_walk.png).

use gan::io::png::{image_grid, save_png};
use gan::models::{Generator, GeneratorConfig};
use gan::rng::{noise, Rng};
use gan::stats::moments;
use gan::Tensor;

fn main() -> gan::Result<()> {
    // ---- 1. layer by layer ----------------------------------------------------------------------
    let config = GeneratorConfig {
        nz: 100,
        ngf: 64,
        image_size: 64,
        channels: 3,
        classes: 0,
    };
    let mut g = Generator::<f32>::new(config, &mut Rng::new(1))?;
    let n = 16;
    let z = noise::<f32>(&mut Rng::new(2), n, 100, 1.0);
    println!("DCGAN generator, nz 100, ngf 64, 64 x 64 RGB, on a batch of {n} noise vectors:");
    println!(
        "  {:<14} {:<47} {:<18} {:>9}",
        "", "layer", "output", "params"
    );
    let mut x = z.clone().reshape(&[n, 100, 1, 1])?;
    println!("  {:<14} {:<47} {:?}", "", "z as 1x1 images", x.shape());
    // Every BatchNorm's input, kept to set its running statistics in part 3.
    let mut bn_inputs = Vec::new();
    for (i, layer) in g.net.layers_mut().iter_mut().enumerate() {
        if layer.describe().starts_with("BatchNorm") {
            bn_inputs.push((i, x.clone()));
        }
        x = layer.forward(&x);
        let params: usize = layer.params().iter().map(|p| p.value.len()).sum();
        let params = if params > 0 {
            params.to_string()
        } else {
            String::new()
        };
        let line = format!(
            "  {:<14} {:<47} {:<18} {params:>9}",
            format!("generator.{i}"),
            layer.describe(),
            format!("{:?}", x.shape()),
        );
        println!("{}", line.trim_end());
    }
    println!(
        "  total: {} learnable values (PyTorch's DCGAN: 3,576,704)",
        g.net.param_count()
    );

    // ---- 2. an untrained G's images ------------------------------------------------------------
    let m = moments(x.as_slice());
    let largest = x.max_abs();
    println!(
        "\nuntrained G, training mode: pixels have mean {:.3}, std {:.3}, largest |value| {largest:.3}",
        m.mean,
        m.variance.sqrt(),
    );
    save("runs/ch06_untrained.png", &x, 8, 2)?;
    println!("  a 2 x 8 grid of the 16 images, drawn twice their size");

    // ---- 3. one coordinate of z at a time --------------------------------------------------------
    // In training mode BatchNorm normalises with the batch's statistics, so an image would depend
    // on the other images of its batch. Evaluation mode uses the running statistics instead; set
    // them to the statistics of the batch above (PyTorch gets the same with momentum=None and
    // one pass), so that every image below is a function of its own z alone.
    for (i, input) in &bn_inputs {
        let (mean, var) = channel_stats(input);
        for (name, t) in g.net.named_buffers() {
            if name == format!("generator.{i}.running_mean") {
                t.as_mut_slice().copy_from_slice(&mean);
            } else if name == format!("generator.{i}.running_var") {
                t.as_mut_slice().copy_from_slice(&var);
            }
        }
    }
    g.net.set_training(false);
    let steps = 9;
    let base = z.row(0).to_vec();
    let mut walk = Vec::new();
    println!("\nevaluation mode; z[k] moved from -3 to 3 in {steps} steps, the rest of z fixed:");
    for k in [0, 1] {
        let batch = Tensor::from_fn(&[steps, 100], |i| {
            let (row, col) = (i / 100, i % 100);
            if col == k {
                -3.0 + 6.0 * row as f32 / (steps - 1) as f32
            } else {
                base[col]
            }
        });
        let images = g.forward(&batch, None);
        let per_step: Vec<f32> = (1..steps)
            .map(|s| mean_abs_diff(images.row(s), images.row(s - 1)))
            .collect();
        println!(
            "  z[{k}]: mean |change| per pixel per step {}; first to last {:.4}",
            per_step
                .iter()
                .map(|d| format!("{d:.4}"))
                .collect::<Vec<_>>()
                .join(" "),
            mean_abs_diff(images.row(steps - 1), images.row(0))
        );
        // The images themselves (for z[0]), then what moving z[k] added to the middle image
        // (z[k] = 0), times 5 so that it shows.
        if k == 0 {
            walk.extend_from_slice(images.as_slice());
        }
        let middle = images.row(steps / 2).to_vec();
        for s in 0..steps {
            walk.extend(
                images
                    .row(s)
                    .iter()
                    .zip(&middle)
                    .map(|(a, b)| 5.0 * (a - b)),
            );
        }
    }
    let other = g.forward(&noise::<f32>(&mut Rng::new(3), 2, 100, 1.0), None);
    println!(
        "  for scale: two unrelated z differ by {:.4} per pixel",
        mean_abs_diff(other.row(0), other.row(1))
    );
    let walk = Tensor::from_vec(&[3 * steps, 3, 64, 64], walk)?;
    save("runs/ch06_noise_walk.png", &walk, steps, 2)?;
    println!("  row 1: the images as z[0] goes from -3 (left) to 3 (right)");
    println!("  row 2: 5 x (image - the middle image), for z[0]; row 3: the same for z[1]");
    Ok(())
}

/// Per channel of x: [N, C, H, W], the mean and the unbiased variance over (N, H, W), as
/// BatchNorm's running estimates record them.
fn channel_stats(x: &Tensor<f32>) -> (Vec<f32>, Vec<f32>) {
    let s = x.shape();
    let (n, c, plane) = (s[0], s[1], s[2] * s[3]);
    let values = |ch: usize| {
        (0..n).flat_map(move |i| {
            x.row(i)[ch * plane..(ch + 1) * plane]
                .iter()
                .map(|&v| v as f64)
        })
    };
    let m = (n * plane) as f64;
    let mut means = Vec::with_capacity(c);
    let mut vars = Vec::with_capacity(c);
    for ch in 0..c {
        let mean = values(ch).sum::<f64>() / m;
        let var = values(ch).map(|v| (v - mean).powi(2)).sum::<f64>() / (m - 1.0);
        means.push(mean as f32);
        vars.push(var as f32);
    }
    (means, vars)
}

fn mean_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32
}

/// Saves a grid of images (values in [-1, 1]), `nrow` per row, each pixel drawn `factor` times.
fn save(path: &str, images: &Tensor<f32>, nrow: usize, factor: usize) -> gan::Result<()> {
    let (w, h, c, pixels) = image_grid(images, nrow);
    let mut big = Vec::with_capacity(w * h * c * factor * factor);
    for y in 0..h * factor {
        for x in 0..w * factor {
            let at = ((y / factor) * w + x / factor) * c;
            big.extend_from_slice(&pixels[at..at + c]);
        }
    }
    save_png(path, w * factor, h * factor, c, &big)?;
    println!("wrote {path}");
    Ok(())
}
