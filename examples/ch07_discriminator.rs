//! Chapter 7: the discriminator.
//!
//! cargo run --release --example ch07_discriminator
//!
//! 1. DCGAN's discriminator for 64 x 64 RGB images, layer by layer, down to one logit per image.
//! 2. The PatchGAN form: a grid of logits, each with its own window of the image (its patch).
//! 3. On a 28 x 28 digit: the 6 x 6 grid of logits, and the patch of one logit measured by moving
//!    one pixel at a time (runs/ch07_patches.png).

use gan::data::Dataset;
use gan::io::png::{image_grid, save_png};
use gan::models::{upsampling_plan, Discriminator, DiscriminatorConfig};
use gan::rng::Rng;
use gan::Tensor;

fn main() -> gan::Result<()> {
    // ---- 1. DCGAN ------------------------------------------------------------------------------
    let config = DiscriminatorConfig {
        ndf: 64,
        image_size: 64,
        channels: 3,
        classes: 0,
        patch: false,
    };
    let mut d = Discriminator::<f32>::new(config.clone(), &mut Rng::new(1))?;
    let x = Tensor::<f32>::zeros(&[2, 3, 64, 64]);
    println!("DCGAN discriminator, ndf 64, on a batch of 2 RGB 64 x 64 images:");
    print_layers(&mut d, &x);
    println!(
        "  total: {} learnable values (PyTorch's DCGAN: 2,765,568); the logit sees {} x {} \
         pixels: all of the image",
        d.net.param_count(),
        d.patch_size(),
        d.patch_size()
    );

    // ---- 2. PatchGAN ---------------------------------------------------------------------------
    let mut patch = Discriminator::<f32>::new(
        DiscriminatorConfig {
            patch: true,
            ..config
        },
        &mut Rng::new(1),
    )?;
    println!("\nPatchGAN: the same body stopped at 8 x 8, judged by a k4 s1 p1 convolution (pix2pix's last layer):");
    let logits = patch.forward(&x, None);
    println!(
        "  {} -> logits {:?}: {} per image; each sees a {} x {} window (patch_size), {} pixels apart",
        patch.net.layers().last().unwrap().describe(),
        logits.shape(),
        logits.shape()[2] * logits.shape()[3],
        patch.patch_size(),
        patch.patch_size(),
        1 << Discriminator::<f32>::halvings(&patch.config)
    );
    println!(
        "  windows of the first row of logits, along the columns (zero padding outside 0..64):"
    );
    for j in 0..logits.shape()[3] {
        let spacing = 1isize << Discriminator::<f32>::halvings(&patch.config);
        let start = spacing * j as isize - padding_reach(&patch.config);
        let end = start + patch.patch_size() as isize - 1;
        println!(
            "    logit (0, {j}): {start}..={end}, of which {}..={} are in the image",
            start.max(0),
            end.min(63)
        );
    }

    // ---- 3. patches on a digit ------------------------------------------------------------------
    let digits = Dataset::builtin("digits", 8, 3)?;
    let (image, label) = digits.batch(&[0]);
    let image: Tensor<f64> = image.cast();
    let mut d28 = Discriminator::<f64>::new(
        DiscriminatorConfig {
            ndf: 8,
            image_size: 28,
            channels: 1,
            classes: 0,
            patch: true,
        },
        &mut Rng::new(2),
    )?;
    // Evaluation mode: in training mode BatchNorm's batch statistics tie every logit to every
    // pixel of the batch, and "which pixels does this logit see" has no clean answer.
    d28.net.set_training(false);
    let logits = d28.forward(&image, None);
    println!(
        "\nan untrained PatchGAN on a 28 x 28 digit (a {}): logits {:?}, one per patch",
        label[0],
        logits.shape()
    );
    let grid = logits.shape()[3];
    for i in 0..grid {
        let row: Vec<String> = (0..grid)
            .map(|j| format!("{:+.3}", logits[i * grid + j]))
            .collect();
        println!("    {}", row.join(" "));
    }
    let windows = [(2, 2), (0, 0), (5, 1)];
    let measured: Vec<Vec<bool>> = windows
        .iter()
        .map(|&ij| window_of(&mut d28, &image, ij))
        .collect();
    for (&(i, j), seen) in windows.iter().zip(&measured) {
        let rows: Vec<usize> = (0..28)
            .filter(|r| (0..28).any(|c| seen[r * 28 + c]))
            .collect();
        let cols: Vec<usize> = (0..28)
            .filter(|c| (0..28).any(|r| seen[r * 28 + c]))
            .collect();
        println!(
            "  logit ({i}, {j}) changes when a pixel in rows {}..={}, columns {}..={} moves: {} x {} \
             pixels",
            rows[0],
            rows[rows.len() - 1],
            cols[0],
            cols[cols.len() - 1],
            rows.len(),
            cols.len()
        );
    }
    println!(
        "  patch_size() = {}: interior logits see {} x {}, border ones less (zero padding)",
        d28.patch_size(),
        d28.patch_size(),
        d28.patch_size()
    );
    println!("  the window of logit (2, 2) ('#': the digit's ink, '+': the rest of the window):");
    for r in 0..28 {
        let line: String = (0..28)
            .map(|c| {
                let ink = image[r * 28 + c] > 0.0;
                match (measured[0][r * 28 + c], ink) {
                    (true, true) => '#',
                    (true, false) => '+',
                    (false, true) => 'o',
                    (false, false) => '.',
                }
            })
            .collect();
        println!("    {line}");
    }

    // The picture: the digit, then each window tinted red, drawn 4x.
    let mut panels = Vec::new();
    let grey = |k: usize| (image[k] as f32 + 1.0) / 2.0; // [0, 1]
    for seen in std::iter::once(None).chain(measured.iter().map(Some)) {
        for channel in 0..3 {
            for k in 0..28 * 28 {
                let mut v = 0.15 + 0.7 * grey(k);
                if seen.is_some_and(|s| s[k]) {
                    v = if channel == 0 { 0.6 + 0.4 * v } else { 0.6 * v };
                }
                panels.push(2.0 * v - 1.0);
            }
        }
    }
    let panels = Tensor::from_vec(&[4, 3, 28, 28], panels)?;
    let (w, h, c, pixels) = image_grid(&panels, 4);
    let factor = 4;
    let mut big = Vec::with_capacity(w * h * c * factor * factor);
    for y in 0..h * factor {
        for x in 0..w * factor {
            let at = ((y / factor) * w + x / factor) * c;
            big.extend_from_slice(&pixels[at..at + c]);
        }
    }
    let path = "runs/ch07_patches.png";
    save_png(path, w * factor, h * factor, c, &big)?;
    println!("wrote {path}");
    println!("  the digit; the windows (red) of logits (2, 2), (0, 0) and (5, 1)");

    // ---- receptive fields by the formula ---------------------------------------------------------
    println!("\nreceptive field after each layer, r -> r + (k - 1) j, j -> j s (chapter 3):");
    let (s0, halvings) = upsampling_plan(64)?;
    let mut dcgan = vec![(4, 2); halvings];
    dcgan.push((s0, 1));
    let mut patch64 = vec![(4, 2); Discriminator::<f32>::halvings(&patch.config)];
    patch64.push((4, 1));
    let mut patch28 = vec![(4, 2); Discriminator::<f64>::halvings(&d28.config)];
    patch28.push((4, 1));
    let pix2pix = [(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)];
    for (name, stack) in [
        ("DCGAN D, 64 x 64", &dcgan[..]),
        ("PatchGAN, 64 x 64", &patch64[..]),
        ("PatchGAN, 28 x 28", &patch28[..]),
        ("pix2pix's 70 x 70 PatchGAN", &pix2pix[..]),
    ] {
        println!("  {name:<28} {:?}", growth(stack));
    }
    Ok(())
}

