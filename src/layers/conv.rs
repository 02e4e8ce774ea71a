//! Chapter 3. Convolution, the discriminator's tool (chapters/03-convolution.md).
//!
//! ```text
//! y[n, co, oh, ow] = bias[co] + sum_{ci, a, b} weight[co, ci, a, b] * x[n, ci, oh*S_h - P_h + a, ow*S_w - P_w + b]
//! x: [N, C_in, H, W], weight: [C_out, C_in, kH, kW], bias: [C_out] -> y: [N, C_out, H', W']
//! H' = (H + 2 P_h - kH) / S_h + 1 (rounded down), likewise W'
//! ```
//!
//! The fast path is im2col + one GEMM per run of images, with the weight as a
//! [C_out, C_in*kH*kW] matrix:
//!
//! ```text
//! forward          y      = W  * cols                [C_out, C_in*kH*kW] x [C_in*kH*kW, H'W']
//! backward input   grad_x = col2im(W^T * G)           G = grad_y as [C_out, H'W']
//! backward weight  grad_W += G * cols^T,  grad_bias += row sums of G
//! ```
//!
//! [`conv2d_reference`], seven nested loops, is the definition the fast path is tested against.

use super::im2col::{col2im, im2col, Window};
use super::{Layer, Param};
use crate::error::{Error, Result};
use crate::gemm::{gemm, MatMut, MatRef};
use crate::scalar::Real;
use crate::tensor::Tensor;
use std::ops::Range;

/// A size given either as one number for both dimensions (`4`) or as `(h, w)` (`(3, 4)`),
/// as PyTorch accepts for kernel, stride and padding.
pub trait IntoHw {
    fn into_hw(self) -> (usize, usize);
}

impl IntoHw for usize {
    fn into_hw(self) -> (usize, usize) {
        (self, self)
    }
}

impl IntoHw for (usize, usize) {
    fn into_hw(self) -> (usize, usize) {
        self
    }
}

/// H' = (H + 2P - K) / S + 1, rounded down: how many times a window of K fits in H padded by P
/// on both sides, moving S at a time. Panics if the window is larger than the padded input.
#[track_caller]
pub fn conv2d_output_size(input: usize, kernel: usize, stride: usize, padding: usize) -> usize {
    assert!(stride > 0, "conv2d: the stride must be at least 1");
    assert!(kernel > 0, "conv2d: the kernel size must be at least 1");
    assert!(
        input + 2 * padding >= kernel,
        "conv2d: a kernel of {kernel} does not fit in an input of {input} padded by {padding} on each side"
    );
    (input + 2 * padding - kernel) / stride + 1
}

/// The window sweep of a convolution of `x_shape` ([N, C_in, H, W]) with a weight of
/// `w_shape` ([C_out, C_in, kH, kW]). Panics, naming `what` and both shapes, if they do not fit.
#[track_caller]
fn conv_window(
    what: &str,
    x_shape: &[usize],
    w_shape: &[usize],
    stride: (usize, usize),
    padding: (usize, usize),
) -> Window {
    assert!(
        x_shape.len() == 4 && w_shape.len() == 4 && x_shape[1] == w_shape[1],
        "{what}: x is {x_shape:?} and weight is {w_shape:?}; expected x: [N, C_in, H, W] and \
         weight: [C_out, C_in, kH, kW] with the same C_in"
    );
    let (h, w, kh, kw) = (x_shape[2], x_shape[3], w_shape[2], w_shape[3]);
    Window {
        channels: x_shape[1],
        h,
        w,
        kh,
        kw,
        sh: stride.0,
        sw: stride.1,
        ph: padding.0,
        pw: padding.1,
        h_out: conv2d_output_size(h, kh, stride.0, padding.0),
        w_out: conv2d_output_size(w, kw, stride.1, padding.1),
    }
}

/// Columns of one im2col matrix: enough for the GEMM to run near full speed (small images are
/// batched into one product), few enough that the matrix stays a few tens of MB.
const GROUP_COLUMNS: usize = 1024;
const GROUP_MAX_ELEMENTS: usize = 1 << 23;

