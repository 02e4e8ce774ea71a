//! Chapter 3: convolution, the discriminator's tool.
//!
//! cargo run --release --example ch03_conv
//!
//! 1. Two hand-made 3x3 kernels find the edges of a synthetic image (written to runs/).
//! 2. The shapes through a stack of k4 s2 p1 convolutions, the discriminator's backbone.
//! 3. The receptive field of that stack: by the formula, and measured with a backward pass.
//! 4. The fast convolution (im2col + GEMM) agrees with the seven loops, and is faster.

use gan::io::png::{image_grid, save_png};
use gan::layers::conv::{conv2d_backward_input, conv2d_forward, conv2d_reference, Conv2d};
use gan::layers::Layer;
use gan::Tensor;
use std::time::Instant;

/// Numbers spread over [-1, 1) without a random generator (the golden-ratio sequence).
fn spread(shape: &[usize], offset: usize) -> Tensor<f32> {
    Tensor::from_fn(shape, |i| {
        ((i + offset) as f64 * 0.618_033_988_75).fract() as f32 * 2.0 - 1.0
    })
}

fn main() -> gan::Result<()> {
    // ---- 1. edges ------------------------------------------------------------------------------
    // A 32x32 gray image: a bright disc (+1) on a dark background (-1).
    let side = 32;
    let image = Tensor::from_fn(&[1, 1, side, side], |i| {
        let (y, x) = ((i / side) as f32 - 15.5, (i % side) as f32 - 15.5);
        if x * x + y * y < 100.0 {
            1.0
        } else {
            -1.0
        }
    });
    // Two output channels: kernels that respond to a change from top to bottom and from left
    // to right (Sobel's). weight: [C_out = 2, C_in = 1, 3, 3]
    let sobel = Tensor::from_vec(
        &[2, 1, 3, 3],
        vec![
            -1.0, -2.0, -1.0, 0.0, 0.0, 0.0, 1.0, 2.0, 1.0, // top -> bottom
            -1.0, 0.0, 1.0, -2.0, 0.0, 2.0, -1.0, 0.0, 1.0, // left -> right
        ],
    )?;
    let edges = conv2d_forward(&image, &sobel, None, (1, 1), (1, 1));
    println!(
        "edges: x {:?} * weight {:?} -> y {:?} (k3 s1 p1 keeps the size)",
        image.shape(),
        sobel.shape(),
        edges.shape()
    );

    // Picture: the image and its two edge maps, each edge map scaled to [-1, 1].
    let scale = edges.max_abs();
    let mut panels = image.as_slice().to_vec();
    panels.extend(edges.as_slice().iter().map(|v| v / scale));
    let panels = Tensor::from_vec(&[3, 1, side, side], panels)?;
    let (w, h, c, pixels) = image_grid(&panels, 3);
    let (w, h, pixels) = upscale(w, h, c, &pixels, 4);
    let path = "runs/ch03_conv.png";
    save_png(path, w, h, c, &pixels)?;
    println!("wrote {path}: the disc, its top->bottom edges, its left->right edges (gray = 0)\n");

    // ---- 2. shapes through the discriminator's stack -----------------------------------------
    let mut stack = [
        Conv2d::<f32>::new(3, 64, 4, 2, 1, false),
        Conv2d::new(64, 128, 4, 2, 1, false),
        Conv2d::new(128, 256, 4, 2, 1, false),
        Conv2d::new(256, 512, 4, 2, 1, false),
        Conv2d::new(512, 1, 4, 1, 0, false),
    ];
    let mut x = Tensor::zeros(&[2, 3, 64, 64]);
    println!("the DCGAN discriminator's convolutions on a batch of 2 RGB 64x64 images:");
    println!("  {:<38} {:?}", "input", x.shape());
    for layer in &mut stack {
        x = layer.forward(&x);
        println!("  {:<38} {:?}", layer.describe(), x.shape());
    }

    // ---- 3. receptive fields -------------------------------------------------------------------
    // r_l = r_(l-1) + (k_l - 1) j_(l-1),  j_l = j_(l-1) s_l,  r_0 = j_0 = 1
    println!("\nreceptive field (pixels of the input one output value depends on):");
    for (name, layers) in [
        (
            "DCGAN discriminator",
            vec![(4, 2), (4, 2), (4, 2), (4, 2), (4, 1)],
        ),
        (
            "PatchGAN (pix2pix)",
            vec![(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)],
        ),
    ] {
        let (mut r, mut j) = (1, 1);
        let mut fields = Vec::new();
        for &(k, s) in &layers {
            r += (k - 1) * j;
            j *= s;
            fields.push(r);
        }
        println!("  {name:<20} after each layer: {fields:?}");
    }
    // Measured: send a gradient of 1 from one output value back through the first four layers
    // (with positive weights nothing cancels) and count the input rows it reaches.
    let n_layers = 4;
    let mut sizes = vec![128];
    for _ in 0..n_layers {
        sizes.push(sizes.last().unwrap() / 2);
    }
    let ones = Tensor::full(&[1, 1, 4, 4], 1.0f64);
    let mut grad = Tensor::zeros(&[1, 1, sizes[n_layers], sizes[n_layers]]);
    let centre = sizes[n_layers] / 2;
    grad[centre * sizes[n_layers] + centre] = 1.0;
    for l in (0..n_layers).rev() {
        grad = conv2d_backward_input(&grad, &ones, (sizes[l], sizes[l]), (2, 2), (1, 1));
    }
    let reached = (0..128).filter(|&row| {
        grad.as_slice()[row * 128..(row + 1) * 128]
            .iter()
            .any(|&g| g != 0.0)
    });
    println!(
        "  measured for 4 layers of k4 s2 p1: {} rows of the input",
        reached.count()
    );

    // ---- 4. fast vs reference ------------------------------------------------------------------
    let x = spread(&[8, 64, 16, 16], 0);
    let weight = spread(&[128, 64, 4, 4], 1);
    let bias = spread(&[128], 2);
    let start = Instant::now();
    let fast = conv2d_forward(&x, &weight, Some(&bias), (2, 2), (1, 1));
    let fast_time = start.elapsed();
    let start = Instant::now();
    let slow = conv2d_reference(&x, &weight, Some(&bias), (2, 2), (1, 1));
    let slow_time = start.elapsed();
    println!(
        "\nConv2d(64, 128, k4, s2, p1) on {:?}: im2col + GEMM {:.1} ms, seven loops {:.1} ms",
        x.shape(),
        fast_time.as_secs_f64() * 1e3,
        slow_time.as_secs_f64() * 1e3
    );
    println!(
        "  largest difference {:.2e} (outputs up to {:.1}; f32 rounding, summed in another order)",
        fast.max_abs_diff(&slow),
        slow.max_abs()
    );
    Ok(())
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
