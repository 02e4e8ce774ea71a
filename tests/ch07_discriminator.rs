//! Chapter 7, "The discriminator": D as a DCGAN classifier (one logit per image) and as a
//! PatchGAN (a grid of logits, one per patch). Proves the output shapes for every buildable size,
//! channel count and width, conditional or not; PyTorch's DCGAN names and shapes
//! (`discriminator.0.weight` [ndf, 3, 4, 4] ..., 2,765,568 values at 64 x 64 x 3); that the label
//! planes of a class-conditional D are what its first convolution reads; that `patch_size()`,
//! the receptive field by formula, is the window of pixels one logit measurably depends on; and
//! that the whole network's backward pass (to the images and to every parameter) agrees with
//! central differences in f64.
//! The `exercise_*` test checks exercise 7.1; run it on your own code with
//! `cargo test --release --features exercises --test ch07_discriminator -- exercise_`.

use gan::check::{set_params, CheckOptions, Checked};
use gan::exercises::ch07_discriminator::receptive_field;
use gan::layers::sequential::Sequential;
use gan::models::conditional::label_planes_join;
use gan::models::{upsampling_plan, Discriminator, DiscriminatorConfig};
use gan::rng::{noise, Rng};
use gan::{Real, Tensor};

fn config(
    ndf: usize,
    size: usize,
    channels: usize,
    classes: usize,
    patch: bool,
) -> DiscriminatorConfig {
    DiscriminatorConfig {
        ndf,
        image_size: size,
        channels,
        classes,
        patch,
    }
}

fn discriminator<T: Real>(config: DiscriminatorConfig, seed: u64) -> Discriminator<T> {
    Discriminator::new(config, &mut Rng::new(seed)).expect("a buildable size")
}

/// A batch of images [n, channels, size, size] with pixels in [-1, 1].
fn images<T: Real>(n: usize, channels: usize, size: usize, seed: u64) -> Tensor<T> {
    let x = noise::<T>(&mut Rng::new(seed), n, channels * size * size, 0.5);
    x.map(|v| v.tanh())
        .reshape(&[n, channels, size, size])
        .unwrap()
}

/// Deterministic, irregular values in [-scale, scale].
fn wave(shape: &[usize], seed: f64, scale: f64) -> Tensor<f64> {
    Tensor::from_fn(shape, |i| scale * (0.7548776662 * i as f64 + seed).sin())
}

fn labels(n: usize, classes: usize) -> Option<Vec<usize>> {
    (classes > 0).then(|| (0..n).map(|i| (i + 1) % classes).collect())
}

#[test]
fn output_shapes_dcgan_and_patchgan() {
    for size in [8, 16, 28, 32, 64] {
        for channels in [1, 3] {
            for (ndf, classes) in [(2, 0), (3, 10)] {
                for patch in [false, true] {
                    let halvings = Discriminator::<f32>::halvings(&config(
                        ndf, size, channels, classes, patch,
                    ));
                    let what = format!(
                        "size {size}, {channels} channels, ndf {ndf}, {classes} classes, patch {patch}"
                    );
                    let mut d =
                        discriminator::<f32>(config(ndf, size, channels, classes, patch), 3);
                    let n = 2;
                    let x = images::<f32>(n, channels, size, 1);
                    let labels = labels(n, classes);

                    // Layer by layer: every k4 s2 convolution halves h and w and doubles the
                    // channels (DCGAN: down to s0 x s0; PatchGAN: down to at most 8 x 8);
                    // then the judging convolution.
                    let mut h = label_planes_join(&x, labels.as_deref(), classes, "test");
                    let mut convs = Vec::new();
                    for layer in d.net.layers_mut() {
                        h = layer.forward(&h);
                        if layer.describe().starts_with("Conv2d") {
                            convs.push(h.shape().to_vec());
                        }
                    }
                    let mut expected: Vec<Vec<usize>> = (0..halvings)
                        .map(|i| vec![n, ndf << i, size >> (i + 1), size >> (i + 1)])
                        .collect();
                    let map = size >> halvings;
                    expected.push(if patch {
                        vec![n, 1, map - 1, map - 1]
                    } else {
                        vec![n, 1, 1, 1]
                    });
                    assert_eq!(convs, expected, "{what}");

                    let logits = d.forward(&x, labels.as_deref());
                    assert_eq!(logits, h, "{what}: forward is the layers in order");
                    let grad = d.backward(&Tensor::full(logits.shape(), 1.0));
                    assert_eq!(
                        grad.shape(),
                        x.shape(),
                        "{what}: dL/d(images), no label planes"
                    );
                }
            }
        }
    }
}