/// The batch 0..n cut into runs of images, each unfolded into one column matrix. The runs
/// depend only on the shapes, never on the thread count, so sums over runs are reproducible.
fn image_groups(n: usize, win: &Window) -> Vec<Range<usize>> {
    let positions = win.positions().max(1);
    let by_columns = GROUP_COLUMNS.div_ceil(positions);
    let by_memory = (GROUP_MAX_ELEMENTS / (win.rows() * positions).max(1)).max(1);
    let per_group = by_columns.min(by_memory).max(1);
    (0..n)
        .step_by(per_group)
        .map(|n0| n0..(n0 + per_group).min(n))
        .collect()
}

/// Images `images` of `batch` ([N, C, P] flat, P positions per channel) as one matrix
/// [C, images.len() * P], the layout a GEMM with one column per position needs. One image
/// already has that layout and is lent as it is; several are copied side by side into `buffer`.
fn batch_as_matrix<'a, T: Real>(
    batch: &'a [T],
    channels: usize,
    positions: usize,
    images: Range<usize>,
    buffer: &'a mut [T],
) -> &'a [T] {
    let image_len = channels * positions;
    if images.len() == 1 {
        return &batch[images.start * image_len..][..image_len];
    }
    let width = images.len() * positions;
    for (i, n) in images.enumerate() {
        for c in 0..channels {
            buffer[c * width + i * positions..][..positions]
                .copy_from_slice(&batch[(n * channels + c) * positions..][..positions]);
        }
    }
    &buffer[..channels * width]
}

/// The size of the buffer [`batch_as_matrix`] and [`matrix_to_batch`] need for runs of at
/// most `most` columns: none when every run is a single image.
fn staging_len(channels: usize, most: usize, positions: usize) -> usize {
    if most > positions {
        channels * most
    } else {
        0
    }
}

/// The inverse of [`batch_as_matrix`]: `mat` ([C, images.len() * P]) into images `images` of
/// `batch`, adding `bias[c]` to every element of channel c.
fn matrix_to_batch<T: Real>(
    mat: &[T],
    bias: Option<&[T]>,
    channels: usize,
    positions: usize,
    images: Range<usize>,
    batch: &mut [T],
) {
    let width = images.len() * positions;
    for (i, n) in images.enumerate() {
        for c in 0..channels {
            let b = bias.map_or(T::ZERO, |b| b[c]);
            let dst = &mut batch[(n * channels + c) * positions..][..positions];
            for (d, &s) in dst.iter_mut().zip(&mat[c * width + i * positions..]) {
                *d = s + b;
            }
        }
    }
}

/// grad_bias[c] += sum over n, h, w of grad[n, c, h, w], each channel summed in a fixed order.
pub(crate) fn add_channel_sums<T: Real>(grad: &Tensor<T>, grad_bias: &mut Tensor<T>) {
    let (n, c) = (grad.shape()[0], grad.shape()[1]);
    grad_bias.assert_shape("grad_bias", &[c]);
    let positions: usize = grad.shape()[2..].iter().product();
    for (ch, gb) in grad_bias.as_mut_slice().iter_mut().enumerate() {
        let mut sum = T::ZERO;
        for image in 0..n {
            for &g in &grad.as_slice()[(image * c + ch) * positions..][..positions] {
                sum += g;
            }
        }
        *gb += sum;
    }
}

