//! Chapter 3 exercise, worked solution: dilation.
//!
//! A dilated kernel is a larger kernel with D - 1 zeros between neighbouring taps: tap (a, b)
//! of a kH x kW kernel with dilation (D_h, D_w) sits at (a D_h, b D_w) of a
//! ((kH - 1) D_h + 1) x ((kW - 1) D_w + 1) kernel. So both passes are the plain convolution's
//! passes with that spread-out kernel. (A direct im2col with steps of D between taps would
//! skip the multiplications by zero; this version trades that speed for reuse.)

use crate::layers::conv::{conv2d_backward_input, conv2d_forward};
use crate::scalar::Real;
use crate::tensor::Tensor;

/// weight: [C_out, C_in, kH, kW] -> [C_out, C_in, (kH - 1) D_h + 1, (kW - 1) D_w + 1], zeros between taps.
fn dilate_kernel<T: Real>(weight: &Tensor<T>, dilation: (usize, usize)) -> Tensor<T> {
    let s = weight.shape();
    assert!(
        s.len() == 4 && dilation.0 > 0 && dilation.1 > 0,
        "dilated conv: weight is {s:?} and dilation {dilation:?}; expected [C_out, C_in, kH, kW] and dilation >= 1"
    );
    let (planes, kh, kw) = (s[0] * s[1], s[2], s[3]);
    let (dh, dw) = ((kh - 1) * dilation.0 + 1, (kw - 1) * dilation.1 + 1);
    let mut dilated = Tensor::zeros(&[s[0], s[1], dh, dw]);
    for p in 0..planes {
        for a in 0..kh {
            for b in 0..kw {
                dilated[(p * dh + a * dilation.0) * dw + b * dilation.1] =
                    weight[(p * kh + a) * kw + b];
            }
        }
    }
    dilated
}

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
    conv2d_forward(x, &dilate_kernel(weight, dilation), bias, stride, padding)
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
    let dilated = dilate_kernel(weight, dilation);
    conv2d_backward_input(grad_output, &dilated, input_hw, stride, padding)
}
