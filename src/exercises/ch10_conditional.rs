//! Chapter 10 exercises.
//!
//! Run `cargo test --release --features exercises --test ch10_conditional -- exercise_` until all
//! pass. The worked solutions are in `solutions/ch10_conditional.rs` (read them afterwards).

use crate::scalar::Real;
use crate::tensor::Tensor;

/// Exercise 10.1: the one-hot codes the generator reads beside z.
///
/// `labels`: N class indices, each below `classes`. Returns [N, classes]: row i is all zeros
/// except a one in column `labels[i]`.
pub fn one_hot<T: Real>(labels: &[usize], classes: usize) -> Tensor<T> {
    let _ = (labels, classes);
    todo!(
        "start from Tensor::zeros(&[labels.len(), classes]) and set row i, column labels[i] to \
         T::ONE (row-major: flat index i * classes + labels[i])"
    )
}

/// Exercise 10.2: the label planes the discriminator reads beside the image.
///
/// `labels`: N class indices, each below `classes`. Returns [N, classes, h, w]: for sample i,
/// the plane of class `labels[i]` is all ones and every other plane all zeros, so that D's first
/// convolution sees the label at every pixel, as one more colour channel.
pub fn label_planes<T: Real>(labels: &[usize], classes: usize, h: usize, w: usize) -> Tensor<T> {
    let _ = (labels, classes, h, w);
    todo!(
        "start from Tensor::zeros(&[n, classes, h, w]); in NCHW order, plane c of sample i is the \
         h * w values starting at (i * classes + c) * h * w: fill plane labels[i] with T::ONE"
    )
}
