//! Chapter 3 exercise: dilation (chapters/03-convolution.md, "Exercises").
//!
//! Fill in both functions, then run
//! `cargo test --release --features exercises --test ch03_conv -- exercise_`.
// The parameters are unused until you write the bodies.
#![allow(unused_variables)]

use crate::scalar::Real;
use crate::tensor::Tensor;

/// y[n, co, oh, ow] = bias[co] + sum weight[co, ci, a, b] * x[n, ci, oh S_h - P_h + a D_h, ow S_w - P_w + b D_w]
/// x: [N, C_in, H, W], weight: [C_out, C_in, kH, kW] -> y: [N, C_out, H', W'],
/// H' = (H + 2 P_h - D_h (kH - 1) - 1) / S_h + 1.
pub fn conv2d_dilated_forward<T: Real>(
    x: &Tensor<T>,
    weight: &Tensor<T>,
    bias: Option<&Tensor<T>>,
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
) -> Tensor<T> {
    todo!(
        "dilated convolution: a kH x kW kernel with dilation D covers (kH - 1) D + 1 rows. Either \
         write the seven loops of conv2d_reference with a * D in place of a, or build that larger \
         kernel with zeros between the taps and call crate::layers::conv::conv2d_forward"
    )
}

/// dL/dx of [`conv2d_dilated_forward`]: grad_output [N, C_out, H', W'] -> [N, C_in, H, W].
pub fn conv2d_dilated_backward_input<T: Real>(
    grad_output: &Tensor<T>,
    weight: &Tensor<T>,
    input_hw: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
) -> Tensor<T> {
    todo!(
        "the input gradient of a dilated convolution: every output position hands \
         grad_output * weight back to the pixels it read, at (oh S - P + a D, ow S - P + b D). \
         Scatter in loops, or reuse crate::layers::conv::conv2d_backward_input with the \
         spread-out kernel of the forward pass"
    )
}
