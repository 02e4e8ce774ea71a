//! Chapter 4. Transposed convolution, the generator's tool (chapters/04-transposed-convolution.md):
//! the lecture's "fractionally-strided convolution (not deconvolution)".
//!
//! A strided convolution is linear, y = A x. Its transpose x' = A^T y maps the small image back
//! to the large one's size: every input pixel scatters a weighted copy of the kernel onto the
//! output, S pixels apart, and overlapping copies add up.
//!
//! ```text
//! y[n, co, i*S_h - P_h + a, j*S_w - P_w + b] += x[n, ci, i, j] * weight[ci, co, a, b]
//! x: [N, C_in, H, W], weight: [C_in, C_out, kH, kW], bias: [C_out] -> y: [N, C_out, H', W']
//! H' = (H - 1) S_h - 2 P_h + kH + output_padding_h, likewise W'
//! ```
//!
//! Nothing new is computed here: the three passes are the three passes of conv.rs with their
//! roles exchanged (chapter 4, "The adjoint, made literal"):
//!
//! ```text
//! conv_transpose forward          = conv backward_input     (GEMM with W^T, then col2im)
//! conv_transpose backward_input   = conv forward            (im2col, then GEMM with W)
//! conv_transpose backward_weight  = conv backward_weight with x and grad_y exchanged
//! ```
//!
//! The weight tensor is the same numbers in both views: PyTorch stores a transposed
//! convolution's weight as [C_in, C_out, kH, kW], which is exactly the [C_out, C_in, kH, kW]
//! weight of the convolution it is the transpose of.
//!
//! So every speed-up of conv.rs serves both. The generator's projection (a 1 x 1 input, kernel
//! s0, stride 1, padding 0), read as a convolution, has a window that covers its whole input:
//! its forward pass is then a single GEMM whose output already is the [N, C_out, s0, s0] result,
//! with no col2im.

use super::conv::{
    add_channel_sums, conv2d_backward_input, conv2d_backward_weight, conv2d_forward, describe_hw,
    IntoHw,
};
use super::{Layer, Param};
use crate::error::{Error, Result};
use crate::scalar::Real;
use crate::tensor::Tensor;

/// H' = (H - 1) S - 2P + K + output_padding: the size a transposed convolution produces (and the
/// input size of the convolution it is the transpose of).
///
/// `output_padding` picks one of the S input sizes that a stride-S convolution maps to the same
/// output size; PyTorch requires output_padding < stride. Panics if that rule is broken or if
/// the result would be empty.
#[track_caller]
pub fn conv_transpose2d_output_size(
    input: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    output_padding: usize,
) -> usize {
    assert!(
        stride > 0 && kernel > 0,
        "conv_transpose2d: kernel and stride must be at least 1"
    );
    assert!(
        output_padding < stride,
        "conv_transpose2d: output_padding ({output_padding}) must be smaller than the stride \
         ({stride}), as in PyTorch"
    );
    let full = (input.max(1) - 1) * stride + kernel + output_padding;
    assert!(
        input > 0 && full > 2 * padding,
        "conv_transpose2d: an input of {input} with kernel {kernel}, stride {stride}, padding \
         {padding} and output_padding {output_padding} gives an empty output"
    );
    full - 2 * padding
}

/// Checks x ([N, C_in, H, W]) against weight ([C_in, C_out, kH, kW]) and returns (H', W').
#[track_caller]
fn output_hw(
    what: &str,
    x_shape: &[usize],
    w_shape: &[usize],
    stride: (usize, usize),
    padding: (usize, usize),
    output_padding: (usize, usize),
) -> (usize, usize) {
    assert!(
        x_shape.len() == 4 && w_shape.len() == 4 && x_shape[1] == w_shape[0],
        "{what}: x is {x_shape:?} and weight is {w_shape:?}; expected x: [N, C_in, H, W] and \
         weight: [C_in, C_out, kH, kW] with the same C_in"
    );
    (
        conv_transpose2d_output_size(
            x_shape[2],
            w_shape[2],
            stride.0,
            padding.0,
            output_padding.0,
        ),
        conv_transpose2d_output_size(
            x_shape[3],
            w_shape[3],
            stride.1,
            padding.1,
            output_padding.1,
        ),
    )
}