#[test]
fn parameter_names_and_shapes_match_pytorch_dcgan() {
    // PyTorch's DCGAN example (examples/dcgan/main.py), ndf = 64, nc = 3:
    //   Conv2d(nc, ndf, 4, 2, 1, bias=False), LeakyReLU(0.2)                          0, 1
    //   Conv2d(ndf, ndf*2, 4, 2, 1, bias=False), BatchNorm2d(ndf*2), LeakyReLU(0.2)   2, 3, 4
    //   Conv2d(ndf*2, ndf*4, 4, 2, 1, bias=False), BatchNorm2d(ndf*4), LeakyReLU      5, 6, 7
    //   Conv2d(ndf*4, ndf*8, 4, 2, 1, bias=False), BatchNorm2d(ndf*8), LeakyReLU      8, 9, 10
    //   Conv2d(ndf*8, 1, 4, 1, 0, bias=False), Sigmoid                                11, 12
    // sum(p.numel() for p in netD.parameters()) == 2765568. Here D ends at the logit (layer 11):
    // the sigmoid lives inside the loss (chapter 5), which has no parameters.
    let expected: Vec<(String, Vec<usize>)> = [
        ("0.weight", vec![64, 3, 4, 4]),
        ("2.weight", vec![128, 64, 4, 4]),
        ("3.weight", vec![128]),
        ("3.bias", vec![128]),
        ("5.weight", vec![256, 128, 4, 4]),
        ("6.weight", vec![256]),
        ("6.bias", vec![256]),
        ("8.weight", vec![512, 256, 4, 4]),
        ("9.weight", vec![512]),
        ("9.bias", vec![512]),
        ("11.weight", vec![1, 512, 4, 4]),
    ]
    .into_iter()
    .map(|(name, shape)| (format!("discriminator.{name}"), shape))
    .collect();
    let names_and_shapes = |net: &mut Sequential<f32>| -> Vec<(String, Vec<usize>)> {
        net.named_params()
            .into_iter()
            .map(|p| (p.name, p.value.shape().to_vec()))
            .collect()
    };
    let mut d = discriminator::<f32>(config(64, 64, 3, 0, false), 1);
    assert_eq!(names_and_shapes(&mut d.net), expected);
    assert_eq!(d.net.param_count(), 2_765_568);
    assert_eq!(d.net.len(), 12);

    // PatchGAN: the same body, stopped at 8 x 8 (three halvings), then judged by a k4 s1 p1
    // convolution (pix2pix's last layer) into a 7 x 7 grid of logits.
    let mut d = discriminator::<f32>(config(64, 64, 3, 0, true), 1);
    let found = names_and_shapes(&mut d.net);
    assert_eq!(found[..7], expected[..7]);
    assert_eq!(
        found[7],
        ("discriminator.8.weight".into(), vec![1, 256, 4, 4])
    );

    // The main job's conditional D on 28 x 28 digits: 1 + 10 input planes.
    let mut d = discriminator::<f32>(config(64, 28, 1, 10, false), 1);
    let found = names_and_shapes(&mut d.net);
    assert_eq!(
        found[0],
        ("discriminator.0.weight".into(), vec![64, 11, 4, 4])
    );
    assert_eq!(found.last().unwrap().1, vec![1, 128, 7, 7]);
}

