//! Chapter 6, "The generator": the DCGAN generator G as this book builds it. Proves that G
//! makes images of the requested size (8, 16, 28, 32, 64; 1 or 3 channels; any ngf;
//! unconditional and class-conditional), layer by layer as the chapter's table says; that the
//! projection from z is a linear layer and a reshape; that its parameters have PyTorch's DCGAN
//! names and shapes (`generator.0.weight` [nz, 8 ngf, 4, 4] ..., 3,576,704 values at
//! 64 x 64 x 3); that training mode normalises with the batch's statistics and evaluation mode
//! with the running ones; that the whole network's backward pass (to z and to every parameter)
//! agrees with central differences in f64; that a seed fixes the initial network; and that a
//! size G cannot build is a clear error.
//! The `exercise_*` test checks exercise 6.1; run it on your own code with
//! `cargo test --release --features exercises --test ch06_generator -- exercise_`.

use gan::check::{set_params, CheckOptions, Checked};
use gan::exercises::ch06_generator::dcgan_generator_param_count;
use gan::layers::linear::Linear;
use gan::layers::sequential::Sequential;
use gan::layers::Layer;
use gan::models::conditional::one_hot_join;
use gan::models::{upsampling_plan, Generator, GeneratorConfig};
use gan::rng::{noise, Rng};
use gan::{Real, Tensor};
use std::collections::HashMap;

fn config(nz: usize, ngf: usize, size: usize, channels: usize, classes: usize) -> GeneratorConfig {
    GeneratorConfig {
        nz,
        ngf,
        image_size: size,
        channels,
        classes,
    }
}

fn generator<T: Real>(config: GeneratorConfig, seed: u64) -> Generator<T> {
    Generator::new(config, &mut Rng::new(seed)).expect("a buildable size")
}

/// Deterministic, irregular values in [-scale, scale].
fn wave(shape: &[usize], seed: f64, scale: f64) -> Tensor<f64> {
    Tensor::from_fn(shape, |i| scale * (0.7548776662 * i as f64 + seed).sin())
}

/// Labels 0, 1, 2, ... (mod classes) for a batch of n, or None for an unconditional model.
fn labels(n: usize, classes: usize) -> Option<Vec<usize>> {
    (classes > 0).then(|| (0..n).map(|i| i % classes).collect())
}

#[test]
fn output_shapes_for_every_size_channel_count_and_width() {
    for (size, s0, doublings) in [(8, 2, 2), (16, 4, 2), (28, 7, 2), (32, 4, 3), (64, 4, 4)] {
        assert_eq!(
            upsampling_plan(size).unwrap(),
            (s0, doublings),
            "size {size}"
        );
        for channels in [1, 3] {
            for (ngf, classes) in [(2, 0), (3, 10), (4, 0)] {
                let mut g = generator::<f32>(config(5, ngf, size, channels, classes), 7);
                let n = 2;
                let z = noise::<f32>(&mut Rng::new(1), n, 5, 1.0);
                let labels = labels(n, classes);

                // Layer by layer: the projection makes s0 x s0 with ngf 2^(L-1) channels, then
                // every fractionally-strided layer doubles h and w and halves the channels.
                let what =
                    format!("size {size}, {channels} channels, ngf {ngf}, {classes} classes");
                let mut x = one_hot_join(&z, labels.as_deref(), classes, "test")
                    .reshape(&[n, 5 + classes, 1, 1])
                    .unwrap();
                let mut side = s0;
                let mut width = ngf << (doublings - 1);
                let mut conv_count = 0;
                for layer in g.net.layers_mut() {
                    x = layer.forward(&x);
                    if layer.describe().starts_with("ConvTranspose2d") {
                        let expected = if conv_count == doublings {
                            [n, channels, size, size]
                        } else {
                            [n, width, side, side]
                        };
                        assert_eq!(x.shape(), expected, "{what}: {}", layer.describe());
                        conv_count += 1;
                        side *= 2;
                        width /= 2;
                    }
                }
                assert_eq!(
                    conv_count,
                    doublings + 1,
                    "{what}: a projection and L doublings"
                );

                // The model's own forward agrees with the layers run by hand.
                let images = g.forward(&z, labels.as_deref());
                assert_eq!(images.shape(), [n, channels, size, size], "{what}");
                assert_eq!(images, x, "{what}: forward is the layers in order");
                assert!(
                    images.as_slice().iter().all(|v| v.abs() <= 1.0),
                    "{what}: Tanh keeps every pixel in [-1, 1]"
                );
                let grad_z = g.backward(&Tensor::full(images.shape(), 1.0));
                assert_eq!(grad_z.shape(), [n, 5], "{what}: dL/dz has z's shape");
            }
        }
    }
}

