//! Chapter 4: transposed convolution, the generator's tool.
//!
//! cargo run --release --example ch04_conv_transpose
//!
//! 1. The DCGAN generator's sizes: 1x1 -> 4x4 -> 8x8 -> 16x16 -> 32x32 -> 64x64.
//! 2. How one input pixel spreads: a k4 s2 p1 transposed convolution pastes one copy of its
//!    kernel per input pixel, two pixels apart.
//! 3. The checkerboard: a constant image through a k3 s2 transposed convolution with ones as
//!    weights; the copies overlap unevenly. With k4 s2 they overlap evenly.
//!
//! Writes runs/ch04_conv_transpose.png.

use gan::io::png::{image_grid, save_png};
use gan::layers::conv_transpose::{conv_transpose2d_forward, ConvTranspose2d};
use gan::layers::Layer;
use gan::Tensor;

fn main() -> gan::Result<()> {
    // ---- 1. the generator's sizes ---------------------------------------------------------------
    let mut generator = [
        ConvTranspose2d::<f32>::new(100, 512, 4, 1, 0, false),
        ConvTranspose2d::new(512, 256, 4, 2, 1, false),
        ConvTranspose2d::new(256, 128, 4, 2, 1, false),
        ConvTranspose2d::new(128, 64, 4, 2, 1, false),
        ConvTranspose2d::new(64, 3, 4, 2, 1, false),
    ];
    let mut x = Tensor::zeros(&[2, 100, 1, 1]);
    println!("the DCGAN generator's transposed convolutions on a batch of 2 noise vectors:");
    println!(
        "  {:<48} {:?}",
        "z as 1x1 images of 100 channels",
        x.shape()
    );
    for layer in &mut generator {
        x = layer.forward(&x);
        println!("  {:<48} {:?}", layer.describe(), x.shape());
    }

    // ---- 2. one pixel ---------------------------------------------------------------------------
    // A smooth 4x4 bump as the kernel (outer product of [1, 3, 3, 1]), one input pixel set.
    let taps = [1.0, 3.0, 3.0, 1.0];
    let bump = Tensor::from_fn(&[1, 1, 4, 4], |i| taps[i / 4] * taps[i % 4]);
    let mut pixel = Tensor::zeros(&[1, 1, 8, 8]);
    pixel[3 * 8 + 4] = 1.0;
    let spread = conv_transpose2d_forward(&pixel, &bump, None, (2, 2), (1, 1), (0, 0));
    println!(
        "\none pixel at (3, 4) of an 8x8 input, k4 s2 p1 -> {:?}:",
        spread.shape()
    );
    println!("  the kernel lands at rows 5..9, columns 7..11 (i S - P = 3*2 - 1, 4*2 - 1)");
    print_crop(&spread, 4..10, 6..12);

    // ---- 3. the checkerboard --------------------------------------------------------------------
    let constant = Tensor::full(&[1, 1, 8, 8], 1.0);
    let ones3 = Tensor::full(&[1, 1, 3, 3], 1.0);
    let ones4 = Tensor::full(&[1, 1, 4, 4], 1.0);
    // Both double the size: 8 -> 16.
    let uneven = conv_transpose2d_forward(&constant, &ones3, None, (2, 2), (1, 1), (1, 1));
    let even = conv_transpose2d_forward(&constant, &ones4, None, (2, 2), (1, 1), (0, 0));
    println!(
        "\na constant 8x8 input, ones as weights, k3 s2 p1 op1 -> {:?} (top-left corner):",
        uneven.shape()
    );
    print_crop(&uneven, 0..6, 0..6);
    println!("the same with k4 s2 p1 -> {:?}:", even.shape());
    print_crop(&even, 0..6, 0..6);

    // Picture: the three inputs (top row, drawn at twice their size) and their outputs.
    let twice =
        |t: &Tensor<f64>| Tensor::from_fn(&[16, 16], |i| t[(i / 16 / 2) * 8 + (i % 16) / 2]);
    let panels = [
        twice(&pixel),
        twice(&constant),
        twice(&constant),
        spread,
        uneven,
        even,
    ];
    // Each panel from dark gray (0) to white (its largest value); the grid's border is black.
    let mut data = Vec::new();
    for p in &panels {
        let top = p.max_abs();
        data.extend(p.as_slice().iter().map(|v| v / top * 1.8 - 0.8));
    }
    let (w, h, c, pixels) = image_grid(&Tensor::from_vec(&[6, 1, 16, 16], data)?, 3);
    let (w, h, pixels) = upscale(w, h, c, &pixels, 8);
    let path = "runs/ch04_conv_transpose.png";
    save_png(path, w, h, c, &pixels)?;
    println!("wrote {path}");
    println!("  top: the inputs (one pixel; a constant; a constant), drawn 2x");
    println!("  bottom: one pixel through k4 s2 p1 (one copy of the kernel); the constant through");
    println!(
        "  k3 s2 (checkerboard: 1, 2 and 4 overlapping copies); through k4 s2 (even: 4 copies)"
    );
    Ok(())
}

/// Prints rows `rows` and columns `cols` of a [1, 1, H, W] tensor.
fn print_crop(t: &Tensor<f64>, rows: std::ops::Range<usize>, cols: std::ops::Range<usize>) {
    let w = t.shape()[3];
    for i in rows {
        let line: Vec<String> = cols
            .clone()
            .map(|j| format!("{:>3}", t[i * w + j]))
            .collect();
        println!("  {}", line.join(" "));
    }
}

/// Every pixel becomes a factor x factor square, so that small images are visible.
fn upscale(w: usize, h: usize, c: usize, pixels: &[u8], factor: usize) -> (usize, usize, Vec<u8>) {
    let (big_w, big_h) = (w * factor, h * factor);
    let mut out = Vec::with_capacity(big_w * big_h * c);
    for y in 0..big_h {
        for x in 0..big_w {
            let at = ((y / factor) * w + x / factor) * c;
            out.extend_from_slice(&pixels[at..at + c]);
        }
    }
    (big_w, big_h, out)
}
