//! Chapter 5. Binary cross-entropy on logits, stable for every logit (PyTorch's
//! `BCEWithLogitsLoss` with reduction "mean").
//!
//! The discriminator outputs a logit l (a real number); D(x) = sigmoid(l) is its probability of
//! "real". For a target t in [0, 1] the loss of one logit is
//!
//! ```text
//!   -[t ln sigmoid(l) + (1 - t) ln(1 - sigmoid(l))]  =  softplus(l) - t l
//!                                                    =  max(l, 0) - t l + ln(1 + e^-|l|)
//! ```
//!
//! The last form never overflows (e^-|l| <= 1) and never takes the log of a rounded-off 0, so
//! it is exact to the last digits even at |l| = 1e4, where the naive form returns inf or NaN.
//! Its gradient is simply dloss/dl = sigmoid(l) - t; the mean over all `count` logits (a
//! PatchGAN gives many per image) divides it by `count`.

use super::activation::sigmoid;
use crate::scalar::Real;
use crate::tensor::Tensor;

/// softplus(x) = ln(1 + e^x), computed as max(x, 0) + ln(1 + e^-|x|): no overflow for any x.
pub fn softplus<T: Real>(x: T) -> T {
    x.max(T::ZERO) + (-x.abs()).exp().ln_1p()
}

/// ln sigmoid(x) = -softplus(-x): finite for every finite x (about x for x << 0).
pub fn log_sigmoid<T: Real>(x: T) -> T {
    -softplus(-x)
}

/// The targets of a binary cross-entropy: one per logit, or one value for all of them
/// (1 for "real", 0 for "fake", or a smoothed value such as 0.9).
#[derive(Clone, Copy)]
pub enum Targets<'a, T> {
    PerElement(&'a Tensor<T>),
    Constant(T),
}

impl<'a, T: Real> From<&'a Tensor<T>> for Targets<'a, T> {
    fn from(t: &'a Tensor<T>) -> Self {
        Targets::PerElement(t)
    }
}

impl<T: Real> From<T> for Targets<'_, T> {
    fn from(t: T) -> Self {
        Targets::Constant(t)
    }
}

impl<T: Real> Targets<'_, T> {
    /// The target of logit i (after checking once, in `check`, that shapes agree).
    fn at(&self, i: usize) -> T {
        match self {
            Targets::PerElement(t) => t[i],
            Targets::Constant(t) => *t,
        }
    }

    #[track_caller]
    fn check(&self, logits: &Tensor<T>) {
        if let Targets::PerElement(t) = self {
            t.assert_shape(
                "bce_with_logits targets (the logits' shape)",
                logits.shape(),
            );
        }
    }
}

/// The loss of one logit: softplus(l) - t l, summed in the order max(l, 0) - t l + ln(1 + e^-|l|).
///
/// The order matters: for l = 40, t = 1 the loss is e^-40 (about 4e-18). Written as
/// softplus(l) - t l it would be (40 + 4e-18) - 40, and 40 + 4e-18 rounds to 40: the answer 0.
/// Cancelling the two large terms first keeps the small one.
fn bce_one<T: Real>(l: T, t: T) -> T {
    (l.max(T::ZERO) - t * l) + (-l.abs()).exp().ln_1p()
}

/// Mean binary cross-entropy over ALL elements of `logits` (any shape).
///
/// `targets` is a tensor of the logits' shape or a constant: `bce_with_logits(&l, 1.0)`.
#[track_caller]
pub fn bce_with_logits<'a, T: Real>(logits: &Tensor<T>, targets: impl Into<Targets<'a, T>>) -> T {
    let targets = targets.into();
    targets.check(logits);
    // Summed in f64: a PatchGAN batch holds thousands of logits.
    let sum: f64 = logits
        .as_slice()
        .iter()
        .enumerate()
        .map(|(i, &l)| bce_one(l, targets.at(i)).to_f64())
        .sum();
    T::from_f64(sum / logits.len().max(1) as f64)
}

/// The gradient of [`bce_with_logits`] (the mean) with respect to every logit:
/// (sigmoid(l) - t) / count, in the logits' shape.
#[track_caller]
pub fn bce_with_logits_backward<'a, T: Real>(
    logits: &Tensor<T>,
    targets: impl Into<Targets<'a, T>>,
) -> Tensor<T> {
    let targets = targets.into();
    targets.check(logits);
    let count = T::from_usize(logits.len().max(1));
    let ls = logits.as_slice();
    Tensor::from_fn(logits.shape(), |i| (sigmoid(ls[i]) - targets.at(i)) / count)
}
