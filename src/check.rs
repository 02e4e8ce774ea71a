//! Chapter 0. The gradient checker: is a hand-written backward pass right?
//!
//! For a scalar loss L(theta) and each checked coordinate theta_i, the central difference
//!
//! ```text
//!   numeric_i = (L(theta + h e_i) - L(theta - h e_i)) / (2 h)
//! ```
//!
//! agrees with dL/dtheta_i up to O(h^2), so an analytic gradient from a backward pass must match
//! it to many digits. Checks run in f64 (h = 1e-5 balances the O(h^2) truncation error against
//! rounding, which grows like 1e-16 / h); a correct backward pass then agrees to about 1e-8 or
//! better, and a wrong one typically misses by 1e-2 or more.

use crate::layers::sequential::Sequential;
use crate::rng::Rng;
use crate::tensor::Tensor;
use std::fmt;

/// How to check.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// The step h of the central difference.
    pub step: f64,
    /// Check at most this many coordinates of each tensor, drawn at random without
    /// replacement (0 = all of them).
    pub max_coords_per_tensor: usize,
    /// Seeds the draw of coordinates, so that a check is repeatable.
    pub seed: u64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            step: 1e-5,
            max_coords_per_tensor: 0,
            seed: 0,
        }
    }
}

/// The result for one tensor: its worst coordinate.
#[derive(Clone, Debug)]
pub struct TensorCheck {
    pub name: String,
    pub shape: Vec<usize>,
    pub coords_checked: usize,
    /// Flat index of the worst coordinate.
    pub worst_index: usize,
    pub analytic: f64,
    pub numeric: f64,
    /// |analytic - numeric| / max(|analytic|, |numeric|, 1e-4 * largest |analytic| of the tensor):
    /// a relative error, except that coordinates far smaller than the rest of their tensor are
    /// compared on the tensor's scale (their own digits are mostly rounding noise).
    pub rel_error: f64,
}

/// The result for all tensors of one check.
#[derive(Clone, Debug)]
pub struct GradCheckReport {
    pub tensors: Vec<TensorCheck>,
}

impl GradCheckReport {
    /// The tensor whose worst coordinate is worst of all.
    pub fn worst(&self) -> &TensorCheck {
        self.tensors
            .iter()
            .max_by(|a, b| a.rel_error.total_cmp(&b.rel_error))
            .expect("a gradient check of no tensors")
    }

    pub fn worst_rel_error(&self) -> f64 {
        self.tensors.iter().map(|t| t.rel_error).fold(0.0, f64::max)
    }

    /// Panics with the whole table unless every tensor's worst relative error is below `tol`.
    #[track_caller]
    pub fn assert_below(&self, tol: f64) {
        assert!(
            self.worst_rel_error() < tol,
            "gradient check failed: worst relative error {:.3e} is not below {tol:.0e}\n{self}",
            self.worst_rel_error()
        );
    }
}

impl fmt::Display for GradCheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<24} {:<18} {:>7} {:>9} {:>14} {:>14} {:>10}",
            "tensor", "shape", "checked", "worst at", "analytic", "numeric", "rel error"
        )?;
        for t in &self.tensors {
            writeln!(
                f,
                "{:<24} {:<18} {:>7} {:>9} {:>14.6e} {:>14.6e} {:>10.2e}",
                t.name,
                format!("{:?}", t.shape),
                t.coords_checked,
                t.worst_index,
                t.analytic,
                t.numeric,
                t.rel_error
            )?;
        }
        Ok(())
    }
}

/// Checks `analytic[t]`, the claimed gradient of `loss` with respect to `values[t]`, for every
/// tensor t, by central differences.
///
/// `loss` is evaluated at `values` with one coordinate moved by +h and by -h; `values` is
/// restored exactly afterwards. `names[t]` labels tensor t in the report.
#[track_caller]
pub fn grad_check(
    names: &[&str],
    values: &mut [Tensor<f64>],
    analytic: &[Tensor<f64>],
    mut loss: impl FnMut(&[Tensor<f64>]) -> f64,
    options: &CheckOptions,
) -> GradCheckReport {
    assert!(
        names.len() == values.len() && values.len() == analytic.len(),
        "grad_check: {} names, {} value tensors and {} gradient tensors",
        names.len(),
        values.len(),
        analytic.len()
    );
    let h = options.step;
    let mut tensors = Vec::new();
    for t in 0..values.len() {
        values[t]
            .check_shape(names[t], analytic[t].shape())
            .unwrap_or_else(|e| panic!("grad_check: {e}"));
        let len = values[t].len();
        let scale = analytic[t].max_abs();
        let coords = sample_coords(
            len,
            options.max_coords_per_tensor,
            options.seed.wrapping_add(t as u64),
        );
        let mut worst = TensorCheck {
            name: names[t].to_string(),
            shape: values[t].shape().to_vec(),
            coords_checked: coords.len(),
            worst_index: 0,
            analytic: 0.0,
            numeric: 0.0,
            rel_error: 0.0,
        };
        for (n, i) in coords.into_iter().enumerate() {
            let original = values[t][i];
            values[t][i] = original + h;
            let plus = loss(values);
            values[t][i] = original - h;
            let minus = loss(values);
            values[t][i] = original;
            let numeric = (plus - minus) / (2.0 * h);
            let a = analytic[t][i];
            let denominator = a.abs().max(numeric.abs()).max(1e-4 * scale);
            let rel_error = if denominator == 0.0 {
                0.0
            } else {
                (a - numeric).abs() / denominator
            };
            // A NaN anywhere is the worst possible outcome, never silently skipped.
            if n == 0 || rel_error.is_nan() || rel_error > worst.rel_error {
                worst.worst_index = i;
                worst.analytic = a;
                worst.numeric = numeric;
                worst.rel_error = if rel_error.is_nan() {
                    f64::INFINITY
                } else {
                    rel_error
                };
            }
        }
        tensors.push(worst);
    }
    GradCheckReport { tensors }
}