#[test]
fn parameter_names_and_shapes_match_pytorch_dcgan() {
    // PyTorch's DCGAN example (examples/dcgan/main.py), nz = 100, ngf = 64, nc = 3:
    //   ConvTranspose2d(nz, ngf*8, 4, 1, 0, bias=False), BatchNorm2d(ngf*8), ReLU,     0, 1, 2
    //   ConvTranspose2d(ngf*8, ngf*4, 4, 2, 1, bias=False), BatchNorm2d(ngf*4), ReLU,  3, 4, 5
    //   ConvTranspose2d(ngf*4, ngf*2, 4, 2, 1, bias=False), BatchNorm2d(ngf*2), ReLU,  6, 7, 8
    //   ConvTranspose2d(ngf*2, ngf, 4, 2, 1, bias=False), BatchNorm2d(ngf), ReLU,      9, 10, 11
    //   ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), Tanh                            12, 13
    // sum(p.numel() for p in netG.parameters()) == 3576704
    let expected: Vec<(String, Vec<usize>)> = [
        ("0.weight", vec![100, 512, 4, 4]),
        ("1.weight", vec![512]),
        ("1.bias", vec![512]),
        ("3.weight", vec![512, 256, 4, 4]),
        ("4.weight", vec![256]),
        ("4.bias", vec![256]),
        ("6.weight", vec![256, 128, 4, 4]),
        ("7.weight", vec![128]),
        ("7.bias", vec![128]),
        ("9.weight", vec![128, 64, 4, 4]),
        ("10.weight", vec![64]),
        ("10.bias", vec![64]),
        ("12.weight", vec![64, 3, 4, 4]),
    ]
    .into_iter()
    .map(|(name, shape)| (format!("generator.{name}"), shape))
    .collect();
    let mut g = generator::<f32>(config(100, 64, 64, 3, 0), 1);
    let found: Vec<(String, Vec<usize>)> = g
        .net
        .named_params()
        .into_iter()
        .map(|p| (p.name, p.value.shape().to_vec()))
        .collect();
    assert_eq!(found, expected);
    assert_eq!(g.net.param_count(), 3_576_704);
    assert_eq!(
        g.net.len(),
        14,
        "the same 14 modules as PyTorch's nn.Sequential"
    );
    let buffers: Vec<String> = g.net.named_buffers().into_iter().map(|b| b.0).collect();
    assert_eq!(buffers.len(), 12, "three buffers per BatchNorm");
    assert_eq!(
        buffers[..3],
        [
            "generator.1.running_mean",
            "generator.1.running_var",
            "generator.1.num_batches_tracked"
        ]
    );

    // The main job's class-conditional 28 x 28 generator: z and the one-hot label enter together.
    let mut g = generator::<f32>(config(100, 64, 28, 1, 10), 1);
    let shapes: Vec<(String, Vec<usize>)> = g
        .net
        .named_params()
        .into_iter()
        .filter(|p| p.name.ends_with("weight") && p.value.shape().len() == 4)
        .map(|p| (p.name, p.value.shape().to_vec()))
        .collect();
    assert_eq!(
        shapes,
        [
            ("generator.0.weight".to_string(), vec![110, 128, 7, 7]),
            ("generator.3.weight".to_string(), vec![128, 64, 4, 4]),
            ("generator.6.weight".to_string(), vec![64, 1, 4, 4]),
        ]
    );
}

#[test]
fn the_projection_is_a_linear_layer_and_a_reshape() {
    // DCGAN's "project and reshape": a ConvTranspose2d(nz, C0, k s0) on a 1 x 1 input computes
    // y[n, o, a, b] = sum_c z[n, c] w[c, o, a, b], which is z W with W: [nz, C0 s0 s0].
    let mut g = generator::<f64>(config(6, 3, 28, 1, 0), 4);
    let z = noise::<f64>(&mut Rng::new(6), 5, 6, 1.0);
    let projected = g.net.layers_mut()[0].forward(&z.clone().reshape(&[5, 6, 1, 1]).unwrap());
    assert_eq!(projected.shape(), [5, 6, 7, 7]);
    let w = g.net.named_params()[0].value.clone(); // [6, 6, 7, 7]
    let flat = w.reshape(&[6, 6 * 7 * 7]).unwrap();
    let mut linear = Linear::from_params(flat.transpose(), Tensor::zeros(&[6 * 7 * 7])).unwrap();
    let y = linear.forward(&z).reshape(&[5, 6, 7, 7]).unwrap();
    assert!(y.max_abs_diff(&projected) < 1e-15);
}

