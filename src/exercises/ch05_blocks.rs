//! Chapter 5 exercises.
//!
//! Run `cargo test --release --features exercises --test ch05_blocks -- exercise_` until both
//! pass. The worked solutions are in `solutions/ch05_blocks.rs` (read them afterwards).

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
    let _ = (grad_output, x_hat, gamma, std);
    todo!(
        "per channel c, over its m = N*H*W values: grad_beta = sum g, grad_gamma = sum g x_hat, \
         grad_input = gamma / (m std) * (m g - sum g - x_hat * sum g x_hat). Channel c of sample n \
         starts at (n * C + c) * H * W (chapters/05-building-blocks.md, 'BatchNorm backward')"
    )
}

/// Exercise 5.2: find the bug. This is meant to be the gradient of
/// `bce_with_logits(logits, targets)`, the MEAN loss over all logits, with respect to each
/// logit. The gradient check says it is wrong. Why, and by how much? Fix it.
pub fn bce_with_logits_grad<T: Real>(logits: &Tensor<T>, targets: &Tensor<T>) -> Tensor<T> {
    logits.zip_map(targets, |l, t| sigmoid(l) - t)
}
