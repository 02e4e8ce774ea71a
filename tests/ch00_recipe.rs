//! Chapter 0, "The recipe". Proves that the gradient checker (`gan::check`) can be trusted: a
//! right gradient passes, a wrong one fails with a report naming the tensor and the index, every
//! value is restored bit for bit, large tensors are sampled evenly, the relative error has a
//! floor, and central differences are second order. Then the chapter's exercise: the gradient of
//! logistic regression (`exercise_*`, run with
//! `cargo test --release --features exercises --test ch00_recipe -- exercise_`).

use gan::check::{grad_check, CheckOptions, GradCheckReport};
use gan::exercises::ch00_recipe::logistic_regression_grad;
use gan::Tensor;
use std::panic::catch_unwind;

/// Deterministic, irregular test values in [-scale, scale].
fn wave(shape: &[usize], seed: f64, scale: f64) -> Tensor<f64> {
    Tensor::from_fn(shape, |i| scale * (0.7548776662 * i as f64 + seed).sin())
}

/// L(w, v) = sum_i e^{w_i} v_i + (sum_i v_i)^2 / 2, and its gradient.
fn two_tensor_loss(p: &[Tensor<f64>]) -> f64 {
    let (w, v) = (p[0].as_slice(), p[1].as_slice());
    let total: f64 = v.iter().sum();
    w.iter().zip(v).map(|(a, b)| a.exp() * b).sum::<f64>() + total * total / 2.0
}

fn two_tensor_grad(p: &[Tensor<f64>]) -> Vec<Tensor<f64>> {
    let total: f64 = p[1].as_slice().iter().sum();
    vec![
        p[0].zip_map(&p[1], |a, b| a.exp() * b),
        p[0].map(|a| a.exp() + total),
    ]
}

/// The message of a panic, whatever its payload type.
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p
            .downcast::<&str>()
            .map(|s| s.to_string())
            .unwrap_or_default(),
    }
}

#[test]
fn a_right_gradient_passes() {
    let mut p = vec![wave(&[2, 3], 0.1, 1.0), wave(&[2, 3], 1.3, 2.0)];
    let grads = two_tensor_grad(&p);
    let report = grad_check(
        &["w", "v"],
        &mut p,
        &grads,
        two_tensor_loss,
        &Default::default(),
    );
    println!("{report}");
    assert_eq!(report.tensors.len(), 2);
    assert_eq!(report.tensors[0].coords_checked, 6);
    report.assert_below(1e-8);
}

#[test]
fn a_wrong_gradient_fails_with_a_report_naming_the_tensor_and_the_index() {
    let mut p = vec![wave(&[2, 3], 0.1, 1.0), wave(&[2, 3], 1.3, 2.0)];
    let mut grads = two_tensor_grad(&p);
    grads[1][3] += 0.1; // one wrong coordinate: v[3]
    let report = grad_check(
        &["w", "v"],
        &mut p,
        &grads,
        two_tensor_loss,
        &Default::default(),
    );
    println!("{report}");
    let worst = report.worst();
    assert_eq!(worst.name, "v");
    assert_eq!(worst.worst_index, 3);
    assert!(report.tensors[0].rel_error < 1e-8, "w is still right");
    assert!(worst.rel_error > 1e-2, "{report}");
    assert!((worst.analytic - worst.numeric - 0.1).abs() < 1e-6);

    let message = panic_message(catch_unwind(|| report.assert_below(1e-6)).unwrap_err());
    assert!(message.contains("gradient check failed"), "{message}");
    let row = message
        .lines()
        .find(|l| l.starts_with("v "))
        .expect("a row for v");
    assert!(row.contains("[2, 3]") && row.contains(" 3 "), "{row}");
}

