//! Chapter 5. Batch normalisation, as PyTorch's `nn.BatchNorm2d` (and `nn.BatchNorm1d`).
//!
//! For each channel c, over the m = N * H * W values of that channel in the batch:
//!
//! ```text
//!   mean_c  = (1/m) sum x                      var_c = (1/m) sum (x - mean_c)^2   (biased)
//!   std_c   = sqrt(var_c + eps)                x_hat = (x - mean_c) / std_c
//!   y       = gamma_c x_hat + beta_c
//! ```
//!
//! In training mode the batch's own statistics normalise, and running estimates follow them:
//! running_mean <- (1 - momentum) running_mean + momentum mean_c, and the same for running_var
//! with the UNBIASED variance var_c * m / (m - 1), exactly as PyTorch does. In evaluation mode
//! the running estimates normalise instead, so an output no longer depends on the rest of the
//! batch. The backward pass (derived in chapter 5) is, per channel,
//!
//! ```text
//!   grad_beta  += sum g             grad_gamma += sum g x_hat
//!   grad_input  = gamma / (m std) * (m g - sum g - x_hat sum g x_hat)
//! ```
//!
//! Inputs are [N, C, H, W] for `BatchNorm::new_2d`, and [N, C] (or [N, C, L]) for
//! `BatchNorm::new_1d`: the arithmetic is the same with H * W replaced by 1 (or L). Sums are
//! accumulated in f64 whatever T is, so statistics of large f32 batches keep their digits.

use super::{Layer, Param};
use crate::scalar::Real;
use crate::tensor::Tensor;

pub struct BatchNorm<T> {
    pub num_features: usize,
    /// Added to the variance before the square root (PyTorch's default 1e-5).
    pub eps: f64,
    /// Weight of the newest batch in the running estimates (PyTorch's default 0.1).
    pub momentum: f64,
    /// gamma: [C], PyTorch's "weight", initially 1.
    pub weight: Tensor<T>,
    /// beta: [C], PyTorch's "bias", initially 0.
    pub bias: Tensor<T>,
    pub grad_weight: Tensor<T>,
    pub grad_bias: Tensor<T>,
    /// [C], initially 0.
    pub running_mean: Tensor<T>,
    /// [C], initially 1.
    pub running_var: Tensor<T>,
    /// How many training batches the running estimates have seen (a scalar, shape []).
    pub num_batches_tracked: Tensor<T>,
    /// 1 for BatchNorm1d (inputs of rank 2 or 3), 2 for BatchNorm2d (rank 4).
    dims: usize,
    training: bool,
    saved: Option<Saved<T>>,
}

/// What training-mode forward keeps for backward.
struct Saved<T> {
    /// x_hat: the input's shape.
    x_hat: Tensor<T>,
    /// std_c = sqrt(var_c + eps): [C].
    std: Vec<T>,
}

impl<T: Real> BatchNorm<T> {
    /// PyTorch's `nn.BatchNorm2d(num_features)`: inputs [N, C, H, W].
    pub fn new_2d(num_features: usize) -> Self {
        Self::with_dims(num_features, 2)
    }

    /// PyTorch's `nn.BatchNorm1d(num_features)`: inputs [N, C] or [N, C, L].
    pub fn new_1d(num_features: usize) -> Self {
        Self::with_dims(num_features, 1)
    }

    fn with_dims(num_features: usize, dims: usize) -> Self {
        let c = num_features;
        BatchNorm {
            num_features,
            eps: 1e-5,
            momentum: 0.1,
            weight: Tensor::full(&[c], T::ONE),
            bias: Tensor::zeros(&[c]),
            grad_weight: Tensor::zeros(&[c]),
            grad_bias: Tensor::zeros(&[c]),
            running_mean: Tensor::zeros(&[c]),
            running_var: Tensor::full(&[c], T::ONE),
            num_batches_tracked: Tensor::zeros(&[]),
            dims,
            training: true,
            saved: None,
        }
    }

    /// Checks x: [N, C, ...] and returns (N, S), S the number of values per channel per sample
    /// (H * W, or L, or 1).
    fn batch_and_spatial(&self, x: &Tensor<T>) -> (usize, usize) {
        let shape = x.shape();
        let ranks_ok = match self.dims {
            1 => shape.len() == 2 || shape.len() == 3,
            _ => shape.len() == 4,
        };
        let expected = match self.dims {
            1 => format!(
                "[N, {}] or [N, {}, L]",
                self.num_features, self.num_features
            ),
            _ => format!("[N, {}, H, W]", self.num_features),
        };
        assert!(
            ranks_ok && shape[1] == self.num_features,
            "{}: expected input {expected}, found {shape:?}",
            self.describe()
        );
        (shape[0], shape[2..].iter().product())
    }
}

/// Calls `f(start)` for every contiguous run x[start..start + s] of channel c in a tensor
/// [N, C, S]: one run per sample.
fn for_each_run(n: usize, channels: usize, s: usize, c: usize, mut f: impl FnMut(usize)) {
    for i in 0..n {
        f((i * channels + c) * s);
    }
}