/// The forward pass. x: [N, C_in, H, W], weight: [C_out, C_in, kH, kW], bias: [C_out]
/// -> y: [N, C_out, H', W'].
#[track_caller]
pub fn conv2d_forward<T: Real>(
    x: &Tensor<T>,
    weight: &Tensor<T>,
    bias: Option<&Tensor<T>>,
    stride: (usize, usize),
    padding: (usize, usize),
) -> Tensor<T> {
    let win = conv_window("conv2d_forward", x.shape(), weight.shape(), stride, padding);
    let (n, c_out) = (x.shape()[0], weight.shape()[0]);
    if let Some(b) = bias {
        b.assert_shape("conv2d_forward bias", &[c_out]);
    }
    let (rows, positions) = (win.rows(), win.positions());
    let groups = image_groups(n, &win);
    let most = groups.first().map_or(0, |g| g.len()) * positions;
    let mut cols = vec![T::ZERO; rows * most];
    let mut out = vec![T::ZERO; staging_len(c_out, most, positions)];
    let mut y = Tensor::zeros(&[n, c_out, win.h_out, win.w_out]);
    let w_mat = MatRef::new(weight.as_slice(), c_out, rows);
    let bias = bias.map(|b| b.as_slice());
    for images in groups {
        let width = images.len() * positions;
        // cols: [C_in*kH*kW, g*H'W'], one column per window position of each image
        im2col(
            x.as_slice(),
            &win,
            images.clone(),
            &mut cols[..rows * width],
        );
        let cols = MatRef::new(&cols, rows, width);
        if images.len() == 1 {
            // y[n]: [C_out, H'W'] = W [C_out, C_in*kH*kW] * cols, written in place
            let y_n = y.row_mut(images.start);
            gemm(T::ONE, w_mat, cols, T::ZERO, MatMut::new(y_n, c_out, width));
            if let Some(bias) = bias {
                for (plane, &b) in y_n.chunks_exact_mut(positions).zip(bias) {
                    plane.iter_mut().for_each(|v| *v += b);
                }
            }
        } else {
            // out: [C_out, g*H'W'] = W * cols, then moved into y[n0..n1]: [g, C_out, H'W']
            gemm(
                T::ONE,
                w_mat,
                cols,
                T::ZERO,
                MatMut::new(&mut out, c_out, width),
            );
            matrix_to_batch(&out, bias, c_out, positions, images, y.as_mut_slice());
        }
    }
    y
}

/// dL/dx from dL/dy. grad_output: [N, C_out, H', W'], weight: [C_out, C_in, kH, kW]
/// -> grad_input: [N, C_in, H, W], where `input_hw` = (H, W) (several H give the same H').
#[track_caller]
pub fn conv2d_backward_input<T: Real>(
    grad_output: &Tensor<T>,
    weight: &Tensor<T>,
    input_hw: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
) -> Tensor<T> {
    let what = "conv2d_backward_input";
    let g_shape = grad_output.shape();
    assert!(
        g_shape.len() == 4 && weight.shape().len() == 4 && g_shape[1] == weight.shape()[0],
        "{what}: grad_output is {g_shape:?} and weight is {:?}; expected [N, C_out, H', W'] and \
         [C_out, C_in, kH, kW] with the same C_out",
        weight.shape()
    );
    let (n, c_out, c_in) = (g_shape[0], g_shape[1], weight.shape()[1]);
    let x_shape = [n, c_in, input_hw.0, input_hw.1];
    let win = conv_window(what, &x_shape, weight.shape(), stride, padding);
    grad_output.assert_shape(what, &[n, c_out, win.h_out, win.w_out]);

    let (rows, positions) = (win.rows(), win.positions());
    let groups = image_groups(n, &win);
    let most = groups.first().map_or(0, |g| g.len()) * positions;
    let mut staging = vec![T::ZERO; staging_len(c_out, most, positions)];
    let mut cols = vec![T::ZERO; rows * most];
    let mut grad_input = Tensor::zeros(&x_shape);
    let w_t = MatRef::new(weight.as_slice(), c_out, rows).t();
    for images in groups {
        let width = images.len() * positions;
        // G: [C_out, g*H'W']
        let g_mat = batch_as_matrix(
            grad_output.as_slice(),
            c_out,
            positions,
            images.clone(),
            &mut staging,
        );
        // grad_cols: [C_in*kH*kW, g*H'W'] = W^T * G
        gemm(
            T::ONE,
            w_t,
            MatRef::new(g_mat, c_out, width),
            T::ZERO,
            MatMut::new(&mut cols, rows, width),
        );
        // Every window position hands its gradient back to the pixels it read.
        col2im(
            &cols[..rows * width],
            &win,
            images,
            grad_input.as_mut_slice(),
        );
    }
    grad_input
}

