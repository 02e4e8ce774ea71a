//! Chapter 5, "Building blocks": binary cross-entropy on logits. Proves the loss against closed
//! forms (ln 2 at logit 0, the exact linear asymptotes for large logits), against the textbook
//! formula where that is safe, finite and exact at |logit| = 1e4 in f32 and f64, a mean over
//! every element (a PatchGAN map of logits included), with per-element or constant targets; and
//! its gradient against central differences and at extreme logits.

use gan::check::{grad_check, CheckOptions};
use gan::layers::activation::sigmoid;
use gan::layers::loss::{bce_with_logits, bce_with_logits_backward, log_sigmoid, softplus};
use gan::Tensor;
use std::f64::consts::LN_2;

fn wave(shape: &[usize], seed: f64, scale: f64) -> Tensor<f64> {
    Tensor::from_fn(shape, |i| scale * (0.7548776662 * i as f64 + seed).sin())
}

fn one<T: gan::Real>(v: T) -> Tensor<T> {
    Tensor::from_vec(&[1], vec![v]).unwrap()
}

#[test]
fn at_logit_zero_the_loss_is_ln_2_whatever_the_target() {
    for t in [0.0, 0.3, 1.0] {
        assert!((bce_with_logits(&one(0.0), t) - LN_2).abs() < 1e-16);
    }
    assert!((bce_with_logits(&one(0.0f32), 1.0) - LN_2 as f32).abs() < 1e-7);
}

#[test]
fn large_logits_follow_the_linear_asymptotes_exactly() {
    // loss(l, t=1) = softplus(-l) -> max(-l, 0);  loss(l, t=0) = softplus(l) -> max(l, 0)
    for l in [40.0f64, 100.0, 1e3, 1e4] {
        assert_eq!(
            bce_with_logits(&one(l), 0.0),
            l,
            "a confident mistake costs l"
        );
        assert_eq!(bce_with_logits(&one(-l), 1.0), l);
        assert_eq!(bce_with_logits(&one(-l), 0.0), (-l).exp(), "e^-l, not 0");
        let l32 = l as f32;
        assert_eq!(bce_with_logits(&one(l32), 0.0), l32);
        assert_eq!(bce_with_logits(&one(-l32), 1.0), l32);
    }
    // A confident hit costs ln(1 + e^-l), which for l = 40 is about 4.25e-18: tiny but not 0.
    let hit = bce_with_logits(&one(40.0), 1.0);
    assert!((hit / (-40f64).exp() - 1.0).abs() < 1e-15, "{hit}");
    assert_eq!(bce_with_logits(&one(1e4), 1.0), 0.0);
    assert_eq!(bce_with_logits(&one(1e4f32), 1.0), 0.0);
}

#[test]
fn where_it_is_safe_the_loss_equals_the_textbook_formula() {
    let logits = wave(&[4, 5], 0.4, 6.0);
    let targets = wave(&[4, 5], 1.1, 0.5).map(|t| t + 0.5);
    let naive: f64 = logits
        .as_slice()
        .iter()
        .zip(targets.as_slice())
        .map(|(&l, &t)| {
            let p = 1.0 / (1.0 + (-l).exp());
            -(t * p.ln() + (1.0 - t) * (1.0 - p).ln())
        })
        .sum::<f64>()
        / 20.0;
    let stable = bce_with_logits(&logits, &targets);
    assert!((stable - naive).abs() < 1e-13, "{stable} vs {naive}");
}

#[test]
fn the_textbook_formula_fails_in_f32_where_the_stable_one_does_not() {
    // sigmoid(20) rounds to 1 in f32, so ln(1 - p) = -inf and 0 * -inf = NaN.
    let (l, t) = (20.0f32, 1.0f32);
    let p = 1.0 / (1.0 + (-l).exp());
    let naive = -(t * p.ln() + (1.0 - t) * (1.0 - p).ln());
    assert!(naive.is_nan(), "{naive}");
    let stable = bce_with_logits(&one(l), t);
    assert!((stable - (-20f32).exp()).abs() < 1e-12, "{stable}");
}

