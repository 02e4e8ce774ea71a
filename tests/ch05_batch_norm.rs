//! Chapter 5, "Building blocks": BatchNorm. Proves, on a case worked out by hand, that training
//! mode normalises with the batch's biased variance and updates the running estimates with the
//! unbiased one (momentum 0.1, eps 1e-5, as PyTorch); that evaluation mode uses the running
//! estimates and treats each sample on its own; that [N, C] input (BatchNorm1d) is [N, C, 1, 1]
//! input (BatchNorm2d); and that the backward pass agrees with central differences for the input,
//! gamma and beta at several shapes, batch 1 included (relative error below 1e-6), and that the
//! input gradient of each channel sums to zero.

use gan::check::{grad_check, CheckOptions, GradCheckReport};
use gan::layers::batch_norm::BatchNorm;
use gan::layers::Layer;
use gan::Tensor;

fn wave(shape: &[usize], seed: f64, scale: f64) -> Tensor<f64> {
    Tensor::from_fn(shape, |i| scale * (0.7548776662 * i as f64 + seed).sin())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + b.abs())
}

/// The hand-worked batch [N = 2, C = 2, H = 1, W = 2]:
/// channel 0 holds {1, 2, 3, 4}, channel 1 holds {-1, 3, -1, 3}.
fn hand_batch() -> Tensor<f64> {
    Tensor::from_vec(
        &[2, 2, 1, 2],
        vec![1.0, 2.0, -1.0, 3.0, 3.0, 4.0, -1.0, 3.0],
    )
    .unwrap()
}

fn hand_layer() -> BatchNorm<f64> {
    let mut bn = BatchNorm::new_2d(2);
    bn.weight = Tensor::from_vec(&[2], vec![2.0, 0.5]).unwrap();
    bn.bias = Tensor::from_vec(&[2], vec![0.1, -1.0]).unwrap();
    bn
}

#[test]
fn training_mode_matches_a_case_worked_by_hand() {
    // Channel 0: mean 2.5, biased variance ((1.5^2 + 0.5^2) * 2) / 4 = 1.25, unbiased 5/3.
    // Channel 1: mean 1, biased variance 4, unbiased 16/3.
    let mut bn = hand_layer();
    let y = bn.forward(&hand_batch());
    let s0 = (1.25f64 + 1e-5).sqrt();
    let s1 = (4.0f64 + 1e-5).sqrt();
    let expected = [
        2.0 * (1.0 - 2.5) / s0 + 0.1,
        2.0 * (2.0 - 2.5) / s0 + 0.1,
        0.5 * (-1.0 - 1.0) / s1 - 1.0,
        0.5 * (3.0 - 1.0) / s1 - 1.0,
        2.0 * (3.0 - 2.5) / s0 + 0.1,
        2.0 * (4.0 - 2.5) / s0 + 0.1,
        0.5 * (-1.0 - 1.0) / s1 - 1.0,
        0.5 * (3.0 - 1.0) / s1 - 1.0,
    ];
    for (k, (&got, &want)) in y.as_slice().iter().zip(&expected).enumerate() {
        assert!(close(got, want), "y[{k}] = {got}, expected {want}");
    }
    // Running estimates start at mean 0, variance 1; momentum 0.1; the variance enters unbiased.
    let rm = [0.1 * 2.5, 0.1 * 1.0];
    let rv = [0.9 + 0.1 * 5.0 / 3.0, 0.9 + 0.1 * 16.0 / 3.0];
    for c in 0..2 {
        assert!(
            close(bn.running_mean[c], rm[c]),
            "running_mean {:?}",
            bn.running_mean
        );
        assert!(
            close(bn.running_var[c], rv[c]),
            "running_var {:?}",
            bn.running_var
        );
    }
    // A second step moves them again: r <- 0.9 r + 0.1 (batch value).
    bn.forward(&hand_batch());
    assert!(close(bn.running_mean[0], 0.9 * 0.25 + 0.25));
    assert!(close(bn.running_var[1], 0.9 * rv[1] + 0.1 * 16.0 / 3.0));
    assert_eq!(bn.num_batches_tracked[0], 2.0);
}