/// The tensors of one gradient check, gathered by name: inputs (such as the noise z) and every
/// parameter of whole networks, each with the gradient a backward pass claims for it.
///
/// ```text
/// Checked::new().tensor("z", z, grad_z).network(&mut g.net).run(loss, &options)
/// ```
///
/// `run` passes the values to `loss` in the order they were added; a loss that varies a
/// network's parameters writes them back first with [`set_params`].
#[derive(Clone, Debug, Default)]
pub struct Checked {
    pub names: Vec<String>,
    pub values: Vec<Tensor<f64>>,
    pub analytic: Vec<Tensor<f64>>,
}

impl Checked {
    pub fn new() -> Self {
        Self::default()
    }

    /// One tensor and its claimed gradient.
    pub fn tensor(mut self, name: &str, value: Tensor<f64>, analytic: Tensor<f64>) -> Self {
        self.names.push(name.to_string());
        self.values.push(value);
        self.analytic.push(analytic);
        self
    }

    /// Every parameter of `net` (named as in PyTorch, e.g. `generator.0.weight`), with the
    /// gradient its backward passes have accumulated.
    pub fn network(mut self, net: &mut Sequential<f64>) -> Self {
        for p in net.named_params() {
            self.names.push(p.name);
            self.values.push(p.value.clone());
            self.analytic.push(p.grad.clone());
        }
        self
    }

    /// [`grad_check`] of all the tensors added.
    #[track_caller]
    pub fn run(
        mut self,
        loss: impl FnMut(&[Tensor<f64>]) -> f64,
        options: &CheckOptions,
    ) -> GradCheckReport {
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        grad_check(&names, &mut self.values, &self.analytic, loss, options)
    }
}

/// Writes `values` into the parameters of `net`, in the order of `named_params` (the order
/// [`Checked::network`] added them).
#[track_caller]
pub fn set_params(net: &mut Sequential<f64>, values: &[Tensor<f64>]) {
    let name = net.name.clone();
    let params = net.named_params();
    assert_eq!(
        params.len(),
        values.len(),
        "set_params: {name} has {} parameter tensors, found {} values",
        params.len(),
        values.len()
    );
    for (p, v) in params.into_iter().zip(values) {
        v.assert_shape(&p.name, p.value.shape());
        p.value.as_mut_slice().copy_from_slice(v.as_slice());
    }
}

/// All coordinates, or `max` of them drawn without replacement (a partial Fisher-Yates shuffle),
/// in increasing order.
fn sample_coords(len: usize, max: usize, seed: u64) -> Vec<usize> {
    let mut all: Vec<usize> = (0..len).collect();
    if max == 0 || max >= len {
        return all;
    }
    let mut rng = Rng::new(seed);
    for i in 0..max {
        let j = i + rng.below(len - i);
        all.swap(i, j);
    }
    all.truncate(max);
    all.sort_unstable();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_right_gradient_passes_and_a_wrong_one_fails() {
        // L(x) = sum x_i^3, dL/dx_i = 3 x_i^2.
        let mut x = vec![Tensor::from_vec(&[3], vec![0.5, -1.25, 2.0]).unwrap()];
        let right = vec![x[0].map(|v| 3.0 * v * v)];
        let wrong = vec![x[0].map(|v| 2.0 * v * v)];
        let loss = |p: &[Tensor<f64>]| p[0].as_slice().iter().map(|v| v * v * v).sum();
        let good = grad_check(&["x"], &mut x, &right, loss, &CheckOptions::default());
        assert!(good.worst_rel_error() < 1e-8, "{good}");
        let bad = grad_check(&["x"], &mut x, &wrong, loss, &CheckOptions::default());
        assert!(bad.worst_rel_error() > 0.3, "{bad}");
        assert_eq!(
            x[0].as_slice(),
            &[0.5, -1.25, 2.0],
            "values are restored exactly"
        );
    }

    #[test]
    fn a_sample_is_seeded_and_without_repeats() {
        let a = sample_coords(1000, 50, 7);
        assert_eq!(a, sample_coords(1000, 50, 7));
        assert_ne!(a, sample_coords(1000, 50, 8));
        assert!(a.windows(2).all(|w| w[0] < w[1]) && a.len() == 50 && a[49] < 1000);
    }

    #[test]
    fn nan_is_the_worst() {
        let mut x = vec![Tensor::from_vec(&[2], vec![1.0, 2.0]).unwrap()];
        let g = vec![Tensor::from_vec(&[2], vec![f64::NAN, 1.0]).unwrap()];
        let r = grad_check(&["x"], &mut x, &g, |p| p[0].sum(), &CheckOptions::default());
        assert!(r.worst_rel_error().is_infinite());
    }
}
