//! Chapter 5 exercises, worked solutions.

use crate::layers::activation::sigmoid;
use crate::scalar::Real;
use crate::tensor::Tensor;

/// Exercise 5.1: BatchNorm's backward pass, derived yourself.
///
/// - `grad_output`: [N, C, H, W] (or [N, C]), dL/dy.
/// - `x_hat`: the same shape, the normalised input (x - mean_c) / std_c saved by forward.
/// - `gamma`: [C], the scale ("weight"). `std`: [C], std_c = sqrt(var_c + eps).
///
/// Returns (grad_input, grad_gamma, grad_beta) with shapes (x's, [C], [C]).
pub fn batch_norm_backward<T: Real>(
    grad_output: &Tensor<T>,
    x_hat: &Tensor<T>,
    gamma: &Tensor<T>,
    std: &Tensor<T>,
) -> (Tensor<T>, Tensor<T>, Tensor<T>) {
    let shape = grad_output.shape();
    x_hat.assert_shape("batch_norm_backward x_hat", shape);
    let (n, c) = (shape[0], shape[1]);
    let s: usize = shape[2..].iter().product();
    let m = T::from_usize(n * s);
    let (g, xh) = (grad_output.as_slice(), x_hat.as_slice());
    let mut grad_input = Tensor::zeros(shape);
    let mut grad_gamma = Tensor::zeros(&[c]);
    let mut grad_beta = Tensor::zeros(&[c]);
    for ch in 0..c {
        // The indices of channel ch: one run of s values per sample.
        let indices = || (0..n).flat_map(move |i| (i * c + ch) * s..(i * c + ch + 1) * s);
        let sum_g: T = indices().map(|k| g[k]).sum();
        let sum_g_xhat: T = indices().map(|k| g[k] * xh[k]).sum();
        grad_beta[ch] = sum_g;
        grad_gamma[ch] = sum_g_xhat;
        let scale = gamma[ch] / (m * std[ch]);
        for k in indices() {
            grad_input[k] = scale * (m * g[k] - sum_g - xh[k] * sum_g_xhat);
        }
    }
    (grad_input, grad_gamma, grad_beta)
}

/// Exercise 5.2: find the bug. This is meant to be the gradient of
/// `bce_with_logits(logits, targets)`, the MEAN loss over all logits, with respect to each
/// logit. The gradient check says it is wrong. Why, and by how much? Fix it.
///
/// The bug was the missing 1/count: the mean's gradient is (sigmoid(l) - t) / count, and the
/// uncorrected version is exactly `count` times too large.
pub fn bce_with_logits_grad<T: Real>(logits: &Tensor<T>, targets: &Tensor<T>) -> Tensor<T> {
    let count = T::from_usize(logits.len().max(1));
    logits.zip_map(targets, |l, t| (sigmoid(l) - t) / count)
}