#[test]
fn training_mode_uses_the_batch_and_evaluation_mode_the_running_statistics() {
    let mut g = generator::<f64>(config(4, 3, 8, 1, 0), 3);
    let z = noise::<f64>(&mut Rng::new(5), 4, 4, 1.0);
    let mut other = z.clone();
    other.row_mut(3).copy_from_slice(&[2.0, -1.0, 0.5, 3.0]);
    let first_image = |t: &Tensor<f64>| t.row(0).to_vec();

    // Training mode: sample 0's image depends on the rest of the batch (BatchNorm's statistics).
    let a = g.forward(&z, None);
    let b = g.forward(&other, None);
    assert_ne!(first_image(&a), first_image(&b));

    // Each training-mode pass moved the running estimates 10% of the way to the batch's
    // statistics. Check the first BatchNorm by hand: its input is the first layer's output.
    let mut fresh = generator::<f64>(config(4, 3, 8, 1, 0), 3);
    let projected = fresh.net.layers_mut()[0].forward(&z.clone().reshape(&[4, 4, 1, 1]).unwrap());
    fresh.forward(&z, None);
    let (n, s) = (4, 2 * 2);
    let buffers: HashMap<String, Tensor<f64>> = fresh
        .net
        .named_buffers()
        .into_iter()
        .map(|(name, t)| (name, t.clone()))
        .collect();
    assert_eq!(buffers["generator.1.num_batches_tracked"][0], 1.0);
    let running_mean = buffers["generator.1.running_mean"].as_slice();
    let running_var = buffers["generator.1.running_var"].as_slice();
    assert_eq!(running_mean.len(), projected.shape()[1]);
    for (ch, (rm, rv)) in running_mean.iter().zip(running_var).enumerate() {
        let values: Vec<f64> = (0..n)
            .flat_map(|i| projected.row(i)[ch * s..(ch + 1) * s].to_vec())
            .collect();
        let m = values.len() as f64;
        let mean = values.iter().sum::<f64>() / m;
        let unbiased = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (m - 1.0);
        assert!((rm - 0.1 * mean).abs() < 1e-15);
        assert!((rv - (0.9 + 0.1 * unbiased)).abs() < 1e-15);
    }

    // Evaluation mode: a fixed function of each z, whatever the batch, and the running
    // statistics stay where they are.
    g.net.set_training(false);
    let before: Vec<Tensor<f64>> = g
        .net
        .named_buffers()
        .into_iter()
        .map(|b| b.1.clone())
        .collect();
    let a = g.forward(&z, None);
    let b = g.forward(&other, None);
    let alone = g.forward(&Tensor::from_vec(&[1, 4], z.row(0).to_vec()).unwrap(), None);
    assert_eq!(first_image(&a), first_image(&b));
    // A batch of one runs the convolutions through GEMMs of another shape (the columns of one
    // image instead of three), which may add the same products in another order: equal to
    // rounding, not bit for bit. (Thread counts never change the order; chapter 2.)
    let (batched, single) = (first_image(&a), alone.into_vec());
    let worst = batched
        .iter()
        .zip(&single)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(
        worst < 1e-12,
        "a batch of one works too: largest difference {worst:e}"
    );
    let after: Vec<Tensor<f64>> = g
        .net
        .named_buffers()
        .into_iter()
        .map(|b| b.1.clone())
        .collect();
    assert_eq!(before, after);

    // Back in training mode, the batch statistics are used again.
    g.net.set_training(true);
    assert_ne!(
        first_image(&g.forward(&z, None)),
        first_image(&g.forward(&other, None))
    );
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

/// Gradient check of a whole generator: L = <r, G(z)> for a fixed r, with respect to z and to
/// every parameter, all in training mode (BatchNorm on batch statistics), as G is trained.
fn check_generator(config: GeneratorConfig, n: usize) -> f64 {
    let what = format!("{config:?}");
    let nz = config.nz;
    let classes = config.classes;
    let mut g = generator::<f64>(config, 11);
    widen_weights(&mut g.net);
    let z = noise::<f64>(&mut Rng::new(12), n, nz, 1.0);
    let labels = labels(n, classes);
    let images = g.forward(&z, labels.as_deref());
    let r = wave(images.shape(), 0.3, 1.0);
    g.net.zero_grad();
    let grad_z = g.backward(&r);
    let report = Checked::new()
        .tensor("z", z, grad_z)
        .network(&mut g.net)
        .run(
            |v| {
                set_params(&mut g.net, &v[1..]);
                g.forward(&v[0], labels.as_deref()).dot(&r)
            },
            &CheckOptions::default(),
        );
    println!("{what}\n{report}");
    report.assert_below(1e-6);
    report.worst_rel_error()
}

#[test]
fn the_whole_generator_passes_the_gradient_check_in_f64() {
    let worst = [
        check_generator(config(3, 2, 8, 1, 0), 3),
        check_generator(config(3, 2, 8, 3, 4), 3),
        check_generator(config(2, 1, 28, 1, 0), 2),
    ]
    .into_iter()
    .fold(0.0, f64::max);
    println!("worst relative error over the three generators: {worst:.2e}");
}

#[test]
fn a_seed_fixes_the_initial_generator() {
    let params = |g: &mut Generator<f64>| -> Vec<Tensor<f64>> {
        g.net
            .named_params()
            .into_iter()
            .map(|p| p.value.clone())
            .collect()
    };
    let c = config(8, 4, 16, 3, 2);
    let (mut a, mut b, mut other) = (
        generator::<f64>(c.clone(), 42),
        generator::<f64>(c.clone(), 42),
        generator::<f64>(c.clone(), 43),
    );
    assert_eq!(params(&mut a), params(&mut b));
    assert_ne!(params(&mut a), params(&mut other));
    let z = noise::<f64>(&mut Rng::new(1), 3, 8, 1.0);
    let labels = [0, 1, 1];
    assert_eq!(a.forward(&z, Some(&labels)), b.forward(&z, Some(&labels)));

    // f32 and f64 models draw the same numbers (the f64 draws, rounded).
    let mut single = generator::<f32>(c, 42);
    for (p, q) in single.net.named_params().into_iter().zip(params(&mut a)) {
        assert_eq!(*p.value, q.cast::<f32>(), "{}", p.name);
    }
}

#[test]
fn a_conditional_generator_reads_its_label() {
    let mut g = generator::<f64>(config(4, 2, 8, 1, 3), 9);
    g.net.set_training(false);
    let z = noise::<f64>(&mut Rng::new(2), 1, 4, 1.0);
    let zero = g.forward(&z, Some(&[0]));
    let two = g.forward(&z, Some(&[2]));
    assert!(
        zero.max_abs_diff(&two) > 1e-6,
        "the label changes the image"
    );
}

#[test]
fn a_size_the_generator_cannot_build_is_a_clear_error() {
    for size in [0, 2, 3, 27, 31] {
        let err = Generator::<f32>::new(config(8, 4, size, 1, 0), &mut Rng::new(1))
            .err()
            .unwrap_or_else(|| panic!("size {size} should be refused"));
        let message = err.to_string();
        assert!(
            message.contains(&format!("cannot build {size} x {size} images"))
                && message.contains("8, 16, 28, 32 and 64"),
            "{message}"
        );
    }
}

// ---- exercises ---------------------------------------------------------------------------------

#[test]
fn exercise_dcgan_generator_param_count() {
    // (nz, ngf, channels, size, classes)
    let cases = [
        (100, 64, 3, 64, 0),
        (100, 64, 1, 28, 10),
        (100, 64, 1, 28, 0),
        (8, 4, 1, 8, 0),
        (16, 8, 3, 32, 5),
        (7, 3, 1, 16, 2),
        (10, 5, 3, 56, 0),
    ];
    for (nz, ngf, channels, size, classes) in cases {
        let mut g = generator::<f32>(config(nz, ngf, size, channels, classes), 1);
        let yours = dcgan_generator_param_count(nz, ngf, channels, size, classes);
        assert_eq!(
            yours,
            g.net.param_count(),
            "dcgan_generator_param_count(nz {nz}, ngf {ngf}, channels {channels}, size {size}, \
             classes {classes}) is {yours}, but the model has {} learnable values. Layers:\n{}\n\
             Count each ConvTranspose2d's weight C_in * C_out * k * k (no bias), and 2 per channel \
             (gamma, beta) for each BatchNorm; the running statistics are buffers, not parameters.",
            g.net.param_count(),
            g.net.describe()
        );
    }
    assert_eq!(
        dcgan_generator_param_count(100, 64, 3, 64, 0),
        3_576_704,
        "PyTorch's count for its DCGAN generator"
    );
}