#[test]
fn values_are_restored_bit_for_bit_and_moved_one_coordinate_at_a_time() {
    let original = vec![
        Tensor::from_vec(&[5], vec![0.1, -1e-300, 3.7e12, -0.0, 1.0 / 3.0]).unwrap(),
        Tensor::from_vec(&[2], vec![std::f64::consts::PI, -2.5]).unwrap(),
    ];
    let mut p = original.clone();
    let grads = vec![Tensor::zeros(&[5]), Tensor::zeros(&[2])];
    let mut calls = 0;
    let loss = |q: &[Tensor<f64>]| {
        calls += 1;
        let moved: usize = (0..2)
            .map(|t| {
                let (a, b) = (q[t].as_slice(), original[t].as_slice());
                a.iter()
                    .zip(b)
                    .filter(|(x, y)| x.to_bits() != y.to_bits())
                    .count()
            })
            .sum();
        assert!(moved <= 1, "the checker moved {moved} coordinates at once");
        0.0
    };
    grad_check(&["a", "b"], &mut p, &grads, loss, &Default::default());
    assert_eq!(calls, 2 * 7, "two evaluations per coordinate");
    for t in 0..2 {
        for (x, y) in p[t].as_slice().iter().zip(original[t].as_slice()) {
            assert_eq!(x.to_bits(), y.to_bits(), "{x} was not restored to {y}");
        }
    }
}

#[test]
fn large_tensors_are_sampled_at_random_with_a_seed() {
    let len = 10_000;
    let samples = 16;
    let original = wave(&[100, 100], 0.3, 1.0);
    let grads = vec![original.map(|v| 2.0 * v)];
    // Which coordinates a check with `seed` perturbs, and its report.
    let run = |seed: u64| {
        let mut p = vec![original.clone()];
        let mut touched = Vec::new();
        let loss = |q: &[Tensor<f64>]| {
            if let Some(i) = (0..len).find(|&i| q[0][i] != original[i]) {
                touched.push(i);
            }
            q[0].as_slice().iter().map(|v| v * v).sum()
        };
        let options = CheckOptions {
            max_coords_per_tensor: samples,
            seed,
            ..Default::default()
        };
        let report = grad_check(&["big"], &mut p, &grads, loss, &options);
        touched.dedup();
        (touched, report)
    };
    let (touched, report) = run(1);
    println!("{report}");
    assert_eq!(report.tensors[0].coords_checked, samples);
    assert_eq!(
        touched.len(),
        samples,
        "each sampled coordinate once: {touched:?}"
    );
    assert!(
        touched.windows(2).all(|w| w[0] < w[1]),
        "distinct, in order: {touched:?}"
    );
    assert_eq!(
        run(1).0,
        touched,
        "the same seed checks the same coordinates"
    );
    assert_ne!(run(2).0, touched, "another seed checks others");
    // L is about 5000 here, so rounding alone costs about 1e-16 * 5000 / h = 5e-8 in each
    // numeric derivative: the floor below which no check of this loss can go.
    report.assert_below(1e-6);
}

#[test]
fn a_coordinate_far_smaller_than_its_tensor_is_judged_on_the_tensor_scale() {
    // L = 1000 x0^2 + 1e-12 x1. The 1e-12 x1 is below L's last digit (L is about 9000), so the
    // numeric derivative of x1 is 0: its own relative error would be 100%, but on the scale of
    // the tensor's gradient (6000) it is 1e-12 / (1e-4 * 6000), which is negligible.
    let mut p = vec![Tensor::from_vec(&[2], vec![3.0, 0.5]).unwrap()];
    let grads = vec![Tensor::from_vec(&[2], vec![6000.0, 1e-12]).unwrap()];
    let loss = |q: &[Tensor<f64>]| 1000.0 * q[0][0] * q[0][0] + 1e-12 * q[0][1];
    let report = grad_check(&["x"], &mut p, &grads, loss, &Default::default());
    println!("{report}");
    report.assert_below(1e-8);
}

#[test]
fn central_differences_are_second_order() {
    // For L = e^x at x = 1 the central difference errs by about h^2/6 relative: ten times
    // smaller h, a hundred times smaller error.
    let error_at = |h: f64| -> f64 {
        let mut p = vec![Tensor::from_vec(&[1], vec![1.0]).unwrap()];
        let grads = vec![Tensor::from_vec(&[1], vec![1f64.exp()]).unwrap()];
        let options = CheckOptions {
            step: h,
            ..Default::default()
        };
        grad_check(&["x"], &mut p, &grads, |q| q[0][0].exp(), &options).worst_rel_error()
    };
    let (coarse, fine) = (error_at(1e-2), error_at(1e-3));
    println!("h = 1e-2: {coarse:.3e}   h = 1e-3: {fine:.3e}");
    assert!((coarse / (1e-4 / 6.0) - 1.0).abs() < 0.01, "{coarse}");
    assert!((coarse / fine - 100.0).abs() < 1.0, "{coarse} / {fine}");
}