/// The forward pass. x: [N, C_in, H, W], weight: [C_in, C_out, kH, kW], bias: [C_out]
/// -> y: [N, C_out, H', W'] with H' = (H - 1) S - 2P + kH + output_padding.
#[track_caller]
pub fn conv_transpose2d_forward<T: Real>(
    x: &Tensor<T>,
    weight: &Tensor<T>,
    bias: Option<&Tensor<T>>,
    stride: (usize, usize),
    padding: (usize, usize),
    output_padding: (usize, usize),
) -> Tensor<T> {
    let what = "conv_transpose2d_forward";
    let out_hw = output_hw(
        what,
        x.shape(),
        weight.shape(),
        stride,
        padding,
        output_padding,
    );
    // The gradient a convolution hands back to its input, with x in the role of grad_output:
    // GEMM with W^T ([C_out*kH*kW, C_in] x [C_in, H*W]), then col2im.
    let mut y = conv2d_backward_input(x, weight, out_hw, stride, padding);
    if let Some(bias) = bias {
        bias.assert_shape("conv_transpose2d_forward bias", &[weight.shape()[1]]);
        add_bias(&mut y, bias);
    }
    y
}

/// y[n, c, ..] += bias[c].
fn add_bias<T: Real>(y: &mut Tensor<T>, bias: &Tensor<T>) {
    let positions = y.shape()[2] * y.shape()[3];
    for (t, plane) in y.as_mut_slice().chunks_exact_mut(positions).enumerate() {
        let b = bias[t % bias.len()];
        plane.iter_mut().for_each(|v| *v += b);
    }
}

/// dL/dx from dL/dy. grad_output: [N, C_out, H', W'], weight: [C_in, C_out, kH, kW]
/// -> grad_input: [N, C_in, H, W]. It is a plain (strided) convolution of grad_output.
#[track_caller]
pub fn conv_transpose2d_backward_input<T: Real>(
    grad_output: &Tensor<T>,
    weight: &Tensor<T>,
    stride: (usize, usize),
    padding: (usize, usize),
) -> Tensor<T> {
    let g = grad_output.shape();
    assert!(
        g.len() == 4 && weight.shape().len() == 4 && g[1] == weight.shape()[1],
        "conv_transpose2d_backward_input: grad_output is {g:?} and weight is {:?}; expected \
         [N, C_out, H', W'] and [C_in, C_out, kH, kW] with the same C_out",
        weight.shape()
    );
    // The weight, read as a convolution's [C_out, C_in, kH, kW], maps C_out -> C_in channels.
    conv2d_forward(grad_output, weight, None, stride, padding)
}

/// dL/dweight and dL/dbias from dL/dy, ADDED into `grad_weight` ([C_in, C_out, kH, kW]) and
/// `grad_bias` ([C_out]). x: [N, C_in, H, W] is the forward pass's input.
#[track_caller]
pub fn conv_transpose2d_backward_weight<T: Real>(
    x: &Tensor<T>,
    grad_output: &Tensor<T>,
    stride: (usize, usize),
    padding: (usize, usize),
    grad_weight: &mut Tensor<T>,
    grad_bias: Option<&mut Tensor<T>>,
) {
    let what = "conv_transpose2d_backward_weight";
    let w_shape = grad_weight.shape();
    let g = grad_output.shape();
    assert!(
        x.shape().len() == 4
            && g.len() == 4
            && w_shape.len() == 4
            && x.shape()[0] == g[0]
            && x.shape()[1] == w_shape[0]
            && g[1] == w_shape[1],
        "{what}: x is {:?}, grad_output is {g:?}, grad_weight is {w_shape:?}; expected \
         [N, C_in, H, W], [N, C_out, H', W'] and [C_in, C_out, kH, kW]",
        x.shape()
    );
    // The convolution y -> x has input grad_output and output x: its weight gradient
    // [C_in, C_out, kH, kW] sums x * (window of grad_output), which is what we need.
    conv2d_backward_weight(grad_output, x, stride, padding, grad_weight, None);
    if let Some(grad_bias) = grad_bias {
        add_channel_sums(grad_output, grad_bias);
    }
}