/// dL/dweight and dL/dbias from dL/dy, ADDED into `grad_weight` ([C_out, C_in, kH, kW]) and
/// `grad_bias` ([C_out]). x: [N, C_in, H, W] is the forward pass's input.
#[track_caller]
pub fn conv2d_backward_weight<T: Real>(
    x: &Tensor<T>,
    grad_output: &Tensor<T>,
    stride: (usize, usize),
    padding: (usize, usize),
    grad_weight: &mut Tensor<T>,
    grad_bias: Option<&mut Tensor<T>>,
) {
    let what = "conv2d_backward_weight";
    let win = conv_window(what, x.shape(), grad_weight.shape(), stride, padding);
    let (n, c_out) = (x.shape()[0], grad_weight.shape()[0]);
    grad_output.assert_shape(what, &[n, c_out, win.h_out, win.w_out]);

    let (rows, positions) = (win.rows(), win.positions());
    let groups = image_groups(n, &win);
    let most = groups.first().map_or(0, |g| g.len()) * positions;
    let mut staging = vec![T::ZERO; staging_len(c_out, most, positions)];
    let mut cols = vec![T::ZERO; rows * most];
    // The gradient is a sum over images: runs are added one after another, in order, so the
    // result does not depend on how many threads the GEMM uses.
    for images in groups {
        let width = images.len() * positions;
        im2col(
            x.as_slice(),
            &win,
            images.clone(),
            &mut cols[..rows * width],
        );
        let g_mat = batch_as_matrix(
            grad_output.as_slice(),
            c_out,
            positions,
            images,
            &mut staging,
        );
        // grad_W [C_out, C_in*kH*kW] += G [C_out, g*H'W'] * cols^T
        gemm(
            T::ONE,
            MatRef::new(g_mat, c_out, width),
            MatRef::new(&cols, rows, width).t(),
            T::ONE,
            MatMut::new(grad_weight.as_mut_slice(), c_out, rows),
        );
    }
    if let Some(grad_bias) = grad_bias {
        add_channel_sums(grad_output, grad_bias);
    }
}

/// The definition, seven nested loops and nothing else: the truth the fast path is tested
/// against. Same arguments and result as [`conv2d_forward`].
pub fn conv2d_reference<T: Real>(
    x: &Tensor<T>,
    weight: &Tensor<T>,
    bias: Option<&Tensor<T>>,
    stride: (usize, usize),
    padding: (usize, usize),
) -> Tensor<T> {
    let win = conv_window(
        "conv2d_reference",
        x.shape(),
        weight.shape(),
        stride,
        padding,
    );
    let (n, c_in, c_out) = (x.shape()[0], x.shape()[1], weight.shape()[0]);
    let (h, w, kh, kw) = (win.h, win.w, win.kh, win.kw);
    let mut y = Tensor::zeros(&[n, c_out, win.h_out, win.w_out]);
    let mut out = 0;
    for image in 0..n {
        for co in 0..c_out {
            for oh in 0..win.h_out {
                for ow in 0..win.w_out {
                    let mut sum = bias.map_or(T::ZERO, |b| b[co]);
                    for ci in 0..c_in {
                        for a in 0..kh {
                            for b in 0..kw {
                                // The input pixel under tap (a, b); outside the image is padding.
                                let ih = (oh * stride.0 + a) as isize - padding.0 as isize;
                                let iw = (ow * stride.1 + b) as isize - padding.1 as isize;
                                if ih < 0 || iw < 0 || ih >= h as isize || iw >= w as isize {
                                    continue;
                                }
                                let x_at =
                                    ((image * c_in + ci) * h + ih as usize) * w + iw as usize;
                                let w_at = ((co * c_in + ci) * kh + a) * kw + b;
                                sum += weight[w_at] * x[x_at];
                            }
                        }
                    }
                    y[out] = sum;
                    out += 1;
                }
            }
        }
    }
    y
}

