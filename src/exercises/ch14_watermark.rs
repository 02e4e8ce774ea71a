//! Chapter 14 exercises.
//!
//! Run `cargo test --release --features exercises --test ch14_watermark -- exercise_` until all
//! pass. The worked solutions are in `solutions/ch14_watermark.rs` (read them afterwards).

use crate::scalar::Real;
use crate::tensor::Tensor;

/// Exercise 14.1: derive the binomial tail for fair bits by counting.
///
/// Of the 2^n equally likely ways n random bits can agree or disagree with a key, how many agree
/// in at least k places? Return that count divided by 2^n: P(X >= k) for X ~ Binomial(n, 1/2),
/// for n <= 60. Count exactly in integers (u128), then divide once.
pub fn binomial_tail_exact(n: u32, k: u32) -> f64 {
    let _ = (n, k);
    todo!(
        "build the row C(n, 0..=n) of Pascal's triangle in u128 (each entry the sum of the two \
         above it), sum the entries j >= k, and divide by 2^n as f64 (chapters/14-watermarks-and-\
         attribution.md, 'The p-value')"
    )
}

/// Exercise 14.2: a new perturbation for the image-processing layer, with its gradient.
///
/// brightness(x, contrast, shift) = contrast * x + shift, for every pixel: a photo editor's
/// contrast and brightness sliders. Return the new images (same shape as `x`).
pub fn brightness<T: Real>(x: &Tensor<T>, contrast: f64, shift: f64) -> Tensor<T> {
    let _ = (x, contrast, shift);
    todo!("x.map(|v| ...): contrast * v + shift, with T::from_f64 for the two numbers")
}

/// Exercise 14.2, continued: dL/dx from dL/dy for [`brightness`] (the shift drops out).
pub fn grad_brightness<T: Real>(grad_output: &Tensor<T>, contrast: f64) -> Tensor<T> {
    let _ = (grad_output, contrast);
    todo!("dy/dx = contrast for every pixel: scale grad_output by it")
}
