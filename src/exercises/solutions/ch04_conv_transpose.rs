//! Chapter 4 exercises, worked solutions: the output size, and the bug hunt.

use crate::layers::conv::conv2d_forward;
use crate::scalar::Real;
use crate::tensor::Tensor;

/// The output size of a transposed convolution: the input size of the strided convolution it is
/// the transpose of. That convolution maps H' to H = (H' + 2P - K) / S + 1 (rounded down), so
/// H' = (H - 1) S - 2P + K + r for a remainder r in 0..S that the floor forgot: output_padding.
pub fn conv_transpose2d_output_size(
    input: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    output_padding: usize,
) -> usize {
    (input - 1) * stride + kernel + output_padding - 2 * padding
}

/// dL/dx of a transposed convolution. grad_output: [N, C_out, H', W'],
/// weight: [C_in, C_out, kH, kW] -> grad_input: [N, C_in, H, W].
///
/// The bug in the chapter's version was the flipped kernel (`kh - 1 - a`). Flipping belongs to
/// the "full convolution" picture of a stride-1 convolution's own backward pass; the transposed
/// convolution's backward pass is the convolution it is the transpose of, with the weight read
/// as [C_out, C_in, kH, kW] = [C_in (of convT), C_out (of convT), kH, kW], nothing flipped.
pub fn conv_transpose2d_backward_input_exercise<T: Real>(
    grad_output: &Tensor<T>,
    weight: &Tensor<T>,
    stride: (usize, usize),
    padding: (usize, usize),
) -> Tensor<T> {
    conv2d_forward(grad_output, weight, None, stride, padding)
}
