//! Chapter 5: the building blocks at work.
//!
//!   1. BatchNorm: per-channel statistics before and after, in training and in evaluation mode;
//!   2. binary cross-entropy at extreme logits: the textbook formula against the stable one;
//!   3. the gradient check of every block (f64 central differences, worst relative error).
//!
//! cargo run --release --example ch05_blocks

use gan::check::{grad_check, CheckOptions};
use gan::layers::activation::{sigmoid, LeakyReLU, ReLU, Sigmoid, Tanh};
use gan::layers::batch_norm::BatchNorm;
use gan::layers::linear::Linear;
use gan::layers::loss::{bce_with_logits, bce_with_logits_backward};
use gan::layers::Layer;
use gan::{Real, Tensor};

/// Deterministic, irregular values with mean about 0 and variance about 1.
fn scatter(shape: &[usize], seed: f64) -> Tensor<f64> {
    Tensor::from_fn(shape, |i| {
        let u = ((i as f64 + seed) * 12.9898).sin() * 43758.5453;
        (u - u.floor() - 0.5) * 12f64.sqrt()
    })
}

/// Mean and (biased) variance of every channel of x: [N, C, H, W].
fn channel_stats(x: &Tensor<f32>) -> Vec<(f64, f64)> {
    let (n, c) = (x.shape()[0], x.shape()[1]);
    let s = x.len() / (n * c);
    (0..c)
        .map(|ch| {
            let vals: Vec<f64> = (0..n)
                .flat_map(|i| x.row(i)[ch * s..(ch + 1) * s].iter().map(|v| v.to_f64()))
                .collect();
            let mean = vals.iter().sum::<f64>() / vals.len() as f64;
            let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / vals.len() as f64;
            (mean, var)
        })
        .collect()
}

fn print_stats(label: &str, x: &Tensor<f32>) {
    let stats: Vec<String> = channel_stats(x)
        .iter()
        .map(|(m, v)| format!("{m:>8.3} {v:>8.3}"))
        .collect();
    println!("   {label:<28} {}", stats.join("  |"));
}

fn batch_norm_demo() {
    println!("1. BatchNorm2d(3) on [16, 3, 8, 8]: per channel, mean and variance");
    println!(
        "   {:<28} {:>17}  |{:>17}  |{:>17}",
        "", "channel 0", "channel 1", "channel 2"
    );
    // Three channels on very different scales: (mean, std) = (5, 3), (-2, 0.5), (0, 10).
    let shift = [5.0, -2.0, 0.0];
    let scale = [3.0, 0.5, 10.0];
    let batch = |seed: f64| -> Tensor<f32> {
        let x = scatter(&[16, 3, 8, 8], seed);
        Tensor::from_fn(x.shape(), |k| {
            let c = (k / 64) % 3;
            (shift[c] + scale[c] * x[k]) as f32
        })
    };
    let mut bn = BatchNorm::<f32>::new_2d(3);
    let x = batch(0.0);
    print_stats("input", &x);
    print_stats("training mode (batch stats)", &bn.forward(&x));
    let estimates = |bn: &BatchNorm<f32>| -> String {
        (0..3)
            .map(|c| format!("{:>8.3} {:>8.3}", bn.running_mean[c], bn.running_var[c]))
            .collect::<Vec<_>>()
            .join("  |")
    };
    println!("   {:<28} {}", "running estimates, 1 batch", estimates(&bn));
    for step in 1..50 {
        bn.forward(&batch(1000.0 * step as f64));
    }
    println!("   {:<28} {}", "running estimates, 50", estimates(&bn));
    bn.set_training(false);
    print_stats("evaluation mode (running)", &bn.forward(&batch(1e6)));
    println!(
        "   (the running variance is unbiased: m / (m - 1) times the batch's, m = 16 * 8 * 8)"
    );
}

