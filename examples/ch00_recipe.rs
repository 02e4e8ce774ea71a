//! Chapter 0: the lecture's "Recipe for Machine Learning", end to end, on the smallest problem
//! that has all four steps: logistic regression on two Gaussian classes in the plane.
//!
//! ```text
//!   1.    data:              x in R^2, y in {0, 1}, 200 points of each class
//!   2(a). decision function: h(x) = 1 if sigmoid(w . x + b) > 1/2, else 0
//!   2(b). objective:         J(w, b) = mean binary cross-entropy
//!   3.    learn:             minibatch SGD on J, its gradient written by hand and checked
//!   4.    predict:           accuracy of h on fresh test points
//! ```
//!
//! cargo run --release --example ch00_recipe

use gan::check::{grad_check, CheckOptions};
use gan::{Real, Tensor};

/// A tiny generator for this example alone (chapter 1 builds the real one): SplitMix64 for
/// uniform numbers, Box-Muller for Gaussian ones.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64 // in [0, 1)
    }
    fn gaussian(&mut self) -> f64 {
        let (u1, u2) = (1.0 - self.uniform(), self.uniform()); // 1 - u is in (0, 1]: no ln 0
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// Step 1, the data: class 0 around (-1, -0.5), class 1 around (1, 0.75), both N(mean, I).
/// x: [2 * per_class, 2], y: labels.
fn two_gaussians(rng: &mut Rng, per_class: usize) -> (Tensor<f64>, Vec<f64>) {
    let means = [[-1.0, -0.5], [1.0, 0.75]];
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in 0..2 * per_class {
        let class = i % 2;
        x.push(means[class][0] + rng.gaussian());
        x.push(means[class][1] + rng.gaussian());
        y.push(class as f64);
    }
    (Tensor::from_vec(&[2 * per_class, 2], x).unwrap(), y)
}

/// The logit s = w . x + b of one example, in any precision.
fn logit<T: Real>(w: &[T], b: T, x: &[T]) -> T {
    w[0] * x[0] + w[1] * x[1] + b
}

/// Step 2(b), the objective: J = (1/N) sum_i [max(s, 0) - y s + ln(1 + e^-|s|)], the mean
/// binary cross-entropy of p(y = 1 | x) = sigmoid(s), written so that no e^s overflows.
fn objective<T: Real>(w: &[T], b: T, x: &Tensor<T>, y: &[T]) -> T {
    let mut total = T::ZERO;
    for (i, &yi) in y.iter().enumerate() {
        let s = logit(w, b, x.row(i));
        total += (s.max(T::ZERO) - yi * s) + (-s.abs()).exp().ln_1p();
    }
    total / T::from_usize(y.len())
}

fn sigmoid(s: f64) -> f64 {
    1.0 / (1.0 + (-s).exp())
}

/// The gradient of J, by hand: dJ/ds_i = (sigmoid(s_i) - y_i) / N, and s_i = w . x_i + b, so
/// dJ/dw = (1/N) sum_i (sigmoid(s_i) - y_i) x_i and dJ/db = (1/N) sum_i (sigmoid(s_i) - y_i).
fn gradient(w: &[f64], b: f64, x: &Tensor<f64>, y: &[f64]) -> ([f64; 2], f64) {
    let (mut grad_w, mut grad_b) = ([0.0; 2], 0.0);
    for (i, &yi) in y.iter().enumerate() {
        let r = sigmoid(logit(w, b, x.row(i))) - yi;
        grad_w[0] += r * x.at(i, 0);
        grad_w[1] += r * x.at(i, 1);
        grad_b += r;
    }
    let n = y.len() as f64;
    ([grad_w[0] / n, grad_w[1] / n], grad_b / n)
}

/// Step 2(a), the decision function, and its accuracy on (x, y).
fn accuracy(w: &[f64], b: f64, x: &Tensor<f64>, y: &[f64]) -> f64 {
    let h = |xi: &[f64]| (sigmoid(logit(w, b, xi)) > 0.5) as u8 as f64;
    let right = (0..y.len()).filter(|&i| h(x.row(i)) == y[i]).count();
    right as f64 / y.len() as f64
}

/// The rows `idx` of x and y: one minibatch.
fn minibatch(x: &Tensor<f64>, y: &[f64], idx: &[usize]) -> (Tensor<f64>, Vec<f64>) {
    let rows: Vec<f64> = idx.iter().flat_map(|&i| x.row(i).to_vec()).collect();
    let labels = idx.iter().map(|&i| y[i]).collect();
    (Tensor::from_vec(&[idx.len(), 2], rows).unwrap(), labels)
}

fn main() {
    let mut rng = Rng(2024);
    let (x, y) = two_gaussians(&mut rng, 200);
    let (x_test, y_test) = two_gaussians(&mut rng, 500);
    println!(
        "1. data: {} training and {} test points in R^2, two classes",
        y.len(),
        y_test.len()
    );

    // Before learning anything, check the hand-written gradient against central differences.
    let (w, b) = ([0.3, -0.7], 0.2);
    let (grad_w, grad_b) = gradient(&w, b, &x, &y);
    let mut values = vec![
        Tensor::from_vec(&[2], w.to_vec()).unwrap(),
        Tensor::from_vec(&[1], vec![b]).unwrap(),
    ];
    let analytic = [
        Tensor::from_vec(&[2], grad_w.to_vec()).unwrap(),
        Tensor::from_vec(&[1], vec![grad_b]).unwrap(),
    ];
    let report = grad_check(
        &["weight", "bias"],
        &mut values,
        &analytic,
        |p| objective(p[0].as_slice(), p[1][0], &x, &y),
        &CheckOptions::default(),
    );
    println!("\n2. the gradient of J, by hand, against central differences (f64, h = 1e-5):");
    print!("{report}");
    report.assert_below(1e-6);

    // Why f64 and why h = 1e-5: the error of (J(w + h) - J(w - h)) / 2h for dJ/dw_0.
    println!("\n   error of the central difference for dJ/dw0, by step h and precision:");
    println!("   {:>8} {:>12} {:>12}", "h", "f64", "f32");
    let (x32, y32): (Tensor<f32>, Vec<f32>) = (x.cast(), y.iter().map(|&v| v as f32).collect());
    for k in 1..=9 {
        let h = 10f64.powi(-k);
        let diff64 = (objective(&[w[0] + h, w[1]], b, &x, &y)
            - objective(&[w[0] - h, w[1]], b, &x, &y))
            / (2.0 * h);
        let (w32, b32, h32) = ([w[0] as f32, w[1] as f32], b as f32, h as f32);
        let diff32 = (objective(&[w32[0] + h32, w32[1]], b32, &x32, &y32)
            - objective(&[w32[0] - h32, w32[1]], b32, &x32, &y32))
            / (2.0 * h32);
        let rel = |d: f64| (d - grad_w[0]).abs() / grad_w[0].abs();
        println!(
            "   {h:>8.0e} {:>12.2e} {:>12.2e}",
            rel(diff64),
            rel(diff32 as f64)
        );
    }

    // Step 3: learn by minibatch SGD, theta <- theta - lr * grad J_batch(theta).
    let (mut w, mut b) = ([0.0, 0.0], 0.0);
    let (lr, batch, epochs) = (0.5, 20, 30);
    let mut order: Vec<usize> = (0..y.len()).collect();
    println!("\n3. learn: minibatch SGD, learning rate {lr}, batch {batch}");
    println!("   {:>5} {:>10} {:>10}", "epoch", "J(train)", "accuracy");
    for epoch in 0..=epochs {
        if epoch < 4 || epoch % 10 == 0 {
            let (loss, acc) = (objective(&w, b, &x, &y), accuracy(&w, b, &x, &y));
            println!("   {epoch:>5} {loss:>10.4} {:>9.1}%", 100.0 * acc);
        }
        // A fresh random order each epoch (Fisher-Yates), then one step per minibatch.
        for i in (1..order.len()).rev() {
            let j = (rng.uniform() * (i + 1) as f64) as usize;
            order.swap(i, j);
        }
        for idx in order.chunks(batch) {
            let (xb, yb) = minibatch(&x, &y, idx);
            let (gw, gb) = gradient(&w, b, &xb, &yb);
            w = [w[0] - lr * gw[0], w[1] - lr * gw[1]];
            b -= lr * gb;
        }
    }

    // Step 4: predict on points never seen in training.
    println!(
        "\n4. predict: h(x) = [sigmoid({:.3} x1 {:+.3} x2 {:+.3}) > 1/2] is right on {:.1}% of {} test points",
        w[0],
        w[1],
        b,
        100.0 * accuracy(&w, b, &x_test, &y_test),
        y_test.len()
    );
}
