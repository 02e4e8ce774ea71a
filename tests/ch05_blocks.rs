//! Chapter 5, "Building blocks": Linear, the activations and Reshape, plus the chapter's
//! exercises. Proves that Linear equals the plain loop (forward and backward, on random shapes),
//! is bitwise the same on 1 and 4 threads and handles [N, C, H, W] input; that every activation
//! matches its definition, Sigmoid is stable for any input, and every backward pass agrees with
//! central differences (relative error below 1e-6; the worst errors are printed).
//! The `exercise_*` tests check exercises 5.1 and 5.2; run them on your own code with
//! `cargo test --release --features exercises --test ch05_blocks -- exercise_`.
//! BatchNorm is proved in `ch05_batch_norm.rs`, the loss in `ch05_loss.rs`.

use gan::check::{grad_check, CheckOptions, GradCheckReport};
use gan::exercises::ch05_blocks::{batch_norm_backward, bce_with_logits_grad};
use gan::layers::activation::{sigmoid, LeakyReLU, ReLU, Reshape, Sigmoid, Tanh};
use gan::layers::batch_norm::BatchNorm;
use gan::layers::linear::{linear_reference, Linear};
use gan::layers::loss::bce_with_logits;
use gan::layers::Layer;
use gan::parallel::with_threads;
use gan::Tensor;
use proptest::prelude::*;

/// Deterministic, irregular values in [-scale, scale].
fn wave(shape: &[usize], seed: f64, scale: f64) -> Tensor<f64> {
    Tensor::from_fn(shape, |i| scale * (0.7548776662 * i as f64 + seed).sin())
}

/// Like `wave`, but at least 0.1 away from 0, so that no central difference (h = 1e-5) steps
/// across the kink of ReLU or LeakyReLU.
fn away_from_zero(shape: &[usize], seed: f64) -> Tensor<f64> {
    wave(shape, seed, 1.0).map(|v| if v >= 0.0 { v + 0.1 } else { v - 0.1 })
}

/// Gradient check of a layer's input and every parameter, for L = <r, layer(x)> with a fixed
/// random r (so dL/dy = r).
fn check_layer(layer: &mut dyn Layer<f64>, x: &Tensor<f64>) -> GradCheckReport {
    let y = layer.forward(x);
    let r = wave(y.shape(), 2.1, 1.0);
    layer.zero_grad();
    let grad_input = layer.backward(&r);
    let mut names = vec!["input"];
    let mut values = vec![x.clone()];
    let mut grads = vec![grad_input];
    for p in layer.params() {
        names.push(p.name);
        values.push(p.value.clone());
        grads.push(p.grad.clone());
    }
    let loss = |p: &[Tensor<f64>]| {
        for (k, param) in layer.params().into_iter().enumerate() {
            *param.value = p[k + 1].clone();
        }
        layer.forward(&p[0]).dot(&r)
    };
    let report = grad_check(&names, &mut values, &grads, loss, &CheckOptions::default());
    println!("{}", layer.describe());
    println!("{report}");
    report
}

// ---- Linear ----------------------------------------------------------------------------------

fn linear_with_weights(inp: usize, out: usize, seed: f64) -> Linear<f64> {
    let mut layer = Linear::new(inp, out);
    layer.weight = wave(&[out, inp], seed, 0.5);
    layer.bias = wave(&[out], seed + 1.0, 0.5);
    layer
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn linear_matches_the_plain_loop(n in 1usize..7, inp in 1usize..40, out in 1usize..20,
                                     seed in 0.0f64..6.0) {
        let mut layer = linear_with_weights(inp, out, seed);
        let x = wave(&[n, inp], seed + 2.0, 1.0);
        let y = layer.forward(&x);
        let expected = linear_reference(&x, &layer.weight, &layer.bias);
        prop_assert!(y.max_abs_diff(&expected) < 1e-12);

        // Backward against the same sums written as loops.
        let g = wave(&[n, out], seed + 3.0, 1.0);
        let grad_input = layer.backward(&g);
        for i in 0..n {
            for k in 0..inp {
                let want: f64 = (0..out).map(|o| g.at(i, o) * layer.weight.at(o, k)).sum();
                prop_assert!((grad_input.at(i, k) - want).abs() < 1e-12);
            }
        }
        for o in 0..out {
            for k in 0..inp {
                let want: f64 = (0..n).map(|i| g.at(i, o) * x.at(i, k)).sum();
                prop_assert!((layer.grad_weight.at(o, k) - want).abs() < 1e-12);
            }
            let want: f64 = (0..n).map(|i| g.at(i, o)).sum();
            prop_assert!((layer.grad_bias[o] - want).abs() < 1e-12);
        }
    }
}