#[test]
fn evaluation_mode_uses_the_running_estimates_one_sample_at_a_time() {
    let mut bn = hand_layer();
    bn.running_mean = Tensor::from_vec(&[2], vec![0.5, -2.0]).unwrap();
    bn.running_var = Tensor::from_vec(&[2], vec![4.0, 0.25]).unwrap();
    bn.set_training(false);
    let x = hand_batch();
    let y = bn.forward(&x);
    for k in 0..8 {
        let c = (k / 2) % 2;
        let (mean, var) = ([0.5, -2.0][c], [4.0, 0.25][c]);
        let (gamma, beta) = ([2.0, 0.5][c], [0.1, -1.0][c]);
        let want = gamma * (x[k] - mean) / (var + 1e-5f64).sqrt() + beta;
        assert!(close(y[k], want), "y[{k}] = {}, expected {want}", y[k]);
    }
    // The first sample alone gives the same numbers: no statistic of the batch is used.
    let first = Tensor::from_vec(&[1, 2, 1, 2], x.as_slice()[..4].to_vec()).unwrap();
    assert_eq!(bn.forward(&first).as_slice(), &y.as_slice()[..4]);
    assert_eq!(
        bn.running_mean.as_slice(),
        &[0.5, -2.0],
        "eval leaves the estimates alone"
    );
    assert_eq!(bn.num_batches_tracked[0], 0.0);
}

#[test]
fn training_output_has_zero_mean_and_unit_variance_per_channel() {
    let x = wave(&[8, 3, 4, 4], 0.2, 3.0).map(|v| 5.0 + v);
    let mut bn = BatchNorm::<f64>::new_2d(3);
    let y = bn.forward(&x);
    for c in 0..3 {
        let vals: Vec<f64> = (0..8)
            .flat_map(|n| y.row(n)[c * 16..(c + 1) * 16].to_vec())
            .collect();
        let mean = vals.iter().sum::<f64>() / vals.len() as f64;
        let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / vals.len() as f64;
        assert!(mean.abs() < 1e-12, "channel {c}: mean {mean}");
        assert!(
            (var - 1.0).abs() < 1e-4,
            "channel {c}: variance {var} (1 up to eps)"
        );
    }
}

#[test]
fn batch_norm_1d_on_n_by_c_equals_batch_norm_2d_on_1x1_images() {
    let x = wave(&[6, 4], 0.9, 2.0);
    let (mut one, mut two) = (BatchNorm::<f64>::new_1d(4), BatchNorm::<f64>::new_2d(4));
    let y1 = one.forward(&x);
    let y2 = two.forward(&x.clone().reshape(&[6, 4, 1, 1]).unwrap());
    assert_eq!(y1.as_slice(), y2.as_slice());
    assert_eq!(one.running_var, two.running_var);
    assert_eq!(one.describe(), "BatchNorm1d(4)");
    assert_eq!(two.describe(), "BatchNorm2d(4)");
}

/// Gradient check of input, weight (gamma) and bias (beta), for L = <r, BN(x)>.
fn check_batch_norm(bn: &mut BatchNorm<f64>, x: &Tensor<f64>) -> GradCheckReport {
    let y = bn.forward(x);
    let r = wave(y.shape(), 2.1, 1.0);
    bn.zero_grad();
    let grad_input = bn.backward(&r);
    let mut values = vec![x.clone(), bn.weight.clone(), bn.bias.clone()];
    let grads = [grad_input, bn.grad_weight.clone(), bn.grad_bias.clone()];
    let loss = |p: &[Tensor<f64>]| {
        bn.weight = p[1].clone();
        bn.bias = p[2].clone();
        bn.forward(&p[0]).dot(&r)
    };
    let names = ["input", "weight", "bias"];
    let report = grad_check(&names, &mut values, &grads, loss, &CheckOptions::default());
    println!("shape {:?}\n{report}", x.shape());
    report
}

#[test]
fn batch_norm_gradients_pass_the_gradient_check() {
    let shapes: [&[usize]; 5] = [
        &[4, 3, 2, 2],
        &[1, 2, 3, 3],
        &[2, 1, 1, 5],
        &[5, 3],
        &[3, 2, 4],
    ];
    let mut worst = 0.0f64;
    for (i, shape) in shapes.into_iter().enumerate() {
        let c = shape[1];
        let mut bn = if shape.len() == 4 {
            BatchNorm::new_2d(c)
        } else {
            BatchNorm::new_1d(c)
        };
        bn.weight = wave(&[c], 0.8 + i as f64, 1.0);
        bn.bias = wave(&[c], 1.9 + i as f64, 1.0);
        let report = check_batch_norm(&mut bn, &wave(shape, 0.3 + i as f64, 1.5));
        report.assert_below(1e-6);
        worst = worst.max(report.worst_rel_error());
    }
    println!("worst relative error over all shapes: {worst:.2e}");
}