/// The definition as a scatter loop: every input pixel adds a weighted copy of the kernel to
/// the output. Same arguments and result as [`conv_transpose2d_forward`].
pub fn conv_transpose2d_reference<T: Real>(
    x: &Tensor<T>,
    weight: &Tensor<T>,
    bias: Option<&Tensor<T>>,
    stride: (usize, usize),
    padding: (usize, usize),
    output_padding: (usize, usize),
) -> Tensor<T> {
    let what = "conv_transpose2d_reference";
    let (h_out, w_out) = output_hw(
        what,
        x.shape(),
        weight.shape(),
        stride,
        padding,
        output_padding,
    );
    let (n, c_in, h, w) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (c_out, kh, kw) = (weight.shape()[1], weight.shape()[2], weight.shape()[3]);
    let mut y = Tensor::zeros(&[n, c_out, h_out, w_out]);
    for image in 0..n {
        for ci in 0..c_in {
            for i in 0..h {
                for j in 0..w {
                    let pixel = x[((image * c_in + ci) * h + i) * w + j];
                    for co in 0..c_out {
                        for a in 0..kh {
                            for b in 0..kw {
                                // Where tap (a, b) of the copy lands; the padding is cut off.
                                let oh = (i * stride.0 + a) as isize - padding.0 as isize;
                                let ow = (j * stride.1 + b) as isize - padding.1 as isize;
                                if oh < 0 || ow < 0 || oh >= h_out as isize || ow >= w_out as isize
                                {
                                    continue;
                                }
                                let y_at = ((image * c_out + co) * h_out + oh as usize) * w_out
                                    + ow as usize;
                                y[y_at] += pixel * weight[((ci * c_out + co) * kh + a) * kw + b];
                            }
                        }
                    }
                }
            }
        }
    }
    if let Some(bias) = bias {
        add_bias(&mut y, bias);
    }
    y
}

/// A transposed convolution layer with PyTorch's parameters and layouts:
/// `torch.nn.ConvTranspose2d` with dilation 1 and groups 1.
pub struct ConvTranspose2d<T> {
    pub in_channels: usize,
    pub out_channels: usize,
    /// (kH, kW)
    pub kernel: (usize, usize),
    /// (S_h, S_w): the output grows S times (the "fractional stride" 1/S of the lecture)
    pub stride: (usize, usize),
    /// (P_h, P_w): removed from each side of the output
    pub padding: (usize, usize),
    /// Extra rows/columns added at the bottom/right of the output, each < the stride
    pub output_padding: (usize, usize),
    /// [C_in, C_out, kH, kW]
    pub weight: Tensor<T>,
    /// [C_out], or None for `bias=False`
    pub bias: Option<Tensor<T>>,
    pub grad_weight: Tensor<T>,
    pub grad_bias: Option<Tensor<T>>,
    /// The input of the last training-mode forward pass, for the weight gradient.
    input: Option<Tensor<T>>,
    training: bool,
}