impl<T: Real> Layer<T> for BatchNorm<T> {
    fn describe(&self) -> String {
        format!("BatchNorm{}d({})", self.dims, self.num_features)
    }

    // x: [N, C, H, W] (or [N, C]) -> y: the same shape
    fn forward(&mut self, x: &Tensor<T>) -> Tensor<T> {
        let (n, s) = self.batch_and_spatial(x);
        let channels = self.num_features;
        let m = n * s;
        let xs = x.as_slice();
        let mut y = Tensor::zeros(x.shape());

        if !self.training {
            // Evaluation: a fixed affine map per channel, from the running estimates.
            self.saved = None;
            for c in 0..channels {
                let std = (self.running_var[c].to_f64() + self.eps).sqrt();
                let scale = T::from_f64(self.weight[c].to_f64() / std);
                let shift = T::from_f64(
                    self.bias[c].to_f64() - self.running_mean[c].to_f64() * scale.to_f64(),
                );
                let ys = y.as_mut_slice();
                for_each_run(n, channels, s, c, |start| {
                    for k in start..start + s {
                        ys[k] = scale * xs[k] + shift;
                    }
                });
            }
            return y;
        }

        assert!(
            m > 1,
            "{}: training needs more than one value per channel, found input {:?}",
            self.describe(),
            x.shape()
        );
        let mut x_hat = Tensor::zeros(x.shape());
        let mut stds = Vec::with_capacity(channels);
        for c in 0..channels {
            // Batch statistics over (N, H, W), in two passes.
            let mut sum = 0.0;
            for_each_run(n, channels, s, c, |start| {
                sum += xs[start..start + s].iter().map(|v| v.to_f64()).sum::<f64>();
            });
            let mean = sum / m as f64;
            let mut squares = 0.0;
            for_each_run(n, channels, s, c, |start| {
                for v in &xs[start..start + s] {
                    squares += (v.to_f64() - mean).powi(2);
                }
            });
            let var = squares / m as f64;
            let std = T::from_f64((var + self.eps).sqrt());
            stds.push(std);

            let (gamma, beta, mean_t) = (self.weight[c], self.bias[c], T::from_f64(mean));
            let (xh, ys) = (x_hat.as_mut_slice(), y.as_mut_slice());
            for_each_run(n, channels, s, c, |start| {
                for k in start..start + s {
                    xh[k] = (xs[k] - mean_t) / std;
                    ys[k] = gamma * xh[k] + beta;
                }
            });

            // Running estimates: the variance enters unbiased, m / (m - 1) times the biased one.
            let mom = self.momentum;
            let unbiased = var * m as f64 / (m - 1) as f64;
            let rm = &mut self.running_mean[c];
            *rm = T::from_f64((1.0 - mom) * rm.to_f64() + mom * mean);
            let rv = &mut self.running_var[c];
            *rv = T::from_f64((1.0 - mom) * rv.to_f64() + mom * unbiased);
        }
        self.num_batches_tracked[0] += T::ONE;
        self.saved = Some(Saved { x_hat, std: stds });
        y
    }

    // grad_output: x's shape -> grad_input: x's shape
    fn backward(&mut self, grad_output: &Tensor<T>) -> Tensor<T> {
        let describe = self.describe();
        let saved = self
            .saved
            .as_ref()
            .unwrap_or_else(|| panic!("{describe}::backward needs a training-mode forward first"));
        grad_output.assert_shape("BatchNorm::backward grad_output", saved.x_hat.shape());
        let (n, s) = self.batch_and_spatial(grad_output);
        let channels = self.num_features;
        let m = n * s;
        let (g, xh) = (grad_output.as_slice(), saved.x_hat.as_slice());
        let mut grad_input = Tensor::zeros(grad_output.shape());
        for c in 0..channels {
            // The two per-channel sums every term of the backward pass needs.
            let (mut sum_g, mut sum_g_xhat) = (0.0, 0.0);
            for_each_run(n, channels, s, c, |start| {
                for k in start..start + s {
                    sum_g += g[k].to_f64();
                    sum_g_xhat += g[k].to_f64() * xh[k].to_f64();
                }
            });
            self.grad_bias[c] += T::from_f64(sum_g);
            self.grad_weight[c] += T::from_f64(sum_g_xhat);

            // grad_input = gamma / (m std) * (m g - sum g - x_hat sum g x_hat)
            let k_c = self.weight[c] / (T::from_usize(m) * saved.std[c]);
            let (m_t, sum_g, sum_g_xhat) = (
                T::from_usize(m),
                T::from_f64(sum_g),
                T::from_f64(sum_g_xhat),
            );
            let gi = grad_input.as_mut_slice();
            for_each_run(n, channels, s, c, |start| {
                for k in start..start + s {
                    gi[k] = k_c * (m_t * g[k] - sum_g - xh[k] * sum_g_xhat);
                }
            });
        }
        grad_input
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

    fn buffers(&mut self) -> Vec<(&'static str, &mut Tensor<T>)> {
        vec![
            ("running_mean", &mut self.running_mean),
            ("running_var", &mut self.running_var),
            ("num_batches_tracked", &mut self.num_batches_tracked),
        ]
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}