#[test]
fn the_input_gradient_of_each_channel_sums_to_zero() {
    // Adding a constant to a channel changes nothing after normalisation, so moving every x of
    // the channel together cannot change L: the gradient's sum over the channel is 0.
    let x = wave(&[3, 2, 2, 3], 0.1, 2.0);
    let mut bn = BatchNorm::<f64>::new_2d(2);
    bn.weight = Tensor::from_vec(&[2], vec![1.5, -0.7]).unwrap();
    bn.forward(&x);
    let grad_input = bn.backward(&wave(&[3, 2, 2, 3], 0.9, 1.0));
    for c in 0..2 {
        let sum: f64 = (0..3)
            .flat_map(|n| grad_input.row(n)[c * 6..(c + 1) * 6].to_vec())
            .sum();
        assert!(sum.abs() < 1e-14, "channel {c}: {sum}");
    }
}

#[test]
fn f32_backward_agrees_with_f64() {
    let x = wave(&[4, 3, 3, 3], 0.4, 2.0);
    let g = wave(&[4, 3, 3, 3], 1.4, 1.0);
    let mut wide = BatchNorm::<f64>::new_2d(3);
    let mut narrow = BatchNorm::<f32>::new_2d(3);
    let y64 = wide.forward(&x);
    let y32 = narrow.forward(&x.cast());
    let gi64 = wide.backward(&g);
    let gi32 = narrow.backward(&g.cast());
    assert!(y32.cast::<f64>().max_abs_diff(&y64) < 1e-5);
    assert!(gi32.cast::<f64>().max_abs_diff(&gi64) < 1e-5);
    assert!(
        narrow
            .running_var
            .cast::<f64>()
            .max_abs_diff(&wide.running_var)
            < 1e-6
    );
}

#[test]
fn buffers_and_parameters_carry_pytorch_names() {
    let mut bn = BatchNorm::<f32>::new_2d(3);
    let params: Vec<_> = bn.params().iter().map(|p| p.name).collect();
    assert_eq!(params, ["weight", "bias"]);
    let buffers: Vec<_> = bn.buffers().iter().map(|(name, _)| *name).collect();
    assert_eq!(
        buffers,
        ["running_mean", "running_var", "num_batches_tracked"]
    );
    assert_eq!(bn.weight.as_slice(), &[1.0; 3]);
    assert_eq!(bn.running_var.as_slice(), &[1.0; 3]);
}

#[test]
#[should_panic(expected = "BatchNorm1d(3): training needs more than one value per channel")]
fn training_on_a_single_value_per_channel_is_refused() {
    BatchNorm::<f64>::new_1d(3).forward(&Tensor::zeros(&[1, 3]));
}

#[test]
#[should_panic(expected = "BatchNorm2d(3): expected input [N, 3, H, W], found [2, 4, 2, 2]")]
fn a_wrong_channel_count_names_both_shapes() {
    BatchNorm::<f64>::new_2d(3).forward(&Tensor::zeros(&[2, 4, 2, 2]));
}

#[test]
fn batch_statistics_keep_their_digits_under_a_large_mean() {
    // Values 1e6 + 1e-3 * wave: the variance is 1e-18 of the squared mean. Summed as
    // sum x^2 - (sum x)^2 / m it would be lost; summed about one of the channel's own values
    // (the shift) it keeps nearly all its digits.
    let shape = [4, 2, 5, 7];
    let x = Tensor::from_fn(&shape, |i| 1e6 + 1e-3 * ((i as f64) * 0.37).sin());
    let mut bn = BatchNorm::<f64>::new_2d(2);
    bn.momentum = 1.0; // the running estimates become this batch's
    bn.forward(&x);
    let (n, s) = (shape[0], shape[2] * shape[3]);
    for c in 0..2 {
        let values: Vec<f64> = (0..n)
            .flat_map(|i| x.as_slice()[(i * 2 + c) * s..(i * 2 + c + 1) * s].to_vec())
            .collect();
        let m = values.len() as f64;
        let mean = values.iter().sum::<f64>() / m;
        let unbiased = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (m - 1.0);
        let (got_mean, got_var) = (bn.running_mean.as_slice()[c], bn.running_var.as_slice()[c]);
        assert!(
            (got_mean - mean).abs() < 1e-9,
            "channel {c}: mean {got_mean} vs {mean}"
        );
        let rel = (got_var - unbiased).abs() / unbiased;
        assert!(
            rel < 1e-6,
            "channel {c}: variance {got_var:e} vs {unbiased:e} ({rel:.1e})"
        );
    }
}
