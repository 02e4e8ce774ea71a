//! Chapter 0 exercise: the gradient of logistic regression's objective, by hand.
//!
//! Run `cargo test --release --features exercises --test ch00_recipe -- exercise_` until it
//! passes. The worked solution is in `solutions/ch00_recipe.rs` (read it afterwards).

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
    let _ = (theta, x, y);
    todo!(
        "compute s_i = theta . x_i for every row; J = mean of softplus(s_i) - y_i s_i, with \
         softplus(s) = max(s, 0) + ln(1 + e^-|s|); grad J = (1/N) sum_i (sigmoid(s_i) - y_i) x_i \
         (chapters/00-the-recipe.md, section 'The recipe on a tiny problem')"
    )
}
