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

use super::channel_sums::{add_gradient, add_shifted, input_gradient_run, normalise_run, Sums};
use super::{Layer, Param};
use crate::parallel::{for_each_task, SharedMut};
use crate::scalar::Real;
use crate::tensor::Tensor;
use std::mem::MaybeUninit;
use std::ops::Range;

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
///
/// Backward needs x_hat. Rather than writing it out as a second tensor the size of the batch,
/// forward keeps its input (a clone, which shares the values) and the per-channel mean and
/// 1 / std, and backward recomputes x_hat = (x - mean_c) * inv_std_c with the same arithmetic,
/// so it gets the same bits.
struct Saved<T> {
    /// x: the input.
    x: Tensor<T>,
    /// mean_c, as T: [C].
    mean: Vec<T>,
    /// 1 / std_c: [C].
    inv_std: Vec<T>,
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

/// The values of channel c in a tensor [N, C, S]: one contiguous run of S values per sample.
fn channel_runs(
    n: usize,
    channels: usize,
    s: usize,
    c: usize,
) -> impl Iterator<Item = Range<usize>> {
    (0..n).map(move |i| (i * channels + c) * s..(i * channels + c + 1) * s)
}

/// A channel's mean and 1 / sqrt(var + eps) as T: what forward normalises with, and what backward
/// recomputes x_hat from.
fn normalisation<T: Real>(mean: f64, var: f64, eps: f64) -> (T, T) {
    (T::from_f64(mean), T::from_f64(1.0 / (var + eps).sqrt()))
}

/// Runs `task(c)` for every channel, spread over the threads. A channel's sums are taken by
/// one task in a fixed order, so the result does not depend on the thread count.
///
/// Neighbouring channels go to the same task, a block at a time: the runs of channels c and
/// c + 1 meet inside a cache line, and two threads writing the two sides of it would pass the
/// line back and forth.
fn for_each_channel(channels: usize, task: impl Fn(usize) + Sync) {
    const TASKS: usize = 8;
    let block = channels.div_ceil(TASKS);
    for_each_task(channels.div_ceil(block), |b| {
        (b * block..((b + 1) * block).min(channels)).for_each(&task)
    });
}

/// The slots `run` of an output vector that the channel tasks fill (never zeroed first: each
/// value is written once, by the task that owns its channel).
///
/// # Safety
/// `run` lies inside the vector's capacity, and only the calling task touches it.
unsafe fn slots<'a, T>(
    out: SharedMut<MaybeUninit<T>>,
    run: Range<usize>,
) -> &'a mut [MaybeUninit<T>] {
    unsafe { std::slice::from_raw_parts_mut(out.get().add(run.start), run.len()) }
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
        let mut y: Vec<T> = Vec::with_capacity(xs.len());
        let y_out = SharedMut(y.spare_capacity_mut().as_mut_ptr());

        if !self.training {
            // Evaluation: a fixed affine map per channel, from the running estimates.
            self.saved = None;
            let (gamma, beta) = (self.weight.as_slice(), self.bias.as_slice());
            let (mean, var) = (self.running_mean.as_slice(), self.running_var.as_slice());
            for_each_channel(channels, |c| {
                let std = (var[c].to_f64() + self.eps).sqrt();
                let scale = T::from_f64(gamma[c].to_f64() / std);
                let shift = T::from_f64(beta[c].to_f64() - mean[c].to_f64() * scale.to_f64());
                for run in channel_runs(n, channels, s, c) {
                    // SAFETY: the values of channel c are written by this task alone.
                    let y_run = unsafe { slots(y_out, run.clone()) };
                    for (y, &v) in y_run.iter_mut().zip(&xs[run]) {
                        y.write(scale * v + shift);
                    }
                }
            });
            // SAFETY: the channels' runs cover every value, and each was written.
            unsafe { y.set_len(xs.len()) };
            return Tensor::from_vec(x.shape(), y).expect("one value per input value");
        }

        assert!(
            m > 1,
            "{}: training needs more than one value per channel, found input {:?}",
            self.describe(),
            x.shape()
        );
        // (mean, biased variance) of every channel, each written by its channel's task.
        let mut stats = vec![(0.0f64, 0.0f64); channels];
        let stats_out = SharedMut(stats.as_mut_ptr());
        let (gamma, beta) = (self.weight.as_slice(), self.bias.as_slice());
        let eps = self.eps;
        for_each_channel(channels, |c| {
            // Batch statistics over (N, H, W), in one pass over the values: the sums of
            // d = x - K and of d^2, for a shift K, give mean = K + sum d / m and
            // var = (sum d^2 - (sum d)^2 / m) / m. Without the shift that difference would lose
            // the digits of a small variance under a large mean; K is one of the channel's own
            // values, so d is of the order of the spread (the "shifted data" algorithm).
            let shift = xs[c * s].to_f64();
            let mut sums = Sums::new();
            for run in channel_runs(n, channels, s, c) {
                add_shifted(&xs[run], shift, &mut sums);
            }
            let (sum_d, sum_d2) = sums.totals();
            let mean = shift + sum_d / m as f64;
            let var = ((sum_d2 - sum_d * sum_d / m as f64) / m as f64).max(0.0);
            let (mean_t, inv_std) = normalisation::<T>(mean, var, eps);
            let (gamma, beta) = (gamma[c], beta[c]);
            for run in channel_runs(n, channels, s, c) {
                // SAFETY: the values of channel c, and stats[c], are written by this task alone.
                let y_run = unsafe { slots(y_out, run.clone()) };
                // y = gamma * x_hat + beta, x_hat = (x - mean) * inv_std
                normalise_run(&xs[run], (mean_t, inv_std), (gamma, beta), y_run);
            }
            unsafe { *stats_out.get().add(c) = (mean, var) };
        });
        // SAFETY: the channels' runs cover every value, and each was written.
        unsafe { y.set_len(xs.len()) };

        let mut saved = Saved {
            x: x.clone(),
            mean: Vec::with_capacity(channels),
            inv_std: Vec::with_capacity(channels),
            std: Vec::with_capacity(channels),
        };
        for (c, &(mean, var)) in stats.iter().enumerate() {
            let (mean_t, inv_std) = normalisation::<T>(mean, var, self.eps);
            saved.mean.push(mean_t);
            saved.inv_std.push(inv_std);
            saved.std.push(T::from_f64((var + self.eps).sqrt()));
            // Running estimates: the variance enters unbiased, m / (m - 1) times the biased one.
            let mom = self.momentum;
            let unbiased = var * m as f64 / (m - 1) as f64;
            let rm = &mut self.running_mean[c];
            *rm = T::from_f64((1.0 - mom) * rm.to_f64() + mom * mean);
            let rv = &mut self.running_var[c];
            *rv = T::from_f64((1.0 - mom) * rv.to_f64() + mom * unbiased);
        }
        self.num_batches_tracked[0] += T::ONE;
        self.saved = Some(saved);
        Tensor::from_vec(x.shape(), y).expect("one value per input value")
    }

    // grad_output: x's shape -> grad_input: x's shape
    fn backward(&mut self, grad_output: &Tensor<T>) -> Tensor<T> {
        let describe = self.describe();
        let saved = self
            .saved
            .as_ref()
            .unwrap_or_else(|| panic!("{describe}::backward needs a training-mode forward first"));
        grad_output.assert_shape("BatchNorm::backward grad_output", saved.x.shape());
        let (n, s) = self.batch_and_spatial(grad_output);
        let channels = self.num_features;
        let m = n * s;
        let (g, xs) = (grad_output.as_slice(), saved.x.as_slice());
        let mut grad_input: Vec<T> = Vec::with_capacity(g.len());
        let gi_out = SharedMut(grad_input.spare_capacity_mut().as_mut_ptr());
        // (sum g, sum g x_hat) of every channel, each written by its channel's task.
        let mut sums = vec![(0.0f64, 0.0f64); channels];
        let sums_out = SharedMut(sums.as_mut_ptr());
        let gamma = self.weight.as_slice();
        for_each_channel(channels, |c| {
            // x_hat = (x - mean) * inv_std as forward computed it, recomputed from these.
            let (mean, inv_std) = (saved.mean[c], saved.inv_std[c]);
            // The two per-channel sums every term of the backward pass needs.
            let mut sums = Sums::new();
            for run in channel_runs(n, channels, s, c) {
                add_gradient(&g[run.clone()], &xs[run], mean, inv_std, &mut sums);
            }
            let (sum_g, sum_g_xhat) = sums.totals();

            // grad_input = gamma / (m std) * (m g - sum g - x_hat sum g x_hat)
            let k_c = gamma[c] / (T::from_usize(m) * saved.std[c]);
            let (m_t, sum_g_t, sum_g_xhat_t) = (
                T::from_usize(m),
                T::from_f64(sum_g),
                T::from_f64(sum_g_xhat),
            );
            for run in channel_runs(n, channels, s, c) {
                // SAFETY: the values of channel c, and sums[c], are written by this task alone.
                let gi_run = unsafe { slots(gi_out, run.clone()) };
                input_gradient_run(
                    &g[run.clone()],
                    &xs[run],
                    (mean, inv_std),
                    [k_c, m_t, sum_g_t, sum_g_xhat_t],
                    gi_run,
                );
            }
            unsafe { *sums_out.get().add(c) = (sum_g, sum_g_xhat) };
        });
        // SAFETY: the channels' runs cover every value, and each was written.
        unsafe { grad_input.set_len(g.len()) };
        for (c, &(sum_g, sum_g_xhat)) in sums.iter().enumerate() {
            self.grad_bias[c] += T::from_f64(sum_g);
            self.grad_weight[c] += T::from_f64(sum_g_xhat);
        }
        Tensor::from_vec(grad_output.shape(), grad_input).expect("one value per input value")
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