#[test]
fn a_conditional_discriminator_reads_label_planes() {
    let (n, c, size, classes) = (3, 2, 8, 4);
    let x = images::<f64>(n, c, size, 5);
    let labels = [2, 0, 3];
    let joined = label_planes_join(&x, Some(&labels), classes, "test");
    assert_eq!(joined.shape(), [n, c + classes, size, size]);
    let plane = size * size;
    for (i, &label) in labels.iter().enumerate() {
        let row = joined.row(i);
        assert_eq!(
            &row[..c * plane],
            x.row(i),
            "the image comes first, unchanged"
        );
        for k in 0..classes {
            let expected = if k == label { 1.0 } else { 0.0 };
            let values = &row[(c + k) * plane..(c + k + 1) * plane];
            assert!(
                values.iter().all(|&v| v == expected),
                "image {i}, plane {k}"
            );
        }
    }

    // The same images with other labels get other logits.
    let mut d = discriminator::<f64>(config(2, size, c, classes, false), 4);
    d.net.set_training(false);
    let a = d.forward(&x, Some(&labels));
    let b = d.forward(&x, Some(&[1, 1, 1]));
    assert!(a.max_abs_diff(&b) > 1e-9);
}

/// The rows and columns of the image (first..=last) that logit (i, j) of image 0 depends on,
/// measured in evaluation mode by moving one pixel at a time and watching that logit. (In
/// training mode BatchNorm's batch statistics tie every logit to every pixel.)
fn measured_window(
    d: &mut Discriminator<f64>,
    size: usize,
    (i, j): (usize, usize),
) -> ((usize, usize), (usize, usize)) {
    let channels = d.config.channels;
    d.net.set_training(false);
    let x = images::<f64>(1, channels, size, 9);
    let logit = |d: &mut Discriminator<f64>, x: &Tensor<f64>| {
        let logits = d.forward(x, None);
        let w = logits.shape()[3];
        logits[i * w + j]
    };
    let base = logit(d, &x);
    let (mut rows, mut cols) = ((usize::MAX, 0), (usize::MAX, 0));
    for r in 0..size {
        for c in 0..size {
            let mut moved = x.clone();
            moved[r * size + c] += 1.0; // channel 0
            if logit(d, &moved) != base {
                rows = (rows.0.min(r), rows.1.max(r));
                cols = (cols.0.min(c), cols.1.max(c));
            }
        }
    }
    d.net.set_training(true);
    (rows, cols)
}

#[test]
fn patch_size_is_the_measured_receptive_field() {
    // PatchGAN at sizes whose centre logit's window fits inside the image.
    for (size, centre, patch) in [(28, 2, 22), (56, 2, 46), (64, 3, 46)] {
        let mut d = discriminator::<f64>(config(2, size, 1, 0, true), 21);
        assert_eq!(d.patch_size(), patch, "size {size}: the formula");
        let (rows, cols) = measured_window(&mut d, size, (centre, centre));
        let measured = (rows.1 - rows.0 + 1, cols.1 - cols.0 + 1);
        println!(
            "PatchGAN {size}x{size}: logit ({centre}, {centre}) depends on rows {}..={}, \
             columns {}..={}: {} x {} pixels; patch_size() = {}",
            rows.0,
            rows.1,
            cols.0,
            cols.1,
            measured.0,
            measured.1,
            d.patch_size()
        );
        assert_eq!(measured, (patch, patch), "size {size}");
        assert!(
            rows.0 > 0 && rows.1 < size - 1,
            "the window is inside the image"
        );
        // The window of logit (i, j) starts at i 2^L - (the padding's reach): consecutive
        // logits' windows are 2^L pixels apart.
        let halvings = Discriminator::<f64>::halvings(&d.config);
        let (next_rows, _) = measured_window(&mut d, size, (centre + 1, centre));
        assert_eq!(
            next_rows.0 - rows.0,
            1 << halvings,
            "size {size}: the stride of the grid"
        );
    }

    // DCGAN's single logit sees every pixel, and its receptive field is wider than the image.
    for size in [8, 16, 28] {
        let mut d = discriminator::<f64>(config(2, size, 1, 0, false), 22);
        assert!(d.patch_size() >= size);
        let window = measured_window(&mut d, size, (0, 0));
        assert_eq!(window, ((0, size - 1), (0, size - 1)), "size {size}");
    }
}