#[test]
fn linear_gradients_pass_the_gradient_check() {
    let mut layer = linear_with_weights(5, 4, 0.2);
    check_layer(&mut layer, &wave(&[3, 5], 0.7, 1.0)).assert_below(1e-6);
    // An image batch: [2, 3, 2, 2] is read as [2, 12].
    let mut layer = linear_with_weights(12, 6, 0.9);
    check_layer(&mut layer, &wave(&[2, 3, 2, 2], 1.7, 1.0)).assert_below(1e-6);
}

#[test]
fn linear_flattens_image_input_and_restores_its_shape_in_backward() {
    let mut layer = linear_with_weights(12, 6, 0.9);
    let x = wave(&[2, 3, 2, 2], 1.7, 1.0);
    let y = layer.forward(&x);
    assert_eq!(y.shape(), &[2, 6]);
    let flat = x.clone().reshape(&[2, 12]).unwrap();
    assert!(y.max_abs_diff(&linear_reference(&flat, &layer.weight, &layer.bias)) < 1e-12);
    assert_eq!(
        y,
        layer.forward(&flat),
        "the same numbers as the flattened input"
    );
    layer.forward(&x);
    let grad_input = layer.backward(&wave(&[2, 6], 0.0, 1.0));
    assert_eq!(grad_input.shape(), &[2, 3, 2, 2]);
}

#[test]
fn linear_accumulates_parameter_gradients_until_zero_grad() {
    let mut layer = linear_with_weights(4, 3, 0.4);
    let (x, g) = (wave(&[2, 4], 0.1, 1.0), wave(&[2, 3], 0.2, 1.0));
    layer.forward(&x);
    layer.backward(&g);
    let once = layer.grad_weight.clone();
    layer.forward(&x);
    layer.backward(&g);
    assert!(layer.grad_weight.max_abs_diff(&once.map(|v| 2.0 * v)) < 1e-15);
    layer.zero_grad();
    assert_eq!(layer.grad_weight.max_abs(), 0.0);
    assert_eq!(layer.grad_bias.max_abs(), 0.0);
}

#[test]
fn linear_is_bitwise_identical_on_1_and_4_threads() {
    // Large enough (64 x 256 x 128 multiply-adds) for GEMM to split the work.
    let run = |threads: usize| {
        with_threads(threads, || {
            let mut layer = Linear::<f32>::new(256, 128);
            layer.weight = wave(&[128, 256], 0.3, 0.1).cast();
            layer.bias = wave(&[128], 0.6, 0.1).cast();
            let y = layer.forward(&wave(&[64, 256], 0.9, 1.0).cast());
            let grad_input = layer.backward(&wave(&[64, 128], 1.2, 1.0).cast());
            (
                y,
                grad_input,
                layer.grad_weight.clone(),
                layer.grad_bias.clone(),
            )
        })
    };
    let (one, four) = (run(1), run(4));
    let bits = |t: &Tensor<f32>| t.as_slice().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&one.0), bits(&four.0), "forward");
    assert_eq!(bits(&one.1), bits(&four.1), "grad_input");
    assert_eq!(bits(&one.2), bits(&four.2), "grad_weight");
    assert_eq!(bits(&one.3), bits(&four.3), "grad_bias");
}

#[test]
#[should_panic(expected = "Linear(5, 4): expected input [N, 5]")]
fn linear_rejects_a_wrong_input_width_naming_both_shapes() {
    Linear::<f64>::new(5, 4).forward(&Tensor::zeros(&[3, 6]));
}

#[test]
fn linear_from_params_checks_the_bias_shape() {
    let err = Linear::from_params(Tensor::<f64>::zeros(&[4, 5]), Tensor::zeros(&[5]))
        .err()
        .expect("a [5] bias for 4 outputs is an error");
    assert!(
        err.to_string().contains("expected shape [4], found [5]"),
        "{err}"
    );
}

// ---- activations -----------------------------------------------------------------------------

