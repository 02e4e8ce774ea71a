//! Chapter 5. The fully connected layer: y = x W^T + b, as PyTorch's `nn.Linear`.
//!
//! ```text
//!   forward:   y[N, out]            = x[N, in] W^T[in, out] + b[out]   (b added to every row)
//!   backward:  grad_input[N, in]    = grad_output[N, out] W[out, in]
//!              grad_weight[out, in] += grad_output^T[out, N] x[N, in]
//!              grad_bias[out]       += column sums of grad_output
//! ```
//!
//! An input [N, d1, d2, ...] is read as [N, d1 * d2 * ...] (a flattened image, say); backward
//! hands its gradient back in the input's own shape. All three products are one call of the
//! fast [`gemm`]; [`linear_reference`] is the plain loop the tests compare against.

use super::{Layer, Param};
use crate::error::Result;
use crate::gemm::gemm;
use crate::scalar::Real;
use crate::tensor::Tensor;

pub struct Linear<T> {
    pub in_features: usize,
    pub out_features: usize,
    /// W: [out_features, in_features], PyTorch's layout.
    pub weight: Tensor<T>,
    /// b: [out_features].
    pub bias: Tensor<T>,
    pub grad_weight: Tensor<T>,
    pub grad_bias: Tensor<T>,
    training: bool,
    /// The input seen by the last training-mode forward, as [N, in_features].
    input: Option<Tensor<T>>,
    /// Its original shape, so that backward returns grad_input in that shape.
    input_shape: Vec<usize>,
}

impl<T: Real> Linear<T> {
    /// A layer with zero weight and bias; a model fills them with its own initialisation
    /// (DCGAN draws every weight from N(0, 0.02^2)).
    pub fn new(in_features: usize, out_features: usize) -> Self {
        Linear {
            in_features,
            out_features,
            weight: Tensor::zeros(&[out_features, in_features]),
            bias: Tensor::zeros(&[out_features]),
            grad_weight: Tensor::zeros(&[out_features, in_features]),
            grad_bias: Tensor::zeros(&[out_features]),
            training: true,
            input: None,
            input_shape: Vec::new(),
        }
    }

    /// A layer with the given weight [out, in] and bias [out].
    pub fn from_params(weight: Tensor<T>, bias: Tensor<T>) -> Result<Self> {
        if weight.shape().len() != 2 {
            return Err(crate::Error::shape_text(
                "Linear weight",
                "[out_features, in_features]",
                format!("{:?}", weight.shape()),
            ));
        }
        let (out_features, in_features) = (weight.shape()[0], weight.shape()[1]);
        bias.check_shape("Linear bias", &[out_features])?;
        let mut layer = Linear::new(in_features, out_features);
        layer.weight = weight;
        layer.bias = bias;
        Ok(layer)
    }

    /// Panics, naming both shapes, unless x is [N, in_features] or [N, ...] with in_features
    /// values per sample.
    fn check_input(&self, x: &Tensor<T>) {
        assert!(
            !x.shape().is_empty() && x.cols() == self.in_features,
            "{}: expected input [N, {}] (or [N, ...] with {} values per sample), found {:?}",
            self.describe(),
            self.in_features,
            self.in_features,
            x.shape()
        );
    }
}

impl<T: Real> Layer<T> for Linear<T> {
    fn describe(&self) -> String {
        format!("Linear({}, {})", self.in_features, self.out_features)
    }

    // x: [N, in] (or [N, ...]) -> y: [N, out]
    fn forward(&mut self, x: &Tensor<T>) -> Tensor<T> {
        self.check_input(x);
        let n = x.rows();
        // Start every row of y at b, then y <- 1 * x W^T + 1 * y. (x.view() is x as [N, in].)
        let mut y = Tensor::from_fn(&[n, self.out_features], |i| {
            self.bias[i % self.out_features]
        });
        gemm(
            T::ONE,
            x.view(),
            self.weight.view().t(),
            T::ONE,
            y.view_mut(),
        );
        if self.training {
            self.input_shape = x.shape().to_vec();
            self.input = Some(
                x.clone()
                    .reshape(&[n, self.in_features])
                    .expect("same size"),
            );
        } else {
            self.input = None;
        }
        y
    }

    // grad_output: [N, out] -> grad_input: the input's shape
    fn backward(&mut self, grad_output: &Tensor<T>) -> Tensor<T> {
        self.backward_params_only(grad_output);
        self.backward_input_only(grad_output)
    }

    fn backward_params_only(&mut self, grad_output: &Tensor<T>) {
        let x = self
            .input
            .as_ref()
            .expect("Linear::backward needs a training-mode forward first");
        let n = x.rows();
        grad_output.assert_shape("Linear::backward grad_output", &[n, self.out_features]);
        // grad_weight += grad_output^T x   ([out, N] x [N, in])
        gemm(
            T::ONE,
            grad_output.view().t(),
            x.view(),
            T::ONE,
            self.grad_weight.view_mut(),
        );
        // grad_bias += sum over the batch of grad_output
        for i in 0..n {
            for (gb, &g) in self
                .grad_bias
                .as_mut_slice()
                .iter_mut()
                .zip(grad_output.row(i))
            {
                *gb += g;
            }
        }
    }

    fn backward_input_only(&mut self, grad_output: &Tensor<T>) -> Tensor<T> {
        let n = self
            .input
            .as_ref()
            .expect("Linear::backward needs a training-mode forward first")
            .rows();
        grad_output.assert_shape("Linear::backward grad_output", &[n, self.out_features]);
        // grad_input = grad_output W   ([N, out] x [out, in])
        let mut grad_input = Tensor::zeros(&[n, self.in_features]);
        gemm(
            T::ONE,
            grad_output.view(),
            self.weight.view(),
            T::ZERO,
            grad_input.view_mut(),
        );
        grad_input
            .reshape(&self.input_shape)
            .expect("same element count")
    }

    fn multiply_adds(&self, input_shape: &[usize]) -> u64 {
        (input_shape[0] * self.in_features * self.out_features) as u64
    }

    fn params(&mut self) -> Vec<Param<'_, T>> {
        vec![
            Param {
                name: "weight",
                value: &mut self.weight,
                grad: &mut self.grad_weight,
            },
            Param {
                name: "bias",
                value: &mut self.bias,
                grad: &mut self.grad_bias,
            },
        ]
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}

/// The same forward pass as three plain loops: y[i][o] = b[o] + sum_k x[i][k] W[o][k].
/// x: [N, in], weight: [out, in], bias: [out] -> y: [N, out]. For tests and for reading.
pub fn linear_reference<T: Real>(x: &Tensor<T>, weight: &Tensor<T>, bias: &Tensor<T>) -> Tensor<T> {
    let (n, inp, out) = (x.rows(), x.cols(), weight.rows());
    weight.assert_shape("linear_reference weight", &[out, inp]);
    let mut y = Tensor::zeros(&[n, out]);
    for i in 0..n {
        for o in 0..out {
            let mut acc = bias[o];
            for k in 0..inp {
                acc += x.at(i, k) * weight.at(o, k);
            }
            *y.at_mut(i, o) = acc;
        }
    }
    y
}
