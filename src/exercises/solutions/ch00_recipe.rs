//! Chapter 0 exercise, worked solution: the gradient of logistic regression's objective.

use crate::tensor::Tensor;

/// The objective J(theta) of logistic regression and its gradient.
///
/// - `theta`: [D], the parameters (put the bias in as a weight on a feature that is always 1).
/// - `x`: [N, D], one example per row.
/// - `y`: N labels, each 0.0 or 1.0.
///
/// Returns (J, grad J) with J(theta) = (1/N) sum_i [softplus(s_i) - y_i s_i], s_i = theta . x_i,
/// the mean binary cross-entropy of p(y = 1 | x) = sigmoid(theta . x); grad J has theta's shape.
pub fn logistic_regression_grad(
    theta: &Tensor<f64>,
    x: &Tensor<f64>,
    y: &[f64],
) -> (f64, Tensor<f64>) {
    let (n, d) = (x.rows(), x.cols());
    theta.assert_shape("logistic_regression_grad theta", &[d]);
    assert_eq!(
        y.len(),
        n,
        "logistic_regression_grad: {n} rows of x but {} labels",
        y.len()
    );
    let mut loss = 0.0;
    let mut grad = Tensor::zeros(&[d]);
    for (i, &yi) in y.iter().enumerate() {
        let s: f64 = theta
            .as_slice()
            .iter()
            .zip(x.row(i))
            .map(|(t, v)| t * v)
            .sum();
        // softplus(s) - y s = max(s, 0) - y s + ln(1 + e^-|s|): no e^s can overflow, and the
        // two large terms cancel before the small one is added.
        loss += (s.max(0.0) - yi * s) + (-s.abs()).exp().ln_1p();
        // dJ_i/ds = sigmoid(s) - y, and ds/dtheta = x_i.
        let sigmoid = if s >= 0.0 {
            1.0 / (1.0 + (-s).exp())
        } else {
            s.exp() / (1.0 + s.exp())
        };
        for (g, &v) in grad.as_mut_slice().iter_mut().zip(x.row(i)) {
            *g += (sigmoid - yi) * v;
        }
    }
    grad.scale(1.0 / n as f64);
    (loss / n as f64, grad)
}