/// Multiplies the weight of every convolution but the last by 10 (std 0.2 instead of DCGAN's
/// 0.02), so that a step of h = 1e-5 is small on the network's own scales. At 0.02 the hidden
/// pre-activations are tiny, and moving one weight by h pushes some of them across the kink of
/// ReLU or LeakyReLU, where no central difference is right (errors of 1e-2); and behind a
/// BatchNorm the loss depends on a layer's weights only relative to each other, so its curvature
/// grows like 1 / |w|^2 (errors near 1e-6). The last layer keeps its scale, so that the output
/// stays O(1) and its rounding error small.
fn widen_weights(net: &mut Sequential<f64>) {
    let mut weights: Vec<_> = net
        .named_params()
        .into_iter()
        .filter(|p| p.value.shape().len() == 4)
        .collect();
    weights.pop();
    for w in weights {
        w.value.scale(10.0);
    }
}

/// Gradient check of a whole discriminator: L = <r, D(x)> for a fixed r, with respect to the
/// images and every parameter, in training mode.
fn check_discriminator(config: DiscriminatorConfig, n: usize) -> f64 {
    let what = format!("{config:?}");
    let (channels, size, classes) = (config.channels, config.image_size, config.classes);
    let mut d = discriminator::<f64>(config, 31);
    widen_weights(&mut d.net);
    let x = images::<f64>(n, channels, size, 32);
    let labels = labels(n, classes);
    let logits = d.forward(&x, labels.as_deref());
    let r = wave(logits.shape(), 0.4, 1.0);
    d.net.zero_grad();
    let grad_images = d.backward(&r);
    let report = Checked::new()
        .tensor("images", x, grad_images)
        .network(&mut d.net)
        .run(
            |v| {
                set_params(&mut d.net, &v[1..]);
                d.forward(&v[0], labels.as_deref()).dot(&r)
            },
            &CheckOptions::default(),
        );
    println!("{what}\n{report}");
    report.assert_below(1e-6);
    report.worst_rel_error()
}

#[test]
fn the_whole_discriminator_passes_the_gradient_check_in_f64() {
    let worst = [
        check_discriminator(config(2, 8, 1, 0, false), 3),
        check_discriminator(config(2, 8, 3, 3, false), 3),
        check_discriminator(config(2, 8, 1, 0, true), 3),
        check_discriminator(config(2, 20, 1, 2, true), 2),
    ]
    .into_iter()
    .fold(0.0, f64::max);
    println!("worst relative error over the four discriminators: {worst:.2e}");
}

// ---- exercises ---------------------------------------------------------------------------------

#[test]
fn exercise_receptive_field_of_a_stack() {
    let hint =
        "r starts at 1 and j at 1; each layer (k, s), from the image up, does r += (k - 1) j, \
                then j *= s";
    assert_eq!(
        receptive_field(&[]),
        1,
        "no layer: one pixel sees itself. {hint}"
    );
    assert_eq!(
        receptive_field(&[(5, 3)]),
        5,
        "one layer sees its kernel. {hint}"
    );
    assert_eq!(
        receptive_field(&[(4, 2); 4]),
        46,
        "four k4 s2 layers (chapter 3's example). {hint}"
    );
    assert_eq!(
        receptive_field(&[(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)]),
        70,
        "the pix2pix PatchGAN sees 70 x 70. {hint}"
    );
    // Every discriminator this book builds: halvings by k4 s2, then the judge, k s0 (DCGAN)
    // or k4 (PatchGAN), stride 1.
    for size in [8, 16, 28, 32, 40, 56, 64] {
        let (s0, _) = upsampling_plan(size).unwrap();
        for patch in [false, true] {
            let d = discriminator::<f32>(config(1, size, 1, 0, patch), 1);
            let mut stack = vec![(4, 2); Discriminator::<f32>::halvings(&d.config)];
            stack.push((if patch { 4 } else { s0 }, 1));
            assert_eq!(
                receptive_field(&stack),
                d.patch_size(),
                "size {size}, patch {patch}: the stack {stack:?}. {hint}"
            );
        }
    }
}