impl<T: Real> ConvTranspose2d<T> {
    /// A layer with zero weights (and bias, when `bias`) and no output padding: initialise
    /// the weights before training. Panics on invalid sizes (see [`Self::from_weights`]).
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: impl IntoHw,
        stride: impl IntoHw,
        padding: impl IntoHw,
        bias: bool,
    ) -> Self {
        let (kh, kw) = kernel.into_hw();
        let weight = Tensor::zeros(&[in_channels, out_channels, kh, kw]);
        let bias = bias.then(|| Tensor::zeros(&[out_channels]));
        Self::from_weights(weight, bias, stride, padding, 0).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A layer with the given weight ([C_in, C_out, kH, kW]) and bias ([C_out]).
    /// `output_padding` must be smaller than the stride in each dimension (PyTorch's rule).
    pub fn from_weights(
        weight: Tensor<T>,
        bias: Option<Tensor<T>>,
        stride: impl IntoHw,
        padding: impl IntoHw,
        output_padding: impl IntoHw,
    ) -> Result<Self> {
        let (stride, padding) = (stride.into_hw(), padding.into_hw());
        let output_padding = output_padding.into_hw();
        let s = weight.shape().to_vec();
        if s.len() != 4 || s.contains(&0) {
            return Err(Error::shape_text(
                "ConvTranspose2d weight",
                "[C_in, C_out, kH, kW], all at least 1",
                format!("{s:?}"),
            ));
        }
        if let Some(b) = &bias {
            b.check_shape("ConvTranspose2d bias", &[s[1]])?;
        }
        if stride.0 == 0 || stride.1 == 0 {
            return Err(Error::msg(format!(
                "ConvTranspose2d: the stride must be at least 1, found {stride:?}"
            )));
        }
        if output_padding.0 >= stride.0 || output_padding.1 >= stride.1 {
            return Err(Error::msg(format!(
                "ConvTranspose2d: output_padding {output_padding:?} must be smaller than the \
                 stride {stride:?} in each dimension, as in PyTorch"
            )));
        }
        Ok(ConvTranspose2d {
            in_channels: s[0],
            out_channels: s[1],
            kernel: (s[2], s[3]),
            stride,
            padding,
            output_padding,
            grad_weight: Tensor::zeros(&s),
            grad_bias: bias.as_ref().map(|b| Tensor::zeros(b.shape())),
            weight,
            bias,
            input: None,
            training: true,
        })
    }

    /// (H', W') for an input of (H, W).
    pub fn output_hw(&self, input_hw: (usize, usize)) -> (usize, usize) {
        let (k, s, p, op) = (self.kernel, self.stride, self.padding, self.output_padding);
        (
            conv_transpose2d_output_size(input_hw.0, k.0, s.0, p.0, op.0),
            conv_transpose2d_output_size(input_hw.1, k.1, s.1, p.1, op.1),
        )
    }
}

const NEEDS_FORWARD: &str = "a backward pass needs a training-mode forward pass first";

impl<T: Real> Layer<T> for ConvTranspose2d<T> {
    fn describe(&self) -> String {
        let op = if self.output_padding == (0, 0) {
            String::new()
        } else {
            format!(", {}", describe_hw("op", self.output_padding))
        };
        format!(
            "ConvTranspose2d({}, {}, {}, {}, {}{op}{})",
            self.in_channels,
            self.out_channels,
            describe_hw("k", self.kernel),
            describe_hw("s", self.stride),
            describe_hw("p", self.padding),
            if self.bias.is_some() { "" } else { ", no bias" }
        )
    }

    fn forward(&mut self, x: &Tensor<T>) -> Tensor<T> {
        let y = conv_transpose2d_forward(
            x,
            &self.weight,
            self.bias.as_ref(),
            self.stride,
            self.padding,
            self.output_padding,
        );
        self.input = self.training.then(|| x.clone());
        y
    }

    fn backward(&mut self, grad_output: &Tensor<T>) -> Tensor<T> {
        self.backward_params_only(grad_output);
        self.backward_input_only(grad_output)
    }

    fn backward_input_only(&mut self, grad_output: &Tensor<T>) -> Tensor<T> {
        assert!(self.input.is_some(), "ConvTranspose2d: {NEEDS_FORWARD}");
        conv_transpose2d_backward_input(grad_output, &self.weight, self.stride, self.padding)
    }

    fn backward_params_only(&mut self, grad_output: &Tensor<T>) {
        let x = self
            .input
            .as_ref()
            .unwrap_or_else(|| panic!("ConvTranspose2d: {NEEDS_FORWARD}"));
        conv_transpose2d_backward_weight(
            x,
            grad_output,
            self.stride,
            self.padding,
            &mut self.grad_weight,
            self.grad_bias.as_mut(),
        );
    }

    /// The multiply-adds of the convolution this layer is the adjoint of (the same product).
    fn multiply_adds(&self, input_shape: &[usize]) -> u64 {
        let per_input = self.out_channels * self.kernel.0 * self.kernel.1;
        (input_shape[0] * self.in_channels * input_shape[2] * input_shape[3] * per_input) as u64
    }

    fn params(&mut self) -> Vec<Param<'_, T>> {
        let mut params = vec![Param {
            name: "weight",
            value: &mut self.weight,
            grad: &mut self.grad_weight,
        }];
        if let (Some(value), Some(grad)) = (self.bias.as_mut(), self.grad_bias.as_mut()) {
            params.push(Param {
                name: "bias",
                value,
                grad,
            });
        }
        params
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
        if !training {
            self.input = None;
        }
    }
}