#[test]
fn activations_match_their_definitions() {
    let x = Tensor::from_vec(&[1, 5], vec![-2.0, -0.5, 0.0, 0.5, 3.0]).unwrap();
    let y = |layer: &mut dyn Layer<f64>| layer.forward(&x).into_vec();
    assert_eq!(y(&mut ReLU::new()), [0.0, 0.0, 0.0, 0.5, 3.0]);
    assert_eq!(y(&mut LeakyReLU::new(0.2)), [-0.4, -0.1, 0.0, 0.5, 3.0]);
    let tanh = y(&mut Tanh::new());
    let sig = y(&mut Sigmoid::new());
    for (i, &v) in x.as_slice().iter().enumerate() {
        assert!((tanh[i] - v.tanh()).abs() < 1e-15);
        assert!((sig[i] - 1.0 / (1.0 + (-v).exp())).abs() < 1e-15);
    }
}

#[test]
fn sigmoid_is_stable_and_accurate_for_any_input() {
    for x in [1e4f64, 1e3, 100.0, 40.0, 1.0, 0.0] {
        let (p, q) = (sigmoid(x), sigmoid(-x));
        assert!(p.is_finite() && q.is_finite());
        // sigmoid(-x) = 1 - sigmoid(x), and for large x it is e^-x to full relative precision.
        assert!((p + q - 1.0).abs() < 1e-15, "{x}");
        if x >= 40.0 {
            assert!(
                ((q - (-x).exp()) / (-x).exp()).abs() < 1e-14 || q == 0.0,
                "{x}"
            );
        }
    }
    assert_eq!((sigmoid(1e4f32), sigmoid(-1e4f32)), (1.0, 0.0));
    assert_eq!((sigmoid(1e4f64), sigmoid(-1e4f64)), (1.0, 0.0));
    assert!((sigmoid(-30.0f32) / (-30.0f32).exp() - 1.0).abs() < 1e-6);
}

#[test]
fn activation_gradients_pass_the_gradient_check() {
    let x = away_from_zero(&[2, 3, 3, 3], 0.5);
    let mut worst = 0.0f64;
    let layers: Vec<Box<dyn Layer<f64>>> = vec![
        Box::new(ReLU::new()),
        Box::new(LeakyReLU::new(0.2)),
        Box::new(Tanh::new()),
        Box::new(Sigmoid::new()),
    ];
    for mut layer in layers {
        let report = check_layer(layer.as_mut(), &x.map(|v| 2.0 * v));
        report.assert_below(1e-6);
        worst = worst.max(report.worst_rel_error());
    }
    println!("worst relative error over the activations: {worst:.2e}");
}

#[test]
fn reshape_and_flatten_only_change_the_shape() {
    let x = wave(&[2, 12], 0.3, 1.0);
    let mut to_image = Reshape::new(&[3, 2, 2]);
    let y = Layer::<f64>::forward(&mut to_image, &x);
    assert_eq!(y.shape(), &[2, 3, 2, 2]);
    assert_eq!(y.as_slice(), x.as_slice());
    let mut flatten = Reshape::flatten();
    let z = Layer::<f64>::forward(&mut flatten, &y);
    assert_eq!(z, x);
    assert_eq!(
        Layer::<f64>::backward(&mut flatten, &z).shape(),
        &[2, 3, 2, 2]
    );
    assert_eq!(Layer::<f64>::backward(&mut to_image, &y).shape(), &[2, 12]);
}

#[test]
#[should_panic(expected = "Tanh::backward needs a training-mode forward first")]
fn an_evaluation_mode_forward_keeps_nothing_for_backward() {
    let mut tanh = Tanh::<f64>::new();
    tanh.set_training(false);
    let y = tanh.forward(&wave(&[2, 2], 0.0, 1.0));
    tanh.backward(&y);
}

// ---- exercises -------------------------------------------------------------------------------

/// BatchNorm's forward written out, for the exercise's gradient check: x, gamma, beta ->
/// (y, x_hat, std) with batch statistics over every dimension but the channel (dimension 1).
fn batch_norm_forward(
    x: &Tensor<f64>,
    gamma: &Tensor<f64>,
    beta: &Tensor<f64>,
) -> (Tensor<f64>, Tensor<f64>, Tensor<f64>) {
    let (n, c) = (x.shape()[0], x.shape()[1]);
    let s: usize = x.shape()[2..].iter().product();
    let channel = |k: usize| (k / s) % c;
    let m = (n * s) as f64;
    let mut mean = vec![0.0; c];
    let mut var = vec![0.0; c];
    for (k, &v) in x.as_slice().iter().enumerate() {
        mean[channel(k)] += v / m;
    }
    for (k, &v) in x.as_slice().iter().enumerate() {
        var[channel(k)] += (v - mean[channel(k)]).powi(2) / m;
    }
    let std = Tensor::from_fn(&[c], |ch| (var[ch] + 1e-5).sqrt());
    let x_hat = Tensor::from_fn(x.shape(), |k| (x[k] - mean[channel(k)]) / std[channel(k)]);
    let y = Tensor::from_fn(x.shape(), |k| {
        gamma[channel(k)] * x_hat[k] + beta[channel(k)]
    });
    (y, x_hat, std)
}

