//! Chapter 4 exercises: the output size, and the bug hunt (chapters/04-transposed-convolution.md,
//! "Exercises").
//!
//! Fill in both functions, then run
//! `cargo test --release --features exercises --test ch04_conv_transpose -- exercise_`.
// The parameters are unused until you write the bodies.
#![allow(unused_variables)]

use crate::scalar::Real;
use crate::tensor::Tensor;

/// The output size H' of a transposed convolution with input size H.
pub fn conv_transpose2d_output_size(
    input: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    output_padding: usize,
) -> usize {
    todo!(
        "the output size of a transposed convolution: it is the input size of the convolution it \
         is the transpose of. Solve H = (H' + 2P - K) / S + 1 for H' (the floor hides a remainder: \
         that is output_padding)"
    )
}

/// dL/dx of a transposed convolution. grad_output: [N, C_out, H', W'],
/// weight: [C_in, C_out, kH, kW] -> grad_input: [N, C_in, H, W].
/// The chapter shows a version with a bug; write a correct one.
pub fn conv_transpose2d_backward_input_exercise<T: Real>(
    grad_output: &Tensor<T>,
    weight: &Tensor<T>,
    stride: (usize, usize),
    padding: (usize, usize),
) -> Tensor<T> {
    todo!(
        "the input gradient of a transposed convolution: find the bug in the chapter's loop (which \
         taps of the kernel does each grad_output pixel meet?), or remember which convolution a \
         transposed convolution is the transpose of"
    )
}
