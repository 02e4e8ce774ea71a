//! Chapter 14 exercises, worked solutions.

use crate::scalar::Real;
use crate::tensor::Tensor;

/// Exercise 14.1: derive the binomial tail for fair bits by counting.
///
/// Of the 2^n equally likely ways n random bits can agree or disagree with a key, how many agree
/// in at least k places? Return that count divided by 2^n: P(X >= k) for X ~ Binomial(n, 1/2),
/// for n <= 60. Count exactly in integers (u128), then divide once.
pub fn binomial_tail_exact(n: u32, k: u32) -> f64 {
    assert!(n <= 60, "binomial_tail_exact: n = {n} is above 60");
    // Pascal's triangle: C(n, j) = C(n - 1, j - 1) + C(n - 1, j), exact in integers.
    let mut row = vec![1u128];
    for _ in 0..n {
        let mut next = vec![1u128; row.len() + 1];
        for j in 1..row.len() {
            next[j] = row[j - 1] + row[j];
        }
        row = next;
    }
    let count: u128 = row.iter().skip(k as usize).sum();
    // count < 2^60 and 2^-n are both exact in f64: the quotient is rounded once.
    count as f64 / 2f64.powi(n as i32)
}

/// Exercise 14.2: a new perturbation for the image-processing layer, with its gradient.
///
/// brightness(x, contrast, shift) = contrast * x + shift, for every pixel: a photo editor's
/// contrast and brightness sliders. Return the new images (same shape as `x`).
pub fn brightness<T: Real>(x: &Tensor<T>, contrast: f64, shift: f64) -> Tensor<T> {
    let (a, b) = (T::from_f64(contrast), T::from_f64(shift));
    x.map(|v| a * v + b)
}

/// Exercise 14.2, continued: dL/dx from dL/dy for [`brightness`] (the shift drops out).
pub fn grad_brightness<T: Real>(grad_output: &Tensor<T>, contrast: f64) -> Tensor<T> {
    let a = T::from_f64(contrast);
    grad_output.map(|g| a * g)
}