// ---- the exercise: logistic regression -------------------------------------------------------

/// A small data set: x [N, 3] (two features and a constant 1), labels y in {0, 1}.
fn data() -> (Tensor<f64>, Vec<f64>) {
    let n = 12;
    let features = wave(&[n, 2], 0.4, 2.0);
    let x = Tensor::from_fn(&[n, 3], |k| {
        let (i, j) = (k / 3, k % 3);
        if j == 2 {
            1.0
        } else {
            features.at(i, j)
        }
    });
    let y = (0..n).map(|i| ((i * 7) % 3 == 0) as u8 as f64).collect();
    (x, y)
}

/// J(theta) straight from its definition: -(1/N) sum [y ln p + (1 - y) ln(1 - p)].
fn objective_by_definition(theta: &Tensor<f64>, x: &Tensor<f64>, y: &[f64]) -> f64 {
    let n = y.len();
    let total: f64 = (0..n)
        .map(|i| {
            let s: f64 = theta
                .as_slice()
                .iter()
                .zip(x.row(i))
                .map(|(t, v)| t * v)
                .sum();
            let p = 1.0 / (1.0 + (-s).exp());
            y[i] * p.ln() + (1.0 - y[i]) * (1.0 - p).ln()
        })
        .sum();
    -total / n as f64
}

#[test]
fn exercise_logistic_regression_loss_is_the_mean_cross_entropy() {
    let (x, y) = data();
    let theta = Tensor::from_vec(&[3], vec![0.8, -1.1, 0.3]).unwrap();
    let (loss, _) = logistic_regression_grad(&theta, &x, &y);
    let expected = objective_by_definition(&theta, &x, &y);
    assert!(
        (loss - expected).abs() < 1e-12,
        "J(theta) = {loss}, but the mean binary cross-entropy is {expected}: \
         J = (1/N) sum [softplus(s_i) - y_i s_i] with s_i = theta . x_i"
    );
}

#[test]
fn exercise_logistic_regression_gradient_passes_the_gradient_check() {
    let (x, y) = data();
    let theta = Tensor::from_vec(&[3], vec![0.8, -1.1, 0.3]).unwrap();
    let (_, grad) = logistic_regression_grad(&theta, &x, &y);
    let mut p = vec![theta];
    let report: GradCheckReport = grad_check(
        &["theta"],
        &mut p,
        &[grad],
        |q| objective_by_definition(&q[0], &x, &y),
        &Default::default(),
    );
    println!("{report}");
    let worst = report.worst_rel_error();
    assert!(
        worst < 1e-7,
        "the gradient disagrees with central differences (worst relative error {worst:.2e}):\n\
         {report}\ngrad J = (1/N) sum_i (sigmoid(s_i) - y_i) x_i; did you divide by N?"
    );
}

#[test]
fn exercise_logistic_regression_is_finite_for_huge_scores() {
    // s = +-1000: sigmoid(s) rounds to exactly 1 or 0, so ln(1 - p) or ln(p) is ln 0 = -inf in
    // the textbook formula. The loss of a confident mistake is |s| and of a confident hit is 0.
    let x = Tensor::from_vec(&[2, 1], vec![1.0, -1.0]).unwrap();
    let theta = Tensor::from_vec(&[1], vec![1000.0]).unwrap();
    let (loss, grad) = logistic_regression_grad(&theta, &x, &[0.0, 1.0]);
    assert!(
        loss == 1000.0 && grad.all_finite(),
        "two confident mistakes of score 1000 must cost exactly 1000 each, found J = {loss}, \
         grad = {grad:?}: write softplus(s) as max(s, 0) + ln(1 + e^-|s|)"
    );
    assert_eq!(grad.as_slice(), &[1.0], "(1/2) [(1 - 0) 1 + (0 - 1) (-1)]");
}