#[test]
fn the_mean_is_over_every_element_and_constant_targets_agree_with_tensors() {
    // A PatchGAN output: 2 images, one channel, a 3 x 3 grid of logits each.
    let logits = wave(&[2, 1, 3, 3], 0.2, 3.0);
    let flat = logits.clone().reshape(&[18]).unwrap();
    for t in [0.0, 1.0, 0.9] {
        let each: f64 = flat
            .as_slice()
            .iter()
            .map(|&l| bce_with_logits(&one(l), t))
            .sum();
        let whole = bce_with_logits(&logits, t);
        assert!((whole - each / 18.0).abs() < 1e-15, "target {t}");
        let as_tensor = Tensor::full(logits.shape(), t);
        assert_eq!(bce_with_logits(&logits, &as_tensor), whole);
        assert_eq!(
            bce_with_logits_backward(&logits, &as_tensor),
            bce_with_logits_backward(&logits, t)
        );
    }
}

#[test]
fn the_gradient_passes_the_gradient_check() {
    let logits = wave(&[2, 1, 3, 3], 0.2, 4.0);
    let targets = wave(&[2, 1, 3, 3], 1.0, 0.5).map(|t| t + 0.5);
    let mut worst = 0.0f64;
    // With soft per-element targets, then with the constant targets of a GAN (1, 0, 0.9).
    for constant in [None, Some(1.0), Some(0.0), Some(0.9)] {
        let (grad, report) = match constant {
            None => {
                let grad = bce_with_logits_backward(&logits, &targets);
                let mut v = vec![logits.clone()];
                let loss = |p: &[Tensor<f64>]| bce_with_logits(&p[0], &targets);
                (
                    grad.clone(),
                    grad_check(&["logits"], &mut v, &[grad], loss, &Default::default()),
                )
            }
            Some(t) => {
                let grad = bce_with_logits_backward(&logits, t);
                let mut v = vec![logits.clone()];
                let loss = |p: &[Tensor<f64>]| bce_with_logits(&p[0], t);
                (
                    grad.clone(),
                    grad_check(&["logits"], &mut v, &[grad], loss, &Default::default()),
                )
            }
        };
        println!("targets {constant:?}\n{report}");
        assert!(grad.all_finite());
        report.assert_below(1e-7);
        worst = worst.max(report.worst_rel_error());
    }
    println!("worst relative error: {worst:.2e}");
}

#[test]
fn the_gradient_at_extreme_logits_is_finite_and_exact() {
    let logits = Tensor::from_vec(&[4], vec![1e4, -1e4, 1e4, -1e4]).unwrap();
    let targets = Tensor::from_vec(&[4], vec![0.0, 0.0, 1.0, 1.0]).unwrap();
    assert_eq!(
        bce_with_logits_backward(&logits, &targets).as_slice(),
        &[0.25, 0.0, 0.0, -0.25]
    );
    assert_eq!(
        bce_with_logits_backward(&logits.cast::<f32>(), &targets.cast()).as_slice(),
        &[0.25, 0.0, 0.0, -0.25]
    );
    assert_eq!(
        bce_with_logits(&logits, &targets),
        (1e4 + 0.0 + 0.0 + 1e4) / 4.0
    );
    // And the loss's gradient there agrees with central differences, which are exact on a line.
    let mut v = vec![logits.clone()];
    let grad = bce_with_logits_backward(&logits, &targets);
    let options = CheckOptions::default();
    let report = grad_check(
        &["logits"],
        &mut v,
        &[grad],
        |p| bce_with_logits(&p[0], &targets),
        &options,
    );
    report.assert_below(1e-6);
}

#[test]
fn softplus_and_log_sigmoid_are_finite_everywhere() {
    assert_eq!(softplus(1e4), 1e4);
    assert_eq!(softplus(-1e4), 0.0);
    assert_eq!(log_sigmoid(-1e4), -1e4);
    assert_eq!(log_sigmoid(1e4f32), 0.0);
    assert!((softplus(0.0) - LN_2).abs() < 1e-16);
    for x in [-30.0f64, -3.0, -0.1, 0.0, 0.7, 5.0, 30.0] {
        // softplus(x) - softplus(-x) = x, and log_sigmoid is ln of the sigmoid.
        assert!((softplus(x) - softplus(-x) - x).abs() < 1e-14, "{x}");
        assert!((log_sigmoid(x) - sigmoid(x).ln()).abs() < 1e-14, "{x}");
    }
}

#[test]
#[should_panic(expected = "bce_with_logits targets (the logits' shape): expected shape [2, 3]")]
fn targets_of_the_wrong_shape_are_refused() {
    bce_with_logits(&Tensor::<f64>::zeros(&[2, 3]), &Tensor::zeros(&[6]));
}