/// One line per layer: index, description, output shape.
fn print_layers(d: &mut Discriminator<f32>, x: &Tensor<f32>) {
    let mut h = x.clone();
    println!("  {:<18} {:<38} {:?}", "", "input", h.shape());
    for (i, layer) in d.net.layers_mut().iter_mut().enumerate() {
        h = layer.forward(&h);
        println!(
            "  {:<18} {:<38} {:?}",
            format!("discriminator.{i}"),
            layer.describe(),
            h.shape()
        );
    }
}

/// How far the zero padding reaches outside the image: the window of logit 0 starts this many
/// pixels before row 0. Each p1 layer (the halvings and the PatchGAN's judge) moves it by one of
/// its input's pixels: j image pixels.
fn padding_reach(config: &DiscriminatorConfig) -> isize {
    let halvings = Discriminator::<f32>::halvings(config);
    (0..=halvings).map(|l| 1isize << l).sum()
}

/// The receptive field, layer by layer, of a stack of (kernel, stride).
fn growth(stack: &[(usize, usize)]) -> Vec<usize> {
    let (mut r, mut j) = (1, 1);
    stack
        .iter()
        .map(|&(k, s)| {
            r += (k - 1) * j;
            j *= s;
            r
        })
        .collect()
}

/// Which pixels of `image` [1, 1, 28, 28] logit (i, j) depends on: move each pixel by 1 and see
/// whether that logit changes (in evaluation mode, where it is a function of the image alone).
fn window_of(d: &mut Discriminator<f64>, image: &Tensor<f64>, (i, j): (usize, usize)) -> Vec<bool> {
    let logit = |d: &mut Discriminator<f64>, x: &Tensor<f64>| {
        let logits = d.forward(x, None);
        let grid = logits.shape()[3];
        logits[i * grid + j]
    };
    let base = logit(d, image);
    (0..28 * 28)
        .map(|k| {
            let mut moved = image.clone();
            moved[k] += 1.0;
            logit(d, &moved) != base
        })
        .collect()
}