fn bce_demo() {
    println!("\n2. binary cross-entropy of one logit l with target 1: -ln sigmoid(l)");
    println!(
        "   {:>8} {:>14} {:>14} {:>14} {:>14}",
        "l", "naive f32", "stable f32", "naive f64", "stable f64"
    );
    fn naive<T: Real>(l: T, t: T) -> T {
        let p = T::ONE / (T::ONE + (-l).exp());
        -(t * p.ln() + (T::ONE - t) * (T::ONE - p).ln())
    }
    for l in [0.0, 5.0, 20.0, 40.0, -20.0, -100.0, 1e4, -1e4] {
        let one = |v: f64| Tensor::from_vec(&[1], vec![v]).unwrap();
        println!(
            "   {l:>8} {:>14.6e} {:>14.6e} {:>14.6e} {:>14.6e}",
            naive(l as f32, 1.0),
            bce_with_logits(&one(l).cast::<f32>(), 1.0),
            naive(l, 1.0),
            bce_with_logits(&one(l), 1.0)
        );
    }
    let logits = Tensor::from_vec(&[2], vec![1e4f32, -1e4]).unwrap();
    let grad = bce_with_logits_backward(&logits, 0.0);
    println!(
        "   gradient of the mean at l = (1e4, -1e4), target 0: {:?} (sigmoid = {}, {})",
        grad.as_slice(),
        sigmoid(1e4f32),
        sigmoid(-1e4f32)
    );
}

/// The worst relative error of a gradient check of every input and parameter of `layer`,
/// for L = <r, layer(x)>.
fn check_layer(layer: &mut dyn Layer<f64>, x: &Tensor<f64>) -> f64 {
    let y = layer.forward(x);
    let r = scatter(y.shape(), 7.0);
    layer.zero_grad();
    let mut grads = vec![layer.backward(&r)];
    let mut names = vec!["input"];
    let mut values = vec![x.clone()];
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
    grad_check(&names, &mut values, &grads, loss, &CheckOptions::default()).worst_rel_error()
}

fn gradient_checks() {
    println!(
        "\n3. gradient checks (f64, h = 1e-5): worst relative error over input and parameters"
    );
    // Inputs kept at least 0.1 from 0, where ReLU and LeakyReLU have their kink.
    let x = scatter(&[4, 3, 4, 4], 3.0).map(|v| if v >= 0.0 { v + 0.1 } else { v - 0.1 });
    let mut linear = Linear::new(48, 5);
    linear.weight = scatter(&[5, 48], 1.0).map(|v| 0.2 * v);
    linear.bias = scatter(&[5], 2.0);
    let mut bn2 = BatchNorm::new_2d(3);
    bn2.weight = scatter(&[3], 4.0);
    bn2.bias = scatter(&[3], 5.0);
    let mut bn1 = BatchNorm::new_1d(6);
    bn1.weight = scatter(&[6], 6.0);
    let flat = x.clone().reshape(&[8, 6, 4]).unwrap();
    type Case<'a> = (Box<dyn Layer<f64>>, &'a Tensor<f64>);
    let cases: Vec<Case> = vec![
        (Box::new(linear), &x),
        (Box::new(ReLU::new()), &x),
        (Box::new(LeakyReLU::new(0.2)), &x),
        (Box::new(Tanh::new()), &x),
        (Box::new(Sigmoid::new()), &x),
        (Box::new(bn2), &x),
        (Box::new(bn1), &flat),
    ];
    for (mut layer, input) in cases {
        let worst = check_layer(layer.as_mut(), input);
        println!(
            "   {:<28} {:<16} {worst:.2e}",
            layer.describe(),
            format!("{:?}", input.shape())
        );
    }
    let logits = scatter(&[4, 1, 3, 3], 8.0).map(|v| 3.0 * v);
    let targets = scatter(&[4, 1, 3, 3], 9.0).map(|v| (v + 2.0) / 4.0);
    let mut values = vec![logits.clone()];
    let grad = bce_with_logits_backward(&logits, &targets);
    let report = grad_check(
        &["logits"],
        &mut values,
        &[grad],
        |p| bce_with_logits(&p[0], &targets),
        &CheckOptions::default(),
    );
    println!(
        "   {:<28} {:<16} {:.2e}",
        "bce_with_logits (mean)",
        "[4, 1, 3, 3]",
        report.worst_rel_error()
    );
}

fn main() {
    batch_norm_demo();
    bce_demo();
    gradient_checks();
}