/// A 2-D convolution layer with PyTorch's parameters and layouts: `torch.nn.Conv2d` with
/// dilation 1 and groups 1.
pub struct Conv2d<T> {
    pub in_channels: usize,
    pub out_channels: usize,
    /// (kH, kW)
    pub kernel: (usize, usize),
    /// (S_h, S_w)
    pub stride: (usize, usize),
    /// (P_h, P_w): zeros added on each side
    pub padding: (usize, usize),
    /// [C_out, C_in, kH, kW]
    pub weight: Tensor<T>,
    /// [C_out], or None for `bias=False`
    pub bias: Option<Tensor<T>>,
    pub grad_weight: Tensor<T>,
    pub grad_bias: Option<Tensor<T>>,
    /// The input of the last training-mode forward pass, for the weight gradient.
    input: Option<Tensor<T>>,
    training: bool,
}

impl<T: Real> Conv2d<T> {
    /// A layer with zero weights (and bias, when `bias`): initialise them before training.
    /// Panics on invalid sizes (see [`Self::from_weights`]).
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: impl IntoHw,
        stride: impl IntoHw,
        padding: impl IntoHw,
        bias: bool,
    ) -> Self {
        let (kh, kw) = kernel.into_hw();
        let weight = Tensor::zeros(&[out_channels, in_channels, kh, kw]);
        let bias = bias.then(|| Tensor::zeros(&[out_channels]));
        Self::from_weights(weight, bias, stride, padding).expect("zero weights of the right shape")
    }

    /// A layer with the given weight ([C_out, C_in, kH, kW]) and bias ([C_out]).
    pub fn from_weights(
        weight: Tensor<T>,
        bias: Option<Tensor<T>>,
        stride: impl IntoHw,
        padding: impl IntoHw,
    ) -> Result<Self> {
        let (stride, padding) = (stride.into_hw(), padding.into_hw());
        let s = weight.shape().to_vec();
        if s.len() != 4 || s.contains(&0) {
            return Err(Error::shape_text(
                "Conv2d weight",
                "[C_out, C_in, kH, kW], all at least 1",
                format!("{s:?}"),
            ));
        }
        if let Some(b) = &bias {
            b.check_shape("Conv2d bias", &[s[0]])?;
        }
        if stride.0 == 0 || stride.1 == 0 {
            return Err(Error::msg(format!(
                "Conv2d: the stride must be at least 1, found {stride:?}"
            )));
        }
        Ok(Conv2d {
            in_channels: s[1],
            out_channels: s[0],
            kernel: (s[2], s[3]),
            stride,
            padding,
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
        (
            conv2d_output_size(input_hw.0, self.kernel.0, self.stride.0, self.padding.0),
            conv2d_output_size(input_hw.1, self.kernel.1, self.stride.1, self.padding.1),
        )
    }
}

/// "k4" for a square size, "k(3, 4)" otherwise.
pub(crate) fn describe_hw(letter: &str, hw: (usize, usize)) -> String {
    if hw.0 == hw.1 {
        format!("{letter}{}", hw.0)
    } else {
        format!("{letter}({}, {})", hw.0, hw.1)
    }
}

impl<T: Real> Layer<T> for Conv2d<T> {
    fn describe(&self) -> String {
        format!(
            "Conv2d({}, {}, {}, {}, {}{})",
            self.in_channels,
            self.out_channels,
            describe_hw("k", self.kernel),
            describe_hw("s", self.stride),
            describe_hw("p", self.padding),
            if self.bias.is_some() { "" } else { ", no bias" }
        )
    }

    fn forward(&mut self, x: &Tensor<T>) -> Tensor<T> {
        let y = conv2d_forward(
            x,
            &self.weight,
            self.bias.as_ref(),
            self.stride,
            self.padding,
        );
        self.input = self.training.then(|| x.clone());
        y
    }

    fn backward(&mut self, grad_output: &Tensor<T>) -> Tensor<T> {
        let x = self
            .input
            .as_ref()
            .expect("Conv2d::backward needs a training-mode forward pass first");
        conv2d_backward_weight(
            x,
            grad_output,
            self.stride,
            self.padding,
            &mut self.grad_weight,
            self.grad_bias.as_mut(),
        );
        let input_hw = (x.shape()[2], x.shape()[3]);
        conv2d_backward_input(
            grad_output,
            &self.weight,
            input_hw,
            self.stride,
            self.padding,
        )
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
