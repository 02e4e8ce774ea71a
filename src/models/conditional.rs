//! Chapter 10. Class-conditional GANs: "add a label as input to the generator, so that it can
//! learn to generate specific types of images" (the lecture). The discriminator gets the label
//! too, so that it can reject a good image of the wrong class.
//!
//! The choice made here (Mirza and Osindero, 2014, in its simplest convolutional form):
//!
//! ```text
//!   G's input: z joined with the one-hot label        [N, nz] + [N, classes] -> [N, nz + classes]
//!   D's input: the image joined with label planes     [N, C, H, W] + [N, classes, H, W]
//!                                                      -> [N, C + classes, H, W]
//! ```
//!
//! A label plane k is all ones for images of class k and all zeros otherwise, so D's first
//! convolution sees the label at every position, as one more colour channel.

use crate::scalar::Real;
use crate::tensor::Tensor;

/// [N, nz] joined with the one-hot labels -> [N, nz + classes]; `z` unchanged if `classes` is 0.
#[track_caller]
pub fn one_hot_join<T: Real>(
    z: &Tensor<T>,
    labels: Option<&[usize]>,
    classes: usize,
    who: &str,
) -> Tensor<T> {
    let Some(labels) = check_labels(z.rows(), labels, classes, who) else {
        return z.clone();
    };
    let (n, nz) = (z.rows(), z.cols());
    let width = nz + classes;
    let mut out = Tensor::zeros(&[n, width]);
    for (i, &label) in labels.iter().enumerate() {
        let row = out.row_mut(i);
        row[..nz].copy_from_slice(z.row(i));
        row[nz + label] = T::ONE;
    }
    out
}

/// [N, C, H, W] joined with label planes -> [N, C + classes, H, W]; `x` unchanged if `classes` is 0.
#[track_caller]
pub fn label_planes_join<T: Real>(
    x: &Tensor<T>,
    labels: Option<&[usize]>,
    classes: usize,
    who: &str,
) -> Tensor<T> {
    let Some(labels) = check_labels(x.rows(), labels, classes, who) else {
        return x.clone();
    };
    let s = x.shape();
    assert_eq!(
        s.len(),
        4,
        "{who}: expected images [N, C, H, W], found {s:?}"
    );
    let (n, c, plane) = (s[0], s[1], s[2] * s[3]);
    let mut out = Tensor::zeros(&[n, c + classes, s[2], s[3]]);
    for (i, &label) in labels.iter().enumerate() {
        let row = out.row_mut(i);
        row[..c * plane].copy_from_slice(x.row(i));
        let k = c + label;
        row[k * plane..(k + 1) * plane].fill(T::ONE);
    }
    out
}

/// The gradient with respect to the image part of a [`label_planes_join`]ed input.
pub fn label_planes_split_grad<T: Real>(grad: &Tensor<T>, channels: usize) -> Tensor<T> {
    let s = grad.shape();
    if s[1] == channels {
        return grad.clone();
    }
    let (n, plane) = (s[0], s[2] * s[3]);
    let mut out = Tensor::zeros(&[n, channels, s[2], s[3]]);
    for i in 0..n {
        out.row_mut(i)
            .copy_from_slice(&grad.row(i)[..channels * plane]);
    }
    out
}

/// Labels are required exactly when the model is conditional, one per sample, each < classes.
#[track_caller]
fn check_labels<'a>(
    n: usize,
    labels: Option<&'a [usize]>,
    classes: usize,
    who: &str,
) -> Option<&'a [usize]> {
    match (classes, labels) {
        (0, None) => None,
        (0, Some(_)) => panic!("{who}: labels given to an unconditional model"),
        (_, None) => panic!("{who}: a class-conditional model needs a label per sample"),
        (_, Some(l)) => {
            assert_eq!(l.len(), n, "{who}: {} labels for {n} samples", l.len());
            if let Some(bad) = l.iter().find(|&&k| k >= classes) {
                panic!("{who}: label {bad} is not below the {classes} classes");
            }
            Some(l)
        }
    }
}
