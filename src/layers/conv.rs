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
//! The forward pass never writes `cols` out (for 8 or more input channels): the GEMM packs its
//! panels straight from the zero-padded run of images (`conv/panels.rs`, chapter 13), the same
//! values.
//!
//! How the batch is cut into runs, and the runs shared among threads with every sum taken in a
//! fixed order, is in `conv/runs.rs`; the two column orders of a run (image by image, or the
//! images of a position side by side for small maps) are in `im2col.rs`. A window that covers
//! the whole image (DCGAN's last discriminator layer) needs no im2col at all: the layer is then a
//! fully connected one, x [N, C_in*H*W] times W^T.
//!
//! [`conv2d_reference`], seven nested loops, is the definition the fast path is tested against.

mod direct;
mod panels;
mod runs;
mod thin_out;

use super::im2col::{batch_as_matrix, fold_run, matrix_to_batch, Columns, Window};
use super::{Layer, Param};
use crate::error::{Error, Result};
use crate::gemm::{gemm, gemm_implicit, MatMut, MatRef};
use crate::scalar::Real;
use crate::scratch;
use crate::tensor::Tensor;
use panels::RunColumns;
use runs::{
    for_each_run, image_groups, images_of, weight_gradient_by_runs, whole_image_forward, RunOutput,
};

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
    let y_shape = [n, c_out, win.h_out, win.w_out];
    let w_mat = MatRef::new(weight.as_slice(), c_out, rows);
    let bias = bias.map(|b| b.as_slice());
    if win.covers_whole_image() {
        let mut y = Tensor::zeros(&y_shape);
        // The column of an image is the image: y [N, C_out] = x [N, C_in*H*W] * W^T.
        whole_image_forward(x.as_slice(), weight.as_slice(), n, rows, y.as_mut_slice());
        if let Some(bias) = bias {
            for y_n in y.as_mut_slice().chunks_exact_mut(c_out) {
                y_n.iter_mut().zip(bias).for_each(|(v, &b)| *v += b);
            }
        }
        return y;
    }
    let mut y = RunOutput::new(&y_shape);
    let y_runs = y.runs();
    let groups = image_groups(n, &win);
    // Thin inputs read their windows straight from the image (chapter 13); the runs are then
    // the GEMM's, and so is every sum.
    let direct = groups
        .iter()
        .all(|images| direct::applies::<T>(&win, Columns::for_run(&win, images.len()), c_out))
        .then(|| direct::DirectWeights::new(weight.as_slice(), c_out, rows));
    let stream = direct::stream_output::<T>(y_shape.iter().product());
    for_each_run(&groups, |images| {
        let (g, width) = (images.len(), images.len() * positions);
        if let Some(weights) = &direct {
            // SAFETY: runs are disjoint ranges of images; this task alone writes y[images].
            let y_run = unsafe { y_runs.images_uninit(&images) };
            let y_run = direct::forward_run(x.as_slice(), &win, images, weights, y_run, stream);
            if let Some(bias) = bias {
                for (plane, &b) in y_run.chunks_exact_mut(positions).zip(bias.iter().cycle()) {
                    plane.iter_mut().for_each(|v| *v += b);
                }
            }
            return;
        }
        let columns = Columns::for_run(&win, g);
        // cols: [C_in*kH*kW, g*H'W'], one column per window position of each image, packed
        // straight from the images as the GEMM needs its panels
        let cols = RunColumns::new(x.as_slice(), &win, images.clone(), columns);
        if g == 1 {
            // SAFETY: runs are disjoint ranges of images; this task alone writes y[images].
            let y_run = unsafe { y_runs.images(&images) };
            // y[n]: [C_out, H'W'] = W [C_out, C_in*kH*kW] * cols, written in place
            gemm_implicit(
                T::ONE,
                w_mat,
                &cols,
                T::ZERO,
                MatMut::new(y_run, c_out, width),
            );
            if let Some(bias) = bias {
                for (plane, &b) in y_run.chunks_exact_mut(positions).zip(bias) {
                    plane.iter_mut().for_each(|v| *v += b);
                }
            }
        } else {
            // out: [C_out, g*H'W'] = W * cols, then moved into y[n0..n1]: [g, C_out, H'W']
            let mut out = scratch::buffer(c_out * width);
            gemm_implicit(
                T::ONE,
                w_mat,
                &cols,
                T::ZERO,
                MatMut::new(&mut out, c_out, width),
            );
            // SAFETY: runs are disjoint ranges of images; this task alone writes y[images],
            // every value of them.
            let y_run = unsafe { y_runs.images_uninit(&images) };
            matrix_to_batch(&out, bias, c_out, positions, columns, y_run);
        }
    });
    y.finish()
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
    let w_mat = MatRef::new(weight.as_slice(), c_out, rows);
    if win.covers_whole_image() {
        let mut grad_input = Tensor::zeros(&x_shape);
        // col2im of one position is a reshape: grad_x [N, C_in*H*W] = G [N, C_out] * W.
        let g_mat = MatRef::new(grad_output.as_slice(), n, c_out);
        gemm(
            T::ONE,
            g_mat,
            w_mat,
            T::ZERO,
            MatMut::new(grad_input.as_mut_slice(), n, rows),
        );
        return grad_input;
    }
    let mut grad_input = RunOutput::new(&x_shape);
    let grad_runs = grad_input.runs();
    let groups = image_groups(n, &win);
    // Three input channels: phase by phase, straight from G (chapter 13).
    let thin = thin_out::applies::<T>(&win, c_out)
        .then(|| thin_out::ThinOutput::new(weight.as_slice(), &win, c_out));
    // Other thin inputs: W^T packed once, G read in place (chapter 13).
    let in_place = groups
        .iter()
        .all(|images| {
            let columns = Columns::for_run(&win, images.len());
            thin.is_none()
                && direct::input_columns_apply::<T>(&win, columns, c_out, images.len() * positions)
        })
        .then(|| direct::DirectWeights::of(w_mat.t()));
    if let Some(thin) = &thin {
        // Its own runs: the GEMM's are cut by the size of the column matrix, never written here.
        let runs = thin_out::runs(n);
        for_each_run(&runs, |images| {
            let g_run = images_of(grad_output.as_slice(), c_out * positions, &images);
            // SAFETY: runs are disjoint ranges of images; this task alone writes
            // grad_input[images], every value of them.
            let grad_run = unsafe { grad_runs.images_uninit(&images) };
            thin.input_gradient_run(g_run, grad_run);
        });
        return grad_input.finish();
    }
    for_each_run(&groups, |images| {
        let (g, width) = (images.len(), images.len() * positions);
        let columns = Columns::for_run(&win, g);
        if let Some(w_t) = &in_place {
            let g_run = images_of(grad_output.as_slice(), c_out * positions, &images);
            let mut cols = scratch::buffer(rows * width);
            direct::input_columns(w_t, g_run, positions, &mut cols);
            // SAFETY: runs are disjoint ranges of images; this task alone writes
            // grad_input[images], every value of them.
            let grad_run = unsafe { grad_runs.images_uninit(&images) };
            fold_run(&cols, &win, columns, grad_run);
            return;
        }
        // G: [C_out, g*H'W']
        let g_run = images_of(grad_output.as_slice(), c_out * positions, &images);
        let mut staging = scratch::buffer(if g > 1 { g_run.len() } else { 0 });
        let g_mat = batch_as_matrix(g_run, c_out, positions, columns, &mut staging);
        // grad_cols: [C_in*kH*kW, g*H'W'] = W^T * G
        let mut cols = scratch::buffer(rows * width);
        gemm(
            T::ONE,
            w_mat.t(),
            MatRef::new(g_mat, c_out, width),
            T::ZERO,
            MatMut::new(&mut cols, rows, width),
        );
        // Every window position hands its gradient back to the pixels it read.
        // SAFETY: runs are disjoint ranges of images; this task alone writes grad_input[images],
        // every value of them.
        let grad_run = unsafe { grad_runs.images_uninit(&images) };
        fold_run(&cols, &win, columns, grad_run);
    });
    grad_input.finish()
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

    if win.covers_whole_image() {
        // grad_W [C_out, C_in*H*W] += G^T [C_out, N] * x [N, C_in*H*W]: the sum over the batch
        // is the GEMM's own sum over k.
        let rows = win.rows();
        let g_t = MatRef::new(grad_output.as_slice(), n, c_out).t();
        let x_mat = MatRef::new(x.as_slice(), n, rows);
        gemm(
            T::ONE,
            g_t,
            x_mat,
            T::ONE,
            MatMut::new(grad_weight.as_mut_slice(), c_out, rows),
        );
    } else {
        weight_gradient_by_runs(x, grad_output, &win, grad_weight);
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

const NEEDS_FORWARD: &str = "a backward pass needs a training-mode forward pass first";

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

    /// (H, W) of the input of the last training-mode forward pass.
    fn input_hw(&self, pass: &str) -> (usize, usize) {
        let x = self
            .input
            .as_ref()
            .unwrap_or_else(|| panic!("Conv2d {pass}: {NEEDS_FORWARD}"));
        (x.shape()[2], x.shape()[3])
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
        self.backward_params_only(grad_output);
        self.backward_input_only(grad_output)
    }

    fn backward_input_only(&mut self, grad_output: &Tensor<T>) -> Tensor<T> {
        let input_hw = self.input_hw("backward");
        conv2d_backward_input(
            grad_output,
            &self.weight,
            input_hw,
            self.stride,
            self.padding,
        )
    }

    fn backward_params_only(&mut self, grad_output: &Tensor<T>) {
        let x = self
            .input
            .as_ref()
            .unwrap_or_else(|| panic!("Conv2d: {NEEDS_FORWARD}"));
        conv2d_backward_weight(
            x,
            grad_output,
            self.stride,
            self.padding,
            &mut self.grad_weight,
            self.grad_bias.as_mut(),
        );
    }

    fn multiply_adds(&self, input_shape: &[usize]) -> u64 {
        let (h, w) = self.output_hw((input_shape[2], input_shape[3]));
        let per_output = self.in_channels * self.kernel.0 * self.kernel.1;
        (input_shape[0] * self.out_channels * h * w * per_output) as u64
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

#[cfg(test)]
mod tests {
    //! The fast passes on the shapes that pick each of their strategies (runs of one image, runs
    //! ordered by image and by position, windows that cover the whole image, a weight gradient
    //! split by slice and by chunk), against the definitions, and on 1, 2 and 3 threads.
    use super::*;
    use crate::parallel::with_threads;
    use crate::rng::Rng;

    /// (N, C_in, C_out, (H, W), kernel, stride, padding)
    type Shape = (usize, usize, usize, (usize, usize), usize, usize, usize);

    const SHAPES: [Shape; 6] = [
        // 4x4 outputs, 5 images in one run: columns by position.
        (5, 3, 4, (8, 8), 4, 2, 1),
        // 16x16 outputs, runs of 4 images by image, 2 runs (chunks of the weight gradient);
        // 32 channels * 16 taps = 512 columns of grad_W (2 slices).
        (6, 32, 3, (32, 32), 4, 2, 1),
        // 33x33 outputs: one image per run, written in place.
        (2, 2, 3, (33, 33), 3, 1, 1),
        // 7x7 maps, k3 s1 p1 (PatchGAN's last layer), runs by position.
        (9, 5, 1, (7, 7), 3, 1, 1),
        // The window covers the image: DCGAN's last discriminator layer, one logit.
        (4, 6, 1, (4, 4), 4, 1, 0),
        // ... and the generator's projection read as a convolution.
        (3, 8, 5, (3, 3), 3, 1, 0),
    ];

    fn random(shape: &[usize], rng: &mut Rng) -> Tensor<f64> {
        let len = shape.iter().product();
        Tensor::from_vec(shape, (0..len).map(|_| rng.normal(0.0, 1.0)).collect()).unwrap()
    }

    fn tensors(s: &Shape) -> [Tensor<f64>; 4] {
        let &(n, c_in, c_out, (h, w), k, st, p) = s;
        let mut rng = Rng::new(17);
        let (ho, wo) = (
            conv2d_output_size(h, k, st, p),
            conv2d_output_size(w, k, st, p),
        );
        [
            random(&[n, c_in, h, w], &mut rng),
            random(&[c_out, c_in, k, k], &mut rng),
            random(&[c_out], &mut rng),
            random(&[n, c_out, ho, wo], &mut rng),
        ]
    }

    /// grad_x and grad_W by their definitions: every tap hands g * W to the pixel it read, and
    /// g * x to the weight it used.
    fn gradients_by_definition(
        s: &Shape,
        x: &Tensor<f64>,
        w: &Tensor<f64>,
        g: &Tensor<f64>,
    ) -> [Tensor<f64>; 2] {
        let &(n, c_in, c_out, (h, wd), k, st, p) = s;
        let (ho, wo) = (g.shape()[2], g.shape()[3]);
        let mut grad_x = Tensor::zeros(x.shape());
        let mut grad_w = Tensor::zeros(w.shape());
        for i in 0..n {
            for co in 0..c_out {
                for oh in 0..ho {
                    for ow in 0..wo {
                        let gv = g[((i * c_out + co) * ho + oh) * wo + ow];
                        for ci in 0..c_in {
                            for a in 0..k {
                                for b in 0..k {
                                    let (ih, iw) = (
                                        (oh * st + a) as isize - p as isize,
                                        (ow * st + b) as isize - p as isize,
                                    );
                                    if ih < 0 || iw < 0 || ih >= h as isize || iw >= wd as isize {
                                        continue;
                                    }
                                    let xi = ((i * c_in + ci) * h + ih as usize) * wd + iw as usize;
                                    let wi = ((co * c_in + ci) * k + a) * k + b;
                                    grad_x[xi] += gv * w[wi];
                                    grad_w[wi] += gv * x[xi];
                                }
                            }
                        }
                    }
                }
            }
        }
        [grad_x, grad_w]
    }

    fn relative_error(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
        let scale = b.as_slice().iter().fold(1.0f64, |m, v| m.max(v.abs()));
        a.max_abs_diff(b) / scale
    }

    /// The three passes; the weight gradient is added to a nonzero start.
    fn passes<T: Real>(s: &Shape, t: &[Tensor<T>; 4]) -> [Tensor<T>; 3] {
        let (st, p) = ((s.5, s.5), (s.6, s.6));
        let [x, w, b, g] = t;
        let y = conv2d_forward(x, w, Some(b), st, p);
        let grad_x = conv2d_backward_input(g, w, s.3, st, p);
        let mut grad_w = w.clone();
        conv2d_backward_weight(x, g, st, p, &mut grad_w, None);
        [y, grad_x, grad_w]
    }

    #[test]
    fn every_strategy_matches_the_definitions() {
        for s in &SHAPES {
            let t = tensors(s);
            let [y, grad_x, grad_w] = passes(s, &t);
            let [x, w, b, g] = &t;
            let [want_x, mut want_w] = gradients_by_definition(s, x, w, g);
            want_w
                .as_mut_slice()
                .iter_mut()
                .zip(w.as_slice())
                .for_each(|(v, &w0)| *v += w0);
            let want_y = conv2d_reference(x, w, Some(b), (s.5, s.5), (s.6, s.6));
            for (name, got, want) in [
                ("y", &y, &want_y),
                ("grad_x", &grad_x, &want_x),
                ("grad_w", &grad_w, &want_w),
            ] {
                let err = relative_error(got, want);
                assert!(err < 1e-12, "{s:?}: {name} is off by {err:e}");
            }
        }
    }

    #[test]
    fn every_strategy_gives_the_same_bits_on_any_thread_count() {
        for s in &SHAPES {
            let t = tensors(s).map(|t| {
                Tensor::from_vec(t.shape(), t.as_slice().iter().map(|&v| v as f32).collect())
                    .unwrap()
            });
            let one = with_threads(1, || passes(s, &t));
            for threads in [2, 3] {
                let many = with_threads(threads, || passes(s, &t));
                for (name, a, b) in [("y", 0, 0), ("grad_x", 1, 1), ("grad_w", 2, 2)]
                    .map(|(n, i, j)| (n, &one[i], &many[j]))
                {
                    assert!(
                        a.as_slice() == b.as_slice(),
                        "{s:?}: {name} differs between 1 and {threads} threads"
                    );
                }
            }
        }
    }

    #[test]
    fn columns_by_position_are_chosen_for_small_maps_only() {
        let win = |hw: usize| conv_window("test", &[64, 8, hw, hw], &[16, 8, 4, 4], (2, 2), (1, 1));
        let order = |hw: usize| Columns::for_run(&win(hw), image_groups(64, &win(hw))[0].len());
        assert_eq!(order(8), Columns::ByPosition); // 4x4 outputs, 64 images per run
        assert_eq!(order(16), Columns::ByPosition); // 8x8 outputs, 16 images per run
        assert_eq!(order(32), Columns::ByImage); // 16x16 outputs, 4 images per run
        assert_eq!(order(64), Columns::ByImage); // 32x32 outputs, one image per run
    }
}