#[test]
fn exercise_batch_norm_backward_passes_the_gradient_check() {
    for shape in [&[3, 2, 2, 2][..], &[1, 2, 3, 3], &[5, 3]] {
        let c = shape[1];
        let x = wave(shape, 0.3, 1.5);
        let (gamma, beta) = (wave(&[c], 0.8, 1.0), wave(&[c], 1.9, 1.0));
        let (y, x_hat, std) = batch_norm_forward(&x, &gamma, &beta);
        let r = wave(y.shape(), 2.1, 1.0);
        let (grad_input, grad_gamma, grad_beta) = batch_norm_backward(&r, &x_hat, &gamma, &std);
        let mut values = vec![x, gamma, beta];
        let report = grad_check(
            &["input", "gamma", "beta"],
            &mut values,
            &[grad_input, grad_gamma, grad_beta],
            |p| batch_norm_forward(&p[0], &p[1], &p[2]).0.dot(&r),
            &CheckOptions::default(),
        );
        println!("shape {shape:?}\n{report}");
        let worst = report.worst_rel_error();
        assert!(
            worst < 1e-6,
            "batch_norm_backward disagrees with central differences at shape {shape:?} \
             (worst {worst:.2e}):\n{report}\nbeta and gamma are the easy ones (sum g, sum g x_hat); \
             for the input, remember that every x of a channel moves its mean and its variance"
        );
    }
}

#[test]
fn exercise_batch_norm_backward_agrees_with_the_layer() {
    let x = wave(&[4, 3, 2, 2], 0.6, 2.0);
    let mut layer = BatchNorm::<f64>::new_2d(3);
    layer.weight = wave(&[3], 0.8, 1.0);
    let y = layer.forward(&x);
    let g = wave(y.shape(), 1.1, 1.0);
    let from_layer = layer.backward(&g);
    let (_, x_hat, std) = batch_norm_forward(&x, &layer.weight, &layer.bias);
    let (grad_input, grad_gamma, grad_beta) = batch_norm_backward(&g, &x_hat, &layer.weight, &std);
    let diffs = [
        from_layer.max_abs_diff(&grad_input),
        layer.grad_weight.max_abs_diff(&grad_gamma),
        layer.grad_bias.max_abs_diff(&grad_beta),
    ];
    assert!(
        diffs.iter().all(|&d| d < 1e-12),
        "largest differences from BatchNorm::backward (grad_input, grad_gamma, grad_beta): {diffs:?}"
    );
}

#[test]
fn exercise_bce_gradient_passes_the_gradient_check() {
    // A PatchGAN-like batch: 2 images, a 3 x 3 grid of logits each.
    let logits = wave(&[2, 1, 3, 3], 0.2, 3.0);
    let targets = wave(&[2, 1, 3, 3], 1.0, 0.5).map(|t| t + 0.5);
    let grad = bce_with_logits_grad(&logits, &targets);
    let mut values = vec![logits];
    let report = grad_check(
        &["logits"],
        &mut values,
        &[grad],
        |p| bce_with_logits(&p[0], &targets),
        &CheckOptions::default(),
    );
    println!("{report}");
    let worst = report.worst();
    assert!(
        worst.rel_error < 1e-7,
        "the gradient of the mean loss is wrong (worst relative error {:.2e}):\n{report}\n\
         look at the ratio analytic / numeric = {:.4} and at how many logits there are",
        worst.rel_error,
        worst.analytic / worst.numeric
    );
}

#[test]
fn exercise_bce_gradient_is_exact_at_extreme_logits() {
    let logits = Tensor::from_vec(&[4], vec![1e4f32, -1e4, 1e4, -1e4]).unwrap();
    let targets = Tensor::from_vec(&[4], vec![0.0f32, 0.0, 1.0, 1.0]).unwrap();
    let grad = bce_with_logits_grad(&logits, &targets);
    assert_eq!(
        grad.as_slice(),
        &[0.25, 0.0, 0.0, -0.25],
        "at |logit| = 1e4 the gradient of the mean of these 4 losses must be finite and exact"
    );
}
