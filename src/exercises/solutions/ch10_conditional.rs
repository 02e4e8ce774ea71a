//! Chapter 10 exercises, worked solutions.

use crate::scalar::Real;
use crate::tensor::Tensor;

/// Exercise 10.1: the one-hot codes the generator reads beside z.
///
/// `labels`: N class indices, each below `classes`. Returns [N, classes]: row i is all zeros
/// except a one in column `labels[i]`.
pub fn one_hot<T: Real>(labels: &[usize], classes: usize) -> Tensor<T> {
    let mut out = Tensor::zeros(&[labels.len(), classes]);
    for (i, &label) in labels.iter().enumerate() {
        out.row_mut(i)[label] = T::ONE;
    }
    out
}

/// Exercise 10.2: the label planes the discriminator reads beside the image.
///
/// `labels`: N class indices, each below `classes`. Returns [N, classes, h, w]: for sample i,
/// the plane of class `labels[i]` is all ones and every other plane all zeros, so that D's first
/// convolution sees the label at every pixel, as one more colour channel.
pub fn label_planes<T: Real>(labels: &[usize], classes: usize, h: usize, w: usize) -> Tensor<T> {
    let plane = h * w;
    let mut out = Tensor::zeros(&[labels.len(), classes, h, w]);
    for (i, &label) in labels.iter().enumerate() {
        // Sample i's planes are one row of [N, classes * h * w]; plane `label` is its slice.
        out.row_mut(i)[label * plane..(label + 1) * plane].fill(T::ONE);
    }
    out
}
